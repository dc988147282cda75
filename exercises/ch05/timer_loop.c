/* timer_loop.c - an event loop's timers in a heap, and a run that sleeps until the next
 *
 * Talk: asynchronous programming / event loop (loop.call_later, run_until_complete)
 * Usage: #include "timer_loop.h", link timer_loop.c (timer_harness.c does)
 * Your task: keep the timers in a binary heap (最小堆) ordered by deadline,
 *        ties first in, first out, and write loop_run(): sleep exactly until
 *        the earliest deadline, run what is due, again, until no timer is
 *        left. timer_loop.h says exactly what each function must do.
 * Check: make exercises && ./exercises/ch05/timer_harness, then
 *        make grade EX=ch05/timer_loop (tests/exercises/ch05_timer_loop.bats)
 */
#include "timer_loop.h"

#include <stdbool.h>
#include <stdlib.h>

/* One timer: call callback(data) at `deadline`. `seq` counts the timers
 * added so far: of two timers with one deadline, the one added first has
 * the smaller seq and must run first. */
struct timer {
    long deadline;
    unsigned long seq;
    loop_callback *callback;
    void *data;
};

/* The program has one loop, as an asyncio program has one running loop, so
 * its state is kept here rather than passed around. Keep heap[0] the
 * earliest timer; the children of heap[i] are heap[2i+1] and heap[2i+2]. */
static struct timer *heap;
static size_t count;
static size_t capacity;
static unsigned long next_seq;

int loop_add_timer(long ms, loop_callback *callback, void *data)
{
    /* make room: double the heap when it is full */
    if (count == capacity) {
        size_t bigger = capacity ? 2 * capacity : 64;
        struct timer *grown = realloc(heap, bigger * sizeof *grown);
        if (grown == NULL)
            return -1;
        heap = grown;
        capacity = bigger;
    }

    /* the new timer goes at the end */
    size_t i = count;
    heap[i].deadline = loop_now() + ms;
    heap[i].seq = next_seq;
    heap[i].callback = callback;
    heap[i].data = data;
    next_seq++;
    count++;

    /* TODO(student): move the new timer up to its place: while it is due
     * earlier than its parent heap[(i - 1) / 2], swap the two. "Earlier"
     * means a smaller deadline, or the same deadline and a smaller seq
     * (write a small earlier(a, b) for it; event_loop_hello.c in
     * chapters/ch05 has one). Without this, heap[0] is just the first timer
     * added. */
    return 0;
}

void loop_run(void)
{
    /* TODO(student): run timers until none is left, then return.
     * - The earliest timer is heap[0]. If its deadline is still ahead of
     *   loop_now(), call loop_wait() for exactly the time until it, then
     *   read the clock again: a wait may end early (a socket was ready) or
     *   late (a busy machine), so never assume how much time went by.
     *   loop_wait(0) while nothing is due is polling: a core burnt for
     *   nothing. Waiting longer than that makes the timer ring late.
     * - If it is due, take it off the heap first, then call
     *   callback(data): a callback may add timers. Taking the top off: move
     *   the last timer to heap[0] and sift it down, each time swapping it
     *   with the earlier of its two children, until neither is earlier.
     * - When count is 0, free the heap (and set heap = NULL, capacity = 0)
     *   and return.
     * Try it: ./exercises/ch05/timer_harness prints every ring and what was
     * wrong; --late, --early and --chain are the harder cases. */
}
