/* nonblocking_way.c - fetch ten pages one after another, spinning on non-blocking
 * sockets
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

static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s);

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

/* One more "not yet": count it; past the deadline, give up (errno ETIMEDOUT). */
static int give_up(long long *count, double deadline)
{
    ++*count;
    if (wb_now() <= deadline)
        return 0;

    errno = ETIMEDOUT;
    return 1;
}

/* Over a non-blocking socket: every call returns at once, and each loop
 * asks again until the answer is yes. Returns NULL, or the call that failed
 * (errno says why). */
static const char *spin_get(int fd, const struct addrinfo *ai, const char *req, int len,
                            double deadline, struct wasted *w, long long *got)
{
    /* The first connect() starts the handshake and says EINPROGRESS. Asking
     * again says EALREADY while it goes on, then 0 or EISCONN once it is up,
     * or the handshake's own error (ECONNREFUSED). */
    while (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 && errno != EISCONN) {
        if (errno != EINPROGRESS && errno != EALREADY && errno != EINTR)
            return "connect";
        if (give_up(&w->connect, deadline))
            return "connect";
    }

    /* send: EAGAIN while the socket's buffer is full; a short write, loop */
    int sent = 0;
    while (sent < len) {
        ssize_t n = send(fd, req + sent, (size_t)(len - sent), MSG_NOSIGNAL);
        if (n == -1 && !not_yet())
            return "send";
        if (n == -1 && give_up(&w->send, deadline))
            return "send";

        if (n > 0)
            sent += (int)n;
    }

    /* The talk's loop printed "blocking receive data" at each EAGAIN; we
     * count them instead: hundreds of thousands for one page. */
    char buf[4096];
    ssize_t r;
    while ((r = recv(fd, buf, sizeof buf, 0)) != 0) {
        if (r == -1 && !not_yet())
            return "recv";
        if (r == -1 && give_up(&w->recv, deadline))
            return "recv";

        if (r > 0)
            *got += r;
    }
    return NULL;
}

/* One fetch on a non-blocking socket: the bytes received, or -1 with the
 * reason in why. The request and the address as in blocking_way.c. */
static long long fetch(const char *url, int timeout_s, struct wasted *w, char *why,
                       size_t whylen)
{
    char host[256], port[16], req[1024];
    const char *path;

    /* the request: HTTP/1.0, so the server closes the connection when done */
    if (wb_split_url(url, host, sizeof host, port, sizeof port, &path) == -1) {
        snprintf(why, whylen, "not a URL");
        return -1;
    }
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n", path,
                       host, port);
    if (len >= (int)sizeof req) {
        snprintf(why, whylen, "URL too long");
        return -1;
    }

    /* the address: IPv4 only, as the lab server listens on 127.0.0.1 */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(why, whylen, "%.120s: %s", host, gai_strerror(rc));
        return -1;
    }

    /* SOCK_NONBLOCK is Python's sock.setblocking(False) */
    double deadline = wb_now() + timeout_s;
    long long got = 0;
    const char *what = "socket";
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd != -1)
        what = spin_get(fd, ai, req, len, deadline, w, &got);

    /* the failed call's error, kept before close() can change errno; the
     * fetch is over, good or bad, so close() has no verdict to change */
    int err = errno;
    if (fd != -1)
        close(fd);
    freeaddrinfo(ai);

    /* the verdict */
    if (what == NULL && got > 0)
        return got;

    if (what == NULL)
        snprintf(why, whylen, "the server closed without answering");
    else if (err == ETIMEDOUT)
        snprintf(why, whylen, "%s: not done after %d s, giving up", what, timeout_s);
    else
        snprintf(why, whylen, "%s: %s", what, strerror(err));
    return -1;
}

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    int timeout_s;
    parse_options(argc, argv, &o, &timeout_s);

    /* the URLs, and a lab server to answer them */
    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_require_lab(urls, n);
    struct wb_timeline tl;
    wb_timeline_init(&tl, n);

    /* still one fetch after another */
    struct wasted w = {0, 0, 0};
    int failed = 0;
    double start = wb_now();
    for (int i = 0; i < n; i++) {
        char why[512];

        wb_task_begin(&tl, i);
        long long bytes = fetch(urls[i], timeout_s, &w, why, sizeof why);
        wb_task_end(&tl, i);

        if (bytes < 0) {
            fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, urls[i],
                    why);
            wb_task_failed(&tl, i);
            failed++;
        } else {
            wb_result(i, bytes, wb_task_seconds(&tl, i), urls[i]);
        }
    }
    double wall = wb_now() - start;

    /* the summary: the calls wasted, and a CPU time close to the wall time */
    long long total = w.connect + w.send + w.recv;
    printf("wasted calls: %lld answered \"not yet\" (connect %lld, send %lld, recv "
           "%lld)\n",
           total, w.connect, w.send, w.recv);
    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);

    wb_timeline_free(&tl);
    wb_urls_free(urls, n);
    return failed > 0 ? 1 : 0;
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
        fputs("\nFetch each URL over a non-blocking socket, one after another,\n"
              "asking again and again, and count the calls that said \"not yet\".\n"
              "With no URL, fetch N lab URLs, each answered after MS milliseconds.\n"
              "\n"
              "  -n N          how many lab URLs (default 10)\n"
              "  -d MS         the lab server's delay per URL (default 200)\n"
              "  -t SECONDS    give up on a URL not done after this long (default 10)\n"
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
