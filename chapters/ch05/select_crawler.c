/* select_crawler.c - fetch ten pages at once with one thread and select()
 *
 * Talk: asynchronous programming / non-blocking improve - select
 * Usage: select_crawler [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
 * Shows: non-blocking connect (EINPROGRESS, then "writable" and SO_ERROR),
 *        select() telling one thread which sockets are ready, one small
 *        state machine per connection, and select()'s hard limit: no
 *        descriptor at or above FD_SETSIZE (1024). CPU time stays near zero.
 * Compare: nonblocking_way.c (spins instead of waiting), callback_crawler.c
 *          (the same with epoll and callbacks). Linux.
 */
#include "workbook.h"

#include <getopt.h>
#include <netdb.h>
#include <sys/select.h>
#include <sys/socket.h>

/* --help: all of this on stdout, exit 0; a bad option: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    fputs("Usage: select_crawler [-q] [-n N] [-d MS] [-t SECONDS] [URL...]\n",
          status ? stderr : stdout);
    if (status == 0)
        printf("\nFetch every URL at once from one thread: non-blocking sockets, and\n"
               "select() to wait until one of them is ready. With no URL, fetch N lab\n"
               "URLs of MS milliseconds. N must stay below FD_SETSIZE (%d).\n\n"
               "  -n N          how many lab URLs (default 10)\n"
               "  -d MS         the lab server's delay per URL (default 200)\n"
               "  -t SECONDS    give up on a URL not done after this long (default 10)\n"
               "  -q            no timeline, only the results\n",
               FD_SETSIZE);
    exit(status);
}

/* Where each connection is. select() waits for "writable" in the first two
 * states (connected; room to send) and for "readable" in the third. */
enum state { CONNECTING, SENDING, RECEIVING, FINISHED };

struct conn {
    enum state state;
    int fd, index;
    const char *url;
    char req[1024];
    int len, sent;
    long long bytes;
    double start, deadline;
};

/* The connection is over: close it and print its line (or its error). */
static int finish(struct conn *c, const char *what, int err)
{
    if (c->fd != -1)
        close(c->fd);
    c->fd = -1;
    c->state = FINISHED;
    if (!what && c->bytes == 0)
        what = "the server closed without answering";
    if (!what) {
        wb_result(c->index, c->bytes, wb_now() - c->start, c->url);
        return 0;
    }
    fprintf(stderr, "select_crawler: %s: %s%s%s\n", c->url, what, err ? ": " : "",
            err ? strerror(err) : "");
    return 1;
}

/* Open the socket and start connecting; do not wait for it. Returns 1 if
 * the URL failed already, 0 if it is under way, and -1 if its descriptor is
 * too large for select(), which ends the whole run. */
static int start(struct conn *c, int timeout_s)
{
    char host[256], port[16];
    const char *path;
    c->start = wb_now();
    c->deadline = c->start + timeout_s;
    if (wb_split_url(c->url, host, sizeof host, port, sizeof port, &path) == -1)
        return finish(c, "not a URL", 0);
    c->len =
        snprintf(c->req, sizeof c->req, "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n", path, host, port);
    if (c->len >= (int)sizeof c->req)
        return finish(c, "URL too long", 0);
    /* getaddrinfo() blocks; a loopback name is answered at once. */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0)
        return finish(c, gai_strerror(rc), 0);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd >= FD_SETSIZE) {
        /* An fd_set is a bitmap of FD_SETSIZE bits: FD_SET() on a larger
         * descriptor writes past its end. Refuse rather than corrupt memory. */
        fprintf(stderr,
                "select_crawler: descriptor %d is at or above FD_SETSIZE (%d), the "
                "most select() can watch; poll() and epoll have no such limit "
                "(try callback_crawler)\n",
                c->fd, FD_SETSIZE);
        freeaddrinfo(ai);
        return -1;
    }
    int failed = 0;
    if (c->fd == -1)
        failed = finish(c, "socket", errno);
    else if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == -1 && errno != EINPROGRESS)
        failed = finish(c, "connect", errno); /* EINPROGRESS: under way, as it should be */
    freeaddrinfo(ai);
    return failed;
}

/* select() said the socket is writable. While connecting, that means the
 * handshake is over, and SO_ERROR says how it went. */
