/* coroutine_loop.c - Future and Task: coroutines that await futures, on one epoll loop
 *
 * Talk: asynchronous programming / asyncio "add task" example (under yield from)
 * Usage: coroutine_loop [-n N] [-d MS]
 * Shows: the machinery under coroutine_crawler.c, alone, as "500 Lines or
 *        Less" builds asyncio: a Future (a result to come, and the callback
 *        to run then); a Task, whose step() runs its coroutine to the next
 *        future it awaits and hands itself to that future as its callback;
 *        an epoll loop that resolves a future when its descriptor is ready
 *        (here a timerfd: the await is asyncio.sleep()). Coroutine rules
 *        (simple_coroutine.c): locals do not survive an await; no yield in a
 *        nested switch; one await per line. Linux: epoll, timerfd.
 * Compare: callback_loop.c (the same loop and future, with plain callbacks),
 *          event_loop_hello.c (a loop that resumes the coroutines itself).
 */
#include "workbook.h"

#include <getopt.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

/* The same coroutine macros as simple_coroutine.c, and await (Python's
 * `yield from`): start an operation; unless its future is done already,
 * pause until it is; if it failed, go to the clean-up at the label out. */
/* clang-format off */
#define CO_BEGIN(co) switch ((co)->resume) { case 0:
#define CO_YIELD(co, val) \
    do { (co)->resume = __LINE__; return (val); case __LINE__:; } while (0)
#define CO_END(co, val) } (co)->resume = -1; return (val)

#define CO_AWAIT(co, operation)                                             \
    do {                                                                    \
        operation;                                                          \
        if (!(co)->fut.done)                                                \
            CO_YIELD(co, &(co)->fut);                                       \
        if ((co)->fut.result < 0)                                           \
            goto out;                                                       \
    } while (0)
/* clang-format on */

/* asyncio's Future, as in 500 Lines: a result to come, and what to call then
 * (Python keeps a list of callbacks; one will do here). */
struct future {
    int done;
    long result; /* here: when the timer fired, in ms from the start */
    void (*callback)(void *arg);
    void *arg;
};

struct loop {
    int epfd;
    int live; /* tasks not finished yet */
    double start;
};

/* A task: its coroutine's frame, everything that must outlive an await. */
struct task {
    int resume, id;
    int delay_ms, nap_ms; /* its first sleep and its second */
    int fd;               /* the timerfd its sleeps arm */
    struct future fut;    /* the one future it waits on */
    struct loop *loop;
};

static void parse_options(int argc, char **argv, int *n, int *delay_ms);
static struct future *sleeper(struct task *t);

/* Future.set_result(): store the result, then run the callback. */
static void set_result(struct future *f, long result)
{
    f->done = 1;
    f->result = result;
    if (f->callback != NULL)
        f->callback(f->arg);
}

/* Task.step(): run the coroutine up to its next await of a pending future
 * (or to its end), then hand this step to that future as its callback:
 * next_future.add_done_callback(self.step). */
static void task_step(void *task)
{
    struct future *next = sleeper(task);
    if (next == NULL)
        return;
    next->callback = task_step;
    next->arg = task;
}

/* asyncio.sleep(ms): a fresh future, which the loop resolves when the task's
 * timer is due. The timer only starts here; nothing waits in this call. */
static void sleep_ms(struct task *t, int ms)
{
    t->fut = (struct future){0};
    struct itimerspec due = {0};
    due.it_value.tv_sec = ms / 1000;
    due.it_value.tv_nsec = (long)(ms % 1000) * 1000000;
    if (timerfd_settime(t->fd, 0, &due, NULL) == -1)
        wb_die("timerfd_settime");
}

/* The coroutine (the C future's result is the time the timer fired):
 *     def sleeper(i, delay, nap):
 *         print('task %d: sleep(%d ms)' % (i, delay))
 *         when = yield from asyncio.sleep(delay)
 *         print('task %d: woke at %.3f s, sleep(%d ms)' % (i, when, nap))
 *         when = yield from asyncio.sleep(nap)
 *         print('task %d: done at %.3f s' % (i, when))
 */
static struct future *sleeper(struct task *t)
{
    CO_BEGIN(t);
    printf("task %d: sleep(%d ms)\n", t->id, t->delay_ms);
    CO_AWAIT(t, sleep_ms(t, t->delay_ms));

    /* resumed by the future's callback: `when` is the future's result */
    printf("task %d: woke at %.3f s, sleep(%d ms)\n", t->id, t->fut.result / 1000.0,
           t->nap_ms);
    CO_AWAIT(t, sleep_ms(t, t->nap_ms));

    printf("task %d: done at %.3f s\n", t->id, t->fut.result / 1000.0);

out:
    t->loop->live--;
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
        if (ready == -1 && errno == EINTR)
            continue; /* a signal cut the wait short: wait again */
        if (ready == -1)
            wb_die("epoll_wait");

        for (int k = 0; k < ready; k++) {
            struct task *t = ev[k].data.ptr;

            /* the timer is due: read its count of expirations, which quiets it */
            uint64_t expirations;
            ssize_t r = read(t->fd, &expirations, sizeof expirations);
            if (r == -1 && errno == EAGAIN)
                continue; /* not after all: wait for the next report */
            if (r != (ssize_t)sizeof expirations)
                wb_die("read timerfd");

            /* Future.set_result(when): its callback steps the task */
            double ms = (wb_now() - l->start) * 1000;
            set_result(&t->fut, (long)(ms + 0.5));
        }
    }
}

/* A timerfd for the task, registered with the loop once: readable when due */
static void open_timer(struct loop *l, struct task *t)
{
    t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (t->fd == -1)
        wb_die("timerfd_create");

    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = t};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, t->fd, &ev) == -1)
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
    struct task *tasks = calloc((size_t)n, sizeof *tasks);
    if (tasks == NULL)
        wb_die("calloc");

    /* n tasks, the first to sleep longest, each with its timer; naps of a
     * step and a half end between two wake-ups, never on one */
    for (int i = 0; i < n; i++) {
        tasks[i] = (struct task){.id = i, .loop = &l, .nap_ms = delay_ms * 3 / 2};
        tasks[i].delay_ms = (n - i) * delay_ms;
        open_timer(&l, &tasks[i]);
    }

    /* tasks = [Task(sleeper(i, delay)) ...]: each runs to its first await */
    l.start = wb_now();
    for (int i = 0; i < n; i++)
        task_step(&tasks[i]);

    run_until_complete(&l);
    wb_used_time(wb_now() - l.start);

    /* loop.close() */
    for (int i = 0; i < n; i++)
        close(tasks[i].fd);
    close(l.epfd);
    free(tasks);
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
    if (optind < argc)
        usage(2);
}
