/* process_way.c - fetch ten pages at once with a pool of forked workers
 *
 * Talk: asynchronous programming / The Process Approach
 * Usage: process_way [-q] [-n N] [-d MS] [-t SECONDS] [-w WORKERS] [URL...]
 * Shows: ProcessPoolExecutor(10) in C: WORKERS children made with fork(),
 *        each calling blocking_way() (blocking_get.c) and sending one
 *        fixed-size report per URL back over a shared pipe; the parent
 *        collects the reports, reaps every child and prints the results in
 *        the order of the URLs.
 * Compare: blocking_way.c (the same blocking_way(), one at a time),
 *          thread_way.c (threads instead of processes). Linux.
 */
#include "workbook.h"

#include "blocking_get.h"

#include <fcntl.h>
#include <getopt.h>
#include <sys/wait.h>

static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s,
                          int *workers);

/* What a worker tells the parent about one URL. It is far below PIPE_BUF
 * (4096 on Linux), so each write() of one lands in the pipe whole, never
 * mixed with another worker's report. */
struct report {
    int index;
    long long bytes; /* -1: failed, and why says why */
    double start, end;
    char why[200];
};

/* A worker takes URLs index, index + workers, ... (a fixed share each,
 * simpler than the executor's shared queue) and reports every one. */
static void worker(int index, int workers, char **urls, int n, int timeout_s, int out)
{
    for (int i = index; i < n; i += workers) {
        struct report r = {.index = i};

        /* the talk's executor.submit(blocking_way), run in this child */
        r.start = wb_now();
        r.bytes = blocking_way(urls[i], timeout_s, r.why, sizeof r.why);
        r.end = wb_now();

        /* one write per report; EINTR: nothing was written, so again */
        ssize_t w;
        do
            w = write(out, &r, sizeof r);
        while (w == -1 && errno == EINTR);

        /* the parent sees the exit status and the missing report */
        if (w != (ssize_t)sizeof r)
            _exit(1);
    }
}

/* Read reports until every worker has closed its end of the pipe. */
static void collect(int in, struct report *res, int n, struct wb_timeline *tl)
{
    struct report r;
    ssize_t got;
    while ((got = read(in, &r, sizeof r)) != 0) {
        if (got == -1 && errno == EINTR)
            continue;
        if (got == -1)
            wb_die("read");

        /* Whole reports went in with one write each, so a read of one
         * report's size takes exactly one; anything else is a bug. */
        if (got != (ssize_t)sizeof r || r.index < 0 || r.index >= n)
            wb_die_err(EPROTO, "read report");
        res[r.index] = r;
        wb_span_set(tl, r.index, r.start, r.end);
    }
}

