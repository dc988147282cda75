/* pool_fetch.c - map a fetch over the URLs with a fixed pool of processes, then of threads
 *
 * Talk: parallel handling / pool (Pool() versus multiprocessing.dummy's ThreadPool())
 * Usage: pool_fetch [-q] [-w N] [--mode process|thread|both] [-n N] [-d MS] [URL...]
 * Shows: N workers (default: the online CPUs, as Pool()) share the work, so at most N
 *        fetches run at once; results come back in input order, as from map(). Threads:
 *        a queue under a mutex and a condition variable, closed by a flag and a broadcast.
 *        Processes: workers that all read fixed-size tasks from one pipe (PIPE_BUF bytes,
 *        so each write is atomic) and answer on another.
 * Compare: thread_fetch.c and process_fetch.c (one worker per URL, no limit)
 */
#include "workbook.h"

#include <curl/curl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#define MAX_WORKERS 100
static const char usage[] =
    "Usage: pool_fetch [-q] [-w N] [--mode process|thread|both] [-n N] [-d MS] [URL...]\n";

struct result {
    int i;       /* which task: a process worker's answer says so */
    CURLcode rc; /* CURLE_FAILED_INIT until a worker has done the task */
    long long bytes;
    double start, end;
    char reason[CURL_ERROR_SIZE];
};

static size_t count_bytes(char *data, size_t size, size_t nmemb, void *userp)
{
    (void)data;
    *(long long *)userp += (long long)(size * nmemb);
    return size * nmemb;
}

/* The function the pool maps over the URLs: the talk's fetch_content, with a
 * handle of its own on each call, as urlopen() opens a new connection. */
static void fetch(int i, const char *url, struct result *r)
{
    *r = (struct result){.i = i, .rc = CURLE_FAILED_INIT, .start = wb_now()};
    CURL *h = curl_easy_init();
    if (h && !(r->rc = curl_easy_setopt(h, CURLOPT_URL, url)) &&
        !(r->rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes)) &&
        !(r->rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->bytes)) &&
        !(r->rc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L)) &&    /* no signals in threads */
        !(r->rc = curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L)) && /* HTTP 404 is a failure */
        !(r->rc = curl_easy_setopt(h, CURLOPT_NOPROXY, "*")) &&
        !(r->rc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->reason)))
        r->rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    r->end = wb_now();
}

/* ---- the thread pool: a queue of task numbers, a mutex, a condition (their calls
 * are unchecked: POSIX lets them fail only on misuse) ---- */
struct tpool {
    pthread_mutex_t mu;
    pthread_cond_t changed;    /* tasks were queued, or the pool was closed */
    int queued, taken, closed; /* the queue holds tasks taken .. queued-1 */
    char **urls;
    struct result *res; /* a worker writes res[i] only for the i it took */
};

static void *thread_worker(void *arg)
{
    struct tpool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->taken == p->queued && !p->closed) /* a loop: wake-ups can be spurious */
            pthread_cond_wait(&p->changed, &p->mu);
        int i = p->taken < p->queued ? p->taken++ : -1;
        pthread_mutex_unlock(&p->mu);
        if (i < 0)
            return NULL; /* closed and empty: the clean way out */
        fetch(i, p->urls[i], &p->res[i]);
    }
}

static void thread_map(int workers, char **urls, int n, struct result *res)
{
    struct tpool p = {.mu = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER,
                      .urls = urls, .res = res};
    pthread_t tids[MAX_WORKERS];
    for (int k = 0, e; k < workers; k++)
        if ((e = pthread_create(&tids[k], NULL, thread_worker, &p)) != 0)
            wb_die_err(e, "pthread_create");
    pthread_mutex_lock(&p.mu); /* map(): queue every task, then close() */
    p.queued = n;
    p.closed = 1;
    pthread_cond_broadcast(&p.changed); /* wake every idle worker */
    pthread_mutex_unlock(&p.mu);
    for (int k = 0, e; k < workers; k++) /* join(): each leaves once the queue is empty */
        if ((e = pthread_join(tids[k], NULL)) != 0)
            wb_die_err(e, "pthread_join");
}

/* ---- the process pool: tasks of PIPE_BUF bytes, the most one write keeps whole ---- */
struct task { int i; char url[PIPE_BUF - sizeof(int)]; };
_Static_assert(sizeof(struct result) <= PIPE_BUF, "an answer must fit one atomic write");

/* One message in one read(), again after EINTR (a signal came before any data).
 * Several workers read the task pipe: each task was written atomically, and a read
 * of its size takes exactly one (a second read() could get another worker's bytes). */
static ssize_t read_msg(int fd, void *msg, size_t len)
{
    ssize_t k;
    while ((k = read(fd, msg, len)) == -1 && errno == EINTR)
        continue;
    return k;
}

/* A forked worker: take tasks until the task pipe is closed (EOF), answer each. */
static void process_worker(int tasks, int answers)
{
    struct task t;
    struct result r;
    while (read_msg(tasks, &t, sizeof t) == (ssize_t)sizeof t) {
        fetch(t.i, t.url, &r);
        if (write(answers, &r, sizeof r) != (ssize_t)sizeof r) /* atomic: all or nothing */
            _exit(1);
    }
    _exit(0); /* _exit: the parent's stdio buffers are not ours to flush */
}

