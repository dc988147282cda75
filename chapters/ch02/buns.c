/* buns.c - concurrency versus parallelism: one person or three eating three buns
 *
 * Talk: glossary / concurrency vs parallelism (一个人同时吃三个馒头 vs 三个人同时吃三个馒头)
 * Usage: buns [-n BUNS] [-t MS]
 * Shows: the same CPU-bound tasks run one after another; concurrently on one
 *        core (threads pinned to one CPU with sched_setaffinity take turns);
 *        and in parallel on every core. Each run draws its timeline and
 *        reports its wall time and the CPU time of each task. Linux.
 * Compare: gil.c (a global lock turns parallel threads back into turns)
 */
#include "workbook.h"
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

static const char usage[] =
    "Usage: buns [-n BUNS] [-t MS]\n"
    "Eats the same buns (CPU-bound tasks) three ways: one after another; all at\n"
    "once on one core, taking turns (concurrency, 并发); and all at once on every\n"
    "core (parallelism, 并行). Only the last one finishes sooner.\n"
    "  -n BUNS  how many buns (default 3)\n"
    "  -t MS    how long one bun takes to eat alone, in ms (default 100)\n";

enum mode { SEQUENTIAL, CONCURRENT, PARALLEL };

/* One bun: its slot in the timeline, its size, and what its eater reports. */
struct bun {
    struct wb_timeline *timeline;
    int i;
    uint64_t steps;
    uint64_t result; /* kept, so the compiler cannot skip the work */
    double cpu;      /* seconds of CPU this bun's eater used */
};

/* The work: a chain of multiply-adds, nothing but the CPU (no memory, no I/O). */
static uint64_t chew(uint64_t steps)
{
    uint64_t x = steps;
    for (uint64_t i = 0; i < steps; i++)
        x = x * 6364136223846793005u + 1442695040888963407u;
    return x;
}

static double thread_cpu(void) /* CPU time of the calling thread alone */
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == -1)
        wb_die("clock_gettime");
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *eat(void *arg)
{
    struct bun *b = arg;
    wb_task_begin(b->timeline, b->i);
    double cpu0 = thread_cpu();
    b->result = chew(b->steps);
    b->cpu = thread_cpu() - cpu0;
    wb_task_end(b->timeline, b->i);
    return NULL;
}

/* Eat n buns in one of the three ways; print what happened; return the wall
 * time. *share: how much of the CPU the eaters got, of what `cores` could give
 * them (well under 1: other programs were busy, so the times are unfair). */
static double run(enum mode mode, int n, uint64_t steps, int first_cpu, int cores, double *share)
{
    struct wb_timeline timeline;
    struct bun *buns = calloc((size_t)n, sizeof *buns);
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    pthread_attr_t attr;
    int err;
    if (!buns || !threads)
        wb_die("calloc");
    wb_timeline_init(&timeline, n);
    if ((err = pthread_attr_init(&attr)))
        wb_die_err(err, "pthread_attr_init");
    if (mode == CONCURRENT) { /* every thread may run on one CPU only: they take turns */
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(first_cpu, &one);
        if ((err = pthread_attr_setaffinity_np(&attr, sizeof one, &one)))
            wb_die_err(err, "pthread_attr_setaffinity_np");
    }

    double t0 = wb_now();
    for (int i = 0; i < n; i++) {
        buns[i] = (struct bun){.timeline = &timeline, .i = i, .steps = steps};
        if (mode == SEQUENTIAL)
            eat(&buns[i]); /* right here, in main: the next bun waits for this one */
        else if ((err = pthread_create(&threads[i], &attr, eat, &buns[i])))
            wb_die_err(err, "pthread_create");
    }
    for (int i = 0; mode != SEQUENTIAL && i < n; i++)
        if ((err = pthread_join(threads[i], NULL)))
            wb_die_err(err, "pthread_join");
    double wall = wb_now() - t0;

    double cpu = 0;
    for (int i = 0; i < n; i++) { /* the join above makes the threads' writes visible */
        printf("  bun %d: %.3f s of chewing (CPU), eaten from %.3f s to %.3f s\n", i, buns[i].cpu,
               timeline.span[i].start - t0, timeline.span[i].end - t0);
        cpu += buns[i].cpu;
    }
    wb_timeline_print(&timeline, stdout);
    *share = cpu / (wall * cores);
    printf("  wall time: %.3f s (the eaters got %.0f%% of %d core%s)\n\n", wall, *share * 100,
           cores, cores == 1 ? "" : "s");
    pthread_attr_destroy(&attr);
    wb_timeline_free(&timeline);
    free(threads);
    free(buns);
    return wall;
}

