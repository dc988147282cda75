/* pool_fetch.c - map a fetch over the URLs with a pool of processes, then of threads
 *
 * Talk: parallel handling / pool (Pool() versus multiprocessing.dummy's ThreadPool())
 * Usage: pool_fetch [-q] [-w W] [--mode process|thread|both] [-n N] [-d MS] [URL...]
 * Shows: W workers (default: the online CPUs, as Pool()) fetch at most W at once; the
 *        results in input order, as from map(). One pool for both, as ThreadPool() is
 *        Pool() on threads: task numbers from a pipe, results in MAP_SHARED memory.
 * Compare: thread_fetch.c and process_fetch.c (one worker per URL, no limit)
 */
#include "workbook.h"

/* what the pool maps: fetch() of one URL into its struct result */
#include "pool_task.h"

#include <curl/curl.h>
#include <getopt.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MAX_WORKERS 100

struct options {
    struct wb_opts common;
    int workers;

    /* --mode: one pool or both */
    int process_pool, thread_pool;
};
static void parse_options(int argc, char **argv, struct options *opt);

/* What a pool is given: the URLs, its size, where the results go, its pipe. */
struct job {
    char **urls;
    int n, workers;

    /* res[i]: task i's result, in MAP_SHARED memory */
    struct result *res;

    /* the read end of the task pipe */
    int tasks;
};

/* A worker, thread or process: take task numbers (each one atomic 4-byte write) until
 * the pipe is empty and closed. With no signal handler installed, no EINTR. */
static void *work(void *arg)
{
    const struct job *job = arg;
    int i;

    while (read(job->tasks, &i, sizeof i) == (ssize_t)sizeof i) {
        /* whose task it is, for the parent to say if this worker dies on it */
        job->res[i].worker = getpid();
        fetch(job->urls[i], &job->res[i]);
    }
    return NULL;
}

/* Pool(), map(), close() and join(), with processes or with threads. */
static void pool_map(struct job *job, int processes)
{
    pid_t pids[MAX_WORKERS];
    pthread_t tids[MAX_WORKERS];
    int fds[2];
    if (pipe(fds) == -1)
        wb_die("pipe");

    /* map(): every task number into a pipe made big enough to hold them all */
    if (fcntl(fds[1], F_SETPIPE_SZ, job->n * (int)sizeof(int)) == -1)
        wb_die("F_SETPIPE_SZ");
    for (int i = 0; i < job->n; i++)
        if (write(fds[1], &i, sizeof i) == -1)
            wb_die("write");

    /* close(): no more tasks, so a worker reads EOF once the pipe is empty */
    if (close(fds[1]) == -1)
        wb_die("close");
    job->tasks = fds[0];

    /* the workers: threads, or children (after fflush, or they print it again) */
    fflush(stdout);
    for (int k = 0; k < job->workers; k++) {
        if (!processes) {
            int err = pthread_create(&tids[k], NULL, work, job);
            if (err != 0)
                wb_die_err(err, "pthread_create");
            continue;
        }
        pids[k] = fork();
        if (pids[k] == -1)
            wb_die("fork");
        if (pids[k] == 0) {
            work(job);
            _exit(0);
        }
    }

    /* join(): each worker leaves when the pipe is empty */
    for (int k = 0; k < job->workers && !processes; k++) {
        int err = pthread_join(tids[k], NULL);
        if (err != 0)
            wb_die_err(err, "pthread_join");
    }
    for (int k = 0; k < job->workers && processes; k++) {
        int status;
        if (waitpid(pids[k], &status, 0) == -1)
            wb_die("waitpid");

        /* one that died: its task says how (pool_task.h), not "never fetched" */
        if (status != 0)
            worker_died(job->res, job->n, pids[k], status);
    }
    if (close(fds[0]) == -1)
        wb_die("close");
}

/* One pool's map(), timed as in the talk; its results in input order, from row `row`.
 */
