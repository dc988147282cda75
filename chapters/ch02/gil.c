/* gil.c - why Python's threads never compute in parallel, and C's do
 *
 * Talk: glossary / "Python has no true parallelism, only concurrency"
 * Usage: gil [-n THREADS] [-t MS] [-s STEPS]
 * Shows: the same CPU-bound tasks done by one thread, by N free threads, and
 *        by N threads that must hold one global lock while they compute and
 *        hand it over every few thousand steps, as CPython's global
 *        interpreter lock (GIL) makes them; wall times, speed-ups, timelines.
 * Compare: buns.c (concurrency versus parallelism), row_lock.c (a lock for data)
 */
#include "workbook.h"
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

static const char usage[] =
    "Usage: gil [-n THREADS] [-t MS] [-s STEPS]\n"
    "Runs the same CPU-bound tasks with one thread, with N free threads, and with N\n"
    "threads that share one global lock the way Python's threads share the GIL.\n"
    "The free threads finish up to N times sooner; the locked ones take turns and\n"
    "are no faster than one thread.\n"
    "  -n THREADS  threads, one task each (default: the number of cores, at least 2)\n"
    "  -t MS       how long one task takes alone, in ms (default 150)\n"
    "  -s STEPS    steps between two hand-overs of the lock (default 5000)\n";

enum { STEP = 100 }; /* multiply-adds in one step of work */

/* The global lock. A bare mutex would not share fairly: the thread that lets
 * go takes it back at once, often before a sleeping waiter has even woken, so
 * one thread can keep it for many turns in a row. As in CPython (since 3.2),
 * a thread that lets go waits for its next turn: tickets, served in order. */
struct gil {
    pthread_mutex_t mutex;
    pthread_cond_t turn;
    unsigned long next, serving; /* the next ticket to hand out; the one served now */
};

static void gil_take(struct gil *g)
{
    int err = pthread_mutex_lock(&g->mutex);
    if (err)
        wb_die_err(err, "pthread_mutex_lock");
    unsigned long mine = g->next++;
    while (mine != g->serving) /* a loop: a wait may also end for no reason */
        if ((err = pthread_cond_wait(&g->turn, &g->mutex)))
            wb_die_err(err, "pthread_cond_wait");
    if ((err = pthread_mutex_unlock(&g->mutex)))
        wb_die_err(err, "pthread_mutex_unlock");
}

static void gil_drop(struct gil *g)
{
    int err = pthread_mutex_lock(&g->mutex);
    if (err)
        wb_die_err(err, "pthread_mutex_lock");
    g->serving++; /* the next ticket's turn; wake everyone, its holder goes on */
    if ((err = pthread_cond_broadcast(&g->turn)) || (err = pthread_mutex_unlock(&g->mutex)))
        wb_die_err(err, "gil_drop");
}

/* One task: its slot in the timeline, its size, the lock (or NULL), and
 * what its thread reports back. */
struct task {
    struct wb_timeline *timeline;
    int i;
    long steps, interval;
    struct gil *gil;
    uint64_t result; /* kept, so the compiler cannot skip the work */
    double cpu;      /* seconds of CPU the task used */
    long turns;      /* how many times it got the lock */
};

