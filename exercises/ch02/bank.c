/* bank.c - the accounts, the tellers' plan and the books (given; see bank.h)
 *
 * Talk: glossary / synchronous (同步): the inventory and its row lock (行锁)
 * Usage: #include "bank.h", link bank.c (transfer.c does)
 */
#include "bank.h"
#include "workbook.h"

#include <time.h>

void bank_open(struct bank *b, int count, unsigned long seed, bool meet)
{
    b->count = count;
    b->seed = seed;
    b->meet = meet;
    atomic_init(&b->moves, 0);
    atomic_init(&b->inside, 0);
    atomic_init(&b->most_inside, 0);
    atomic_init(&b->threads, 0);

    b->accounts = calloc((size_t)count, sizeof *b->accounts);
    if (b->accounts == NULL)
        wb_die("calloc");
    for (int i = 0; i < count; i++) {
        int err = pthread_mutex_init(&b->accounts[i].lock, NULL);
        if (err != 0)
            wb_die_err(err, "pthread_mutex_init");
        b->accounts[i].balance = 100;
    }
}

void bank_close(struct bank *b)
{
    /* the tellers' threads: one per teller when each runs in its own */
    printf("threads that made transfers: %d\n", atomic_load(&b->threads));
    for (int i = 0; i < b->count; i++)
        pthread_mutex_destroy(&b->accounts[i].lock);
    free(b->accounts);
    b->accounts = NULL;
}

long bank_total(const struct bank *b)
{
    long total = 0;
    for (int i = 0; i < b->count; i++)
        total += b->accounts[i].balance;
    return total;
}

/* A pseudo-random number from the seed, the teller and i (splitmix64). */
static unsigned long mix(unsigned long seed, unsigned long teller, unsigned long i)
{
    unsigned long z = seed * 0x9e3779b97f4a7c15UL + teller * 0xd1b54a32d192ed03UL + i;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
    return z ^ (z >> 31);
}

void bank_plan(const struct bank *b, int teller, long i, int *from, int *to,
               long *amount)
{
    unsigned long r = mix(b->seed, (unsigned long)teller, (unsigned long)i);
    if (b->meet) {
        *from = (2 * teller) % b->count;
        *to = (2 * teller + 1) % b->count;
    } else {
        *from = (int)(r % (unsigned long)b->count);
        *to = (int)((r >> 20) % (unsigned long)b->count);
    }
    *amount = 1 + (long)((r >> 40) % 50);
}

/* --meet: wait, up to 2 s, until another move has been in progress at the
 * same time as this one. */
static void wait_for_company(struct bank *b)
{
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};
    for (int ms = 0; ms < 2000; ms++) {
        if (atomic_load(&b->most_inside) >= 2)
            return;
        nanosleep(&pause, NULL);
    }
}

void bank_move(struct bank *b, int from, int to, long amount)
{
    /* the books: a thread's first move counts the thread */
    static _Thread_local const struct bank *counted;
    if (counted != b) {
        counted = b;
        atomic_fetch_add(&b->threads, 1);
    }

    /* one more move in progress; the most there ever were */
    int now_inside = atomic_fetch_add(&b->inside, 1) + 1;
    int most = atomic_load(&b->most_inside);
    while (now_inside > most &&
           !atomic_compare_exchange_weak(&b->most_inside, &most, now_inside))
        continue;
    if (b->meet)
        wait_for_company(b);

    /* the move itself: plain reads and writes, which only the row locks
     * keep from mixing with another move's */
    b->accounts[from].balance -= amount;
    b->accounts[to].balance += amount;

    atomic_fetch_add(&b->moves, 1);
    atomic_fetch_sub(&b->inside, 1);
}
