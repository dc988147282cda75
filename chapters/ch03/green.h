/* green.h - green threads: a stack each, and a hub on main()'s stack that switches
 *
 * Talk: parallel handling / gevent (the greenlets and the hub behind gevent.spawn)
 * Module: green.c, linked into green_switch.c (the hub resumes its green threads
 *         in rounds) and green_fetch.c (the hub resumes the one whose socket is
 *         ready). Both share this machinery, as every greenlet of a gevent
 *         program shares gevent's one hub; what each program shows is its own.
 * Shows: a green thread is a ucontext_t and a stack of its own, with a guard page
 *        below it; swapcontext() switches stacks with no help from the kernel;
 *        every switch is announced to AddressSanitizer (green.c says why).
 */
#ifndef GREEN_H
#define GREEN_H

#include <stddef.h>
#include <ucontext.h>

/* room for printf and getaddrinfo, even under AddressSanitizer */
#define GREEN_STACK_SIZE (256 * 1024)

/* One green thread: its saved registers, its stack, and what it works on. */
struct green {
    ucontext_t ctx;

    /* GREEN_STACK_SIZE bytes, with a guard page below */
    char *stack;

    /* its number: 0 to n - 1 */
    int i;

    /* 1 once its body has returned */
    int done;

    /* given to green_spawn(), for the body to use */
    void *arg;
};

/* The hub runs on main()'s own stack and resumes one green thread at a time. */
struct hub {
    ucontext_t ctx;

    /* main()'s stack, as ASan tells at the first switch */
    const void *stack;
    size_t stack_size;

    /* One mapping for all the stacks: a guard page, a stack, a guard page, ...
     * A slot is a guard page and a stack. */
    char *stacks;
    size_t slot;
    struct green *greens;
    int n;

    /* what every green thread runs */
    void (*body)(struct green *g);

    /* the one running, or the last one that ran */
    struct green *current;

    /* how many are spawned and not done; how many times the hub resumed one */
    int live;
    int turns;

    /* where green threads wait for sockets (green_socket.h), or -1 */
    int ep;
};

/* Room for n green threads, each to run body(g) on its own stack; none spawned
 * yet. Exits with a message when the memory cannot be had, or when the kernel
 * allows too few mappings for n guard pages (vm.max_map_count). */
void hub_init(struct hub *h, int n, void (*body)(struct green *g));

/* gevent.spawn(): green thread i, with arg, is ready to run; it runs when the
 * hub first resumes it. */
void green_spawn(struct hub *h, int i, void *arg);

/* From the hub: run g until it yields or its body returns. */
void green_resume(struct hub *h, struct green *g);

/* From a green thread: hand the OS thread back to the hub. Returns when the
 * hub resumes this green thread. */
void green_yield(void);

/* The hub, for code that runs in a green thread and keeps a blocking
 * signature (green_socket.c's calls): h->current is the one running. */
struct hub *green_hub(void);

/* Unmap the stacks and free the green threads (every one done or never run);
 * close the epoll set, if there is one. */
void hub_free(struct hub *h);

#endif
