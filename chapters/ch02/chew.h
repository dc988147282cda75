/* chew.h - the CPU-bound work of buns.c and gil.c (and blocking.c), and its clock
 *
 * A task that needs nothing but the CPU (no memory, no I/O), the CPU time of
 * one thread, how many steps of work fill a given time, how many cores may
 * do it, and the note a program prints when other programs kept it from a
 * fair race. Linux, C17.
 */
#ifndef CHEW_H
#define CHEW_H
#include "workbook.h"
#include <sched.h>
#include <stdint.h>

/* The work: `steps` multiply-adds in a chain, each needing the one before. */
static inline uint64_t chew(uint64_t steps, uint64_t x)
{
    for (uint64_t i = 0; i < steps; i++)
        x = x * 6364136223846793005u + 1442695040888963407u;
    return x;
}

/* CPU time of the calling thread alone, in seconds. */
static inline double thread_cpu(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == -1)
        wb_die("clock_gettime");
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How many steps of chew() take `seconds` of CPU: time a sample three times
 * and keep the best (CPU time, so another busy program hardly counts). */
static inline uint64_t steps_for(double seconds)
{
    const uint64_t sample = 1u << 21;
    double best = 1e9;

    for (int k = 0; k < 3; k++) {
        double c0 = thread_cpu();
        volatile uint64_t keep = chew(sample, 1);
        (void)keep;
        double dt = thread_cpu() - c0;

        if (dt > 0 && dt < best)
            best = dt;
    }
    return (uint64_t)((double)sample * seconds / best) + 1;
}

/* How many cores this process may use (a container or taskset may allow
 * fewer than the machine has); *first, if asked for: the lowest of them. */
static inline int cores_here(int *first)
{
    cpu_set_t mine;
    if (sched_getaffinity(0, sizeof mine, &mine) == -1)
        wb_die("sched_getaffinity");

    int cpu = 0;
    while (!CPU_ISSET(cpu, &mine))
        cpu++;
    if (first != NULL)
        *first = cpu;
    return CPU_COUNT(&mine);
}

static inline const char *plural(int k)
{
    return k == 1 ? "" : "s";
}

/* share[i]: how much of the CPU run i got, of what its cores could give it.
 * Well under 1 means other programs were busy: the times are not fair. */
static inline void note_if_unfair(const double *share, int runs)
{
    for (int i = 0; i < runs; i++) {
        if (share[i] >= 0.8)
            continue;
        printf("note: a run got only %.0f%% of the CPU it could use: "
               "other programs are busy\n"
               "on this machine, so these times are not a fair race; "
               "try again later\n",
               share[i] * 100);
        return;
    }
}

#endif
