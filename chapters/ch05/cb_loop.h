/* cb_loop.h - a small event loop: descriptors, each with its callback
 *
 * Talk: asynchronous programming / the selectors + Future cell
 * Module: linked into callback_loop.c, which runs futures and timers on it.
 * Shows: the whole API of an event loop, as Python's selectors and Redis's
 *        loop have it: register a descriptor with a callback and its data
 *        (selector.register(fd, events, data)), unregister it, and run:
 *        wait in epoll_wait() until descriptors are ready, then call what
 *        each one registered, until stopped. Linux: epoll, which is what
 *        Python's DefaultSelector is on Linux.
 */
#ifndef CB_LOOP_H
#define CB_LOOP_H

#include <stdint.h>

/* Python's selector.register(fd, events, data) keeps a bound method as the
 * data (self.connected); C keeps a function and the object it works on. */
typedef void callback(int fd, void *data);

/* A descriptor the loop may watch, and what to call when it is ready. */
struct watch {
    int fd;
    callback *cb; /* NULL: not registered */
    void *data;
};

/* The loop: one epoll instance (the caller makes it with epoll_create1()),
 * and a flag a callback sets to make loop_run() return. */
struct loop {
    int epfd;
    int stopped;
};

/* Ask epoll to report w->fd for the events in mask (EPOLLIN...), and
 * remember to call cb(fd, data) then. Returns -1, errno set, if it cannot. */
int loop_register(struct loop *l, struct watch *w, uint32_t mask, callback *cb,
                  void *data);

/* Stop watching w->fd; an event of it that the loop has not handled yet is
 * then skipped. */
void loop_unregister(struct loop *l, struct watch *w);

/* Call the callback of each ready descriptor until stopped, or until the
 * deadline (a wb_now() time). */
void loop_run(struct loop *l, double deadline);

#endif
