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
 * Your task: build_pollfds(), the loop in crawl(), and the open-file limit
 *        in main() (TODO(student)).
 * Check: make exercises && ./exercises/ch06/poll_crawler (with `make serve`
 *        running), then make grade EX=ch06/poll_crawler
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
    /* TODO(student): for every connection not FINISHED, fill the next
     * pfds[count]: .fd its socket, .events POLLIN if it is RECEIVING, else
     * POLLOUT (connecting and sending wait to be writable), .revents 0; and
     * who[count] = its index i. Return count. */
    (void)conns;
    (void)n;
    (void)pfds;
    (void)who;
    return 0;
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

    /* TODO(student): the loop of your select_crawler (chapter 5), with
     * poll() in place of select():
     * - each round, build_pollfds(); leave the loop when it returns 0 or the
     *   deadline has passed;
     * - poll(pfds, count, timeout_ms), the time left in milliseconds
     *   (rounded up). -1 with EINTR: again; another error: wb_die("poll");
     * - then for each pfds[k] whose revents is not 0 (POLLIN, POLLOUT, and
     *   also POLLERR or POLLHUP, which poll() reports even unasked), move
     *   conns[who[k]] one step: conn_on_readable() if it is RECEIVING,
     *   else conn_on_writable() (crawl_conn.h).
     * As given, it fills the array once and returns: nothing is fetched. */
    int count = build_pollfds(conns, n, pfds, who);
    (void)count;
    (void)deadline;

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

    /* TODO(student): one descriptor per connection: raise the open-file
     * limit to the hard one with wb_raise_fd_limit(1) (common/workbook.h);
     * if what it returns is below n + 16, say so on stderr (how many URLs,
     * what the limit is) and return 1. The usual soft limit of 1024 would
     * stop two thousand connections at socket() with EMFILE. */

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
