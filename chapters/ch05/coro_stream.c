/* coro_stream.c - asyncio's streams for stackless coroutines
 *
 * Talk: asynchronous programming / refactor the before example code (asyncio wget)
 * Usage: #include "coro_stream.h" (the Makefile then links coro_stream.c in)
 * Module: no main(); coroutine_crawler.c's wget() awaits these operations
 *         (coro_stream.h).
 * Shows: the operations behind open_connection(), drain(), readline() and
 *        read() over a non-blocking socket: each tries at once and says
 *        "not yet" (-EAGAIN) rather than wait; the future it returns is
 *        resolved when a later try gets further. Linux.
 */
#include "coro_stream.h"

#include "workbook.h"

#include <netdb.h>
#include <sys/epoll.h>
#include <sys/socket.h>

void stream_complete(struct stream *s, long result)
{
    if (result == -EAGAIN)
        return;

    /* nothing is pending now: the callback may start the next operation */
    s->io = NULL;
    set_result(&s->fut, result);
}

/* Start an operation: a fresh future, resolved at once if it can be. */
static struct future *start(struct stream *s, long (*io)(struct stream *))
{
    s->fut = (struct future){0};
    s->io = io;
    stream_complete(s, io(s));
    return &s->fut;
}

/* The operations return a value, -errno, or -EAGAIN ("not yet"). A socket
 * call that does not sleep is never interrupted by a signal: no EINTR here.
 * The first connect() starts the handshake (EINPROGRESS); asked again, it
 * tells how it went: 0 or EISCONN connected, EALREADY still going, or the
 * error, such as ECONNREFUSED (select_crawler.c reads SO_ERROR instead). */
static long connect_io(struct stream *s)
{
    int rc = connect(s->fd, (struct sockaddr *)&s->addr, sizeof s->addr);
    if (rc == 0 || errno == EISCONN)
        return 0;
    if (errno == EINPROGRESS || errno == EALREADY)
        return -EAGAIN;
    return -errno;
}

/* writer.drain(): send what write() queued; a short write sends only part */
static long drain_io(struct stream *s)
{
    while (s->sent < s->reqlen) {
        size_t left = s->reqlen - s->sent;
        ssize_t w = send(s->fd, s->req + s->sent, left, MSG_NOSIGNAL);

        /* EAGAIN: the socket's buffer is full, the rest goes later */
        if (w == -1)
            return -errno;
        s->sent += (size_t)w;
    }
    return 0;
}

/* reader.readline(): the next line, left at the start of buf */
static long readline_io(struct stream *s)
{
    /* count the line the coroutine has seen, and drop it */
    s->bytes += s->line;
    s->len -= s->line;
    memmove(s->buf, s->buf + s->line, s->len);
    s->line = 0;

    for (;;) {
        char *newline = memchr(s->buf, '\n', s->len);
        if (newline != NULL) {
            s->line = (size_t)(newline - s->buf) + 1;
            return (long)s->line;
        }

        /* a header line longer than the buffer */
        if (s->len == sizeof s->buf)
            return -EMSGSIZE;

        /* read more: -EAGAIN, nothing new yet */
        ssize_t r = recv(s->fd, s->buf + s->len, sizeof s->buf - s->len, 0);
        if (r == -1)
            return -errno;

        /* closed: asyncio's readline() gives b'', and the talk's loop, which
         * waits for b'\r\n', would then go round forever */
        if (r == 0) {
            s->why = "closed before the blank line";
            return -ENODATA;
        }
        s->len += (size_t)r;
    }
}

/* reader.read(): the rest of the answer, counted, not kept */
static long read_io(struct stream *s)
{
    /* the blank line, and the part of the body that came with it */
    s->bytes += s->len;
    s->len = 0;

    for (;;) {
        ssize_t r = recv(s->fd, s->buf, sizeof s->buf, 0);

        /* 0: the server closed, the answer is whole */
        if (r == 0)
            return 0;
        if (r == -1)
            return -errno;
        s->bytes += (size_t)r;
    }
}

struct future *stream_drain(struct stream *s)
{
    return start(s, drain_io);
}

struct future *stream_readline(struct stream *s)
{
    return start(s, readline_io);
}

struct future *stream_read(struct stream *s)
{
    return start(s, read_io);
}

/* The address and the request, from the URL: NULL, or why not. */
static const char *prepare(struct stream *s, const char *url)
{
    char host[256], port[16];
    const char *path;
    if (wb_split_url(url, host, sizeof host, port, sizeof port, &path) == -1)
        return "not a URL";

    /* for 127.0.0.1 only a parse (asyncio hands the lookup to a thread) */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0)
        return gai_strerror(rc);
    memcpy(&s->addr, ai->ai_addr, sizeof s->addr);
    freeaddrinfo(ai);

    /* writer.write(header): queued here, sent by drain_io() */
    const char *form = "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n";
    int len = snprintf(s->req, sizeof s->req, form, path, host, port);
    if (len >= (int)sizeof s->req)
        return "URL too long";
    s->reqlen = (size_t)len;
    return NULL;
}

/* A connection that cannot even start: its future fails at once. */
static struct future *fail_now(struct stream *s, long result)
{
    s->fut = (struct future){.done = 1, .result = result};
    return &s->fut;
}

/* A non-blocking socket, registered once, edge-triggered, both ways. epoll
 * then reports changes only, so an operation may wait only after it saw
 * EAGAIN: each one tries first. */
struct future *open_connection(struct stream *s, const char *url)
{
    s->why = prepare(s, url);
    if (s->why != NULL)
        return fail_now(s, -1);

    /* EMFILE, ENOSPC: over the limit on descriptors or epoll watches */
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd == -1)
        return fail_now(s, -errno);

    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = s};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->fd, &ev) == -1)
        return fail_now(s, -errno);

    return start(s, connect_io);
}

void stream_close(struct stream *s)
{
    /* the answer is whole or the fetch has failed: close() has no verdict
     * left to change */
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}
