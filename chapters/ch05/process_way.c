/* process_way.c - fetch ten pages at once with a pool of forked workers
 *
 * Talk: asynchronous programming / The Process Approach
 * Usage: process_way [-q] [-n N] [-d MS] [-t SECONDS] [-w WORKERS] [URL...]
 * Shows: ProcessPoolExecutor(10) in C: WORKERS children made with fork(),
 *        each doing blocking fetches and sending one fixed-size report per
 *        URL back over a shared pipe; the parent collects the reports, reaps
 *        every child and prints the results in the order of the URLs.
 * Compare: blocking_way.c (the same fetch, one at a time), thread_way.c
 *          (threads instead of processes). Linux.
 */
#include "workbook.h"

#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

/* --help: all of this on stdout, exit 0; a bad option: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    fputs("Usage: process_way [-q] [-n N] [-d MS] [-t SECONDS] [-w WORKERS] [URL...]\n",
          status ? stderr : stdout);
    if (status == 0)
        printf("\nFetch the URLs with a pool of forked worker processes, each doing\n"
               "blocking fetches, and print the bytes received in the order of the URLs.\n"
               "With no URL, fetch N lab URLs of MS milliseconds.\n\n"
               "  -n N          how many lab URLs (default 10)\n"
               "  -d MS         the lab server's delay per URL (default 200)\n"
               "  -t SECONDS    give up on a server silent this long (default 10)\n"
               "  -w WORKERS    worker processes (default 10, as the talk's pool)\n"
               "  -q            no timeline, only the results\n");
    exit(status);
}

/* What a worker tells the parent about one URL. It is far below PIPE_BUF
 * (4096 on Linux), so each write() of one lands in the pipe whole, never
 * mixed with another worker's report. */
struct report {
    int index;
    long long bytes; /* -1: failed, and why says why */
    double start, end;
    char why[200];
};

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

/* A worker takes URLs index, index + workers, ... (a fixed share each,
 * simpler than the executor's shared queue) and reports every one. */
static void worker(int index, int workers, char **urls, int n, int timeout_s, int out)
{
    for (int i = index; i < n; i += workers) {
        struct report r = {.index = i, .start = wb_now()};
        r.bytes = fetch(urls[i], timeout_s, r.why, sizeof r.why);
        r.end = wb_now();
        ssize_t w;
        do /* one write per report; EINTR: nothing was written, so again */
            w = write(out, &r, sizeof r);
        while (w == -1 && errno == EINTR);
        if (w != (ssize_t)sizeof r)
            _exit(1); /* the parent sees the exit status and the missing report */
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    struct wb_opts o = WB_OPTS_INIT;
    int timeout_s = 10, workers = 10, c;
    while ((c = getopt_long(argc, argv, "qn:d:t:w:h", longopts, NULL)) != -1) {
        if (c == 't')
            timeout_s = (int)wb_opt_long("-t", optarg, 1, 3600);
        else if (c == 'w')
            workers = (int)wb_opt_long("-w", optarg, 1, 1000);
        else if (c == 'h')
            usage(0);
        else if (!wb_common_opt(c, optarg, &o))
            usage(2);
    }
    int n, failed = 0, started = 0;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    struct report *res = calloc((size_t)n, sizeof *res);
    pid_t *pids = calloc((size_t)workers, sizeof *pids);
    int fds[2];
    if (!res || !pids)
        wb_die("calloc");
    if (pipe2(fds, O_CLOEXEC) == -1)
        wb_die("pipe2");
    for (int i = 0; i < n; i++)
        res[i] = (struct report){
            .index = i, .bytes = -1, .why = "no report: its worker died or never started"};
    struct wb_timeline tl;
    wb_timeline_init(&tl, n);

    double start = wb_now();
    workers = workers < n ? workers : n;
    fflush(stdout); /* or the children would print what the parent buffered */
    for (; started < workers; started++) {
        pid_t pid = fork();
        if (pid == -1) { /* go on with the workers we have; their URLs only */
            perror("process_way: fork");
            break;
        }
        if (pid == 0) {
            close(fds[0]);
            worker(started, workers, urls, n, timeout_s, fds[1]);
            _exit(0); /* _exit: no atexit handlers, no second flush of stdio */
        }
        pids[started] = pid;
    }
    close(fds[1]); /* now read() sees end-of-file once every worker is gone */

    struct report r;
    for (;;) {
        ssize_t got = read(fds[0], &r, sizeof r);
        if (got == -1 && errno == EINTR)
            continue;
        if (got == -1)
            wb_die("read");
        if (got == 0)
            break;
        /* Whole reports went in with one write each, so a read of one report's
         * size takes exactly one; anything else would be a bug worth a stop. */
        if (got != (ssize_t)sizeof r || r.index < 0 || r.index >= n)
            wb_die_err(EPROTO, "read report");
        res[r.index] = r;
        wb_span_set(&tl, r.index, r.start, r.end);
    }
    close(fds[0]);
    for (int k = 0; k < started; k++) { /* reap every child, say how it ended */
        int status;
        while (waitpid(pids[k], &status, 0) == -1)
            if (errno != EINTR)
                wb_die("waitpid");
        if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)
            fprintf(stderr, "process_way: worker %d %s %d\n", (int)pids[k],
                    WIFSIGNALED(status) ? "killed by signal" : "exited with status",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
    double wall = wb_now() - start;
    for (int i = 0; i < n; i++) { /* in URL order, as [f.result() for f in futs] */
        if (res[i].bytes < 0) {
            fprintf(stderr, "process_way: %s: %s\n", urls[i], res[i].why);
            failed++;
        } else {
            wb_result(i, res[i].bytes, res[i].end - res[i].start, urls[i]);
        }
    }
    /* The work was done by the children: count their CPU time too. */
    struct rusage kids;
    if (getrusage(RUSAGE_CHILDREN, &kids) == -1)
        wb_die("getrusage");
    double cpu = wb_cpu_seconds() + (double)(kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) +
                 (double)(kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) / 1e6;
    printf("cpu time: %.3f s (wall %.3f s)\n", cpu, wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);
    if (failed == n)
        wb_lab_hint();
    wb_timeline_free(&tl);
    free(pids);
    free(res);
    wb_urls_free(urls, n);
    return failed ? 1 : 0;
}
