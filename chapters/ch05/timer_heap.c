/* timer_heap.c - an event loop's timers: a binary heap ordered by due time
 *
 * Talk: asynchronous programming / asyncio "hello world"
 * Usage: #include "timer_heap.h" (the Makefile then links timer_heap.c in)
 * Module: no main(); event_loop_hello.c keeps its timers here
 *         (timer_heap.h).
 * Shows: push and pop on a binary heap in an array: the children of
 *        heap[i] are heap[2i+1] and heap[2i+2], and no parent is due later
 *        than its children. A push moves the new timer up, a pop moves the
 *        last one down, each past at most log2(n) others.
 */
#include "timer_heap.h"

#include <stdbool.h>

/* Due first: the earlier time, or at the same time the one set first. */
static bool earlier(const struct timer *a, const struct timer *b)
{
    if (a->when != b->when)
        return a->when < b->when;
    return a->seq < b->seq;
}

void timer_push(struct timer_heap *h, double when, void *data)
{
    struct timer t = {.when = when, .seq = h->seq, .data = data};
    h->seq++;

    /* a hole at the end; move parents due later than t down into it */
    int i = h->len;
    h->len++;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (!earlier(&t, &h->heap[parent]))
            break;
        h->heap[i] = h->heap[parent];
        i = parent;
    }
    h->heap[i] = t;
}

struct timer timer_pop(struct timer_heap *h)
{
    struct timer top = h->heap[0];
    h->len--;
    struct timer last = h->heap[h->len];

    /* a hole at the top; move the earlier child up until `last` fits */
    int i = 0;
    while (2 * i + 1 < h->len) {
        int child = 2 * i + 1;
        if (child + 1 < h->len && earlier(&h->heap[child + 1], &h->heap[child]))
            child++;
        if (!earlier(&h->heap[child], &last))
            break;
        h->heap[i] = h->heap[child];
        i = child;
    }
    h->heap[i] = last;
    return top;
}
