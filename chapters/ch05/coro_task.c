/* coro_task.c - Future and Task for stackless coroutines
 *
 * Talk: asynchronous programming / asyncio "add task" example
 * Usage: #include "coro_task.h" (the Makefile then links coro_task.c in)
 * Module: no main(); coroutine_loop.c and coroutine_crawler.c run their
 *         coroutines as tasks (coro_task.h, which also holds the macros).
 * Shows: the two small functions asyncio's runtime turns on: a future that
 *        calls back when its result is set, and a task step that hands
 *        itself to the next future its coroutine awaits.
 */
#include "coro_task.h"

#include <stddef.h>

void set_result(struct future *f, long result)
{
    f->done = 1;
    f->result = result;

    /* the callback is usually a task's step: the task runs on from here */
    if (f->callback != NULL)
        f->callback(f->arg);
}

void task_step(void *task)
{
    struct task *t = task;

    /* run the coroutine to its next await of a pending future; NULL: it ended */
    struct future *next = t->coro(t);
    if (next == NULL)
        return;

    /* next_future.add_done_callback(self.step) */
    next->callback = task_step;
    next->arg = t;
}
