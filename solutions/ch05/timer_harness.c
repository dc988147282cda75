/* timer_harness.c - run timer_loop.c on a fake clock; check every ring and every wait
 *
 * Talk: asynchronous programming / event loop (how to test one without a stopwatch)
 * Usage: timer_harness [-q] [-n N] [-r MS] [-s SEED] [--late] [--early] [--chain]
 * Shows: adds N timers, each due a pseudo-random 0 to MS-1 ms from now (the
 *        same for the same SEED), then calls loop_run(). The clock is fake:
 *        it stands still until the loop calls loop_wait(T), which moves it T
 *        ms on. So the harness knows at every moment which timer must ring
 *        next and how long the loop must wait, and it says when either is
 *        wrong. One line per ring (not with -q), then three verdict lines:
 *          rang N of N timers
 *          order: right (each at its deadline, ties first in, first out)
 *          waits: K, each until the next deadline
 *        --late   each wait ends 1 to 3 ms late, as on a busy machine
 *        --early  every third wait ends halfway, as when a socket is ready
 *        --chain  each of the first N/2 timers adds one more when it rings,
 *                 due in 0 to 2 ms
 *        Exit 0 when all three hold, 1 when not. Under the grader, each
 *        verdict line starts with its key (grade_key.h).
 * Compare: timer_loop.h (what the loop must do), event_loop_hello.c
 */
#include "grade_key.h"
#include "timer_loop.h"
#include "workbook.h"

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* One timer as the harness sees it: its number, when it is due, the order
 * in which it was added. */
struct alarm {
    int id;
    long due;
    long added;
    bool rang;
};

/* The fake world. loop_now() and loop_wait() take no argument, so it is one
 * global, as the real clock is. */
static struct {
    long now;
    long n; /* timers added by main */
    struct alarm *alarms;
    long count; /* alarms added so far */
    long rang;
    long waits;
    long wrong_waits;
    long idle_reads; /* loop_now() calls since the clock last moved */
    char order_error[200];
    char wait_error[200];
    bool quiet, late, early, chain;
    unsigned long seed;
} w;

/* A pseudo-random number from the seed and i (splitmix64): the same run for
 * the same seed, whatever the loop does. */
static unsigned long mix(unsigned long i)
{
    unsigned long z = w.seed * 0x9e3779b97f4a7c15UL + i * 0xbf58476d1ce4e5b9UL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
    return z ^ (z >> 31);
}

static _Noreturn void verdict_and_exit(void);

/* A verdict line: under the grader, with its key in front. */
#define VERDICT(...) (fputs(grade_key(), stdout), printf(__VA_ARGS__))

/* The pending alarm that must ring next: the earliest due, of those the
 * first added. NULL when none is pending. */
static struct alarm *next_due(void)
{
    struct alarm *best = NULL;
    for (long i = 0; i < w.count; i++) {
        struct alarm *a = &w.alarms[i];
        if (a->rang)
            continue;
        if (!best || a->due < best->due)
            best = a;
    }
    return best;
}

static void ring(void *data);

/* Add a timer through the loop, and keep the harness's own record of it. */
static void add(long ms)
{
    struct alarm *a = &w.alarms[w.count];
    *a = (struct alarm){.id = (int)w.count, .due = w.now + ms, .added = w.count};
    w.count++;
    if (loop_add_timer(ms, ring, a) != 0)
        wb_die_err(ENOMEM, "loop_add_timer");
}

/* The callback of every timer: is it this one's turn? */
static void ring(void *data)
{
    struct alarm *a = data;
    struct alarm *expected = next_due();
    if (!w.quiet)
        printf("at %ld ms: timer %d (due at %ld ms)\n", w.now, a->id, a->due);

    /* the first mistake is kept, in words */
    if (a->rang && !w.order_error[0])
        snprintf(w.order_error, sizeof w.order_error, "timer %d rang twice", a->id);

    /* not due yet */
    if (a->due > w.now && !w.order_error[0])
        snprintf(w.order_error, sizeof w.order_error,
                 "timer %d rang at %ld ms, before it was due at %ld ms", a->id, w.now,
                 a->due);

    /* due, but another timer should have come first */
    if (expected && expected != a && !w.order_error[0])
        snprintf(w.order_error, sizeof w.order_error,
                 "timer %d (due at %ld ms, added as number %ld) rang before timer %d "
                 "(due at %ld ms, added as number %ld)",
                 a->id, a->due, a->added, expected->id, expected->due, expected->added);

    if (a->rang)
        return;
    a->rang = true;
    w.rang++;

    /* --chain: a callback that adds a timer, perhaps due at once */
    if (w.chain && a->id < w.n / 2)
        add((long)(mix(1000000 + (unsigned long)a->id) % 3));
}

