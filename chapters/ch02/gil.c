/* gil.c - why Python's threads never compute in parallel, and C's do
 *
 * Talk: glossary / "Python has no true parallelism, only concurrency"
 * Usage: gil [-n THREADS] [-t MS] [-s STEPS]
 * Shows: the same CPU-bound tasks done by one thread, by N free threads, and by
 *        N threads that must hold one global lock to compute and hand it over
 *        every few thousand steps, as CPython's global interpreter lock (GIL)
 *        makes them: wall times, speed-ups, timelines.
 * Compare: buns.c (concurrency vs parallelism; chew.h has the work of both),
 *          row_lock.c (a lock for data)
 */
#include "chew.h"
#include <getopt.h>
#include <pthread.h>

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
    if (err != 0)
        wb_die_err(err, "pthread_mutex_lock");

    /* take a ticket, wait for its turn (a wait may also end for no reason) */
    unsigned long mine = g->next;
    g->next++;
    while (mine != g->serving) {
        err = pthread_cond_wait(&g->turn, &g->mutex);
        if (err != 0)
            wb_die_err(err, "pthread_cond_wait");
    }

    err = pthread_mutex_unlock(&g->mutex);
    if (err != 0)
        wb_die_err(err, "pthread_mutex_unlock");
}

static void gil_drop(struct gil *g)
{
    int err = pthread_mutex_lock(&g->mutex);
    if (err != 0)
        wb_die_err(err, "pthread_mutex_lock");

    /* the next ticket's turn: wake every waiter, and its holder goes on */
    g->serving++;
    err = pthread_cond_broadcast(&g->turn);
    if (err != 0)
        wb_die_err(err, "pthread_cond_broadcast");

    err = pthread_mutex_unlock(&g->mutex);
    if (err != 0)
        wb_die_err(err, "pthread_mutex_unlock");
}

/* One task: its size, the lock (or NULL), and what its thread reports. */
struct task {
    struct wb_timeline *timeline;
    int i;
    long steps;
    long interval; /* steps between two hand-overs of the lock */
    struct gil *gil;
    uint64_t result; /* kept, so the compiler cannot skip the work */
    double cpu;      /* seconds of CPU the task used */
    long turns;      /* how many times it got the lock */
};

static void *work(void *arg)
{
    struct task *t = arg;
    wb_task_begin(t->timeline, t->i);
    double cpu0 = thread_cpu();

    for (long done = 0; done < t->steps; done += t->interval) {
        long left = t->steps - done;
        long chunk = left < t->interval ? left : t->interval;

        /* wait for the lock before computing */
        if (t->gil != NULL) {
            gil_take(t->gil);
            t->turns++;
        }
        t->result = chew(chunk * STEP, t->result);

        /* a few thousand steps done: let the next thread have it */
        if (t->gil != NULL)
            gil_drop(t->gil);
    }

    t->cpu = thread_cpu() - cpu0;
    wb_task_end(t->timeline, t->i);
    return NULL;
}

/* Run n tasks in main one after another (threads == 0), or a thread each, with
 * or without the lock; print what happened; return the wall time (as buns.c). */