static void process_map(int workers, char **urls, int n, struct result *res)
{
    int tp[2], ap[2];
    pid_t pids[MAX_WORKERS];
    if (pipe(tp) == -1 || pipe(ap) == -1)
        wb_die("pipe");
    fflush(stdout); /* or the children inherit a copy of unprinted output */
    for (int k = 0; k < workers; k++) {
        if ((pids[k] = fork()) == -1)
            wb_die("fork");
        if (pids[k] == 0) { /* a worker holding the task pipe's write end would never see EOF */
            if (close(tp[1]) == -1 || close(ap[0]) == -1)
                _exit(1);
            process_worker(tp[0], ap[1]);
        }
    }
    if (close(tp[0]) == -1 || close(ap[1]) == -1) /* the workers' ends */
        wb_die("close");
    /* At most one task per worker is out, so the answers never fill their pipe (MAX_WORKERS
     * x sizeof(struct result) < 64 KiB): no worker is stuck writing while we are. */
    for (int next = 0, out = 0;;) {
        for (; out < workers && next < n; next++, out++) {
            struct task t = {.i = next};
            snprintf(t.url, sizeof t.url, "%s", urls[next]); /* length checked in main */
            if (write(tp[1], &t, sizeof t) == -1)
                wb_die("write"); /* EPIPE: every worker is gone */
            if (next == n - 1 && close(tp[1]) == -1) /* the pool's close(): EOF for the idle */
                wb_die("close");
        }
        struct result a;
        ssize_t k = out > 0 ? read_msg(ap[0], &a, sizeof a) : 0;
        if (k == 0)
            break; /* all answered, or every worker died (EOF): the rest failed */
        if (k != (ssize_t)sizeof a) /* we are the only reader: a short read is a bug */
            wb_die_err(k == -1 ? errno : EPROTO, "read");
        res[a.i] = a;
        out--; /* that worker is free for the next task */
    }
    if (close(ap[0]) == -1)
        wb_die("close");
    for (int k = 0, st; k < workers; k++) { /* join(): reap every worker */
        while (waitpid(pids[k], &st, 0) == -1)
            if (errno != EINTR)
                wb_die("waitpid");
        if (WIFSIGNALED(st))
            fprintf(stderr, "pool_fetch: worker %d killed by signal %d\n", pids[k], WTERMSIG(st));
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'}, {"mode", required_argument, NULL, 'm'}, {0}};
    struct wb_opts o = WB_OPTS_INIT;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int c, modes = 3, workers = cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS : (int)cpus;
    while ((c = getopt_long(argc, argv, "qn:d:w:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, &o))
            continue;
        if (c == 'w') {
            workers = (int)wb_opt_long("-w", optarg, 1, MAX_WORKERS);
        } else if (c == 'm' && (modes = !strcmp(optarg, "process") ? 1
                                         : !strcmp(optarg, "thread") ? 2
                                         : !strcmp(optarg, "both")   ? 3 : 0)) {
            continue; /* 0 for an unknown mode: a usage error below */
        } else if (c == 'h') {
            printf("%s\nFetches the URLs with a pool of N workers (default %d, the online CPUs),\n"
                   "processes and then threads; prints results in input order, each pool's time.\n"
                   "  -w N  workers (1 to 100)  --mode  process, thread or both  -q  no timeline\n",
                   usage, workers);
            return 0;
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    int n, failed = 0, unreachable = 0;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    for (int i = 0; i < n; i++)
        if (strlen(urls[i]) >= sizeof(struct task) - sizeof(int))
            wb_die_err(E2BIG, urls[i]); /* a task message has room for 4 KiB */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) /* before any thread or fork */
        wb_die_err(EIO, "curl_global_init");
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) /* a write to a dead worker: EPIPE, not death */
        wb_die("signal");
    struct wb_timeline tl; /* with both pools: the process pool's n rows, then the thread pool's */
    wb_timeline_init(&tl, modes == 3 ? 2 * n : n);
    struct result *res = calloc((size_t)n, sizeof *res);
    if (!res)
        wb_die("calloc");
    double begin = wb_now();
    for (int m = 0, row = 0; m < 2; m++) { /* modes: bit 0 process pool, bit 1 thread pool */
        if (!(modes & (1 << m)))
            continue;
        for (int i = 0; i < n; i++) /* what a task no worker did reports */
            res[i] = (struct result){i, CURLE_FAILED_INIT, 0, 0, 0, "no worker did it"};
        double t0 = wb_now();
        (m == 0 ? process_map : thread_map)(workers, urls, n, res);
        double used = wb_now() - t0;
        for (int i = 0; i < n; i++, row++) { /* in input order, as map() returns them */
            wb_span_set(&tl, row, res[i].start, res[i].end);
            if (res[i].rc == CURLE_OK)
                wb_result(i, res[i].bytes, res[i].end - res[i].start, urls[i]);
            else
                fprintf(stderr, "pool_fetch: %s: %s\n", urls[i], /* reason: not always filled */
                        res[i].reason[0] ? res[i].reason : curl_easy_strerror(res[i].rc));
            failed += res[i].rc != CURLE_OK;
            unreachable |= res[i].rc == CURLE_COULDNT_CONNECT;
        }
        printf("%s use time: %.3f s\n", m == 0 ? "process" : "thread", used);
    }
    wb_used_time(wb_now() - begin);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);
    if (unreachable && optind == argc)
        wb_lab_hint();
    wb_timeline_free(&tl);
    free(res);
    curl_global_cleanup();
    wb_urls_free(urls, n);
    return failed ? 1 : 0;
}
