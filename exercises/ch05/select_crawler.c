/* select_crawler.c - your own crawler: one state machine per connection, one select()
 *
 * Talk: asynchronous programming / non-blocking improve - select
 * Usage: select_crawler [-n N] [-d MS] [-t SECONDS] [URL...]
 * Shows: every fetch is a small state machine over a non-blocking socket:
 *        CONNECTING (connect() said EINPROGRESS; "writable" means the
 *        handshake is over, and SO_ERROR says how it went), SENDING (send
 *        what the socket takes), RECEIVING (recv what is there, until the
 *        server closes), FINISHED. One thread waits for all of them in
 *        select(), with sets built again before every call, since select()
 *        writes its answer into them; and one deadline for the whole run.
 *        The talk's version built its sets once, read at most two chunks,
 *        and never asked SO_ERROR.
 * Compare: chapters/ch05/select_crawler.c and nb_fetch.c (the same steps);
 *          crawl_conn.c starts and finishes a fetch.
 * Your task: write on_writable(), on_readable(), build_sets() and the loop
 *        in crawl() (TODO(student)).
 * Check: make exercises && ./exercises/ch05/select_crawler (with `make serve`
 *        running), then make grade EX=ch05/select_crawler
 */
#include "crawl_conn.h"
#include "workbook.h"

#include <getopt.h>
#include <sys/select.h>

static void parse_options(int argc, char **argv, struct wb_opts *o, int *seconds);

/* Writable: the handshake is over (how did it go?), or there is room to send. */
static void on_writable(struct conn *c)
{
    /* TODO(student): the steps of CONNECTING and SENDING.
     * - CONNECTING: writable means the handshake is over, not that it
     *   worked. Ask how it went: getsockopt(c->fd, SOL_SOCKET, SO_ERROR,
     *   &err, &len) with int err and socklen_t len = sizeof err. err != 0
     *   (ECONNREFUSED, say): conn_finish(c, "connect", err) and return.
     *   Else the state is SENDING.
     * - SENDING: send(c->fd, c->req + c->sent, c->len - c->sent,
     *   MSG_NOSIGNAL) sends what the socket takes. A short write leaves the
     *   rest for the next time it is writable; EAGAIN and EINTR too. Any
     *   other error: conn_finish(c, "send", errno). All of it sent: the
     *   state is RECEIVING.
     * Compare: chapters/ch05/nb_fetch.c, nb_on_writable(). */
    (void)c;
}

/* Readable: take what is there. Only a read of 0 bytes means the end. */
static void on_readable(struct conn *c)
{
    /* TODO(student): one recv(c->fd, buf, sizeof buf, 0) into a local
     * buffer; add what came to c->bytes. An answer comes in as many pieces
     * as the network likes (the lab's /drip/N sends it in small ones): the
     * end is a recv() of 0 bytes, never a short one, so do not stop after
     * the first piece: the next readiness brings the next.
     * 0: conn_finish(c, NULL, 0) (the result line). -1 with EAGAIN or
     * EINTR: nothing to do now. Another error: conn_finish(c, "recv",
     * errno). */
    (void)c;
}

/* Each unfinished connection in the set of what it waits for. Returns the
 * highest descriptor, -1 when every connection is finished. */
static int build_sets(struct conn *conns, int n, fd_set *rd, fd_set *wr)
{
    FD_ZERO(rd);
    FD_ZERO(wr);

    /* TODO(student): for every connection not FINISHED, FD_SET its fd in
     * rd if it is RECEIVING, else in wr (CONNECTING and SENDING wait to be
     * writable), and return the highest fd of them; -1 if there is none. */
    (void)conns;
    (void)n;
    return -1;
}

/* The loop: wait for any socket, move each ready one a step, again. */
static void crawl(struct conn *conns, int n, double deadline)
{
    /* TODO(student): make this a loop that ends when build_sets() returns
     * -1 (every connection finished) or the deadline has passed.
     * - Build the sets again before every select() call: select() writes
     *   its answer into them (only the ready descriptors stay). The talk
     *   built them once.
     * - select(maxfd + 1, &rd, &wr, NULL, &tv), tv the time left until the
     *   deadline (wb_now() gives the time in seconds). -1 with EINTR:
     *   again; another error: wb_die("select").
     * As given, it looks once at empty sets and returns. */
    fd_set rd;
    fd_set wr;
    build_sets(conns, n, &rd, &wr);
    (void)deadline;

    /* one step for each ready connection */
    for (int i = 0; i < n; i++) {
        struct conn *c = &conns[i];
        if (c->state == FINISHED)
            continue;
        if (FD_ISSET(c->fd, &wr))
            on_writable(c);
        else if (FD_ISSET(c->fd, &rd))
            on_readable(c);
    }
}

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    int seconds = 10;
    parse_options(argc, argv, &o, &seconds);
    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_require_lab(urls, n);
    if (n > FD_SETSIZE - 10)
        wb_die_err(EMFILE, "more URLs than select() can watch");

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
            "Fetches every URL at once with one thread and select(); gives up on\n"
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
