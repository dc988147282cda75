/* buns.c - concurrency versus parallelism: one person or three eating three buns
 *
 * Talk: glossary / concurrency vs parallelism
 *       (一个人同时吃三个馒头 vs 三个人同时吃三个馒头)
 * Usage: buns [-n BUNS] [-t MS]
 * Shows: the same CPU-bound tasks one after another; concurrently on one core
 *        (threads pinned to one CPU take turns); in parallel on every core. Each
 *        run draws its timeline, its wall time and each task's CPU time. Linux.
 * Compare: gil.c (a global lock turns parallel threads back into turns)
 * The work and its timing, shared with gil.c, are in chew.h.
 */
#include "chew.h"
#include <getopt.h>
#include <pthread.h>
#include <sched.h>

enum mode { SEQUENTIAL, CONCURRENT, PARALLEL };

/* One bun: its slot in the timeline, its size, and what its eater reports. */
struct bun {
    struct wb_timeline *timeline;
    int i;
    uint64_t steps;
    uint64_t result; /* kept, so the compiler cannot skip the work */
    double cpu;      /* seconds of CPU this bun's eater used */
};

static void *eat(void *arg)
{
    struct bun *b = arg;

    wb_task_begin(b->timeline, b->i);
    double cpu0 = thread_cpu();
    b->result = chew(b->steps, b->steps);
    b->cpu = thread_cpu() - cpu0;
    wb_task_end(b->timeline, b->i);
    return NULL;
}

/* Eat n buns in one of the three ways; print what happened; return the wall
 * time. *share: how much of the CPU the eaters got, of what `cores` could give
 * them (well under 1: other programs were busy, so the times are unfair). */
static double run(enum mode mode, int n, uint64_t steps, int first_cpu, int cores,
                  double *share)
{
    struct wb_timeline timeline;
    wb_timeline_init(&timeline, n);
    struct bun *buns = calloc((size_t)n, sizeof *buns);
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    if (buns == NULL || threads == NULL)
        wb_die("calloc");

    /* concurrent: every thread may run on one CPU only, so they take turns */
    pthread_attr_t attr;
    int err = pthread_attr_init(&attr);
    if (err != 0)
        wb_die_err(err, "pthread_attr_init");
    if (mode == CONCURRENT) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(first_cpu, &one);
        err = pthread_attr_setaffinity_np(&attr, sizeof one, &one);
        if (err != 0)
            wb_die_err(err, "pthread_attr_setaffinity_np");
    }

    /* eat: in main, one bun after the other; or a thread for every bun */
    double t0 = wb_now();
    for (int i = 0; i < n; i++) {
        buns[i] = (struct bun){.timeline = &timeline, .i = i, .steps = steps};
        if (mode == SEQUENTIAL) {
            /* right here, in main: the next bun waits for this one */
            eat(&buns[i]);
            continue;
        }
        err = pthread_create(&threads[i], &attr, eat, &buns[i]);
        if (err != 0)
            wb_die_err(err, "pthread_create");
    }
    for (int i = 0; mode != SEQUENTIAL && i < n; i++) {
        err = pthread_join(threads[i], NULL);
        if (err != 0)
            wb_die_err(err, "pthread_join");
    }
    double wall = wb_now() - t0;

    /* what happened (the join above makes the threads' writes visible) */
    double cpu = 0;
    for (int i = 0; i < n; i++) {
        printf("  bun %d: %.3f s of chewing (CPU), eaten from %.3f s to %.3f s\n", i,
               buns[i].cpu, timeline.span[i].start - t0, timeline.span[i].end - t0);
        cpu += buns[i].cpu;
    }
    wb_timeline_print(&timeline, stdout);

    *share = cpu / (wall * cores);
    printf("  wall time: %.3f s (the eaters got %.0f%% of %d core%s)\n\n", wall,
           *share * 100, cores, plural(cores));

    pthread_attr_destroy(&attr);
    wb_timeline_free(&timeline);
    free(threads);
    free(buns);
    return wall;
}

static void parse_options(int argc, char **argv, int *n, int *ms);

int main(int argc, char **argv)
{
    int n = 3;
    int ms = 100;
    parse_options(argc, argv, &n, &ms);

    /* the cores we may use, and the first of them for the pinned run */
    int first_cpu;
    int cores = cores_here(&first_cpu);
    uint64_t steps = steps_for(ms / 1000.0);

    printf("buns: %d buns, each %.3f s of chewing for one eater alone; "
           "%d core%s here\n\n",
           n, ms / 1000.0, cores, plural(cores));

    int people = cores < n ? cores : n; /* eating at the same moment */
    double share[3];

    printf("== sequential: one person eats the buns one after another\n");
    double seq = run(SEQUENTIAL, n, steps, first_cpu, 1, &share[0]);

    printf("== concurrent (并发): one person eats all %d buns at once, "
           "a bite of each in turn\n",
           n);
    printf(
        "   (%d threads, all pinned to CPU %d: only one of them runs at any moment)\n",
        n, first_cpu);
    double con = run(CONCURRENT, n, steps, first_cpu, 1, &share[1]);

    printf("== parallel (并行): %d people eat a bun each, at the same time\n"
           "   (%d threads on %d core%s: up to %d of them run at any moment)\n",
           n, n, cores, plural(cores), people);
    double par = run(PARALLEL, n, steps, first_cpu, people, &share[2]);

    printf("== summary (%d core%s)\n", cores, plural(cores));
    printf("sequential  %.3f s\n", seq);
    printf("concurrent  %.3f s  speed-up %.2fx: "
           "taking turns does not make CPU work faster\n",
           con, seq / con);
    printf("parallel    %.3f s  speed-up %.2fx: more cores do, up to %dx here\n", par,
           seq / par, people);

    if (cores == 1)
        printf("(with one core, parallel cannot beat concurrent: "
               "try it on a bigger machine)\n");

    note_if_unfair(share, 3);
    return 0;
}

/* --- the command line --------------------------------------------------------- */

/* --help: the text on stdout, exit 0; a bad option: the usage line on stderr, exit 2 */
static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fputs("Usage: buns [-n BUNS] [-t MS]\n", out);
    if (status == 0)
        fputs("\nEats the same buns (CPU-bound tasks) three ways: one after another; "
              "all\n"
              "at once on one core, taking turns (concurrency, 并发); and all at once "
              "on\n"
              "every core (parallelism, 并行). Only the last one finishes sooner.\n\n"
              "  -n BUNS  how many buns (default 3)\n"
              "  -t MS    how long one bun takes to eat alone, in ms (default 100)\n",
              stdout);
    exit(status);
}

static void parse_options(int argc, char **argv, int *n, int *ms)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "n:t:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n': *n = (int)wb_opt_long("-n", optarg, 1, 64); break;
        case 't': *ms = (int)wb_opt_long("-t", optarg, 1, 10000); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
}
