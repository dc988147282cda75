/* timer_loop.c - an event loop's timers in a heap, and a run that sleeps until the next
 *
 * Talk: asynchronous programming / event loop (loop.call_later, run_until_complete)
 * Usage: #include "timer_loop.h", link timer_loop.c (timer_harness.c does)
 * Shows: the timers of an event loop in a binary heap (最小堆) ordered by
 *        deadline, a sequence number breaking ties so that timers due at the
 *        same moment run first in, first out; and the loop's one rule for
 *        sleeping: wait exactly until the earliest deadline, no less (that
 *        would be polling, burning a core) and no more (a timer would ring
 *        late). After every wake-up, early or late, look at the clock again.
 * Compare: event_loop_hello.c (the same heap, with epoll_wait as the wait)
 */
#include "timer_loop.h"

#include <stdbool.h>
#include <stdlib.h>

/* One timer: call callback(data) at `deadline`. `seq` counts the timers
 * added so far: of two timers with one deadline, the one added first has
 * the smaller seq and runs first. */
struct timer {
    long deadline;
    unsigned long seq;
    loop_callback *callback;
    void *data;
};

/* The program has one loop, as an asyncio program has one running loop, so
 * its state is kept here rather than passed around. heap[0] is always the
 * earliest timer; the children of heap[i] are heap[2i+1] and heap[2i+2]. */
static struct timer *heap;
static size_t count;
static size_t capacity;
static unsigned long next_seq;

static bool earlier(const struct timer *a, const struct timer *b)
{
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->seq < b->seq;
}

static void swap(size_t i, size_t j)
{
    struct timer t = heap[i];
    heap[i] = heap[j];
    heap[j] = t;
}

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

    /* the new timer goes at the end, then up past every parent due later */
    size_t i = count;
    heap[i].deadline = loop_now() + ms;
    heap[i].seq = next_seq;
    heap[i].callback = callback;
    heap[i].data = data;
    next_seq++;
    count++;
    while (i > 0 && earlier(&heap[i], &heap[(i - 1) / 2])) {
        swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    return 0;
}

/* Take the earliest timer off the heap: the last one moves to the top, then
 * down, each time swapping with the earlier of its two children. */
static struct timer pop_earliest(void)
{
    struct timer first = heap[0];
    count--;
    heap[0] = heap[count];

    size_t i = 0;
    for (;;) {
        size_t least = i;
        size_t left = 2 * i + 1;
        size_t right = left + 1;
        if (left < count && earlier(&heap[left], &heap[least]))
            least = left;
        if (right < count && earlier(&heap[right], &heap[least]))
            least = right;
        if (least == i)
            break;
        swap(i, least);
        i = least;
    }
    return first;
}

void loop_run(void)
{
    while (count > 0) {
        /* not due yet: sleep until it is, then look at the clock again
         * (the wait may have ended early, or late) */
        long now = loop_now();
        if (heap[0].deadline > now) {
            loop_wait(heap[0].deadline - now);
            continue;
        }

        /* due: off the heap first, since its callback may add timers */
        struct timer due = pop_earliest();
        due.callback(due.data);
    }

    /* nothing left: give the memory back, for a next run */
    free(heap);
    heap = NULL;
    capacity = 0;
}
