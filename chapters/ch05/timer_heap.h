/* timer_heap.h - an event loop's timers: a binary heap ordered by due time
 *
 * Talk: asynchronous programming / asyncio "hello world" (what
 *       asyncio.sleep() asks the loop for)
 * Module: linked into event_loop_hello.c, whose loop runs every timer that
 *         is due, then sleeps in epoll_wait() until the earliest one left.
 * Shows: loop.call_later() and the loop's question "which timer is next?",
 *        each in O(log n): the timers in an array kept as a binary heap
 *        (最小堆), heap[0] the earliest; a sequence number breaks ties, so
 *        timers due at the same moment run in the order they were set, as
 *        asyncio runs callbacks scheduled for the same moment.
 */
#ifndef TIMER_HEAP_H
#define TIMER_HEAP_H

/* A timer: at time `when` (a wb_now() time), the loop resumes `data`. */
struct timer {
    double when;
    long seq;
    void *data;
};

/* The timers: heap[0] is always the earliest. The array has room for as
 * many timers as the program will set at once; the heap never grows. */
struct timer_heap {
    struct timer *heap;
    int len;
    long seq; /* the next timer's */
};

/* Add a timer due at `when` that resumes `data`. */
void timer_push(struct timer_heap *h, double when, void *data);

/* Take the earliest timer off the heap (there must be one). */
struct timer timer_pop(struct timer_heap *h);

#endif
