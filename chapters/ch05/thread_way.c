/* thread_way.c - fetch ten pages at once with a pool of threads
 *
 * Talk: asynchronous programming / The Thread Approach
 * Usage: thread_way [-q] [-n N] [-d MS] [-t SECONDS] [-w WORKERS] [URL...]
 * Shows: ThreadPoolExecutor(10) in C: WORKERS threads take the next URL
 *        from a shared atomic counter, call blocking_way() (blocking_get.c,
 *        the same fetch as blocking_way.c and process_way.c), and store the
 *        result in that URL's own slot; after joining them all, main prints
 *        the results in the order of the URLs.
 * Compare: blocking_way.c (one at a time), process_way.c (processes),
 *          select_crawler.c (all at once in one thread). Linux.
 */
#include "workbook.h"

#include "blocking_get.h"

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>

static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s,
                          int *workers);

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

/* A worker takes the next URL until none is left: no two take the same one,
 * and no lock is needed, since each writes only its URL's own slot. */
static void *worker(void *arg)
{
    struct pool *p = arg;
    for (;;) {
        int i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n)
            return NULL;

        struct result *r = &p->res[i];

        /* the talk's executor.submit(blocking_way), run in this thread */
        wb_task_begin(p->tl, i);
        r->bytes = blocking_way(p->urls[i], p->timeout_s, r->why, sizeof r->why);
        wb_task_end(p->tl, i);
    }
}

/* Start up to `workers` threads; returns how many started. If some could
 * not, the ones we have share out every URL anyway. */
static int start_workers(pthread_t *tids, int workers, struct pool *p)
{
    int started = 0;
    while (started < workers) {
        int err = pthread_create(&tids[started], NULL, worker, p);
        if (err != 0 && started == 0)
            wb_die_err(err, "pthread_create");
        if (err != 0) {
            fprintf(stderr, "%s: pthread_create: %s; going on with %d threads\n",
                    program_invocation_short_name, strerror(err), started);
            break;
        }

        started++;
    }
    return started;
}

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    int timeout_s, workers;
    parse_options(argc, argv, &o, &timeout_s, &workers);

    /* the URLs, a lab server to answer them, and a slot for each result */
    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_require_lab(urls, n);
    struct wb_timeline tl;
    wb_timeline_init(&tl, n);

    /* what the workers share, and never more workers than URLs */
    struct pool p = {.urls = urls, .n = n, .timeout_s = timeout_s, .tl = &tl};
    atomic_init(&p.next, 0);
    p.res = calloc((size_t)n, sizeof *p.res);
    workers = workers < n ? workers : n;
    pthread_t *tids = calloc((size_t)workers, sizeof *tids);
    if (p.res == NULL || tids == NULL)
        wb_die("calloc");

    /* the pool: start the threads, then wait for each to finish */
    double start = wb_now();
    int started = start_workers(tids, workers, &p);
    for (int k = 0; k < started; k++) {
        int err = pthread_join(tids[k], NULL);
        if (err != 0)
            wb_die_err(err, "pthread_join");
    }
    double wall = wb_now() - start;

    /* the results in URL order, as [f.result() for f in futs] */
    int failed = 0;
    for (int i = 0; i < n; i++) {
        if (p.res[i].bytes < 0) {
            fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, urls[i],
                    p.res[i].why);
            wb_task_failed(&tl, i);
            failed++;
        } else {
            wb_result(i, p.res[i].bytes, wb_task_seconds(&tl, i), urls[i]);
        }
    }

    /* RUSAGE_SELF counts the CPU time of every thread of the process */
    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);

    wb_timeline_free(&tl);
    free(tids);
    free(p.res);
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
        fputs("\nFetch the URLs with a pool of threads, each doing blocking fetches,\n"
              "and print the results in the order of the URLs. With no URL, fetch\n"
              "N lab URLs, each answered after MS milliseconds.\n"
              "\n"
              "  -n N          how many lab URLs (default 10)\n"
              "  -d MS         the lab server's delay per URL (default 200)\n"
              "  -t SECONDS    give up on a server silent for this long (default 10)\n"
              "  -w WORKERS    how many threads (default 10, as the talk's pool)\n"
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
