/* bank.h - the accounts that transfer.c moves money between, each with its row lock
 *
 * Talk: glossary / synchronous (同步): the inventory and its row lock (行锁)
 * A bank of accounts; every account has its own mutex, its row lock. The bank
 * also plans the tellers' transfers (which accounts, how much: the same for
 * the same seed) and keeps the books the grader reads, in bank.c where no
 * other file can touch them: how many moves were made, how many of them were
 * ever in progress at the same moment, how many threads made them, and
 * whether every account holds what its moves add up to. bank_close() prints
 * them.
 *
 * This file and bank.c are given: write transfer.c, and keep these
 * declarations as they are.
 */
#ifndef BANK_H
#define BANK_H

#include <pthread.h>
#include <stdbool.h>

struct account {
    pthread_mutex_t lock; /* the row lock: hold it to read or change balance */
    long balance;
};

struct bank {
    int count;
    struct account *accounts;
    unsigned long seed;
    bool meet; /* --meet: see bank_move() */
};

/* Open `count` accounts of 100 each, every lock initialised. Exits on failure.
 * A program opens one bank. */
void bank_open(struct bank *b, int count, unsigned long seed, bool meet);

/* Print the books (the lines the grader reads: the moves made, the total
 * before and after, how many threads made transfers and, with --meet, the
 * most moves in progress at once), destroy the locks and free the accounts.
 * Call it once, after every teller has finished. Returns true when every
 * account holds what its moves add up to (the total is kept). */
bool bank_close(struct bank *b);

/* The sum of all balances. Call it only while no teller runs. */
long bank_total(const struct bank *b);

/* Teller `teller`'s transfer number i: from which account, to which, how
 * much. Accounts are picked at random, so from == to happens too; with
 * --meet, teller k always moves from account 2k to account 2k + 1. */
void bank_plan(const struct bank *b, int teller, long i, int *from, int *to,
               long *amount);

/* Move `amount` from account `from` to account `to` (they may be the same).
 * Call it holding the lock of both accounts (of the one, when from == to).
 * With --meet, it waits (up to 2 s) inside until another bank_move() is in
 * progress too: two transfers between different accounts must be able to
 * be inside their locks at the same time. */
void bank_move(struct bank *b, int from, int to, long amount);

#endif
