/* callback_loop.c - a small event loop with callbacks and futures, on its own
 *
 * Talk: asynchronous programming / the selectors + Future cell
 * Usage: callback_loop [-n N] [-d MS]
 * Shows: an event loop of callbacks with nothing around it: the talk's
 *        Future (add_done_callback, set_result), and timers registered with
 *        the loop of cb_loop.c (register a descriptor with a callback and
 *        its data, unregister it, run until stopped: Python's selectors, on
 *        epoll). N timers, due in the reverse order of their registration,
 *        show that the loop calls whoever is ready, when it is ready, on one
 *        thread.
 * Compare: callback_crawler.c (a loop like it driving fetches),
 *          event_loop_hello.c (timers in a heap, coroutines). Linux.
 */
#include "workbook.h"

#include "cb_loop.h"

#include <getopt.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

static void parse_options(int argc, char **argv, int *n, int *delay_ms);

/* ---- a future: a result that is not there yet, and what to do with it --- */

struct future;
typedef void done_callback(struct future *f, void *arg);

struct future {
    double result;
    done_callback *fn; /* Python keeps a list; one is enough here */
    void *arg;
};

static void add_done_callback(struct future *f, done_callback *fn, void *arg)
{
    f->fn = fn;
    f->arg = arg;
}

static void set_result(struct future *f, double result)
{
    f->result = result;
    if (f->fn != NULL)
        f->fn(f, f->arg);
}

/* ---- the timers: a timerfd is a descriptor that turns readable when due -- */

struct timers {
    struct loop loop;
    int pending; /* counting down to zero, which stops the loop */
    double start;
};

struct timer {
    struct timers *all;
    struct watch watch;
    int index, delay_ms;
    struct future fired; /* resolved with the seconds from the start */
};

/* The loop says the timer is readable: its time has come. */
static void on_due(int fd, void *data)
{
    struct timer *t = data;
    uint64_t expirations;
    ssize_t r = read(fd, &expirations, sizeof expirations);

    /* EAGAIN, EINTR: not due after all, so wait for the next call */
    if (r == -1 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r != (ssize_t)sizeof expirations)
        wb_die("read timerfd");

    loop_unregister(&t->all->loop, &t->watch);
    set_result(&t->fired, wb_now() - t->all->start);
}

/* The future's done-callback: say when, count down, stop the loop at zero. */
static void print_fired(struct future *f, void *arg)
{
    struct timer *t = arg;
    printf("timer %d fired after %.3f s (set for %d ms)\n", t->index, f->result,
           t->delay_ms);

    t->all->pending--;
    if (t->all->pending == 0)
        t->all->loop.stopped = 1;
}

/* Arm a timer that is due delay_ms from now, and register it with the loop. */
static void start_timer(struct timer *t)
{
    t->watch.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (t->watch.fd == -1)
        wb_die("timerfd_create");

    struct itimerspec due = {0};
    due.it_value.tv_sec = t->delay_ms / 1000;
    due.it_value.tv_nsec = (long)(t->delay_ms % 1000) * 1000000;
    if (timerfd_settime(t->watch.fd, 0, &due, NULL) == -1)
        wb_die("timerfd_settime");

    add_done_callback(&t->fired, print_fired, t);
    if (loop_register(&t->all->loop, &t->watch, EPOLLIN, on_due, t) == -1)
        wb_die("epoll_ctl");
}

int main(int argc, char **argv)
{
    int n, delay_ms;
    parse_options(argc, argv, &n, &delay_ms);

    /* one loop, and n timers: the first due last, the last due first */
    struct timers all = {.pending = n};
    all.loop.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (all.loop.epfd == -1)
        wb_die("epoll_create1");
    struct timer *timers = calloc((size_t)n, sizeof *timers);
    if (timers == NULL)
        wb_die("calloc");

    all.start = wb_now();
    for (int i = 0; i < n; i++) {
        timers[i] = (struct timer){.all = &all, .index = i};
        timers[i].delay_ms = (n - i) * delay_ms;
        start_timer(&timers[i]);
    }

    /* run until every future is done; a second past the last timer at most */
    loop_run(&all.loop, all.start + (double)n * delay_ms / 1000 + 1);
    wb_used_time(wb_now() - all.start);
    if (all.pending > 0)
        fprintf(stderr, "%s: %d timers never fired\n", program_invocation_short_name,
                all.pending);

    /* the timers' descriptors, then the loop's */
    for (int i = 0; i < n; i++)
        if (close(timers[i].watch.fd) == -1)
            wb_die("close");
    if (close(all.loop.epfd) == -1)
        wb_die("close");
    free(timers);
    return all.pending == 0 ? 0 : 1;
}

/* ---- the command line ---------------------------------------------------- */

/* --help: all of it on stdout, exit 0; a bad option: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fprintf(out, "Usage: %s [-n N] [-d MS]\n", program_invocation_short_name);
    if (status == 0)
        fputs(
            "\nRun N timers on one epoll loop, timer K due (N - K) * MS milliseconds\n"
            "from the start, and print each as its future is resolved.\n"
            "\n"
            "  -n N          how many timers (default 3)\n"
            "  -d MS         the step between two timers (default 100)\n",
            stdout);
    exit(status);
}

/* Fill in n and delay_ms from the command line. */
static void parse_options(int argc, char **argv, int *n, int *delay_ms)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *n = 3;
    *delay_ms = 100;

    int c;
    while ((c = getopt_long(argc, argv, "n:d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': *n = (int)wb_opt_long("-n", optarg, 1, 1000); break;
        case 'd': *delay_ms = (int)wb_opt_long("-d", optarg, 1, 10000); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
}
