/* row_lock.c - synchronous updates: a row lock keeps the stock count right
 *
 * Talk: glossary / synchronous and asynchronous (同步: the inventory and its 行锁)
 * Usage: row_lock [--lock] [-t THREADS] [-i ITEMS]
 * Shows: THREADS threads each sell ITEMS items from one shared stock, one at
 *        a time: read the stock, write it back one less. Without the lock two
 *        threads can read the same number and one sale is lost (a race
 *        condition, though not a data race: the thread sanitizer is quiet).
 *        With --lock a mutex, the row lock, makes the updates take turns and
 *        the count is exact. The last line is the verdict.
 * Compare: gil.c (one lock around all computing), ch03/queue.c
 */
#include "workbook.h"
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>

/* The stock is _Atomic, and a sale reads it with one atomic load and writes
 * it with a separate atomic store. Without the lock, that is a race
 * condition but not a data race:
 * - a data race (数据竞争) is two threads touching the same plain (not
 *   atomic) memory, at least one of them writing, with nothing (a lock, an
 *   atomic, a join) ordering one access before the other. C gives such a
 *   program no meaning at all (undefined behaviour), and the thread
 *   sanitizer reports it. Accesses that are all atomic are never a data race.
 * - a race condition (竞态条件) is a bug in the logic: the result depends on
 *   how the threads happen to interleave. Between one seller's load and its
 *   store, another can load the same number; both store that number less
 *   one, and one of the two sales is lost. Every access is atomic, yet the
 *   read-then-write as a whole is not.
 * (On x86 the relaxed load and store are the same two mov instructions a
 * plain long would get: the difference is in what C promises, not in speed.)
 * The lock makes read-then-write one step that sellers take in turn: that is
 * what "synchronous" (同步) means here. (atomic_fetch_sub would too, for this
 * one update; a lock works for any sequence of steps, as a row lock in a
 * database does for a whole transaction.) */
struct shop {
    _Atomic long stock;
    int locked; /* --lock given */
    pthread_mutex_t row_lock;
    pthread_barrier_t start; /* every seller starts at the same moment */
    long items;              /* each seller's share */
};

static void *seller(void *arg)
{
    struct shop *s = arg;

    /* wait at the start line for the others */
    int err = pthread_barrier_wait(&s->start);
    if (err != 0 && err != PTHREAD_BARRIER_SERIAL_THREAD)
        wb_die_err(err, "pthread_barrier_wait");

    for (long i = 0; i < s->items; i++) {
        if (s->locked) {
            err = pthread_mutex_lock(&s->row_lock);
            if (err != 0)
                wb_die_err(err, "pthread_mutex_lock");
        }

        /* sell one: read the stock, write it back one less */
        long left = atomic_load_explicit(&s->stock, memory_order_relaxed);
        atomic_store_explicit(&s->stock, left - 1, memory_order_relaxed);

        if (s->locked) {
            err = pthread_mutex_unlock(&s->row_lock);
            if (err != 0)
                wb_die_err(err, "pthread_mutex_unlock");
        }
    }
    return NULL;
}

/* What happened, in words, then the verdict line. */
static void verdict(const struct shop *s, int threads)
{
    /* every lost sale left one item behind */
    long left = atomic_load(&s->stock);
    long lost = left;

    if (s->locked)
        printf(
            "(each read-then-write was done under the lock: no seller could cut in)\n");
    else if (lost > 0)
        printf("(a seller wrote back one less than a stock it had read before other\n"
               " sellers' sales, and so erased them: %ld sales vanished)\n",
               lost);
    else if (threads > 1)
        printf("(no sale was lost this time: the sellers happened not to overlap; "
               "run it again)\n");
    else
        printf("(one seller alone has nobody to race with)\n");

    if (lost == 0)
        printf("stock: %ld expected: 0 OK\n", left);
    else
        printf("stock: %ld expected: 0 LOST %ld updates\n", left, lost);
}

static int parse_options(int argc, char **argv, struct shop *s);

int main(int argc, char **argv)
{
    struct shop s = {.items = 10000000, .row_lock = PTHREAD_MUTEX_INITIALIZER};
    int threads = parse_options(argc, argv, &s);

    long start = threads * s.items;
    atomic_init(&s.stock, start);

    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    if (tids == NULL)
        wb_die("calloc");
    int err = pthread_barrier_init(&s.start, NULL, (unsigned)threads);
    if (err != 0)
        wb_die_err(err, "pthread_barrier_init");

    /* what is about to happen, in one line */
    const char *sellers = threads == 1 ? "seller" : "sellers";
    const char *sell = threads == 1 ? "sells" : "sell";
    const char *how = s.locked ? "each update under the row lock" : "with no lock";
    printf("%d %s each %s %ld items, one at a time, from a stock of %ld, %s\n", threads,
           sellers, sell, s.items, start, how);

    /* the sale: every seller at once */
    double t0 = wb_now();
    for (int i = 0; i < threads; i++) {
        err = pthread_create(&tids[i], NULL, seller, &s);
        if (err != 0)
            wb_die_err(err, "pthread_create");
    }

    /* wait for every seller to finish */
    for (int i = 0; i < threads; i++) {
        err = pthread_join(tids[i], NULL);
        if (err != 0)
            wb_die_err(err, "pthread_join");
    }
    printf("used time: %.3f s\n", wb_now() - t0);

    verdict(&s, threads);

    pthread_barrier_destroy(&s.start);
    pthread_mutex_destroy(&s.row_lock);
    free(tids);
    return 0;
}

/* --- the command line: the same shape as buns.c ------------------------------- */

static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fputs("Usage: row_lock [--lock] [-t THREADS] [-i ITEMS]\n", out);
    if (status == 0)
        fputs("\nTHREADS threads each sell ITEMS items from one shared stock. Without\n"
              "the lock, updates get lost; with --lock (a mutex: the row lock) the\n"
              "final stock is exact. Ends with 'stock: N expected: M OK' or\n"
              "'... LOST n updates'.\n\n"
              "  --lock      take the row lock around each update\n"
              "  -t THREADS  sellers (default 4)\n"
              "  -i ITEMS    items each seller sells (default 10000000)\n",
              stdout);
    exit(status);
}

/* Sets s->locked and s->items; returns the number of sellers. */
static int parse_options(int argc, char **argv, struct shop *s)
{
    static const struct option longopts[] = {
        {"lock", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int threads = 4;
    int opt;

    while ((opt = getopt_long(argc, argv, "t:i:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'l': s->locked = 1; break;
        case 't': threads = (int)wb_opt_long("-t", optarg, 1, 256); break;
        case 'i': s->items = wb_opt_long("-i", optarg, 1, 100000000); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
    return threads;
}