/* How many steps make a bun of the requested size: time a sample (the best
 * of three, in case something else was using the CPU) and scale it. */
static uint64_t steps_for(double seconds)
{
    const uint64_t sample = 1u << 22;
    double best = 1e9;
    for (int k = 0; k < 3; k++) {
        double t0 = wb_now();
        volatile uint64_t keep = chew(sample);
        (void)keep;
        double dt = wb_now() - t0;
        best = dt < best ? dt : best;
    }
    return (uint64_t)((double)sample * seconds / best) + 1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int n = 3, ms = 100, opt;
    while ((opt = getopt_long(argc, argv, "n:t:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n': n = (int)wb_opt_long("-n", optarg, 1, 64); break;
        case 't': ms = (int)wb_opt_long("-t", optarg, 1, 10000); break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind < argc) {
        fputs(usage, stderr);
        return 2;
    }

    /* The cores this process may use (a container or taskset may allow fewer
     * than the machine has), and the first of them for the one-core run. */
    cpu_set_t mine;
    if (sched_getaffinity(0, sizeof mine, &mine) == -1)
        wb_die("sched_getaffinity");
    int cores = CPU_COUNT(&mine), first_cpu = 0;
    while (!CPU_ISSET(first_cpu, &mine))
        first_cpu++;
    uint64_t steps = steps_for(ms / 1000.0);
    printf("buns: %d buns, each %.3f s of chewing for one eater alone; %d core%s here\n\n", n,
           ms / 1000.0, cores, cores == 1 ? "" : "s");

    printf("== sequential: one person eats the buns one after another\n");
    int people = cores < n ? cores : n; /* how many can eat at the same moment */
    double share[3];
    double seq = run(SEQUENTIAL, n, steps, first_cpu, 1, &share[0]);
    printf("== concurrent (并发): one person eats all %d buns at once, a bite of each in turn\n"
           "   (%d threads, all pinned to CPU %d: only one of them runs at any moment)\n",
           n, n, first_cpu);
    double con = run(CONCURRENT, n, steps, first_cpu, 1, &share[1]);
    printf("== parallel (并行): %d people eat a bun each, at the same time\n"
           "   (%d threads on %d core%s: up to %d of them run at any moment)\n",
           n, n, cores, cores == 1 ? "" : "s", people);
    double par = run(PARALLEL, n, steps, first_cpu, people, &share[2]);

    printf("== summary (%d core%s)\n", cores, cores == 1 ? "" : "s");
    printf("sequential  %.3f s\n", seq);
    printf("concurrent  %.3f s  speed-up %.2fx: taking turns does not make CPU work faster\n", con,
           seq / con);
    printf("parallel    %.3f s  speed-up %.2fx: more cores do, up to %dx here\n", par, seq / par,
           people);
    if (cores == 1)
        printf("(with one core, parallel cannot beat concurrent: try it on a bigger machine)\n");
    for (int i = 0; i < 3; i++)
        if (share[i] < 0.8) {
            printf("note: a run got only %.0f%% of the CPU it could use: other programs are busy\n"
                   "on this machine, so these times are not a fair race; try again later\n",
                   share[i] * 100);
            break;
        }
    return 0;
}
