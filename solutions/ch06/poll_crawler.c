/* poll_crawler.c - chapter 5's select crawler moved to poll(): thousands at once
 *
 * Talk: Q&A / select, poll and epoll as the connections grow
 * Usage: poll_crawler [-n N] [-d MS] [-t SECONDS] [URL...]
 * Shows: the loop of chapter 5's select_crawler exercise with poll() in
 *        place of select(): an array of struct pollfd, one per unfinished
 *        connection, in place of two bitmaps. No FD_SETSIZE any more, so the
 *        only limit left is the open-file limit, raised to the hard one
 *        first. poll() leaves what it was asked (fd, events) alone and
 *        answers in revents; an error or a hang-up (POLLERR, POLLHUP) comes
 *        whatever was asked, and moves the connection a step as readiness
 *        does (the step then meets the error). Still one pass over every
 *        connection per wake-up: epoll (fd_scaling.c) does not need that.
 * Compare: exercises/ch05/select_crawler.c, fd_scaling.c; crawl_conn.c has
 *          the steps of one fetch.
 */
#include "crawl_conn.h"
#include "workbook.h"

#include <getopt.h>
#include <poll.h>

static void parse_options(int argc, char **argv, struct wb_opts *o, int *seconds);

/* One pollfd per unfinished connection, asking for what it waits for; who[k]
 * says which connection pfds[k] is. Returns how many there are. */
static int build_pollfds(struct conn *conns, int n, struct pollfd *pfds, int *who)
{
    int count = 0;
    for (int i = 0; i < n; i++) {
        if (conns[i].state == FINISHED)
            continue;

        pfds[count].fd = conns[i].fd;
        pfds[count].events = conns[i].state == RECEIVING ? POLLIN : POLLOUT;
        pfds[count].revents = 0;
        who[count] = i;
        count++;
    }
    return count;
}

/* The loop: wait for any socket, move each one with news a step, again. */
static void crawl(struct conn *conns, int n, double deadline)
{
    if (n < 1)
        return;
    struct pollfd *pfds = calloc((size_t)n, sizeof *pfds);
    int *who = calloc((size_t)n, sizeof *who);
    if (pfds == NULL || who == NULL)
        wb_die("calloc");

    for (;;) {
        /* the array again each round: connections move on, and finish */
        int count = build_pollfds(conns, n, pfds, who);
        double left = deadline - wb_now();
        if (count == 0 || left <= 0)
            break;

        /* sleep until a socket has news, or the deadline (in whole ms,
         * rounded up, so as not to wake just before it) */
        int timeout_ms = (int)(left * 1000) + 1;
        int ready = poll(pfds, (nfds_t)count, timeout_ms);
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == -1)
            wb_die("poll");

        /* one step for each connection with news, errors and hang-ups too */
        for (int k = 0; k < count; k++) {
            struct conn *c = &conns[who[k]];
            if (pfds[k].revents == 0)
                continue;
            if (c->state == RECEIVING)
                conn_on_readable(c);
            else
                conn_on_writable(c);
        }
    }

    free(who);
    free(pfds);
}

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    int seconds = 10;
    parse_options(argc, argv, &o, &seconds);
    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_require_lab(urls, n);

    /* one descriptor per connection: raise the open-file limit to the
     * hard one, and say so if that is still too few */
    long limit = wb_raise_fd_limit(1);
    if (n + 16 > limit) {
        fprintf(stderr, "%s: %d URLs need about %d open files; the limit is %ld\n",
                program_invocation_short_name, n, n + 16, limit);
        return 1;
    }

    /* start every connection, then wait for them all at once */
    struct conn *conns = calloc((size_t)n, sizeof *conns);
    if (conns == NULL)
        wb_die("calloc");
    double t0 = wb_now();
    for (int i = 0; i < n; i++) {
        conns[i] = (struct conn){.fd = -1, .index = i, .url = urls[i]};
        conn_start(&conns[i]);
    }
    crawl(conns, n, t0 + seconds);

    /* what is not finished by the deadline has failed */
    int failed = 0;
    for (int i = 0; i < n; i++) {
        if (conns[i].state != FINISHED)
            conn_finish(&conns[i], "no answer before the deadline", ETIMEDOUT);
        if (conns[i].bytes < 0)
            failed++;
    }
    wb_used_time(wb_now() - t0);

    free(conns);
    wb_urls_free(urls, n);
    return failed ? 1 : 0;
}

/* --- the command line ------------------------------------------------------ */

static _Noreturn void usage(int status)
{
    fprintf(status ? stderr : stdout,
            "Usage: %s [-n N] [-d MS] [-t SECONDS] [URL...]\n"
            "Fetches every URL at once with one thread and poll(); gives up on\n"
            "what has not answered after SECONDS (default 10).\n",
            program_invocation_short_name);
    exit(status);
}

static void parse_options(int argc, char **argv, struct wb_opts *o, int *seconds)
{
    static const struct option longs[] = {{"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "n:d:t:h", longs, NULL)) != -1) {
        if (wb_common_opt(opt, optarg, o))
            continue;
        switch (opt) {
        case 't': *seconds = (int)wb_opt_long("-t", optarg, 1, 3600); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
}