long loop_now(void)
{
    w.idle_reads++;
    if (w.idle_reads > 10000000) {
        snprintf(w.wait_error, sizeof w.wait_error,
                 "loop_now() was read ten million times while the clock stood still: "
                 "a loop that spins instead of calling loop_wait()");
        verdict_and_exit();
    }
    return w.now;
}

void loop_wait(long timeout_ms)
{
    struct alarm *next = next_due();
    w.waits++;

    /* a wait that is not exactly "until the next deadline" */
    long right = next ? next->due - w.now : -1;
    if (timeout_ms != right || !next) {
        w.wrong_waits++;
        if (!w.wait_error[0] && !next)
            snprintf(w.wait_error, sizeof w.wait_error,
                     "at %ld ms it waited (%ld ms) with no timer left: loop_run should "
                     "return",
                     w.now, timeout_ms);
        else if (!w.wait_error[0])
            snprintf(w.wait_error, sizeof w.wait_error,
                     "at %ld ms it waited %ld ms, but the next timer was due at %ld ms "
                     "(a wait of %ld ms)",
                     w.now, timeout_ms, next->due, right);
    }

    /* waiting forever, or polling without end: nothing more to learn */
    if (timeout_ms < 0 || w.wrong_waits > 100000)
        verdict_and_exit();

    /* move the clock: a wait of 0 still lets a millisecond pass, as a
     * real clock goes on while a loop polls */
    long step = timeout_ms > 0 ? timeout_ms : 1;
    if (w.early && w.waits % 3 == 0 && step >= 2)
        step /= 2;
    if (w.late)
        step += 1 + (long)(mix(w.waits) % 3);
    w.now += step;
    w.idle_reads = 0;
}

static _Noreturn void verdict_and_exit(void)
{
    bool all = w.rang == w.count;
    VERDICT("rang %ld of %ld timers\n", w.rang, w.count);
    if (w.order_error[0])
        VERDICT("order: WRONG: %s\n", w.order_error);
    else if (!all)
        VERDICT("order: not every timer rang: loop_run returned or stopped early\n");
    else
        VERDICT("order: right (each at its deadline, ties first in, first out)\n");
    if (w.wait_error[0])
        VERDICT("waits: WRONG (%ld of %ld): %s\n", w.wrong_waits, w.waits,
                w.wait_error);
    else if (!all)
        VERDICT("waits: %ld, but not every timer rang\n", w.waits);
    else
        VERDICT("waits: %ld, each until the next deadline\n", w.waits);
    fflush(stdout);
    exit(all && !w.order_error[0] && !w.wait_error[0] ? 0 : 1);
}

static const char usage[] =
    "Usage: timer_harness [-q] [-n N] [-r MS] [-s SEED] [--late] [--early] [--chain]\n"
    "Runs timer_loop.c on a fake clock: N timers due in 0 to MS-1 ms (default 10\n"
    "and 1000), and checks the order of the rings and the length of every wait.\n";

int main(int argc, char **argv)
{
    w.n = 10;
    static const struct option longs[] = {{"late", no_argument, NULL, 'L'},
                                          {"early", no_argument, NULL, 'E'},
                                          {"chain", no_argument, NULL, 'C'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    long range = 1000;
    int c;
    while ((c = getopt_long(argc, argv, "qn:r:s:h", longs, NULL)) != -1) {
        switch (c) {
        case 'q': w.quiet = true; break;
        case 'n': w.n = wb_opt_long("-n", optarg, 0, 100000); break;
        case 'r': range = wb_opt_long("-r", optarg, 1, 1000000); break;
        case 's': w.seed = (unsigned long)wb_opt_long("-s", optarg, 0, LONG_MAX); break;
        case 'L': w.late = true; break;
        case 'E': w.early = true; break;
        case 'C': w.chain = true; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }

    /* room for every timer, and for one more per chained timer */
    w.alarms = calloc((size_t)w.n * 2 + 1, sizeof *w.alarms);
    if (w.alarms == NULL)
        wb_die("calloc");

    /* add the timers, then run the loop until it returns */
    for (long i = 0; i < w.n; i++)
        add((long)(mix((unsigned long)i) % (unsigned long)range));
    loop_run();

    free(w.alarms);
    verdict_and_exit();
}
