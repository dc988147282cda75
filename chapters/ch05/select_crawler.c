/* select_crawler.c - fetch ten pages at once with one thread and select()
 *
 * Talk: asynchronous programming / non-blocking improve - select
 * Usage: select_crawler [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
 * Shows: select() telling one thread which sockets are ready: the sets
 *        built before each call, FD_SET, FD_ISSET, one deadline for all;
 *        and select()'s hard limit: no descriptor at or above FD_SETSIZE
 *        (1024). CPU time stays near zero. Each fetch is a small state
 *        machine whose steps (non-blocking connect with EINPROGRESS, then
 *        "writable" and SO_ERROR; send; recv) are in nb_fetch.c, shared
 *        with callback_crawler.c: this file is the way of waiting.
 * Compare: nonblocking_way.c (spins instead of waiting), callback_crawler.c
 *          (the same steps, with epoll and callbacks). Linux.
 */
#include "workbook.h"

#include "nb_fetch.h"

#include <getopt.h>
#include <sys/select.h>

static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s);

/* Start a fetch (nb_fetch.c): the request, the address, a non-blocking
 * socket, connect() without waiting. Returns -1 if the descriptor is too
 * large for select(), or if there was none left to open (fd_limit is the
 * open-file limit): either ends the whole run. */
static int start(struct nb_fetch *c, long fd_limit)
{
    nb_start(c);

    /* Out of descriptors while all are still below FD_SETSIZE: the open-file
     * limit is the lower one, and the run could never meet select()'s. */
    if (c->err == EMFILE) {
        fprintf(stderr,
                "%s: out of descriptors at URL %d: the open-file limit (%ld) stops the "
                "run before select()'s FD_SETSIZE (%d) does; raise the hard limit "
                "(ulimit -Hn) to meet FD_SETSIZE\n",
                program_invocation_short_name, c->index, fd_limit, FD_SETSIZE);
        return -1;
    }

    /* An fd_set is a bitmap of FD_SETSIZE bits: FD_SET() on a larger
     * descriptor writes past its end. Refuse rather than corrupt memory. */
    if (c->fd < FD_SETSIZE)
        return 0;

    fprintf(stderr,
            "%s: descriptor %d is at or above FD_SETSIZE (%d), the most select() "
            "can watch; poll() and epoll have no such limit (try callback_crawler)\n",
            program_invocation_short_name, c->fd, FD_SETSIZE);
    return -1;
}

/* Put each unfinished connection in the set for what it waits for. Returns
 * the highest descriptor, or -1 when none is left. */
static int build_sets(struct nb_fetch *conns, int n, fd_set *rd, fd_set *wr)
{
    FD_ZERO(rd);
    FD_ZERO(wr);
    int maxfd = -1;

    for (int i = 0; i < n; i++) {
        struct nb_fetch *c = &conns[i];
        if (c->state == FINISHED)
            continue;

        if (c->state == RECEIVING)
            FD_SET(c->fd, rd);
        else
            FD_SET(c->fd, wr);
        if (c->fd > maxfd)
            maxfd = c->fd;
    }
    return maxfd;
}

/* The event loop, until every connection is finished or the time is up
 * (they all started together, so one deadline serves them all). */
static void crawl(struct nb_fetch *conns, int n, double deadline)
{
    for (;;) {
        /* select() overwrites the sets with its answer, so they are built
         * again before every call (the talk's loop called select() once) */
        fd_set rd, wr;
        int maxfd = build_sets(conns, n, &rd, &wr);
        double left = deadline - wb_now();
        if (maxfd == -1 || left <= 0)
            return;

        /* sleep until a socket is ready, but no later than the deadline */
        struct timeval tv;
        tv.tv_sec = (time_t)left;
        tv.tv_usec = (suseconds_t)((left - (double)tv.tv_sec) * 1e6);

        int ready = select(maxfd + 1, &rd, &wr, NULL, &tv);

        /* EINTR: a signal cut the wait short, so just wait again */
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == -1)
            wb_die("select");

        /* move each ready connection one step on */
        for (int i = 0; i < n; i++) {
            struct nb_fetch *c = &conns[i];
            if (c->state == FINISHED)
                continue;

            if (FD_ISSET(c->fd, &wr))
                nb_on_writable(c);
            else if (FD_ISSET(c->fd, &rd))
                nb_on_readable(c);
        }
    }
}

