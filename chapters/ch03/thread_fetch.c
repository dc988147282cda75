/* thread_fetch.c - fetch every page at once, one POSIX thread per URL
 *
 * Talk: parallel handling / Thread
 * Usage: thread_fetch [-q] [--join-each] [-n N] [-d MS] [URL...]
 * Shows: start all threads, then join them all: ten 200 ms fetches take
 *        200 ms, not 2 s. --join-each does what the talk's cell does, start
 *        and join in the same loop, and the fetches go back to one at a time.
 *        libcurl in threads: curl_global_init() once before any thread, one
 *        easy handle per thread, CURLOPT_NOSIGNAL.
 * Compare: sequential_fetch.c (the baseline), process_fetch.c (the same with fork)
 */
#include "workbook.h"

#include <curl/curl.h>
#include <getopt.h>
#include <pthread.h>

static const char usage[] = "Usage: thread_fetch [-q] [--join-each] [-n N] [-d MS] [URL...]\n";

/* What one thread needs and what it leaves for main. Each thread has its
 * own job, and main reads rc only after pthread_join(), which makes the
 * thread's writes visible: no lock is needed. */
struct job {
    int i;
    const char *url;
    struct wb_timeline *tl; /* the thread writes only its own slot, tl->span[i] */
    CURLcode rc;
};

static size_t count_bytes(char *data, size_t size, size_t nmemb, void *userp)
{
    (void)data;
    *(long long *)userp += (long long)(size * nmemb);
    return size * nmemb;
}

/* The thread's body, the run() of the talk's UrlFetchThread. */
static void *fetch_thread(void *arg)
{
    struct job *j = arg;
    char err[CURL_ERROR_SIZE] = "";
    long long bytes = 0;
    wb_task_begin(j->tl, j->i);
    CURL *h = curl_easy_init(); /* a handle is never shared between threads */
    if (!h) {
        j->rc = CURLE_OUT_OF_MEMORY;
    } else if (!(j->rc = curl_easy_setopt(h, CURLOPT_URL, j->url)) &&
               !(j->rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes)) &&
               !(j->rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, &bytes)) &&
               /* no SIGALRM for timeouts: signals and threads do not mix */
               !(j->rc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L)) &&
               /* HTTP 400 and up is a failure, as urlopen raises HTTPError */
               !(j->rc = curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L)) &&
               !(j->rc = curl_easy_setopt(h, CURLOPT_NOPROXY, "*")) &&
               !(j->rc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err))) {
        j->rc = curl_easy_perform(h);
    }
    curl_easy_cleanup(h); /* does nothing with NULL */
    wb_task_end(j->tl, j->i);
    /* One printf per line: stdio locks the stream for the call, so lines
     * from different threads never mix. */
    if (j->rc == CURLE_OK)
        wb_result(j->i, bytes, j->tl->span[j->i].end - j->tl->span[j->i].start, j->url);
    else
        fprintf(stderr, "thread_fetch: %s: %s\n", j->url,
                err[0] ? err : curl_easy_strerror(j->rc));
    return NULL;
}

/* A thousand threads hold a thousand sockets, and libcurl a few more
 * descriptors per handle: lift the soft limit on open files to the hard one. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        wb_die("getrlimit");
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
        wb_die("setrlimit");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'}, {"join-each", no_argument, NULL, 'j'}, {0}};
    struct wb_opts o = WB_OPTS_INIT;
    int c, join_each = 0;
    while ((c = getopt_long(argc, argv, "qn:d:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, &o))
            continue;
        if (c == 'j') {
            join_each = 1;
        } else if (c == 'h') {
            printf("%s\nFetches every URL in its own thread: all threads are started first,\n"
                   "then all are joined, so the fetches overlap.\n"
                   "  --join-each  join each thread right after starting it, as the talk's\n"
                   "               cell does: the fetches then run one at a time\n"
                   "  -q           no timeline\n",
                   usage);
            return 0;
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    raise_fd_limit();
    /* libcurl's global set-up is not thread-safe: do it once, before any thread. */
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        fprintf(stderr, "thread_fetch: curl_global_init: %s\n", curl_easy_strerror(rc));
        return 1;
    }
    pthread_t *tids = calloc((size_t)n, sizeof *tids);
    struct job *jobs = calloc((size_t)n, sizeof *jobs);
    char *started = calloc((size_t)n, 1);
    if (!tids || !jobs || !started)
        wb_die("calloc");
    struct wb_timeline tl;
    wb_timeline_init(&tl, n);
    if (join_each)
        printf("--join-each: each thread is joined before the next one starts (the talk's "
               "cell), so the fetches run one at a time\n");

    double begin = wb_now();
    for (int i = 0; i < n; i++) {
        jobs[i] = (struct job){i, urls[i], &tl, CURLE_OK};
        int e = pthread_create(&tids[i], NULL, fetch_thread, &jobs[i]);
        if (e != 0) { /* out of threads: this URL fails, the others go on */
            fprintf(stderr, "thread_fetch: %s: pthread_create: %s\n", urls[i], strerror(e));
            continue;
        }
        started[i] = 1;
        if (join_each && (e = pthread_join(tids[i], NULL)) != 0) /* the talk's mistake */
            wb_die_err(e, "pthread_join");
    }
    for (int i = 0; i < n && !join_each; i++) {
        int e = started[i] ? pthread_join(tids[i], NULL) : 0;
        if (e != 0)
            wb_die_err(e, "pthread_join");
    }
    wb_used_time(wb_now() - begin);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);

    int failed = 0, unreachable = 0;
    for (int i = 0; i < n; i++) {
        failed += !started[i] || jobs[i].rc != CURLE_OK;
        unreachable |= started[i] && jobs[i].rc == CURLE_COULDNT_CONNECT;
    }
    if (unreachable && optind == argc)
        wb_lab_hint();
    free(started);
    free(jobs);
    free(tids);
    wb_timeline_free(&tl);
    curl_global_cleanup();
    wb_urls_free(urls, n);
    return failed ? 1 : 0;
}
