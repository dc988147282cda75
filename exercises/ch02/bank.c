/* bank.c - the accounts, the tellers' plan and the books (given; see bank.h)
 *
 * Talk: glossary / synchronous (同步): the inventory and its row lock (行锁)
 * Usage: #include "bank.h", link bank.c (transfer.c does)
 * The books are this file's own (static): transfer.c cannot write them, only
 * make the moves they count. Under the grader, the lines bank_close() prints
 * carry a key that the test wrote into a file named by WB_GRADE_KEY_FILE:
 * read and deleted here before main() runs, so no other line can carry it.
 */
#include "bank.h"
#include "workbook.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <time.h>

/* The books. Relaxed atomics: they count, and add no ordering between the
 * tellers that ThreadSanitizer would take for their own locking. */
static _Atomic long planned;    /* bank_plan() calls */
static _Atomic long moves;      /* bank_move() calls */
static _Atomic int inside;      /* bank_move() calls in progress now */
static _Atomic int most_inside; /* the most that ever were at once */
static _Atomic int threads;     /* threads that called bank_move() */
static _Atomic long *owed;      /* per account: 100 plus what its moves add up to */
static long opened_total;       /* the total at bank_open() */
static char key[40];            /* the grader's key, or "" */

#define ADD(var, n) atomic_fetch_add_explicit(&(var), (n), memory_order_relaxed)
#define GET(var) atomic_load_explicit(&(var), memory_order_relaxed)

/* Before main(): the grader's key, from the file that WB_GRADE_KEY_FILE names
 * (read with open() and read(), the file then deleted, the variable unset). */
__attribute__((constructor)) static void read_key(void)
{
    static const char name[] = "WB_GRADE_KEY_FILE=";
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, name, sizeof name - 1) != 0)
            continue;
        const char *path = *e + sizeof name - 1;
        int fd = open(path, O_RDONLY);
        if (fd >= 0) {
            ssize_t n = read(fd, key, sizeof key - 1);
            key[n > 0 ? n : 0] = '\0';
            key[strcspn(key, "\n")] = '\0';
            close(fd);
        }
        unlink(path);
        unsetenv("WB_GRADE_KEY_FILE");
        return;
    }
}

/* One line of the books; under the grader, with its key in front. */
#define BOOKS(...)                                                                     \
    do {                                                                               \
        if (key[0] != '\0')                                                            \
            printf("[%s] ", key);                                                      \
        printf(__VA_ARGS__);                                                           \
    } while (0)

void bank_open(struct bank *b, int count, unsigned long seed, bool meet)
{
    b->count = count;
    b->seed = seed;
    b->meet = meet;

    b->accounts = calloc((size_t)count, sizeof *b->accounts);
    owed = calloc((size_t)count, sizeof *owed);
    if (b->accounts == NULL || owed == NULL)
        wb_die("calloc");
    for (int i = 0; i < count; i++) {
        int err = pthread_mutex_init(&b->accounts[i].lock, NULL);
        if (err != 0)
            wb_die_err(err, "pthread_mutex_init");
        b->accounts[i].balance = 100;
        atomic_init(&owed[i], 100);
    }
    opened_total = bank_total(b);
}

bool bank_close(struct bank *b)
{
    /* every account must hold what its own moves add up to: a move lost to
     * another that mixed with it shows, even where the total comes out right */
    long after = bank_total(b);
    int wrong = -1;
    for (int i = 0; i < b->count && wrong < 0; i++)
        if (b->accounts[i].balance != GET(owed[i]))
            wrong = i;

    BOOKS("transfers done: %ld of %ld\n", GET(moves), GET(planned));
    if (b->meet)
        BOOKS("most transfers inside their locks at once: %d\n", GET(most_inside));
    if (wrong < 0)
        BOOKS("total before: %ld, after: %ld: kept\n", opened_total, after);
    else
        BOOKS("total before: %ld, after: %ld: WRONG: account %d holds %ld, its moves "
              "add up to %ld\n",
              opened_total, after, wrong, b->accounts[wrong].balance, GET(owed[wrong]));
    BOOKS("threads that made transfers: %d\n", GET(threads));
    fflush(stdout);

    for (int i = 0; i < b->count; i++)
        pthread_mutex_destroy(&b->accounts[i].lock);
    free(b->accounts);
    b->accounts = NULL;
    b->count = 0;
    free((void *)owed);
    owed = NULL;
    return wrong < 0;
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
    ADD(planned, 1);
}

/* --meet: wait, up to 2 s, until another move has been in progress at the
 * same time as this one. */
static void wait_for_company(void)
{
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};
    for (int ms = 0; ms < 2000; ms++) {
        if (GET(most_inside) >= 2)
            return;
        nanosleep(&pause, NULL);
    }
}

void bank_move(struct bank *b, int from, int to, long amount)
{
    /* the books: a thread's first move counts the thread */
    static _Thread_local bool counted;
    if (!counted) {
        counted = true;
        ADD(threads, 1);
    }

    /* one more move in progress; the most there ever were */
    int now_inside = ADD(inside, 1) + 1;
    int most = GET(most_inside);
    while (now_inside > most && !atomic_compare_exchange_weak_explicit(
                                    &most_inside, &most, now_inside,
                                    memory_order_relaxed, memory_order_relaxed))
        continue;
    if (b->meet)
        wait_for_company();

    /* what the two accounts must hold once every move is made */
    ADD(owed[from], -amount);
    ADD(owed[to], amount);

    /* the move itself: plain reads and writes, which only the row locks
     * keep from mixing with another move's */
    b->accounts[from].balance -= amount;
    b->accounts[to].balance += amount;

    ADD(moves, 1);
    ADD(inside, -1);
}
