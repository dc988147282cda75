/* coroutine_loop.c - Future and Task: coroutines that await futures, on one epoll loop
 *
 * Talk: asynchronous programming / asyncio "add task" example (under yield from)
 * Usage: coroutine_loop [-n N] [-d MS]
 * Shows: the machinery under coroutine_crawler.c, alone, as "500 Lines or
 *        Less" builds asyncio: a Future (a result to come, and the callback
 *        to run then); a Task, whose step() runs its coroutine to the next
 *        future it awaits and hands itself to that future as its callback;
 *        an epoll loop that resolves a future when its descriptor is ready
 *        (here a timerfd: the await is asyncio.sleep()). Future, Task and
 *        the coroutine macros are in the module coro_task.c / coro_task.h,
 *        which coroutine_crawler.c runs on too; this file is the loop and a
 *        coroutine that awaits. Coroutine rules (coro_task.h): locals do not
 *        survive an await; no yield in a nested switch; one await per line.
 *        Linux: epoll, timerfd.
 * Compare: callback_loop.c (the same loop and future, with plain callbacks),
 *          event_loop_hello.c (a loop that resumes the coroutines itself).
 */
#include "workbook.h"

#include "coro_task.h"

#include <getopt.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

/* The loop: one epoll instance, and how many tasks it still runs. */
struct loop {
    int epfd;
    int live; /* tasks not finished yet */
    double start;
};

/* A task's frame: everything its coroutine keeps across an await. */
struct frame {
    struct task task; /* its coroutine, resume point and awaited future */
    int id;
    int delay_ms, nap_ms; /* its first sleep and its second */
    int fd;               /* the timerfd its sleeps arm */
    struct future timer;  /* the future of the sleep under way */
    struct loop *loop;
};

static void parse_options(int argc, char **argv, int *n, int *delay_ms);
static struct future *sleeper(struct task *t);

/* asyncio.sleep(ms): a fresh future, which the loop resolves when the task's
 * timer is due. The timer only starts here; nothing waits in this call. */
static struct future *sleep_ms(struct frame *f, int ms)
{
    f->timer = (struct future){0};
    struct itimerspec due = {0};
    due.it_value.tv_sec = ms / 1000;
    due.it_value.tv_nsec = (long)(ms % 1000) * 1000000;
    if (timerfd_settime(f->fd, 0, &due, NULL) == -1)
        wb_die("timerfd_settime");

    return &f->timer;
}

/* The coroutine (the C future's result is the time the timer fired):
 *     def sleeper(i, delay, nap):
 *         print('task %d: sleep(%d ms)' % (i, delay))
 *         when = yield from asyncio.sleep(delay)
 *         print('task %d: woke at %.3f s, sleep(%d ms)' % (i, when, nap))
 *         when = yield from asyncio.sleep(nap)
 *         print('task %d: done at %.3f s' % (i, when))
 * The macros and the Task that runs it are in coro_task.h.
 */
static struct future *sleeper(struct task *t)
{
    struct frame *f = t->frame;

    CO_BEGIN(t);
    printf("task %d: sleep(%d ms)\n", f->id, f->delay_ms);
    CO_AWAIT(t, sleep_ms(f, f->delay_ms));

    /* resumed by the future's callback: `when` is the future's result */
    printf("task %d: woke at %.3f s, sleep(%d ms)\n", f->id, f->timer.result / 1000.0,
           f->nap_ms);
    CO_AWAIT(t, sleep_ms(f, f->nap_ms));

    printf("task %d: done at %.3f s\n", f->id, f->timer.result / 1000.0);

out:
    f->loop->live--;
    CO_END(t, NULL);
}

/* loop.run_until_complete(asyncio.wait(tasks)): resolve the future of each
 * timer that is due, until every task has ended. The loop knows descriptors
 * and futures only; the futures' callbacks step the tasks. */
static void run_until_complete(struct loop *l)
{
    struct epoll_event ev[64];
    while (l->live > 0) {
        int ready = epoll_wait(l->epfd, ev, 64, -1);

        /* EINTR: a signal cut the wait short, so wait again */
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == -1)
            wb_die("epoll_wait");

        for (int k = 0; k < ready; k++) {
            struct frame *f = ev[k].data.ptr;

            /* the timer is due: read its count of expirations, which quiets it */
            uint64_t expirations;
            ssize_t r = read(f->fd, &expirations, sizeof expirations);

            /* EAGAIN: not due after all, so wait for the next report */
            if (r == -1 && errno == EAGAIN)
                continue;
            if (r != (ssize_t)sizeof expirations)
                wb_die("read timerfd");

            /* Future.set_result(when): its callback steps the task */
            double ms = (wb_now() - l->start) * 1000;
            set_result(&f->timer, (long)(ms + 0.5));
        }
    }
}

/* A timerfd for the task, registered with the loop once: readable when due */
static void open_timer(struct loop *l, struct frame *f)
{
    f->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (f->fd == -1)
        wb_die("timerfd_create");

    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = f};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, f->fd, &ev) == -1)
        wb_die("epoll_ctl");
}

int main(int argc, char **argv)
{
    int n, delay_ms;
    parse_options(argc, argv, &n, &delay_ms);

    /* loop = asyncio.get_event_loop(): here, one epoll instance */
    struct loop l = {.live = n};
    l.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l.epfd == -1)
        wb_die("epoll_create1");
    struct frame *frames = calloc((size_t)n, sizeof *frames);
    if (frames == NULL)
        wb_die("calloc");

    /* n tasks, the first to sleep longest, each with its timer; naps of a
     * step and a half end between two wake-ups, never on one */
    for (int i = 0; i < n; i++) {
        struct frame *f = &frames[i];
        *f = (struct frame){.id = i, .loop = &l, .nap_ms = delay_ms * 3 / 2};
        f->task = (struct task){.coro = sleeper, .frame = f};
        f->delay_ms = (n - i) * delay_ms;
        open_timer(&l, f);
    }

    /* tasks = [Task(sleeper(i, delay)) ...]: each runs to its first await */
    l.start = wb_now();
    for (int i = 0; i < n; i++)
        task_step(&frames[i].task);

    run_until_complete(&l);
    wb_used_time(wb_now() - l.start);

    /* loop.close() */
    for (int i = 0; i < n; i++)
        if (close(frames[i].fd) == -1)
            wb_die("close");
    if (close(l.epfd) == -1)
        wb_die("close");
    free(frames);
    return 0;
}

/* ---- the command line ------------------------------------------------------ */

/* --help: all of it on stdout, exit 0; a bad option: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fprintf(out, "Usage: %s [-n N] [-d MS]\n", program_invocation_short_name);
    if (status == 0)
        fputs("\nRun N tasks on one epoll loop. Task K awaits asyncio.sleep() twice,\n"
              "(N - K) * MS and then 1.5 * MS milliseconds; each line is printed\n"
              "when the future it waited on is resolved.\n"
              "\n"
              "  -n N          how many tasks (default 3)\n"
              "  -d MS         the step between two tasks' sleeps (default 100)\n",
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
        case 'd': *delay_ms = (int)wb_opt_long("-d", optarg, 2, 10000); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
}
