/* event_loop_hello.c - two coroutines sleep one second each, at the same time, on one thread
 *
 * Talk: asynchronous programming / asyncio "hello world" and "add task" examples
 * Usage: event_loop_hello [-q] [-n N] [-d MS]
 * Shows: what `loop.run_until_complete(asyncio.wait([hello(), hello()]))`
 *        does underneath. Each hello() prints "Hello world!", sleeps one
 *        second, prints "Hello again!"; all four lines carry the same thread
 *        id, and the whole run takes about one second, not two: while one
 *        coroutine sleeps, the thread is free to run the other (异步 async,
 *        并发 concurrent, but never 并行 parallel). The parts:
 *        - coroutines: stackless, as in simple_coroutine.c (a resume point and
 *          an explicit struct, three macros). Rules: locals do not survive a
 *          yield; no yield inside a nested switch.
 *        - asyncio.sleep(1): the coroutine asks the loop for a timer that will
 *          resume it in one second, then yields. Nothing blocks.
 *        - the event loop: a binary heap of timers ordered by due time. Each
 *          turn it runs every timer that is due (each resumes one coroutine
 *          until its next yield), then waits in epoll_wait() until the earliest
 *          timer. No descriptor is registered here; coroutine_crawler.c uses
 *          the same wait for its sockets, with the timers as its time limits.
 *        -n N runs N coroutines (default 2) and -d MS makes them sleep MS
 *        milliseconds (default 1000): a thousand sleepers still take one
 *        second. The timeline shows the sleeps overlapping; -q leaves it out.
 * Linux: epoll, gettid().
 * Compare: simple_coroutine.c, producer_consumer.c, coroutine_crawler.c;
 *          ch03/thread_fetch.c (the same overlap bought with threads).
 */
#include "workbook.h"

#include <getopt.h>
#include <stdbool.h>
#include <sys/epoll.h>

/* The coroutine machinery of simple_coroutine.c: `resume` is 0 before the
 * first call, the line of the paused yield while suspended, -1 once ended. */
/* clang-format off */
#define CO_BEGIN(co) switch ((co)->resume) { case 0:
#define CO_YIELD(co, val) do { (co)->resume = __LINE__; return (val); case __LINE__:; } while (0)
#define CO_END(co, val) } (co)->resume = -1; return (val)
/* clang-format on */

struct loop;

/* One hello() coroutine: resume point, its number, and its loop. */
struct hello {
    int resume, id;
    struct loop *loop;
};

/* A timer: resume coroutine `co` at time `when`. `seq` breaks ties, so two
 * timers due at the same moment run in the order they were set, as asyncio
 * runs callbacks scheduled for the same moment. */
struct timer {
    double when;
    long seq;
    struct hello *co;
};

struct loop {
    int epfd;
    struct timer *heap; /* heap[0] is always the earliest timer */
    int len;
    long seq;
    int live; /* coroutines not yet finished: run_until_complete's condition */
    double sleep;
    struct wb_timeline *tl;
};

static bool earlier(const struct timer *a, const struct timer *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

/* loop.call_later(delay, resume co): push onto the heap and sift it up. The
 * heap has room for one timer per coroutine, which is all this program uses. */
static void call_later(struct loop *l, double delay, struct hello *co)
{
    struct timer t = {wb_now() + delay, l->seq++, co};
    int i = l->len++;
    for (; i > 0 && earlier(&t, &l->heap[(i - 1) / 2]); i = (i - 1) / 2)
        l->heap[i] = l->heap[(i - 1) / 2];
    l->heap[i] = t;
}

/* Take the earliest timer off the heap: move the last one to the top and
 * sift it down. */
static struct timer pop_timer(struct loop *l)
{
    struct timer top = l->heap[0], last = l->heap[--l->len];
    int i = 0;
    for (int child; (child = 2 * i + 1) < l->len; i = child) {
        if (child + 1 < l->len && earlier(&l->heap[child + 1], &l->heap[child]))
            child++;
        if (!earlier(&l->heap[child], &last))
            break;
        l->heap[i] = l->heap[child];
    }
    l->heap[i] = last;
    return top;
}

/* The coroutine, as in the talk:
 *     def hello():
 *         print('Hello world! (%s)' % threading.currentThread())
 *         yield from asyncio.sleep(1)
 *         print('Hello again! (%s)' % threading.currentThread())
 * Each call runs it to its next yield (true) or to its end (false). */
static bool hello(struct hello *h)
{
    CO_BEGIN(h);
    wb_task_begin(h->loop->tl, h->id);
    printf("Hello world! (thread %d)\n", (int)gettid());
    call_later(h->loop, h->loop->sleep, h); /* asyncio.sleep(1): "wake me in 1 s" ... */
    CO_YIELD(h, true);                      /* ... and hand the thread back to the loop */
    printf("Hello again! (thread %d)\n", (int)gettid());
    wb_task_end(h->loop->tl, h->id);
    CO_END(h, false);
}

/* loop.run_until_complete(): run due timers, then sleep in the kernel until
 * the next one is due, until every coroutine has finished. */
static void run_until_complete(struct loop *l)
{
    while (l->live > 0) {
        double now = wb_now();
        while (l->len > 0 && l->heap[0].when <= now)
            if (!hello(pop_timer(l).co)) /* resume it; false: it has finished */
                l->live--;
        if (l->live == 0 || l->len == 0)
            break;
        /* Milliseconds to the earliest timer, rounded up: waking a little
         * early would only make us spin through a useless turn. */
        int timeout = (int)((l->heap[0].when - wb_now()) * 1000.0) + 1;
        struct epoll_event ev;
        if (epoll_wait(l->epfd, &ev, 1, timeout < 0 ? 0 : timeout) == -1 && errno != EINTR)
            wb_die("epoll_wait"); /* EINTR (a signal arrived): just go round again */
    }
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: event_loop_hello [-q] [-n N] [-d MS]\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    struct wb_opts o = {0, 2, 1000}; /* two coroutines sleeping one second, as in the talk */
    int c;
    while ((c = getopt_long(argc, argv, "hqn:d:", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, &o))
            continue;
        if (c == 'h') {
            usage(stdout);
            printf("N coroutines (default 2) each print 'Hello world!', sleep MS ms (default\n"
                   "1000) and print 'Hello again!', all on one thread and one event loop:\n"
                   "the sleeps overlap, so the run takes MS, not N x MS. -q: no timeline.\n");
            return 0;
        }
        usage(stderr);
        return 2;
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    struct wb_timeline tl;
    wb_timeline_init(&tl, o.n);
    struct loop l = {.live = o.n, .sleep = o.delay_ms / 1000.0, .tl = &tl};
    struct hello *tasks = calloc((size_t)o.n, sizeof *tasks);
    l.heap = calloc((size_t)o.n, sizeof *l.heap);
    if (!tasks || !l.heap)
        wb_die("calloc");
    if ((l.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
        wb_die("epoll_create1");

    double start = wb_now();
    for (int i = 0; i < o.n; i++) { /* tasks = [hello(), hello()]: scheduled, not run */
        tasks[i] = (struct hello){.id = i, .loop = &l};
        call_later(&l, 0, &tasks[i]);
    }
    run_until_complete(&l);
    wb_used_time(wb_now() - start);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);

    close(l.epfd); /* loop.close() */
    free(l.heap);
    free(tasks);
    wb_timeline_free(&tl);
    return 0;
}
