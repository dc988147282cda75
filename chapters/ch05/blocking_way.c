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

/* --help: all of this on stdout, exit 0; a bad option: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    fputs("Usage: blocking_way [-q] [-n N] [-d MS] [-t SECONDS] [URL...]\n",
          status ? stderr : stdout);
    if (status == 0)
        printf("\nFetch each URL with a blocking socket, one after another, and print\n"
               "the bytes received. With no URL, fetch N lab URLs of MS milliseconds.\n\n"
               "  -n N          how many lab URLs (default 10)\n"
               "  -d MS         the lab server's delay per URL (default 200)\n"
               "  -t SECONDS    give up on a server silent this long (default 10)\n"
               "  -q            no timeline, only the results\n");
    exit(status);
}

/* One fetch, the blocking way: connect, send the whole request, read until
 * the server closes. Returns the bytes received, or -1 and the reason. */
static long long fetch(const char *url, int timeout_s, char *why, size_t whylen)
{
    char host[256], port[16], req[1024], buf[4096], msg[128];
    const char *path, *what = NULL; /* the call that failed; errno says why */
    if (wb_split_url(url, host, sizeof host, port, sizeof port, &path) == -1)
        return snprintf(why, whylen, "not a URL"), -1;
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n", path, host, port);
    if (len >= (int)sizeof req)
        return snprintf(why, whylen, "URL too long"), -1;
    /* IPv4 only: the lab server listens on 127.0.0.1. */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0)
        return snprintf(why, whylen, "%.120s: %s", host, gai_strerror(rc)), -1;

    /* Without a bound, a server that never answers would hold us forever.
     * On Linux these two timeouts also bound connect(), and a recv() that
     * waited that long fails with EAGAIN. */
    struct timeval tv = {.tv_sec = timeout_s};
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd == -1)
        what = "socket";
    else if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1 ||
             setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1)
        what = "setsockopt";
    else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1)
        what = "connect"; /* blocks for the whole TCP handshake */
    for (int sent = 0; !what && sent < len;) {
        /* MSG_NOSIGNAL: a server that hung up gives EPIPE, not SIGPIPE. */
        ssize_t w = send(fd, req + sent, (size_t)(len - sent), MSG_NOSIGNAL);
        if (w == -1 && errno != EINTR) /* EINTR: a signal came first; send again */
            what = "send";
        else if (w > 0)
            sent += (int)w; /* a short write sent only part: loop for the rest */
    }
    long long got = 0;
    for (ssize_t r = 1; !what && r != 0;) { /* 0: the server closed, all is in */
        r = recv(fd, buf, sizeof buf, 0);
        if (r == -1 && errno != EINTR)
            what = "recv";
        else if (r > 0)
            got += r; /* recv returns what has arrived, any size up to buf */
    }
    int err = errno; /* the failed call's error, before close() can change it */
    if (fd != -1)
        close(fd);
    freeaddrinfo(ai);
    if (!what && got > 0)
        return got;
    if (!what)
        snprintf(why, whylen, "the server closed without answering");
    else if (err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS)
        snprintf(why, whylen, "%s: nothing for %d s, giving up", what, timeout_s);
    else /* the GNU strerror_r: safe in threads too (thread_way.c) */
        snprintf(why, whylen, "%s: %s", what, strerror_r(err, msg, sizeof msg));
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

    double start = wb_now();
    for (int i = 0; i < n; i++) { /* the talk's sync_way(): one at a time */
        char why[512];
        wb_task_begin(&tl, i);
        long long bytes = fetch(urls[i], timeout_s, why, sizeof why);
        wb_task_end(&tl, i);
        if (bytes < 0) {
            fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, urls[i], why);
            failed++;
        } else {
            wb_result(i, bytes, tl.span[i].end - tl.span[i].start, urls[i]);
        }
    }
    double wall = wb_now() - start;
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