static double run(int threads, struct gil *gil, int n, long steps, long interval,
                  int cores, double *share)
{
    struct wb_timeline timeline;
    wb_timeline_init(&timeline, n);
    struct task *tasks = calloc((size_t)n, sizeof *tasks);
    pthread_t *tids = calloc((size_t)n, sizeof *tids);
    if (tasks == NULL || tids == NULL)
        wb_die("calloc");

    /* the tasks: in main one after the other, or a thread for each */
    double t0 = wb_now();
    for (int i = 0; i < n; i++) {
        tasks[i] = (struct task){.timeline = &timeline, .i = i, .gil = gil};
        tasks[i].steps = steps;
        tasks[i].interval = interval;
        if (!threads) {
            work(&tasks[i]);
            continue;
        }
        int err = pthread_create(&tids[i], NULL, work, &tasks[i]);
        if (err != 0)
            wb_die_err(err, "pthread_create");
    }
    for (int i = 0; threads && i < n; i++) {
        int err = pthread_join(tids[i], NULL);
        if (err != 0)
            wb_die_err(err, "pthread_join");
    }
    double wall = wb_now() - t0;

    /* A bar in the timeline only says a thread was alive: how much of that
     * time it computed is what tells free threads from locked ones. */
    double cpu = 0;
    for (int i = 0; i < n; i++) {
        cpu += tasks[i].cpu;
        if (!threads)
            continue;
        double alive = wb_task_seconds(&timeline, i);
        double computing = alive > 0 ? tasks[i].cpu / alive * 100 : 100;
        printf("  thread %d: %.3f s of CPU within %.3f s (computing %.0f%% of it)", i,
               tasks[i].cpu, alive, computing);
        if (gil != NULL)
            printf(", had the lock %ld times", tasks[i].turns);
        putchar('\n');
    }
    wb_timeline_print(&timeline, stdout);

    *share = cpu / (wall * cores);
    printf("  wall time: %.3f s (the tasks got %.0f%% of %d core%s)\n\n", wall,
           *share * 100, cores, plural(cores));

    wb_timeline_free(&timeline);
    free(tids);
    free(tasks);
    return wall;
}

static void parse_options(int argc, char **argv, int *n, int *ms, long *interval);

int main(int argc, char **argv)
{
    int cores = cores_here(NULL);
    int n = cores < 2 ? 2 : cores;
    int ms = 150;
    long interval = 5000;
    parse_options(argc, argv, &n, &ms, &interval);

    long steps = (long)(steps_for(ms / 1000.0) / STEP) + 1;
    printf("gil: %d tasks of %.3f s each (%ld steps); %d core%s here\n\n", n,
           ms / 1000.0, steps, cores, plural(cores));
    int usable = cores < n ? cores : n; /* threads computing at one moment */
    double share[3];

    printf("== one thread does the %d tasks one after another\n", n);
    double one = run(0, NULL, n, steps, steps, 1, &share[0]);

    printf("== %d free threads, one task each: "
           "in C they truly run in parallel (并行)\n",
           n);
    double free_wall = run(1, NULL, n, steps, steps, usable, &share[1]);

    struct gil gil = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    printf("== %d threads sharing one global lock, handed over every %ld steps, "
           "as Python's\n",
           n, interval);
    puts("   threads share the GIL: only the holder computes, they take turns (并发)");
    double gil_wall = run(1, &gil, n, steps, interval, 1, &share[2]);
    pthread_cond_destroy(&gil.turn);
    pthread_mutex_destroy(&gil.mutex);

    printf("== summary (%d core%s)\n", cores, plural(cores));
    printf("one thread    %.3f s\n", one);
    printf("free threads  %.3f s  speed-up %.2fx\n", free_wall, one / free_wall);
    printf("GIL threads   %.3f s  speed-up %.2fx\n", gil_wall, one / gil_wall);
    if (cores == 1)
        printf("(one core here: even free threads cannot run in parallel)\n");

    note_if_unfair(share, 3);
    return 0;
}

/* --- the command line: the same shape as buns.c ------------------------------- */

static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fputs("Usage: gil [-n THREADS] [-t MS] [-s STEPS]\n", out);
    if (status == 0)
        fputs(
            "\nThe same CPU-bound tasks on one thread, on N free threads (up to N\n"
            "times sooner), and on N threads that share one lock as Python's threads\n"
            "share the GIL (they take turns: no faster than one thread).\n\n"
            "  -n THREADS  threads, one task each (default: the cores, at least 2)\n"
            "  -t MS       how long one task takes alone, in ms (default 150)\n"
            "  -s STEPS    steps between two hand-overs of the lock (default 5000)\n",
            stdout);
    exit(status);
}

static void parse_options(int argc, char **argv, int *n, int *ms, long *interval)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "n:t:s:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n': *n = (int)wb_opt_long("-n", optarg, 1, 64); break;
        case 't': *ms = (int)wb_opt_long("-t", optarg, 1, 10000); break;
        case 's': *interval = wb_opt_long("-s", optarg, 1, 100000000); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
}
