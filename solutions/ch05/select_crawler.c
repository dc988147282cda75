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
 */
#include "crawl_conn.h"
#include "workbook.h"

#include <getopt.h>
#include <sys/select.h>

static void parse_options(int argc, char **argv, struct wb_opts *o, int *seconds);

/* Writable: the handshake is over (how did it go?), or there is room to send. */
static void on_writable(struct conn *c)
{
    if (c->state == CONNECTING) {
        /* writable does not mean connected: the error, if any, is here */
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
            conn_finish(c, "getsockopt", errno);
            return;
        }
        if (err != 0) {
            conn_finish(c, "connect", err);
            return;
        }
        c->state = SENDING;
    }

    /* send what the socket takes; a short write leaves the rest for later */
    ssize_t w = send(c->fd, c->req + c->sent, (size_t)(c->len - c->sent), MSG_NOSIGNAL);
    if (w == -1 && errno != EAGAIN && errno != EINTR) {
        conn_finish(c, "send", errno);
        return;
    }
    if (w > 0)
        c->sent += (int)w;
    if (c->sent == c->len)
        c->state = RECEIVING;
}

/* Readable: take what is there. Only a read of 0 bytes means the end. */
static void on_readable(struct conn *c)
{
    char buf[4096];
    ssize_t r = recv(c->fd, buf, sizeof buf, 0);

    if (r == 0)
        conn_finish(c, NULL, 0);
    else if (r == -1 && errno != EAGAIN && errno != EINTR)
        conn_finish(c, "recv", errno);
    else if (r > 0)
        c->bytes += r;
}

/* Each unfinished connection in the set of what it waits for. Returns the
 * highest descriptor, -1 when every connection is finished. */
static int build_sets(struct conn *conns, int n, fd_set *rd, fd_set *wr)
{
    FD_ZERO(rd);
    FD_ZERO(wr);
    int maxfd = -1;

    for (int i = 0; i < n; i++) {
        if (conns[i].state == FINISHED)
            continue;
        if (conns[i].state == RECEIVING)
            FD_SET(conns[i].fd, rd);
        else
            FD_SET(conns[i].fd, wr);
        if (conns[i].fd > maxfd)
            maxfd = conns[i].fd;
    }
    return maxfd;
}

/* The loop: wait for any socket, move each ready one a step, again. */
static void crawl(struct conn *conns, int n, double deadline)
{
    for (;;) {
        /* the sets again before every call: select() overwrote them */
        fd_set rd;
        fd_set wr;
        int maxfd = build_sets(conns, n, &rd, &wr);
        double left = deadline - wb_now();
        if (maxfd == -1 || left <= 0)
            return;

        /* sleep until a socket is ready, or the deadline */
        struct timeval tv;
        tv.tv_sec = (time_t)left;
        tv.tv_usec = (suseconds_t)((left - (double)tv.tv_sec) * 1e6);
        int ready = select(maxfd + 1, &rd, &wr, NULL, &tv);
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == -1)
            wb_die("select");

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