/* The time is up: whatever is not finished has failed. */
static void give_up(struct nb_fetch *conns, int n, int timeout_s)
{
    for (int i = 0; i < n; i++)
        if (conns[i].state != FINISHED)
            nb_give_up(&conns[i], timeout_s);
}

/* Start every connection; stop at the first descriptor select() cannot take,
 * or when there are no more descriptors to take. */
static int start_all(struct nb_fetch *conns, int n, long fd_limit)
{
    for (int i = 0; i < n; i++)
        if (start(&conns[i], fd_limit) == -1)
            return -1;
    return 0;
}

/* The two summary lines and the timeline. Returns the exit status. */
static int summary(struct nb_fetch *conns, int n, double wall, int quiet)
{
    struct wb_timeline tl;
    wb_timeline_init(&tl, n);

    /* each connection's own times, and its mark if it failed */
    int failed = 0;
    for (int i = 0; i < n; i++) {
        wb_span_set(&tl, i, conns[i].start, conns[i].end);
        if (conns[i].failed) {
            wb_task_failed(&tl, i);
            failed++;
        }
    }

    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!quiet)
        wb_timeline_print(&tl, stdout);

    wb_timeline_free(&tl);
    return failed > 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    int timeout_s;
    parse_options(argc, argv, &o, &timeout_s);

    /* As many descriptors as allowed, so that the limit a large -n meets is
     * select()'s FD_SETSIZE, the lesson here (refused: the old limit, fine;
     * a hard limit of FD_SETSIZE or less is met first, and start() says so). */
    long fd_limit = wb_raise_fd_limit(0);

    /* the URLs, a lab server to answer them, and a connection for each */
    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_require_lab(urls, n);
    struct nb_fetch *conns = calloc((size_t)n, sizeof *conns);
    if (conns == NULL)
        wb_die("calloc");
    for (int i = 0; i < n; i++)
        conns[i] = (struct nb_fetch){
            .state = CONNECTING, .fd = -1, .index = i, .url = urls[i]};

    /* start them all, then serve them all from one thread until the time is up */
    int status = 1;
    double t0 = wb_now();
    if (start_all(conns, n, fd_limit) == 0) {
        crawl(conns, n, t0 + timeout_s);
        give_up(conns, n, timeout_s);
        status = summary(conns, n, wb_now() - t0, o.quiet);
    }

    /* after a refusal, some are still open; nothing was fetched on them, so
     * close() has no verdict to change */
    for (int i = 0; i < n; i++)
        if (conns[i].fd != -1)
            close(conns[i].fd);
    free(conns);
    wb_urls_free(urls, n);
    return status;
}

/* ---- the command line ---------------------------------------------------- */

/* --help: the usage and what the options do, exit 0; a bad option: the usage
 * on stderr, exit 2. */
static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fprintf(out, "Usage: %s [-q] [-n N] [-d MS] [-t SECONDS] [URL...]\n",
            program_invocation_short_name);
    if (status == 0)
        fputs("\nFetch every URL at once from one thread: non-blocking sockets, and\n"
              "select() to wait until one is ready (below FD_SETSIZE, 1024, only).\n"
              "With no URL, fetch N lab URLs, each answered after MS milliseconds.\n"
              "\n"
              "  -n N          how many lab URLs (default 10)\n"
              "  -d MS         the lab server's delay per URL (default 200)\n"
              "  -t SECONDS    give up on whatever is not done by then (default 10)\n"
              "  -q            no timeline, only the results\n",
              stdout);
    exit(status);
}

/* -q, -n and -d are the options every fetch program shares (workbook.h). */
static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *timeout_s = 10;

    int c;
    while ((c = getopt_long(argc, argv, "qn:d:t:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, o))
            continue;
        switch (c) {
        case 't': *timeout_s = (int)wb_opt_long("-t", optarg, 1, 3600); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
}
