/* ladder.h - how one row of the cost ladder is measured and drawn
 *
 * Shared by the two programs of chapter 1: latency.c (the CPU, memory, the
 * kernel, threads, processes) and io_latency.c (a TCP peer, a web server, a
 * disk). A row is one operation timed many times over; it shows the median
 * cost, that cost counted in arithmetic steps (the first row, the unit), and
 * a bar with one # for every doubling. Linux, C17.
 */
#ifndef LADDER_H
#define LADDER_H
#include "workbook.h"
#include <sched.h>

enum { LADDER_MAX_REPS = 1000 };

/* How many samples make a row, and the unit all rows are counted in. */
struct ladder {
    int reps;
    double unit;
};

/* Results land here, so the compiler cannot drop the work it measures. */
static volatile unsigned long ladder_sink;

static inline int ladder_by_value(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Time `calls` calls of op(arg), each doing `per` operations, reps times
 * over, and print the median cost of one operation: a sample in which the
 * machine was busy elsewhere does not move it. The first row is the unit. */
static inline void ladder_row(struct ladder *l, const char *name, void (*op)(void *),
                              void *arg, long calls, long per)
{
    double sample[LADDER_MAX_REPS];
    for (int r = 0; r < l->reps; r++) {
        double t0 = wb_now();
        for (long i = 0; i < calls; i++)
            op(arg);
        sample[r] = (wb_now() - t0) / (double)(calls * per) * 1e9;
    }
    qsort(sample, (size_t)l->reps, sizeof *sample, ladder_by_value);
    double ns = sample[l->reps / 2];
    if (l->unit == 0)
        l->unit = ns;

    /* the bar: one # for the unit, one more for every doubling of the cost */
    double steps = ns / l->unit;
    char bar[64] = "#";
    for (double f = steps; f >= 2 && strlen(bar) < sizeof bar - 1; f /= 2)
        strcat(bar, "#");
    printf("%-31s %11.1f ns %12.0fx  %s\n", name, ns, steps, bar);

    /* each row as it comes; and a fork must find no buffer to copy */
    fflush(stdout);
}

/* A row that cannot run here: why not, and (if hint is not NULL) what would help. */
static inline void ladder_missing(const char *name, const char *why, const char *hint)
{
    printf("%-31s not measured: %s\n", name, why);
    if (hint != NULL)
        printf("%-31s (%s)\n", "", hint);
    fflush(stdout);
}

/* The unit: 1000 multiply-adds a call, so the call's own cost is shared out.
 * Each needs the result of the one before, so no two of them overlap. */
static inline void ladder_arith(void *arg)
{
    (void)arg;

    /* start from values the compiler cannot know */
    unsigned long x = ladder_sink;
    unsigned long mul = ladder_sink | 1;
    for (int i = 0; i < 1000; i++)
        x = x * mul + 1;
    ladder_sink = x;
}

/* Before the first row: move to one CPU, print the heading, measure the unit. */
static inline void ladder_begin(struct ladder *l, const char *what)
{
    /* All on one CPU, the one we are on: a hand-over between two threads is
     * then a real switch, and no row depends on which core answers. */
    cpu_set_t one;
    CPU_ZERO(&one);
    int cpu = sched_getcpu();
    CPU_SET(cpu >= 0 ? cpu : 0, &one);
    if (sched_setaffinity(0, sizeof one, &one) == -1)
        wb_die("sched_setaffinity");

    printf("%s: what %s costs on this machine (median of %d samples)\n\n",
           program_invocation_short_name, what, l->reps);
    printf("%-31s %14s %13s  %s\n", "operation", "time", "vs arithmetic",
           "(# = twice the cost)");
    ladder_row(l, "arithmetic step (multiply-add)", ladder_arith, NULL, 1000, 1000);
}

/* After the last row: the lesson. */
static inline void ladder_end(void)
{
    printf("\nthe bottleneck is everything off the CPU\n");
}

#endif