/* Wait for each child and say how it ended, if not well. */
static void reap(const pid_t *pids, int started)
{
    for (int k = 0; k < started; k++) {
        int status;
        while (waitpid(pids[k], &status, 0) == -1)
            if (errno != EINTR)
                wb_die("waitpid");

        if (WIFSIGNALED(status))
            fprintf(stderr, "%s: worker %d killed by signal %d\n",
                    program_invocation_short_name, (int)pids[k], WTERMSIG(status));
        else if (WEXITSTATUS(status) != 0)
            fprintf(stderr, "%s: worker %d exited with status %d\n",
                    program_invocation_short_name, (int)pids[k], WEXITSTATUS(status));
    }
}

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    int timeout_s, workers;
    parse_options(argc, argv, &o, &timeout_s, &workers);

    /* the URLs, a lab server to answer them, and a slot for each report */
    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_require_lab(urls, n);
    struct report *res = calloc((size_t)n, sizeof *res);
    if (res == NULL)
        wb_die("calloc");
    for (int i = 0; i < n; i++) {
        res[i].index = i;
        res[i].bytes = -1;
        snprintf(res[i].why, sizeof res[i].why,
                 "no report: its worker died or never started");
    }

    struct wb_timeline tl;
    wb_timeline_init(&tl, n);

    /* one pipe that every worker writes its reports into */
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) == -1)
        wb_die("pipe2");

    /* never more workers than URLs */
    workers = workers < n ? workers : n;
    pid_t *pids = calloc((size_t)workers, sizeof *pids);
    if (pids == NULL)
        wb_die("calloc");

    /* the pool: fork the workers; flush first, or each child would print what
     * the parent buffered */
    double start = wb_now();
    fflush(stdout);
    int started = 0;
    while (started < workers) {
        pid_t pid = fork();
        if (pid == -1) {
            /* go on with the workers we have; their URLs only */
            fprintf(stderr, "%s: fork: %s\n", program_invocation_short_name,
                    strerror(errno));
            break;
        }

        /* the child only writes: if it cannot close the read end, it sends
         * no report, and the parent names its exit status */
        if (pid == 0) {
            if (close(fds[0]) == -1)
                _exit(1);
            worker(started, workers, urls, n, timeout_s, fds[1]);

            /* _exit(): no atexit handlers, no second flush of stdio */
            _exit(0);
        }

        pids[started] = pid;
        started++;
    }

    /* now read() sees end-of-file once every worker is gone */
    if (close(fds[1]) == -1)
        wb_die("close");
    collect(fds[0], res, n, &tl);
    if (close(fds[0]) == -1)
        wb_die("close");

    /* every child reaped, and any that ended badly named */
    reap(pids, started);
    double wall = wb_now() - start;

    /* the results in URL order, as [f.result() for f in futs] */
    int failed = 0;
    for (int i = 0; i < n; i++) {
        if (res[i].bytes < 0) {
            fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, urls[i],
                    res[i].why);
            wb_task_failed(&tl, i);
            failed++;
        } else {
            wb_result(i, res[i].bytes, wb_task_seconds(&tl, i), urls[i]);
        }
    }

    /* the work was done by the children: count their CPU time too */
    struct rusage kids;
    if (getrusage(RUSAGE_CHILDREN, &kids) == -1)
        wb_die("getrusage");
    double cpu = wb_cpu_seconds() +
                 (double)(kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) +
                 (double)(kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) / 1e6;
    printf("cpu time: %.3f s (wall %.3f s)\n", cpu, wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);

    wb_timeline_free(&tl);
    free(pids);
    free(res);
    wb_urls_free(urls, n);
    return failed > 0 ? 1 : 0;
}

/* ---- the command line ---------------------------------------------------- */

/* --help: the usage and what the options do, exit 0; a bad option: the usage
 * on stderr, exit 2. */
static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fprintf(out, "Usage: %s [-q] [-n N] [-d MS] [-t SECONDS] [-w WORKERS] [URL...]\n",
            program_invocation_short_name);
    if (status == 0)
        fputs("\nFetch the URLs with a pool of forked processes, each doing blocking\n"
              "fetches, and print the results in the order of the URLs. With no\n"
              "URL, fetch N lab URLs, each answered after MS milliseconds.\n"
              "\n"
              "  -n N          how many lab URLs (default 10)\n"
              "  -d MS         the lab server's delay per URL (default 200)\n"
              "  -t SECONDS    give up on a server silent for this long (default 10)\n"
              "  -w WORKERS    how many processes (default 10, as the talk's pool)\n"
              "  -q            no timeline, only the results\n",
              stdout);
    exit(status);
}

/* -q, -n and -d are the options every fetch program shares (workbook.h). */
static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s,
                          int *workers)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *timeout_s = 10;
    *workers = 10;

    int c;
    while ((c = getopt_long(argc, argv, "qn:d:t:w:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, o))
            continue;
        switch (c) {
        case 't': *timeout_s = (int)wb_opt_long("-t", optarg, 1, 3600); break;
        case 'w': *workers = (int)wb_opt_long("-w", optarg, 1, 1000); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
}
