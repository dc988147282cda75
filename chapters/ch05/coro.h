/* coro.h - the three coroutine macros, for the programs after the first
 *
 * Talk: asynchronous programming / Co-routine (协程)
 * Shows: simple_coroutine.c's macros, which it defines and explains itself:
 *        a coroutine is a struct with an int `resume` (0 before the first
 *        call, the line of the paused yield while suspended, -1 once ended)
 *        and a body between CO_BEGIN and CO_END, one big switch on `resume`.
 *        Its rules: locals do not survive a yield (keep what must live on in
 *        the struct); no yield inside a switch of your own in the body; one
 *        yield per source line.
 * Used by: producer_consumer.c, event_loop_hello.c, and coro_task.h, which
 *          adds CO_AWAIT. A header only: nothing to link.
 */
#ifndef CORO_H
#define CORO_H

/* clang-format off */
#define CO_BEGIN(co)                                                        \
    switch ((co)->resume) {                                                 \
    case 0:

#define CO_YIELD(co, val)                                                   \
    do {                                                                    \
        (co)->resume = __LINE__;                                            \
        return (val);                                                       \
    case __LINE__:;                                                         \
    } while (0)

#define CO_END(co, val)                                                     \
    }                                                                       \
    (co)->resume = -1;                                                      \
    return (val)
/* clang-format on */

#endif
