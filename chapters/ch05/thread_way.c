/* thread_way.c - fetch ten pages at once with a pool of threads
 *
 * Talk: asynchronous programming / The Thread Approach
 * Usage: thread_way [-q] [-n N] [-d MS] [-t SECONDS] [-w WORKERS] [URL...]
 * Shows: ThreadPoolExecutor(10) in C: WORKERS threads take the next URL
 *        from a shared atomic counter, do a blocking fetch, and store the
 *        result in that URL's own slot; after joining them all, main prints
 *        the results in the order of the URLs.
 * Compare: blocking_way.c (one at a time), process_way.c (processes),
 *          select_crawler.c (all at once in one thread). Linux.
 */
#include "workbook.h"

#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>

/* --help: all of this on stdout, exit 0; a bad option: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    fputs("Usage: thread_way [-q] [-n N] [-d MS] [-t SECONDS] [-w WORKERS] [URL...]\n",
          status ? stderr : stdout);
    if (status == 0)
        printf("\nFetch the URLs with a pool of threads, each doing blocking fetches,\n"
               "and print the bytes received in the order of the URLs. With no URL,\n"
               "fetch N lab URLs of MS milliseconds.\n\n"
               "  -n N          how many lab URLs (default 10)\n"
               "  -d MS         the lab server's delay per URL (default 200)\n"
               "  -t SECONDS    give up on a server silent this long (default 10)\n"
               "  -w WORKERS    threads in the pool (default 10, as the talk's pool)\n"
               "  -q            no timeline, only the results\n");
    exit(status);
}

/* One URL's outcome, the "future" that its worker fills in. Each slot has
 * one writer, and pthread_join() orders those writes before main reads. */
struct result {
    long long bytes; /* -1: failed, and why says why */
    char why[256];
};

/* What every worker shares. Only next changes, and it is atomic. */
struct pool {
    char **urls;
    int n, timeout_s;
    atomic_int next; /* the next URL nobody has taken yet */
    struct result *res;
    struct wb_timeline *tl;
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

static void *worker(void *arg)
{
    struct pool *p = arg;
    for (;;) {
        int i = atomic_fetch_add(&p->next, 1); /* take one URL: no two get the same */
        if (i >= p->n)
            return NULL;
        wb_task_begin(p->tl, i);
        p->res[i].bytes = fetch(p->urls[i], p->timeout_s, p->res[i].why, sizeof p->res[i].why);
        wb_task_end(p->tl, i);
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
    struct wb_timeline tl;
    wb_timeline_init(&tl, n);
    struct pool p = {.urls = urls, .n = n, .timeout_s = timeout_s, .tl = &tl};
    atomic_init(&p.next, 0);
    workers = workers < n ? workers : n;
    pthread_t *tids = calloc((size_t)workers, sizeof *tids);
    if (!(p.res = calloc((size_t)n, sizeof *p.res)) || !tids)
        wb_die("calloc");

    double start = wb_now();
    for (; started < workers; started++) {
        int err = pthread_create(&tids[started], NULL, worker, &p);
        if (err != 0 && started == 0)
            wb_die_err(err, "pthread_create");
        if (err != 0) { /* the threads we have share out every URL anyway */
            fprintf(stderr, "thread_way: pthread_create: %s; going on with %d threads\n",
                    strerror(err), started);
            break;
        }
    }
    for (int k = 0; k < started; k++) {
        int err = pthread_join(tids[k], NULL);
        if (err != 0)
            wb_die_err(err, "pthread_join");
    }
    double wall = wb_now() - start;
    for (int i = 0; i < n; i++) { /* in URL order, as [f.result() for f in futs] */
        if (p.res[i].bytes < 0) {
            fprintf(stderr, "thread_way: %s: %s\n", urls[i], p.res[i].why);
            failed++;
        } else {
            wb_result(i, p.res[i].bytes, tl.span[i].end - tl.span[i].start, urls[i]);
        }
    }
    /* RUSAGE_SELF counts the CPU time of every thread of the process. */
    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);
    if (failed == n)
        wb_lab_hint();
    wb_timeline_free(&tl);
    free(tids);
    free(p.res);
    wb_urls_free(urls, n);
    return failed ? 1 : 0;
}
