/* crawl_conn.c - the steps of one fetch of poll_crawler.c (given; see crawl_conn.h)
 *
 * Talk: Q&A / select, poll and epoll as the connections grow
 * Usage: #include "crawl_conn.h", link crawl_conn.c (poll_crawler.c does)
 * The same steps as chapter 5's select_crawler exercise (on_writable() and
 * on_readable() there), whichever call does the waiting.
 */
#include "crawl_conn.h"
#include "workbook.h"

void conn_start(struct conn *c)
{
    char host[256];
    char port[16];
    const char *path;
    c->start = wb_now();

    /* HTTP/1.0: the server closes the connection after the answer */
    if (wb_split_url(c->url, host, sizeof host, port, sizeof port, &path) == -1) {
        conn_finish(c, "not a URL", 0);
        return;
    }
    c->len = snprintf(c->req, sizeof c->req, "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n",
                      path, host, port);
    if (c->len >= (int)sizeof c->req) {
        conn_finish(c, "URL too long", 0);
        return;
    }

    /* the address: getaddrinfo() blocks, but a loopback name is answered at once */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        conn_finish(c, gai_strerror(rc), 0);
        return;
    }

    /* EINPROGRESS: the handshake goes on without us, as it should */
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd == -1)
        conn_finish(c, "socket", errno);
    else if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == -1 && errno != EINPROGRESS)
        conn_finish(c, "connect", errno);
    freeaddrinfo(ai);
}

void conn_finish(struct conn *c, const char *what, int err)
{
    if (c->fd != -1)
        close(c->fd);
    c->fd = -1;
    c->state = FINISHED;
    if (what == NULL && c->bytes == 0)
        what = "the server closed without answering";
    if (what == NULL) {
        wb_result(c->index, c->bytes, wb_now() - c->start, c->url);
        return;
    }
    c->bytes = -1;
    fprintf(stderr, "%s: %s: %s: %s\n", program_invocation_short_name, c->url, what,
            err ? strerror(err) : "failed");
}

/* Writable: the handshake is over (how did it go?), or there is room to send. */
void conn_on_writable(struct conn *c)
{
    if (c->state == CONNECTING) {
        /* writable does not mean connected: the error, if any, is here */
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
            conn_finish(c, "getsockopt", errno);
            return;
        }
        if (err != 0) {
            conn_finish(c, "connect", err);
            return;
        }
        c->state = SENDING;
    }

    /* send what the socket takes; a short write leaves the rest for later */
    ssize_t w = send(c->fd, c->req + c->sent, (size_t)(c->len - c->sent), MSG_NOSIGNAL);
    if (w == -1 && errno != EAGAIN && errno != EINTR) {
        conn_finish(c, "send", errno);
        return;
    }
    if (w > 0)
        c->sent += (int)w;
    if (c->sent == c->len)
        c->state = RECEIVING;
}

/* Readable: take what is there. Only a read of 0 bytes means the end. */
void conn_on_readable(struct conn *c)
{
    char buf[4096];
    ssize_t r = recv(c->fd, buf, sizeof buf, 0);

    if (r == 0)
        conn_finish(c, NULL, 0);
    else if (r == -1 && errno != EAGAIN && errno != EINTR)
        conn_finish(c, "recv", errno);
    else if (r > 0)
        c->bytes += r;
}
