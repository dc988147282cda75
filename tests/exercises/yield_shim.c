/* yield_shim.c - seeded yields at every lock, unlock and wait, to make races show up
 *
 * Used by: the graders of the exercises with condition variables
 *          (tests/exercises/ch03_bounded_pool.bats)
 * How: the Makefile links it into those programs with -Wl,--wrap=NAME for
 *      each call below, so the program's own calls to pthread_mutex_lock()
 *      and the rest come here (as __wrap_NAME), and this file calls the real
 *      one (__real_NAME). A link-time wrap, not LD_PRELOAD, so that it works
 *      under AddressSanitizer and ThreadSanitizer too.
 * What: with WB_YIELD_SEED unset it only passes the calls on. With
 *      WB_YIELD_SEED=N (N > 0) each call may first give the core away
 *      (sched_yield), and a pthread_cond_wait() may come back without
 *      waiting: a spurious wake-up, which POSIX allows and which code that
 *      waits in a `while` loop shrugs off, but code that waits under an `if`
 *      does not. The choices come from N and each thread's number, so a run
 *      that fails is likely to fail again with the same N.
 *      With WB_YIELD_SEED set (0 too: no yields, only counting) it prints at
 *      exit, on stderr, how many threads were created and how many joined,
 *      and how many mutex locks and condition waits there were.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

int __real_pthread_mutex_lock(pthread_mutex_t *m);
int __real_pthread_mutex_unlock(pthread_mutex_t *m);
int __real_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
int __real_pthread_cond_signal(pthread_cond_t *c);
int __real_pthread_cond_broadcast(pthread_cond_t *c);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*f)(void *),
                          void *arg);
int __real_pthread_join(pthread_t t, void **ret);

static atomic_int threads_created;
static atomic_int threads_joined;
static atomic_long mutex_locks;
static atomic_long cond_waits;
static atomic_int threads_seen; /* numbers the threads, for their generators */
static long seed;               /* WB_YIELD_SEED; 0: no yields */

/* Read the seed once, before main() and any thread. */
__attribute__((constructor)) static void read_seed(void)
{
    const char *s = getenv("WB_YIELD_SEED");
    if (s != NULL)
        seed = strtol(s, NULL, 10);
}

/* Each thread draws from its own generator (xorshift64), started from the
 * seed and the thread's number. */
static _Thread_local unsigned long state;

static bool chance(unsigned one_in)
{
    if (seed <= 0)
        return false;
    if (state == 0) {
        unsigned long n = (unsigned long)atomic_fetch_add(&threads_seen, 1) + 1;
        state = (unsigned long)seed * 0x9e3779b97f4a7c15UL ^ n * 0xbf58476d1ce4e5b9UL;
        state |= 1;
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state % one_in == 0;
}

static void maybe_yield(void)
{
    if (chance(8))
        sched_yield();
}

int __wrap_pthread_mutex_lock(pthread_mutex_t *m)
{
    atomic_fetch_add(&mutex_locks, 1);
    maybe_yield();
    return __real_pthread_mutex_lock(m);
}

int __wrap_pthread_mutex_unlock(pthread_mutex_t *m)
{
    int err = __real_pthread_mutex_unlock(m);
    maybe_yield();
    return err;
}

int __wrap_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    atomic_fetch_add(&cond_waits, 1);

    /* a spurious wake-up: let go of the mutex, give the core away, take the
     * mutex back, return as if woken */
    if (chance(4)) {
        __real_pthread_mutex_unlock(m);
        sched_yield();
        return __real_pthread_mutex_lock(m);
    }
    int err = __real_pthread_cond_wait(c, m);
    maybe_yield();
    return err;
}

int __wrap_pthread_cond_signal(pthread_cond_t *c)
{
    maybe_yield();
    return __real_pthread_cond_signal(c);
}

int __wrap_pthread_cond_broadcast(pthread_cond_t *c)
{
    maybe_yield();
    return __real_pthread_cond_broadcast(c);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*f)(void *),
                          void *arg)
{
    int err = __real_pthread_create(t, a, f, arg);
    if (err == 0)
        atomic_fetch_add(&threads_created, 1);
    return err;
}

int __wrap_pthread_join(pthread_t t, void **ret)
{
    int err = __real_pthread_join(t, ret);
    if (err == 0)
        atomic_fetch_add(&threads_joined, 1);
    return err;
}

/* At exit, when asked for: how many threads were created, how many joined;
 * how many times a mutex was locked and a condition variable waited on
 * (a thread that spins on a mutex instead of waiting locks it thousands of
 * times a second). */
__attribute__((destructor)) static void report(void)
{
    if (getenv("WB_YIELD_SEED") == NULL)
        return;
    fprintf(stderr, "yield_shim: threads created: %d, joined: %d\n",
            atomic_load(&threads_created), atomic_load(&threads_joined));
    fprintf(stderr, "yield_shim: mutex locks: %ld, condition waits: %ld\n",
            atomic_load(&mutex_locks), atomic_load(&cond_waits));
}
