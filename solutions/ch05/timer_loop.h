/* timer_loop.h - the timers of a small event loop: add a timer, run until none is left
 *
 * Talk: asynchronous programming / event loop (事件循环): asyncio's
 *       loop.call_later(delay, callback) and loop.run_until_complete()
 * The loop asks the program that links it for the time and for a wait:
 * loop_now() and loop_wait(). A real program reads the monotonic clock and
 * sleeps in epoll_wait() (as event_loop_hello.c does); the harness
 * timer_harness.c gives a fake clock and a fake wait, so that it sees every
 * wait the loop asks for and can check it.
 *
 * This file is given: write the two loop_ functions in timer_loop.c and keep
 * these declarations as they are (the harness calls them exactly so).
 */
#ifndef TIMER_LOOP_H
#define TIMER_LOOP_H

/* What a timer calls when it is due: callback(data). */
typedef void loop_callback(void *data);

/* Call callback(data) once, ms milliseconds from now (ms >= 0). Timers due at
 * the same moment run in the order they were added (first in, first out). A
 * callback may add timers, even with ms == 0. Returns 0, or -1 when out of
 * memory (then nothing was added). */
int loop_add_timer(long ms, loop_callback *callback, void *data);

/* Run timers until none is left, then return: wait until the earliest
 * deadline, run every timer that is due, and again. */
void loop_run(void);

/* Given by the program that links the loop: */

/* The time in milliseconds on a clock that never goes back. */
long loop_now(void);

/* Sleep for up to timeout_ms milliseconds (-1: until something happens). Like
 * epoll_wait(), it may come back early (a socket became ready, a signal came)
 * or late (the machine was busy). */
void loop_wait(long timeout_ms);

#endif
