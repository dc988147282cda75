/* cb_loop.c - a small event loop: descriptors, each with its callback
 *
 * Talk: asynchronous programming / the selectors + Future cell
 * Usage: #include "cb_loop.h" (the Makefile then links cb_loop.c in)
 * Module: no main(); callback_loop.c registers its timers here (cb_loop.h).
 * Shows: register and unregister with epoll_ctl(), and the loop itself: one
 *        epoll_wait() for all the descriptors, then a callback for each
 *        one that is ready. Linux: epoll.
 */
#include "cb_loop.h"

#include "workbook.h"

#include <sys/epoll.h>

int loop_register(struct loop *l, struct watch *w, uint32_t mask, callback *cb,
                  void *data)
{
    struct epoll_event ev = {.events = mask, .data.ptr = w};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) == -1)
        return -1;

    w->cb = cb;
    w->data = data;
    return 0;
}

void loop_unregister(struct loop *l, struct watch *w)
{
    /* only a bug in this file can make this fail */
    if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL) == -1)
        wb_die("epoll_ctl");

    /* an event of this batch not yet handled is then skipped */
    w->cb = NULL;
}

/* Level-triggered: data left unread is reported again next time round. */
void loop_run(struct loop *l, double deadline)
{
    struct epoll_event ev[256];
    while (!l->stopped) {
        int ms = (int)((deadline - wb_now()) * 1000) + 1;
        if (ms <= 0)
            return;

        int ready = epoll_wait(l->epfd, ev, 256, ms);

        /* EINTR: a signal cut the wait short, so wait again */
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == -1)
            wb_die("epoll_wait");
        if (ready == 0)
            return; /* the time is up */

        /* call what each ready descriptor registered */
        for (int i = 0; i < ready; i++) {
            struct watch *w = ev[i].data.ptr;
            if (w->cb != NULL)
                w->cb(w->fd, w->data);
        }
    }
}