static uint64_t chew(long steps, uint64_t x) /* pure CPU: no memory, no I/O */
{
    for (long i = 0; i < steps * STEP; i++)
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

static void *work(void *arg)
{
    struct task *t = arg;
    wb_task_begin(t->timeline, t->i);
    double cpu0 = thread_cpu();
    for (long done = 0; done < t->steps; done += t->interval) {
        if (t->gil)
            gil_take(t->gil), t->turns++; /* wait for the lock before computing */
        t->result = chew(t->steps - done < t->interval ? t->steps - done : t->interval, t->result);
        if (t->gil)
            gil_drop(t->gil); /* a few thousand steps done: let the next thread have it */
    }
    t->cpu = thread_cpu() - cpu0;
    wb_task_end(t->timeline, t->i);
    return NULL;
}

/* Run n tasks: in main one after another (threads == 0), or on n threads,
 * with or without the lock. Print what happened; return the wall time.
 * *share: how much of the CPU the tasks got, of what `cores` could give them
 * (well under 1: other programs were busy, so the times are unfair). */
static double run(int threads, struct gil *gil, int n, long steps, long interval, int cores,
                  double *share)
{
    struct wb_timeline timeline;
    struct task *tasks = calloc((size_t)n, sizeof *tasks);
    pthread_t *tids = calloc((size_t)n, sizeof *tids);
    int err;
    if (!tasks || !tids)
        wb_die("calloc");
    wb_timeline_init(&timeline, n);
    double t0 = wb_now();
    for (int i = 0; i < n; i++) {
        tasks[i] = (struct task){&timeline, i, steps, interval, gil, (uint64_t)i, 0, 0};
        if (!threads)
            work(&tasks[i]);
        else if ((err = pthread_create(&tids[i], NULL, work, &tasks[i])))
            wb_die_err(err, "pthread_create");
    }
    for (int i = 0; threads && i < n; i++)
        if ((err = pthread_join(tids[i], NULL)))
            wb_die_err(err, "pthread_join");
    double wall = wb_now() - t0;
    double cpu = 0;
    for (int i = 0; i < n; i++)
        cpu += tasks[i].cpu;
    for (int i = 0; threads && i < n; i++) { /* after the join: safe to read */
        /* A bar in the timeline only says a thread was alive: how much of
         * that time it computed is what tells free threads from locked ones. */
        double alive = timeline.span[i].end - timeline.span[i].start;
        printf("  thread %d: %.3f s of CPU within %.3f s (computing %.0f%% of it)", i, tasks[i].cpu,
               alive, alive > 0 ? tasks[i].cpu / alive * 100 : 100);
        if (gil)
            printf(", had the lock %ld times", tasks[i].turns);
        putchar('\n');
    }
    wb_timeline_print(&timeline, stdout);
    *share = cpu / (wall * cores);
    printf("  wall time: %.3f s (the tasks got %.0f%% of %d core%s)\n\n", wall, *share * 100,
           cores, cores == 1 ? "" : "s");
    wb_timeline_free(&timeline);
    free(tids);
    free(tasks);
    return wall;
}

/* How many steps make a task of the requested size: the best of three CPU
 * times of a sample (CPU time, so another busy program does not count). */
static long steps_for(double seconds)
{
    const long sample = 20000;
    double best = 1e9;
    for (int k = 0; k < 3; k++) {
        double c0 = thread_cpu();
        volatile uint64_t keep = chew(sample, 1);
        (void)keep;
        double dt = thread_cpu() - c0;
        best = dt < best && dt > 0 ? dt : best;
    }
    return (long)((double)sample * seconds / best) + 1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    cpu_set_t mine; /* the cores we may use (a container may allow fewer than exist) */
    if (sched_getaffinity(0, sizeof mine, &mine) == -1)
        wb_die("sched_getaffinity");
    int cores = CPU_COUNT(&mine), n = cores < 2 ? 2 : cores, ms = 150, opt;
    long interval = 5000;
    while ((opt = getopt_long(argc, argv, "n:t:s:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n': n = (int)wb_opt_long("-n", optarg, 1, 64); break;
        case 't': ms = (int)wb_opt_long("-t", optarg, 1, 10000); break;
        case 's': interval = wb_opt_long("-s", optarg, 1, 100000000); break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind < argc) {
        fputs(usage, stderr);
        return 2;
    }
    long steps = steps_for(ms / 1000.0);
    printf("gil: %d tasks of %.3f s each (%ld steps); %d core%s here\n\n", n, ms / 1000.0, steps,
           cores, cores == 1 ? "" : "s");

    printf("== one thread does the %d tasks one after another\n", n);
    int usable = cores < n ? cores : n; /* how many threads can compute at one moment */
    double share[3];
    double one = run(0, NULL, n, steps, steps, 1, &share[0]);
    printf("== %d free threads, one task each: in C they truly run in parallel (并行)\n", n);
    double free_wall = run(1, NULL, n, steps, steps, usable, &share[1]);
    struct gil gil = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    printf("== %d threads sharing one global lock, handed over every %ld steps, as Python's\n"
           "   threads share the GIL: only the holder computes, they take turns (并发)\n",
           n, interval);
    double gil_wall = run(1, &gil, n, steps, interval, 1, &share[2]); /* one holder at a time */
    pthread_cond_destroy(&gil.turn);
    pthread_mutex_destroy(&gil.mutex);

    printf("== summary (%d core%s)\n", cores, cores == 1 ? "" : "s");
    printf("one thread    %.3f s\n", one);
    printf("free threads  %.3f s  speed-up %.2fx\n", free_wall, one / free_wall);
    printf("GIL threads   %.3f s  speed-up %.2fx\n", gil_wall, one / gil_wall);
    if (cores == 1)
        printf("(one core here: even free threads cannot run in parallel)\n");
    for (int i = 0; i < 3; i++)
        if (share[i] < 0.8) {
            printf("note: a run got only %.0f%% of the CPU it could use: other programs are busy\n"
                   "on this machine, so these times are not a fair race; try again later\n",
                   share[i] * 100);
            break;
        }
    return 0;
}
