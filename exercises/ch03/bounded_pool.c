/* bounded_pool.c - a fixed pool of threads over a bounded queue, results in order
 *
 * Talk: parallel handling / thread pool (ThreadPoolExecutor) and Queue(maxsize)
 * Usage: bounded_pool [-w WORKERS] [-c CAPACITY] [-n N] [-d MS] [URL...]
 * Shows: WORKERS threads (default 3) take URL numbers from a queue that holds
 *        at most CAPACITY (default 2). main puts every URL in, waiting while
 *        the queue is full, then prints the results in input order, each as
 *        soon as it is in, then stops the pool and joins every worker. One
 *        mutex guards the queue and the results; three condition variables
 *        (条件变量) say what a thread waits for: "not empty" (the workers),
 *        "not full" and "a result is in" (main). Every wait sits in a while
 *        loop: when pthread_cond_wait() returns, the queue may be empty (or
 *        full) again, because another thread got there first, or because the
 *        wake-up was spurious, which POSIX allows.
 * Compare: pool_fetch.c (a pool over a pipe), queue.c, ch05/producer_consumer.c
 * Your task: write queue_put(), queue_get() and pool_stop() (TODO(student)).
 * Check: make exercises && ./exercises/ch03/bounded_pool (with `make serve`
 *        running), then make grade EX=ch03/bounded_pool
 */
#include "fetch.h"
#include "pool.h"
#include "workbook.h"

/* The mutex: a default one fails only on a bug of ours (the same lock
 * taken twice, or let go by a thread that does not hold it). */
static void lock(struct pool *p)
{
    int err = pthread_mutex_lock(&p->lock);
    if (err != 0)
        wb_die_err(err, "pthread_mutex_lock");
}

static void unlock(struct pool *p)
{
    int err = pthread_mutex_unlock(&p->lock);
    if (err != 0)
        wb_die_err(err, "pthread_mutex_unlock");
}

/* Wait on a condition variable: let go of the mutex, sleep until signalled,
 * take the mutex back. */
static void wait_on(pthread_cond_t *cond, struct pool *p)
{
    int err = pthread_cond_wait(cond, &p->lock);
    if (err != 0)
        wb_die_err(err, "pthread_cond_wait");
}

/* Store a worker's result for URL number i, and tell main (below). */
static void finish(struct pool *p, int i, const struct result *r);

/* main: put URL number i in the queue, waiting while it is full. */
static void queue_put(struct pool *p, int i)
{
    /* TODO(student): put i at the tail of the ring buffer p->slots, under
     * the lock.
     * - lock(p) first, unlock(p) last. The tail slot is
     *   (p->head + p->count) % p->capacity; then count one more.
     * - While the queue is full (p->count == p->capacity), wait:
     *   wait_on(&p->not_full, p). In a while loop, not an if: when the wait
     *   returns, another thread may have filled the queue again, and POSIX
     *   lets pthread_cond_wait() return for no reason at all.
     * - Then wake one waiting worker: pthread_cond_signal(&p->not_empty),
     *   its error checked as in lock() above.
     * As given, nothing is queued: the URL is marked as not fetched, so that
     * main does not wait for it forever. */
    struct result r = {.bytes = -1};
    snprintf(r.why, sizeof r.why, "not fetched: queue_put() is not written yet");
    finish(p, i, &r);
}

/* A worker: take the oldest URL number, waiting while the queue is empty.
 * Returns false when the pool stops and the queue is empty. */
static bool queue_get(struct pool *p, int *i)
{
    /* TODO(student): take the URL number at p->slots[p->head] into *i, under
     * the lock, and return true.
     * - While the queue is empty and the pool is not stopping
     *   (p->count == 0 && !p->stop), wait: wait_on(&p->not_empty, p). In a
     *   while loop, for the same reasons as in queue_put().
     * - Woken with the queue still empty, the pool is stopping: unlock and
     *   return false (the worker then ends). Stop only when it is empty:
     *   the URLs still queued must be fetched.
     * - Move the head on one slot (modulo p->capacity), count one less, and
     *   wake main if it waits for a free slot:
     *   pthread_cond_signal(&p->not_full).
     * Compare: chapters/ch05/producer_consumer.c (a queue, one thread each
     * side), chapters/ch02/gil.c (a wait in a while loop). */
    (void)p;
    (void)i;
    return false;
}

/* A worker stores its result, and tells main. */
static void finish(struct pool *p, int i, const struct result *r)
{
    lock(p);
    p->results[i] = *r;
    p->results[i].done = true;
    int err = pthread_cond_broadcast(&p->result_in);
    if (err != 0)
        wb_die_err(err, "pthread_cond_broadcast");
    unlock(p);
}

/* main waits for URL number i's result, and gets a copy of it. */
static struct result wait_result(struct pool *p, int i)
{
    lock(p);
    while (!p->results[i].done)
        wait_on(&p->result_in, p);
    struct result r = p->results[i];
    unlock(p);
    return r;
}

static void *worker(void *arg)
{
    struct pool *p = arg;
    int i;
    while (queue_get(p, &i)) {
        struct result r = {.done = false};
        double start = wb_now();
        r.bytes = fetch(p->urls[i], r.why, sizeof r.why);
        r.seconds = wb_now() - start;
        finish(p, i, &r);
    }
    return NULL;
}

static void pool_start(struct pool *p)
{
    for (int k = 0; k < p->nworkers; k++) {
        int err = pthread_create(&p->workers[k], NULL, worker, p);
        if (err != 0)
            wb_die_err(err, "pthread_create");
    }
}

/* No more URLs: wake every waiting worker so it sees `stop`, join them all. */
static void pool_stop(struct pool *p)
{
    /* TODO(student): stop the pool cleanly.
     * - Under the lock, set p->stop = true and wake every worker waiting on
     *   not_empty: pthread_cond_broadcast(), not signal, since all of them
     *   must see it.
     * - Then pthread_join() every worker (p->workers[k], k < p->nworkers),
     *   each error checked, so that none is left running when main frees
     *   the pool. */
    (void)p;
}

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    int nworkers = 3;
    int capacity = 2;
    parse_options(argc, argv, &o, &nworkers, &capacity);
    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_require_lab(urls, n);

    /* start the workers, then feed them every URL */
    struct pool p;
    pool_init(&p, urls, n, nworkers, capacity);
    double start = wb_now();
    pool_start(&p);
    for (int i = 0; i < n; i++)
        queue_put(&p, i);

    /* the results in input order, each as soon as it is in */
    int failed = 0;
    for (int i = 0; i < n; i++) {
        struct result r = wait_result(&p, i);
        if (r.bytes >= 0)
            wb_result(i, r.bytes, r.seconds, urls[i]);
        else
            fprintf(stderr, "bounded_pool: %s: %s\n", urls[i], r.why);
        if (r.bytes < 0)
            failed++;
        fflush(stdout);
    }

    pool_stop(&p);
    wb_used_time(wb_now() - start);
    pool_free(&p, n);
    return failed ? 1 : 0;
}
