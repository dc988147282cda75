/* nb_fetch.c - one fetch over a non-blocking socket, driven a step at a time
 *
 * Talk: asynchronous programming / non-blocking improve - select
 * Usage: #include "nb_fetch.h" (the Makefile then links nb_fetch.c in)
 * Module: no main(); select_crawler.c and callback_crawler.c drive these
 *         steps (nb_fetch.h), each with its own way of waiting.
 * Shows: non-blocking connect (EINPROGRESS, then "writable" and SO_ERROR),
 *        short writes and EAGAIN handled by trying again at the next
 *        readiness, not by looping here. Linux.
 */
#include "nb_fetch.h"

#include "workbook.h"

#include <netdb.h>
#include <sys/socket.h>

/* The end of a fetch, good or bad. */
void nb_finish(struct nb_fetch *f, const char *what, int err)
{
    /* Closing the socket also takes it out of an epoll set. The answer is
     * whole or the fetch has failed: close() has no verdict left to change. */
    if (f->fd != -1)
        close(f->fd);
    f->fd = -1;
    f->state = FINISHED;
    f->end = wb_now();
    f->err = err;

    if (what == NULL && f->bytes == 0)
        what = "the server closed without answering";
    if (what == NULL) {
        wb_result(f->index, f->bytes, f->end - f->start, f->url);
        return;
    }

    f->failed = 1;
    const char *sep = err != 0 ? ": " : "";
    const char *why = err != 0 ? strerror(err) : "";
    fprintf(stderr, "%s: %s: %s%s%s\n", program_invocation_short_name, f->url, what,
            sep, why);
}

/* The -t limit ran out before the fetch was done. */
void nb_give_up(struct nb_fetch *f, int timeout_s)
{
    /* the limit is the program's own, not a fault of the network: say so */
    char why[64];
    snprintf(why, sizeof why, "no complete answer within %d s (-t)", timeout_s);
    nb_finish(f, why, 0);
}

/* Start a fetch; do not wait for anything. */
void nb_start(struct nb_fetch *f)
{
    char host[256], port[16];
    const char *path;
    f->start = wb_now();

    /* the request: HTTP/1.0, so the server closes the connection when done */
    if (wb_split_url(f->url, host, sizeof host, port, sizeof port, &path) == -1) {
        nb_finish(f, "not a URL", 0);
        return;
    }
    f->len = snprintf(f->req, sizeof f->req, "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n",
                      path, host, port);
    if (f->len >= (int)sizeof f->req) {
        nb_finish(f, "URL too long", 0);
        return;
    }

    /* the address: getaddrinfo() blocks, but a loopback name is answered at once */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        nb_finish(f, gai_strerror(rc), 0);
        return;
    }

    /* SOCK_NONBLOCK is Python's sock.setblocking(False) */
    f->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->fd == -1) {
        nb_finish(f, "socket", errno);
        freeaddrinfo(ai);
        return;
    }

    /* connect without waiting: EINPROGRESS means under way, as it should be */
    int connected = connect(f->fd, ai->ai_addr, ai->ai_addrlen);
    if (connected == -1 && errno != EINPROGRESS)
        nb_finish(f, "connect", errno);
    freeaddrinfo(ai);
}

/* The socket is writable: the next step of connecting and sending. */
void nb_on_writable(struct nb_fetch *f)
{
    /* while connecting, writable means the handshake is over: how did it go? */
    if (f->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
            nb_finish(f, "getsockopt", errno);
            return;
        }
        if (err != 0) {
            nb_finish(f, "connect", err);
            return;
        }

        f->state = SENDING;
    }

    /* send what the socket takes; EAGAIN or EINTR: try at the next readiness */
    ssize_t w = send(f->fd, f->req + f->sent, (size_t)(f->len - f->sent), MSG_NOSIGNAL);
    if (w == -1 && errno != EAGAIN && errno != EINTR) {
        nb_finish(f, "send", errno);
        return;
    }

    /* a short write leaves the rest for the next time */
    if (w > 0)
        f->sent += (int)w;
    if (f->sent == f->len)
        f->state = RECEIVING;
}

/* The socket is readable: the next step of receiving. */
void nb_on_readable(struct nb_fetch *f)
{
    /* one recv() takes what is there without waiting */
    char buf[4096];
    ssize_t r = recv(f->fd, buf, sizeof buf, 0);

    /* 0: the server closed, the whole answer is in; EAGAIN, EINTR: next time */
    if (r == 0)
        nb_finish(f, NULL, 0);
    else if (r == -1 && errno != EAGAIN && errno != EINTR)
        nb_finish(f, "recv", errno);
    else if (r > 0)
        f->bytes += r;
}
