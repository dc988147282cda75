/* coro_stream.h - asyncio's streams for stackless coroutines: open_connection,
 * drain, readline, read
 *
 * Talk: asynchronous programming / refactor the before example code (asyncio wget)
 * Module: linked into coroutine_crawler.c, whose wget() awaits these
 *         operations as the talk's wget() awaits asyncio's; it runs on the
 *         Future and Task of coro_task.c.
 * Shows: each operation starts at once and returns the future of its result
 *        (coro_task.h): done already if the socket allowed it, otherwise
 *        pending, and the crawler's epoll loop calls stream_complete() with
 *        a fresh try each time the socket is ready. A result is >= 0, or
 *        -errno; -EAGAIN means "not yet". Linux.
 */
#ifndef CORO_STREAM_H
#define CORO_STREAM_H

#include "coro_task.h"

#include <netinet/in.h>
#include <stddef.h>

/* One connection: its socket, its buffers, and the operation pending on it.
 * Everything here outlives an await, so none of it may be a local. */
struct stream {
    int fd;            /* -1 until open_connection() made it */
    int epfd;          /* the loop's epoll instance, to register the socket with */
    const char *why;   /* a failure's reason, when errno does not say */
    struct future fut; /* the result of the operation under way */
    long (*io)(struct stream *); /* the operation pending on the socket, or NULL */
    struct sockaddr_in addr;
    char req[512];
    size_t reqlen, sent;
    char buf[4096];
    size_t len, line; /* buf holds len bytes; the first `line` are the line read */
    size_t bytes;     /* the answer's bytes so far */
};

/* reader, writer = asyncio.open_connection(): the address and the request
 * from url (writer.write(header) queues it), a non-blocking socket
 * registered with epfd, and connect(). */
struct future *open_connection(struct stream *s, const char *url);

/* writer.drain(): send what write() queued. */
struct future *stream_drain(struct stream *s);

/* reader.readline(): the next line, left at the start of buf (its length
 * is the result). */
struct future *stream_readline(struct stream *s);

/* reader.read(): the rest of the answer, until the server closes; counted
 * in bytes, not kept. */
struct future *stream_read(struct stream *s);

/* One more try of the pending operation gave `result`: -EAGAIN leaves it
 * pending; anything else is Future.set_result(). The loop calls it as
 * stream_complete(s, s->io(s)) when the socket is ready, or with
 * -ETIMEDOUT when the time is up. */
void stream_complete(struct stream *s, long result);

/* writer.close(), which also takes the socket out of the epoll set. */
void stream_close(struct stream *s);

#endif
