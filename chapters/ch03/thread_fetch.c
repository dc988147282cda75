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

static void parse_options(int argc, char **argv, struct wb_opts *o, int *join_each);

/* What one thread needs and what it leaves for main. Each thread has its
 * own job, and main reads rc only after pthread_join(), which makes the
 * thread's writes visible: no lock is needed. */
struct job {
    int i;
    const char *url;

    /* the thread writes only its own slot */
    struct wb_timeline *tl;
    CURLcode rc;
};

/* the same byte counter as sequential_fetch.c */
static size_t count_bytes(char *data, size_t size, size_t nmemb, void *userp)
{
    (void)data;
    *(long long *)userp += (long long)(size * nmemb);
    return size * nmemb;
}

/* One fetch with a handle of its own: a handle is never shared between
 * threads. NOSIGNAL: no SIGALRM for timeouts, since signals and threads do
 * not mix; FAILONERROR: HTTP 400 and up fails, as urlopen raises HTTPError. */
static CURLcode fetch(const char *url, long long *bytes, char *err)
{
    CURL *h = curl_easy_init();
    if (h == NULL)
        return CURLE_OUT_OF_MEMORY;

    /* setting an option fails only for want of memory */
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    if (curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_WRITEDATA, bytes) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*") == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err) == CURLE_OK)
        rc = curl_easy_perform(h);

    curl_easy_cleanup(h);
    return rc;
}

/* The thread's body, the run() of the talk's UrlFetchThread. */
static void *fetch_thread(void *arg)
{
    struct job *j = arg;
    char err[CURL_ERROR_SIZE] = "";
    long long bytes = 0;

    wb_task_begin(j->tl, j->i);
    j->rc = fetch(j->url, &bytes, err);
    wb_task_end(j->tl, j->i);

    /* One printf per line: stdio locks the stream for the call, so lines
     * from different threads never mix. */
    if (j->rc == CURLE_OK) {
        wb_result(j->i, bytes, wb_task_seconds(j->tl, j->i), j->url);
        return NULL;
    }
    if (err[0] == '\0')
        snprintf(err, sizeof err, "%s", curl_easy_strerror(j->rc));
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, j->url, err);
    wb_task_failed(j->tl, j->i);
    return NULL;
}

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    int join_each = 0;
    parse_options(argc, argv, &o, &join_each);

    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_require_lab(urls, n);

    /* A thread holds three descriptors: its connection, and the socket pair
     * through which curl_easy_perform() can be woken. Say so before fetches
     * fail for lack of them. */
    long limit = wb_raise_fd_limit(1);
    if (3L * n + 16 > limit)
        fprintf(stderr,
                "%s: %d threads need about %d open files (a connection and a "
                "socket pair each), the limit is %ld: some fetches will fail\n",
                program_invocation_short_name, n, 3 * n, limit);

    /* libcurl's global set-up is not thread-safe: once, before any thread */
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        fprintf(stderr, "%s: curl_global_init: %s\n", program_invocation_short_name,
                curl_easy_strerror(rc));
        return 1;
    }

    pthread_t *tids = calloc((size_t)n, sizeof *tids);
    struct job *jobs = calloc((size_t)n, sizeof *jobs);
    char *started = calloc((size_t)n, 1);
    if (tids == NULL || jobs == NULL || started == NULL)
        wb_die("calloc");
    struct wb_timeline tl;
    wb_timeline_init(&tl, n);
    if (join_each)
        printf("--join-each: each thread is joined before the next one starts (the "
               "talk's cell), so the fetches run one at a time\n");

    /* start every thread; out of threads, that URL fails and the others go on */
    double begin = wb_now();
    for (int i = 0; i < n; i++) {
        jobs[i] = (struct job){i, urls[i], &tl, CURLE_OK};
        int err = pthread_create(&tids[i], NULL, fetch_thread, &jobs[i]);
        if (err != 0) {
            fprintf(stderr, "%s: %s: pthread_create: %s\n",
                    program_invocation_short_name, urls[i], strerror(err));
            continue;
        }
        started[i] = 1;

        /* the talk's mistake: wait for this thread before starting the next */
        if (join_each) {
            err = pthread_join(tids[i], NULL);
            if (err != 0)
                wb_die_err(err, "pthread_join");
        }
    }

    /* then join them all: the fetches overlapped meanwhile */
    for (int i = 0; i < n && !join_each; i++) {
        if (!started[i])
            continue;
        int err = pthread_join(tids[i], NULL);
        if (err != 0)
            wb_die_err(err, "pthread_join");
    }
    wb_used_time(wb_now() - begin);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);

    /* a URL failed if its thread never started or its fetch failed */
    int failed = 0;
    for (int i = 0; i < n; i++)
        if (!started[i] || jobs[i].rc != CURLE_OK)
            failed++;

    free(started);
    free(jobs);
    free(tids);
    wb_timeline_free(&tl);
    curl_global_cleanup();
    wb_urls_free(urls, n);
    return failed > 0 ? 1 : 0;
}

/* ---- the command line ---- */

static _Noreturn void usage(int status)
{
    fputs("Usage: thread_fetch [-q] [--join-each] [-n N] [-d MS] [URL...]\n",
          status == 0 ? stdout : stderr);
    if (status == 0)
        printf(
            "\nFetches every URL in its own thread: all threads are started first,\n"
            "then all are joined, so the fetches overlap. With no URL it fetches\n"
            "N lab URLs that each take MS milliseconds.\n\n"
            "  --join-each  join each thread right after starting it, as the talk's\n"
            "               cell does: the fetches then run one at a time\n"
            "  -n N         how many lab URLs (default 10)\n"
            "  -d MS        the lab server's delay per URL (default 200)\n"
            "  -q           no timeline, only the results\n");
    exit(status);
}

/* -q, -n and -d are the options every fetch program shares (workbook.h). */
static void parse_options(int argc, char **argv, struct wb_opts *o, int *join_each)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"join-each", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "qn:d:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, o))
            continue;
        switch (c) {
        case 'j': *join_each = 1; break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
}
