/* blocking_get.c - one page over a blocking socket: the talk's blocking_way()
 *
 * Talk: asynchronous programming / The Traditional Approach
 * Usage: #include "blocking_get.h" (the Makefile then links blocking_get.c in)
 * Module: no main(); blocking_way.c, process_way.c and thread_way.c call
 *         blocking_way() (blocking_get.h), as the talk's three cells do.
 * Shows: address, socket, connect, send all, recv until the server closes,
 *        each call sleeping until the network answers; SO_RCVTIMEO and
 *        SO_SNDTIMEO so that it never sleeps forever. Linux.
 */
#include "blocking_get.h"

#include "workbook.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>

/* Over a socket that blocks: connect, send the whole request, read until the
 * server closes. Returns NULL, or the name of the call that failed (errno
 * says why). */
static const char *http_get(int fd, const struct addrinfo *ai, int timeout_s,
                            const char *req, int len, long long *got)
{
    /* Block, but not forever: on Linux these timeouts bound connect() too, and
     * a call that waited that long fails with EAGAIN. */
    struct timeval tv = {.tv_sec = timeout_s};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1)
        return "setsockopt";
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1)
        return "setsockopt";

    /* connect: sleeps through the whole TCP handshake */
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1)
        return "connect";

    /* send: a short write takes only part, so loop; EINTR: a signal came
     * first, send again; MSG_NOSIGNAL: a hang-up gives EPIPE, not SIGPIPE */
    int sent = 0;
    while (sent < len) {
        ssize_t w = send(fd, req + sent, (size_t)(len - sent), MSG_NOSIGNAL);
        if (w == -1 && errno != EINTR)
            return "send";

        if (w > 0)
            sent += (int)w;
    }

    /* recv: sleeps until bytes arrive; 0 means the server closed, all is in */
    char buf[4096];
    ssize_t r;
    while ((r = recv(fd, buf, sizeof buf, 0)) != 0) {
        if (r == -1 && errno != EINTR)
            return "recv";
        if (r > 0)
            *got += r;
    }
    return NULL;
}

/* One fetch, the blocking way: the bytes received, or -1 with the reason in
 * why. */
long long blocking_way(const char *url, int timeout_s, char *why, size_t whylen)
{
    char host[256], port[16], req[1024];
    const char *path;

    /* the request: HTTP/1.0, so the server closes the connection when done */
    if (wb_split_url(url, host, sizeof host, port, sizeof port, &path) == -1) {
        snprintf(why, whylen, "not a URL");
        return -1;
    }
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n", path,
                       host, port);
    if (len >= (int)sizeof req) {
        snprintf(why, whylen, "URL too long");
        return -1;
    }

    /* the address: IPv4 only, as the lab server listens on 127.0.0.1 */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(why, whylen, "%.120s: %s", host, gai_strerror(rc));
        return -1;
    }

    /* the socket and the conversation; err keeps errno from close() */
    long long got = 0;
    const char *what = "socket";
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd != -1)
        what = http_get(fd, ai, timeout_s, req, len, &got);
    int err = errno;

    /* The answer is in to its end, or the fetch has failed already: nothing
     * close() could report would change the verdict, so it goes unchecked. */
    if (fd != -1)
        close(fd);
    freeaddrinfo(ai);

    /* the verdict; the GNU strerror_r is safe in threads too (thread_way.c) */
    if (what == NULL && got > 0)
        return got;

    char msg[128];
    if (what == NULL)
        snprintf(why, whylen, "the server closed without answering");
    else if (err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS)
        snprintf(why, whylen, "%s: nothing for %d s, giving up", what, timeout_s);
    else
        snprintf(why, whylen, "%s: %s", what, strerror_r(err, msg, sizeof msg));
    return -1;
}