static int timed_map(struct job *job, int processes, struct wb_timeline *tl, int row)
{
    int failed = 0;

    for (int i = 0; i < job->n; i++)
        job->res[i] =
            (struct result){.rc = CURLE_FAILED_INIT, .reason = "never fetched"};
    double t0 = wb_now();
    pool_map(job, processes);
    double used = wb_now() - t0;

    for (int i = 0; i < job->n; i++) {
        const struct result *r = &job->res[i];
        wb_span_set(tl, row + i, r->start, r->end);
        if (r->rc == CURLE_OK) {
            wb_result(i, r->bytes, r->end - r->start, job->urls[i]);
            continue;
        }
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, job->urls[i],
                r->reason);
        wb_task_failed(tl, row + i);
        failed++;
    }
    printf("%s use time: %.3f s\n", processes ? "process" : "thread", used);
    return failed;
}

int main(int argc, char **argv)
{
    struct options opt = {WB_OPTS_INIT, 1, 1, 1};
    parse_options(argc, argv, &opt);

    struct job job = {.workers = opt.workers};
    job.urls = wb_urls(argc - optind, argv + optind, &opt.common, &job.n);
    wb_require_lab(job.urls, job.n);

    /* libcurl's global set-up: once, before any thread or fork */
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        fprintf(stderr, "%s: curl_global_init: %s\n", program_invocation_short_name,
                curl_easy_strerror(rc));
        return 1;
    }

    /* the results, in memory that forked workers share with us too */
    size_t size = (size_t)job.n * sizeof *job.res;
    job.res =
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (job.res == MAP_FAILED)
        wb_die("mmap");

    /* with both pools, the process pool's n rows, then the thread pool's */
    struct wb_timeline tl;
    wb_timeline_init(&tl, (opt.process_pool + opt.thread_pool) * job.n);

    /* the talk's cell: Pool(), then ThreadPool() */
    int failed = 0;
    double begin = wb_now();
    if (opt.process_pool)
        failed += timed_map(&job, 1, &tl, 0);
    if (opt.thread_pool)
        failed += timed_map(&job, 0, &tl, tl.n - job.n);
    wb_used_time(wb_now() - begin);
    if (!opt.common.quiet)
        wb_timeline_print(&tl, stdout);

    wb_timeline_free(&tl);
    if (munmap(job.res, size) == -1)
        wb_die("munmap");
    curl_global_cleanup();
    wb_urls_free(job.urls, job.n);
    return failed > 0 ? 1 : 0;
}

/* ---- the command line ---- */

static _Noreturn void usage(int status)
{
    fputs("Usage: pool_fetch [-q] [-w W] [--mode MODE] [-n N] [-d MS] [URL...]\n",
          status == 0 ? stdout : stderr);
    if (status == 0)
        printf(
            "\nFetches the URLs with a pool of W workers, processes then threads: at\n"
            "most W fetches at once. With no URL it fetches N lab URLs that each\n"
            "take MS milliseconds.\n\n"
            "  -w W         workers, 1 to 100 (default: the online CPUs)\n"
            "  --mode MODE  process, thread or both (the default)\n"
            "  -n N         how many lab URLs (default 10), not how many workers\n"
            "  -d MS        the lab server's delay per URL (default 200)\n"
            "  -q           no timeline, only the results\n");
    exit(status);
}

/* -q, -n and -d are the options every fetch program shares (workbook.h). */
static void parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"mode", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    int c;

    long cpus = sysconf(_SC_NPROCESSORS_ONLN); /* Pool()'s default */
    if (cpus > 1)
        opt->workers = cpus < MAX_WORKERS ? (int)cpus : MAX_WORKERS;

    while ((c = getopt_long(argc, argv, "qn:d:w:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, &opt->common))
            continue;
        switch (c) {
        case 'w': opt->workers = (int)wb_opt_long("-w", optarg, 1, MAX_WORKERS); break;
        case 'm':
            opt->process_pool = strcmp(optarg, "thread") != 0;
            opt->thread_pool = strcmp(optarg, "process") != 0;
            if (opt->process_pool && opt->thread_pool && strcmp(optarg, "both") != 0) {
                fprintf(stderr, "%s: --mode: '%s' is not process, thread or both\n",
                        program_invocation_short_name, optarg);
                usage(2);
            }
            break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
}