static int on_writable(struct conn *c)
{
    if (c->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
            return finish(c, "getsockopt", errno);
        if (err != 0)
            return finish(c, "connect", err);
        c->state = SENDING;
    }
    ssize_t w = send(c->fd, c->req + c->sent, (size_t)(c->len - c->sent), MSG_NOSIGNAL);
    if (w == -1 && errno != EAGAIN && errno != EINTR) /* those two: try on the next turn */
        return finish(c, "send", errno);
    c->sent += w > 0 ? (int)w : 0; /* a short write leaves the rest for the next turn */
    if (c->sent == c->len)
        c->state = RECEIVING;
    return 0;
}

/* select() said readable: one recv() takes what is there without waiting. */
static int on_readable(struct conn *c)
{
    char buf[4096];
    ssize_t r = recv(c->fd, buf, sizeof buf, 0);
    if (r == 0) /* the server closed: the whole answer is in */
        return finish(c, NULL, 0);
    if (r == -1 && errno != EAGAIN && errno != EINTR)
        return finish(c, "recv", errno);
    c->bytes += r > 0 ? r : 0;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    struct wb_opts o = WB_OPTS_INIT;
    int timeout_s = 10, c;
    while ((c = getopt_long(argc, argv, "qn:d:t:h", longopts, NULL)) != -1) {
        if (c == 't')
            timeout_s = (int)wb_opt_long("-t", optarg, 1, 3600);
        else if (c == 'h')
            usage(0);
        else if (!wb_common_opt(c, optarg, &o))
            usage(2);
    }
    /* Raise the open-file limit as far as allowed, so that the limit a large
     * -n meets is select()'s FD_SETSIZE, the lesson here, not this one. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) /* if refused, the old limit stays: fine */
        setrlimit(RLIMIT_NOFILE, &(struct rlimit){rl.rlim_max, rl.rlim_max});
    int n, failed = 0, status = 0;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    struct conn *conns = calloc((size_t)n, sizeof *conns);
    if (!conns)
        wb_die("calloc");
    struct wb_timeline tl;
    wb_timeline_init(&tl, n);

    for (int i = 0; i < n; i++) /* fd -1 in all, so a refusal closes only what was opened */
        conns[i] = (struct conn){.state = CONNECTING, .fd = -1, .index = i, .url = urls[i]};
    double t0 = wb_now();
    for (int i = 0; i < n && status == 0; i++) {
        int r = start(&conns[i], timeout_s);
        status = r == -1 ? -1 : 0;
        failed += r == 1;
    }
    while (status == 0) {
        /* select() overwrites the sets with its answer, so they are built
         * again before every call (the talk's loop called select() once). */
        fd_set rd, wr;
        FD_ZERO(&rd);
        FD_ZERO(&wr);
        int maxfd = -1, pending = 0;
        double wake = wb_now() + 3600;
        for (int i = 0; i < n; i++) {
            struct conn *k = &conns[i];
            if (k->state == FINISHED)
                continue;
            pending++;
            FD_SET(k->fd, k->state == RECEIVING ? &rd : &wr);
            maxfd = k->fd > maxfd ? k->fd : maxfd;
            wake = k->deadline < wake ? k->deadline : wake;
        }
        if (pending == 0)
            break;
        double left = wake - wb_now(); /* sleep no later than the first deadline */
        left = left > 0 ? left : 0;
        struct timeval tv = {(time_t)left, (suseconds_t)((left - (time_t)left) * 1e6)};
        if (select(maxfd + 1, &rd, &wr, NULL, &tv) == -1) {
            if (errno == EINTR) /* a signal cut the wait short: just wait again */
                continue;
            wb_die("select");
        }
        double now = wb_now();
        for (int i = 0; i < n; i++) {
            struct conn *k = &conns[i];
            if (k->state == FINISHED)
                continue;
            if (FD_ISSET(k->fd, &wr))
                failed += on_writable(k);
            else if (FD_ISSET(k->fd, &rd))
                failed += on_readable(k);
            if (k->state != FINISHED && now > k->deadline)
                failed += finish(k, k->state == RECEIVING ? "waiting for the answer" : "connecting",
                                 ETIMEDOUT);
            if (k->state == FINISHED)
                wb_span_set(&tl, i, k->start, now);
        }
    }
    if (status == 0) {
        double wall = wb_now() - t0;
        printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
        wb_used_time(wall);
        if (!o.quiet)
            wb_timeline_print(&tl, stdout);
        if (failed == n)
            wb_lab_hint();
    }
    for (int i = 0; i < n; i++) /* after a refusal, some are still open */
        if (conns[i].fd != -1)
            close(conns[i].fd);
    wb_timeline_free(&tl);
    free(conns);
    wb_urls_free(urls, n);
    return status != 0 || failed ? 1 : 0;
}
