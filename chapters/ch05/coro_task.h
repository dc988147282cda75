/* coro_task.h - Future and Task for stackless coroutines, and the macros
 *
 * Talk: asynchronous programming / asyncio "add task" example (under
 *       yield from), as "500 Lines or Less" builds asyncio
 * Module: linked into coroutine_loop.c (which teaches it, with timers) and
 *         coroutine_crawler.c (the talk's wget() on it). Both need the same
 *         macros and the same Future and Task, so they live here once.
 * Shows: a Future, a result to come and the one callback to run then; a
 *        Task, whose step() runs its coroutine to the next future it awaits
 *        and hands itself to that future as its callback. The coroutine
 *        macros are coro.h's (simple_coroutine.c explains them) plus await,
 *        Python's `yield from future`. Their rules: locals do not survive a
 *        yield or an await (keep what must live on in the task's frame); no
 *        yield inside a switch of your own in the body; one yield or await
 *        per source line; a coroutine that awaits has a label `out:`, where
 *        a failed await goes.
 */
#ifndef CORO_TASK_H
#define CORO_TASK_H

#include "coro.h" /* CO_BEGIN, CO_YIELD, CO_END */

/* clang-format off */
/* await: run the operation, which returns the future of its result; unless
 * that future is done already, pause until it is; if it failed (a result
 * below 0), go to the clean-up at the label out. */
#define CO_AWAIT(co, operation)                                             \
    do {                                                                    \
        (co)->awaiting = (operation);                                       \
        if (!(co)->awaiting->done)                                          \
            CO_YIELD(co, (co)->awaiting);                                   \
        if ((co)->awaiting->result < 0)                                     \
            goto out;                                                       \
    } while (0)
/* clang-format on */

/* asyncio's Future: a result to come, and what to call then (Python keeps
 * a list of callbacks; one will do here). */
struct future {
    int done;
    long result; /* >= 0, or a failure (-errno) */
    void (*callback)(void *arg);
    void *arg;
};

/* A task: its coroutine, where that coroutine goes on, and the future it
 * awaits. It sits in a frame, the struct that holds everything else the
 * coroutine keeps across its awaits, and frame points back to that struct. */
struct task;
typedef struct future *coroutine(struct task *t);

struct task {
    coroutine *coro;
    void *frame;
    int resume;              /* CO_BEGIN's resume point */
    struct future *awaiting; /* what CO_AWAIT waits on */
};

/* Future.set_result(): store the result, then run the callback. */
void set_result(struct future *f, long result);

/* Task.step(): run the coroutine up to its next await of a pending future
 * (or to its end), then next_future.add_done_callback(self.step). Takes a
 * struct task *, as a future's callback. */
void task_step(void *task);

#endif
