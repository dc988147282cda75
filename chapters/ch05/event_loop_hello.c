/* event_loop_hello.c - two coroutines sleep one second each, at once, on one thread
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
 *          yield; no yield inside a nested switch; one yield per source line.
 *        - asyncio.sleep(1): the coroutine asks the loop for a timer that will
 *          resume it in one second, then yields. Nothing blocks.
 *        - the event loop: its timers in a binary heap ordered by due time
 *          (the module timer_heap.c). Each turn it runs every timer that is
 *          due (each resumes one coroutine up to its next yield), then sleeps
 *          in epoll_wait() until the next one; coroutine_crawler.c waits the
 *          same way for its sockets.
 *        -n 1000: a thousand sleepers still take one second.
 * Linux: epoll, gettid().
 * Compare: simple_coroutine.c, producer_consumer.c, coroutine_crawler.c;
 *          ch03/thread_fetch.c (the same overlap bought with threads).
 */
#include "workbook.h"

#include "coro.h" /* the coroutine macros, as simple_coroutine.c explains them */
#include "timer_heap.h"

#include <getopt.h>
#include <stdbool.h>
#include <sys/epoll.h>

static void parse_options(int argc, char **argv, struct wb_opts *opt);

/* The loop: an epoll instance to sleep in, and its timers, each of which
 * resumes one coroutine (timer_heap.c: timers.heap[0] is the earliest). */
struct loop {
    int epfd;
    struct timer_heap timers;
    int live; /* coroutines not finished yet */
    double sleep;
    struct wb_timeline *tl;
};

/* One hello() coroutine: its resume point, its number, and its loop. */
struct hello {
    int resume;
    int id;
    struct loop *loop;
};

/* loop.call_later(delay, resume co): a timer on the loop's heap. The heap
 * has room for one timer per coroutine, which is all this program uses. */
static void call_later(struct loop *l, double delay, struct hello *co)
{
    timer_push(&l->timers, wb_now() + delay, co);
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

    /* asyncio.sleep(1): ask for a timer, then hand the thread back to the loop */
    call_later(h->loop, h->loop->sleep, h);
    CO_YIELD(h, true);

    printf("Hello again! (thread %d)\n", (int)gettid());
    wb_task_end(h->loop->tl, h->id);
    CO_END(h, false);
}

/* loop.run_until_complete(): run due timers, then sleep in the kernel until
 * the next one is due, until every coroutine has finished. */
static void run_until_complete(struct loop *l)
{
    while (l->live > 0) {
        /* run every timer that is due: each resumes its coroutine */
        struct timer_heap *t = &l->timers;
        double now = wb_now();
        while (t->len > 0 && t->heap[0].when <= now) {
            struct timer due = timer_pop(t);
            bool suspended = hello(due.data);
            if (!suspended)
                l->live--;
        }
        if (l->live == 0 || t->len == 0)
            break;

        /* milliseconds to the earliest timer, rounded up: waking a little
         * early would only spin through a useless turn */
        int timeout = (int)((t->heap[0].when - wb_now()) * 1000.0) + 1;
        if (timeout < 0)
            timeout = 0;

        /* sleep until then; no descriptor is watched, so none can wake us */
        struct epoll_event ev;
        int k = epoll_wait(l->epfd, &ev, 1, timeout);

        /* EINTR: a signal arrived while it slept, just go round again */
        if (k == -1 && errno != EINTR)
            wb_die("epoll_wait");
    }
}

int main(int argc, char **argv)
{
    struct wb_opts opt;
    parse_options(argc, argv, &opt);

    struct wb_timeline tl;
    wb_timeline_init(&tl, opt.n);

    /* loop = asyncio.get_event_loop(): an epoll instance to sleep in, and a
     * heap with room for one timer per coroutine */
    struct loop l = {.live = opt.n, .sleep = opt.delay_ms / 1000.0, .tl = &tl};
    l.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l.epfd == -1)
        wb_die("epoll_create1");
    l.timers.heap = calloc((size_t)opt.n, sizeof *l.timers.heap);
    struct hello *tasks = calloc((size_t)opt.n, sizeof *tasks);
    if (l.timers.heap == NULL || tasks == NULL)
        wb_die("calloc");

    /* tasks = [hello(), hello()]: each scheduled to start now, none run yet */
    double start = wb_now();
    for (int i = 0; i < opt.n; i++) {
        tasks[i] = (struct hello){.id = i, .loop = &l};
        call_later(&l, 0, &tasks[i]);
    }

    /* loop.run_until_complete(asyncio.wait(tasks)) */
    run_until_complete(&l);
    wb_used_time(wb_now() - start);
    if (!opt.quiet)
        wb_timeline_print(&tl, stdout);

    /* loop.close() */
    if (close(l.epfd) == -1)
        wb_die("close");
    free(l.timers.heap);
    free(tasks);
    wb_timeline_free(&tl);
    return 0;
}

/* ---- the command line ------------------------------------------------------ */

/* --help: all of it on stdout, exit 0; a bad option: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fprintf(out, "Usage: %s [-q] [-n N] [-d MS]\n", program_invocation_short_name);
    if (status == 0)
        fputs("\nN coroutines each print 'Hello world!', sleep MS milliseconds and\n"
              "print 'Hello again!', all on one thread and one event loop: the\n"
              "sleeps overlap, so the run takes MS, not N x MS.\n"
              "\n"
              "  -n N          how many coroutines (default 2)\n"
              "  -d MS         how long each one sleeps (default 1000)\n"
              "  -q            no timeline, only the lines and the time\n",
              stdout);
    exit(status);
}

/* Fill in opt from the command line, which takes no arguments but options. */
static void parse_options(int argc, char **argv, struct wb_opts *opt)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };

    /* two coroutines sleeping one second, as in the talk */
    *opt = (struct wb_opts){.quiet = 0, .n = 2, .delay_ms = 1000};

    int c;
    while ((c = getopt_long(argc, argv, "qn:d:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, opt))
            continue;
        switch (c) {
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
}
