/* crawl_conn.c - start and finish one fetch of select_crawler.c (given)
 *
 * Talk: asynchronous programming / non-blocking improve - select
 * Usage: #include "crawl_conn.h", link crawl_conn.c (select_crawler.c does)
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
