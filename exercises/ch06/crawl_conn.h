/* crawl_conn.h - one fetch of poll_crawler.c: its state and its steps (given)
 *
 * Talk: Q&A / select, poll and epoll as the connections grow
 * Given: the same struct conn as chapter 5's select_crawler exercise, and its
 * steps: conn_start, conn_on_writable, conn_on_readable, conn_finish.
 * poll_crawler.c waits for them with poll(). Keep these as they are.
 */
#ifndef CRAWL_CONN_H
#define CRAWL_CONN_H

enum state { CONNECTING, SENDING, RECEIVING, FINISHED };

/* All a fetch remembers from one step to the next. */
struct conn {
    enum state state;
    int fd;
    int index;
    const char *url;
    char req[1024];
    int len;
    int sent;
    long long bytes;
    double start;
};

/* The request, the address, a non-blocking socket, connect() without
 * waiting: CONNECTING after it. A fetch that fails here is FINISHED. */
void conn_start(struct conn *c);

/* Writable: CONNECTING asks SO_ERROR how the handshake went, then SENDING
 * sends what the socket takes; RECEIVING once all of the request is out. */
void conn_on_writable(struct conn *c);

/* Readable: one recv() of what is there; FINISHED when it reads 0 bytes. */
void conn_on_readable(struct conn *c);

/* The end of a fetch: close the socket, FINISHED, and print the result line
 * (what == NULL) or, on stderr, what failed and strerror(err). A failed
 * fetch gets bytes = -1. */
void conn_finish(struct conn *c, const char *what, int err);

#endif
