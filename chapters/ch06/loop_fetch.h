/* loop_fetch.h - one event loop's state, and the steps of a fetch in it
 *
 * Part of loop_per_core.c, kept apart because it is not about having a loop
 * per core: what one loop owns (struct loop), and the steps of one fetch as
 * in ch05/callback_crawler.c: connect without waiting, send the request when
 * the socket is writable, count the answer when it is readable, finish.
 * Each step takes the loop its fetch belongs to, and touches nothing else.
 * Linux, C17.
 */
#ifndef LOOP_FETCH_H
#define LOOP_FETCH_H
#include "workbook.h"

#include <pthread.h>
#include <sys/epoll.h> /* socket and getaddrinfo: in workbook.h */

/* One fetch: how much of its request is sent, how much answer has come. */
struct fetch {
    int index, fd;
    size_t sent;
    long long bytes;
    const char *url;
    char *request;
};

/* One loop: its thread, its epoll, its fetches; no other thread touches them. */
struct loop {
    pthread_t thread;
    int epfd, count, pending, failed;
    struct fetch *fetch;
    double deadline;
    struct wb_timeline *tl; /* shared, but slot i belongs to URL i's loop */
};

/* The end of a fetch: close its socket, print its line, or why it failed. */
static inline void finish(struct loop *l, struct fetch *f, const char *why)
{
    close(f->fd); /* which also takes it out of the epoll set */
    f->fd = -1;
    free(f->request); /* a fetch ends once: freed once */

    l->pending--;
    wb_task_end(l->tl, f->index);

    if (why == NULL) {
        wb_result(f->index, f->bytes, wb_task_seconds(l->tl, f->index), f->url);
    } else {
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, f->url, why);
        wb_task_failed(l->tl, f->index);
        l->failed++;
    }
}

/* Connect without waiting; the loop hears when the socket is writable. */
static inline void start(struct loop *l, struct fetch *f)
{
    char host[256], port[16];
    const char *path;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
    wb_task_begin(l->tl, f->index);

    if (wb_split_url(f->url, host, sizeof host, port, sizeof port, &path) == -1) {
        finish(l, f, "not a URL");
        return;
    }
    if (asprintf(&f->request,
                 "GET %s HTTP/1.0\r\nHost: %s:%s\r\nConnection: close\r\n\r\n", path,
                 host, port) == -1)
        wb_die("asprintf");
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        finish(l, f, gai_strerror(rc));
        return;
    }

    f->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    rc = -1;
    if (f->fd != -1)
        rc = connect(f->fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc == -1 && errno != EINPROGRESS) {
        finish(l, f, strerror(errno)); /* EINPROGRESS: under way */
        return;
    }

    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = f};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, f->fd, &ev) == -1)
        finish(l, f, strerror(errno));
}

/* Writable: the handshake is over (SO_ERROR says how); send what is left. */
static inline void on_writable(struct loop *l, struct fetch *f)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0) {
        finish(l, f, strerror(err ? err : errno));
        return;
    }

    size_t total = strlen(f->request);
    ssize_t sent = send(f->fd, f->request + f->sent, total - f->sent, MSG_NOSIGNAL);
    if (sent == -1 && errno != EAGAIN && errno != EINTR) {
        finish(l, f, strerror(errno));
        return;
    }
    if (sent > 0)
        f->sent += (size_t)sent;
    if (f->sent < total)
        return; /* a short write: the rest when it is writable again */

    /* all sent: from now on, wait for the answer */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = f};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, f->fd, &ev) == -1)
        finish(l, f, strerror(errno));
}

/* Readable: take what came; the server closing means the answer is whole. */
static inline void on_readable(struct loop *l, struct fetch *f)
{
    char buf[4096];
    ssize_t got = recv(f->fd, buf, sizeof buf, 0);
    if (got > 0)
        f->bytes += got;
    else if (got == 0)
        finish(l, f, NULL);
    else if (errno != EAGAIN && errno != EINTR)
        finish(l, f, strerror(errno));
}

#endif
