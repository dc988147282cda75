/* green_socket.c - sockets that block a green thread, never the OS thread
 *
 * Talk: parallel handling / gevent (gevent.socket, what monkey.patch_all() puts
 *       in place of the blocking calls)
 * Usage: #include "green_socket.h" (the Makefile then links green_socket.c in)
 * Module: no main(); green_fetch.c's macros call these (green_socket.h) from
 *         inside its green threads (green.h).
 * Shows: where a call on a non-blocking socket would block, the green thread
 *        parks in the hub's epoll set and switches to the hub; the hub sleeps
 *        in epoll_wait() and switches back when the socket is ready, and the
 *        call is tried again. Linux: epoll.
 */
#include "green_socket.h"

#include "workbook.h"

#include <sys/epoll.h>

/* Park the running green thread until fd is ready for events: the hub goes on
 * with the others and switches back when epoll says so. 0, or -1 and errno. */
static int wait_fd(int fd, uint32_t events)
{
    struct hub *h = green_hub();
    struct epoll_event ev = {.events = events, .data.ptr = h->current};

    if (epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev) == -1)
        return -1;
    green_yield();
    return epoll_ctl(h->ep, EPOLL_CTL_DEL, fd, NULL);
}

/* ---- the hub's side: wait for every socket at once ---- */

void hub_watch_sockets(struct hub *h)
{
    h->ep = epoll_create1(EPOLL_CLOEXEC);
    if (h->ep == -1)
        wb_die("epoll_create1");
}

/* EINTR: a signal woke the hub first, so it waits again. */
void hub_wait(struct hub *h)
{
    struct epoll_event evs[64];

    while (h->live > 0) {
        int k = epoll_wait(h->ep, evs, 64, -1);
        if (k == -1 && errno != EINTR)
            wb_die("epoll_wait");

        /* resume each green thread whose socket is ready */
        for (int i = 0; i < k; i++)
            green_resume(h, evs[i].data.ptr);
    }
}

/* ---- the green threads' side: the calls that wait ---- */

int green_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int err;
    socklen_t errlen = sizeof err;

    /* EINTR: the connection goes on in the background, as with EINPROGRESS */
    if (connect(fd, addr, len) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR)
        return -1;

    /* writable: connected, or failed, and SO_ERROR says why */
    if (wait_fd(fd, EPOLLOUT) == -1)
        return -1;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1)
        return -1;
    errno = err;
    return err == 0 ? 0 : -1;
}

/* The write is a send() with MSG_NOSIGNAL: to a peer that has gone, EPIPE for
 * this fetch, not SIGPIPE for the program. */
ssize_t green_io(int fd, void *rbuf, const void *wbuf, size_t len)
{
    uint32_t ready = rbuf != NULL ? EPOLLIN : EPOLLOUT;

    for (;;) {
        /* the real call, on a non-blocking socket: it never sleeps */
        ssize_t k;
        if (rbuf != NULL)
            k = read(fd, rbuf, len);
        else
            k = send(fd, wbuf, len, MSG_NOSIGNAL);
        if (k >= 0 || (errno != EAGAIN && errno != EINTR))
            return k;

        /* EINTR: a signal came first, try again at once */
        if (errno == EINTR)
            continue;

        /* EAGAIN: not ready, let the others run until it is */
        if (wait_fd(fd, ready) == -1)
            return -1;
    }
}
