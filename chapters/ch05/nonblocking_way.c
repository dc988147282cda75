/* nonblocking_way.c - fetch ten pages one after another, spinning on non-blocking sockets
 *
 * Talk: asynchronous programming / non-blocking way
 * Usage: nonblocking_way [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
 * Shows: what setblocking(False) changes: connect() returns at once with
 *        EINPROGRESS, send() and recv() with EAGAIN, and a program that asks
 *        again and again in a loop (busy waiting, 忙等) burns a whole core
 *        and is not one millisecond faster. It counts the wasted calls and
 *        prints its CPU time beside its wall time.
 * Compare: blocking_way.c (same speed, no CPU), select_crawler.c (let the
 *          kernel say when a socket is ready). Linux.
 */
#include "workbook.h"

#include <getopt.h>
#include <netdb.h>
#include <sys/socket.h>

/* --help: all of this on stdout, exit 0; a bad option: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    fputs("Usage: nonblocking_way [-q] [-n N] [-d MS] [-t SECONDS] [URL...]\n",
          status ? stderr : stdout);
    if (status == 0)
        printf("\nFetch each URL over a non-blocking socket, one after another, asking\n"
               "again and again until each call succeeds, and count the calls that\n"
               "answered \"not yet\". With no URL, fetch N lab URLs of MS milliseconds.\n\n"
               "  -n N          how many lab URLs (default 10)\n"
               "  -d MS         the lab server's delay per URL (default 200)\n"
               "  -t SECONDS    give up on a URL not done after this long (default 10)\n"
               "  -q            no timeline, only the results\n");
    exit(status);
}

/* The calls that came back with "not yet", per kind. */
struct wasted {
    long long connect, send, recv;
};

/* Did the call fail only because it would have had to wait? EINTR counts
 * too: a signal stopped the call before it did anything, so ask again. */
static int not_yet(void)
{
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/* One more "not yet": count it, and give up (errno ETIMEDOUT) past the deadline. */
static int give_up(long long *count, double deadline)
{
    ++*count;
    if (wb_now() <= deadline)
        return 0;
    errno = ETIMEDOUT;
    return 1;
}

/* One fetch on a non-blocking socket: every call returns at once, and the
 * loops around them keep asking until the answer is yes. */
static long long fetch(const char *url, int timeout_s, struct wasted *w, char *why, size_t whylen)
{
    char host[256], port[16], req[1024], buf[4096];
    const char *path, *what = NULL; /* the call that failed; errno says why */
    if (wb_split_url(url, host, sizeof host, port, sizeof port, &path) == -1)
        return snprintf(why, whylen, "not a URL"), -1;
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n", path, host, port);
    if (len >= (int)sizeof req)
        return snprintf(why, whylen, "URL too long"), -1;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0)
        return snprintf(why, whylen, "%.120s: %s", host, gai_strerror(rc)), -1;

    double deadline = wb_now() + timeout_s;
    long long got = 0;
    /* SOCK_NONBLOCK is Python's sock.setblocking(False). */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        what = "socket";
    /* The first connect() starts the handshake and says EINPROGRESS. Asking
     * again says EALREADY while it goes on, then 0 or EISCONN once it is up,
     * or the handshake's own error (ECONNREFUSED). */
    while (!what && connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 && errno != EISCONN) {
        if (errno != EINPROGRESS && errno != EALREADY && errno != EINTR)
            what = "connect";
        else if (give_up(&w->connect, deadline))
            what = "connect";
    }
    for (int sent = 0; !what && sent < len;) {
        ssize_t n = send(fd, req + sent, (size_t)(len - sent), MSG_NOSIGNAL);
        if (n == -1 && !not_yet())
            what = "send";
        else if (n == -1 && give_up(&w->send, deadline))
            what = "send";
        else if (n > 0)
            sent += (int)n; /* a short write: loop for the rest */
    }
    /* The talk's loop printed "blocking receive data" at each EAGAIN; we
     * count them instead: hundreds of thousands for one page. */
    for (ssize_t n = 1; !what && n != 0;) {
        n = recv(fd, buf, sizeof buf, 0);
        if (n == -1 && !not_yet())
            what = "recv";
        else if (n == -1 && give_up(&w->recv, deadline))
            what = "recv";
        else if (n > 0)
            got += n;
    }
    int err = errno; /* the failed call's error, before close() can change it */
    if (fd != -1)
        close(fd);
    freeaddrinfo(ai);
    if (!what && got > 0)
        return got;
    if (!what)
        snprintf(why, whylen, "the server closed without answering");
    else if (err == ETIMEDOUT)
        snprintf(why, whylen, "%s: not done after %d s, giving up", what, timeout_s);
    else
        snprintf(why, whylen, "%s: %s", what, strerror(err));
    return -1;
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
    int n, failed = 0;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    struct wb_timeline tl;
    wb_timeline_init(&tl, n);
    struct wasted w = {0, 0, 0};

    double start = wb_now();
    for (int i = 0; i < n; i++) { /* still one after another */
        char why[512];
        wb_task_begin(&tl, i);
        long long bytes = fetch(urls[i], timeout_s, &w, why, sizeof why);
        wb_task_end(&tl, i);
        if (bytes < 0) {
            fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, urls[i], why);
            failed++;
        } else {
            wb_result(i, bytes, tl.span[i].end - tl.span[i].start, urls[i]);
        }
    }
    double wall = wb_now() - start;
    printf("wasted calls: %lld answered \"not yet\" (connect %lld, send %lld, recv %lld)\n",
           w.connect + w.send + w.recv, w.connect, w.send, w.recv);
    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);
    if (failed == n)
        wb_lab_hint();
    wb_timeline_free(&tl);
    wb_urls_free(urls, n);
    return failed ? 1 : 0;
}
