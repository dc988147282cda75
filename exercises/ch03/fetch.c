/* fetch.c - one blocking HTTP GET over a plain socket (given; see fetch.h)
 *
 * Talk: parallel handling / fetch_content()
 * Usage: #include "fetch.h", link fetch.c (bounded_pool.c does)
 * The same steps as chapters/ch05/blocking_way.c, without its timeouts.
 */
#include "fetch.h"
#include "workbook.h"

/* Send the whole request, then count what comes back until the server
 * closes. NULL on success, else the name of the call that failed. */
static const char *exchange(int fd, const char *req, size_t len, long long *got)
{
    /* write() may take only part of it (a short write): go on from there */
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = write(fd, req + sent, len - sent);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return "write";
        sent += (size_t)n;
    }

    /* read until the end: a read of 0 bytes means the server closed */
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return "read";
        *got += n;
    }
    return NULL;
}

long long fetch(const char *url, char *why, size_t whylen)
{
    char host[256];
    char port[16];
    char req[1024];
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

    /* the address: IPv4, as the lab server listens on 127.0.0.1 */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(why, whylen, "%.120s: %s", host, gai_strerror(rc));
        return -1;
    }

    /* connect, ask, count the answer */
    long long got = 0;
    const char *failed = NULL;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd == -1)
        failed = "socket";
    else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1)
        failed = "connect";
    else
        failed = exchange(fd, req, (size_t)len, &got);

    /* clean up, keeping the failed call's errno */
    int err = errno;
    if (fd != -1)
        close(fd);
    freeaddrinfo(ai);
    if (failed == NULL)
        return got;

    char msg[128];
    snprintf(why, whylen, "%s: %s", failed, strerror_r(err, msg, sizeof msg));
    return -1;
}
