/* blocking_way.c - fetch ten pages one after another over blocking sockets
 *
 * Talk: asynchronous programming / The Traditional Approach
 * Usage: blocking_way [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
 * Shows: the bare socket calls of an HTTP fetch (getaddrinfo, socket,
 *        connect, send, recv until the server closes), each of which blocks
 *        (阻塞) until the network answers, so ten fetches take ten times one.
 * Compare: process_way.c and thread_way.c (the same fetch, ten at once),
 *          nonblocking_way.c (no blocking, and no faster). Linux.
 */
#include "workbook.h"

#include <getopt.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>

static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s);

/* Over a socket that blocks: connect, send the whole request, read until the
 * server closes. Returns NULL, or the name of the call that failed (errno
 * says why). */
static const char *http_get(int fd, const struct addrinfo *ai, int timeout_s,
                            const char *req, int len, long long *got)
{
    /* Block, but not forever: on Linux these timeouts bound connect() too, and
     * a call that waited that long fails with EAGAIN. */
    struct timeval tv = {.tv_sec = timeout_s};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1)
        return "setsockopt";
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1)
        return "setsockopt";

    /* connect: sleeps through the whole TCP handshake */
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1)
        return "connect";

    /* send: a short write takes only part, so loop; EINTR: a signal came
     * first, send again; MSG_NOSIGNAL: a hang-up gives EPIPE, not SIGPIPE */
    int sent = 0;
    while (sent < len) {
        ssize_t w = send(fd, req + sent, (size_t)(len - sent), MSG_NOSIGNAL);
        if (w == -1 && errno != EINTR)
            return "send";
        if (w > 0)
            sent += (int)w;
    }

    /* recv: sleeps until bytes arrive; 0 means the server closed, all is in */
    char buf[4096];
    ssize_t r;
    while ((r = recv(fd, buf, sizeof buf, 0)) != 0) {
        if (r == -1 && errno != EINTR)
            return "recv";
        if (r > 0)
            *got += r;
    }
    return NULL;
}

/* One fetch, the blocking way. Returns the bytes received (status line,
 * headers and body), or -1 with the reason in why. */
static long long fetch(const char *url, int timeout_s, char *why, size_t whylen)
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

    /* the socket and the conversation; err keeps errno from close() */
    long long got = 0;
    const char *what = "socket";
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd != -1)
        what = http_get(fd, ai, timeout_s, req, len, &got);
    int err = errno;
    if (fd != -1)
        close(fd);
    freeaddrinfo(ai);

    /* the verdict; the GNU strerror_r is safe in threads too (thread_way.c) */
    if (what == NULL && got > 0)
        return got;

    char msg[128];
    if (what == NULL)
        snprintf(why, whylen, "the server closed without answering");
    else if (err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS)
        snprintf(why, whylen, "%s: nothing for %d s, giving up", what, timeout_s);
    else
        snprintf(why, whylen, "%s: %s", what, strerror_r(err, msg, sizeof msg));
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

    /* the talk's sync_way(): one fetch after another */
    int failed = 0;
    double start = wb_now();
    for (int i = 0; i < n; i++) {
        char why[512];

        wb_task_begin(&tl, i);
        long long bytes = fetch(urls[i], timeout_s, why, sizeof why);
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

    /* the summary: almost no CPU time, all of it spent waiting */
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
        fputs("Fetch each URL with a blocking socket, one after another. With no\n"
              "URL, fetch N lab URLs (default 10), each answered after MS ms\n"
              "(default 200). -t: give up on a server silent for SECONDS\n"
              "(default 10). -q: no timeline, only the results.\n",
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
