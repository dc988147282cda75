/* crawl_conn.h - one fetch of select_crawler.c: its state, start and end (given)
 *
 * Talk: asynchronous programming / non-blocking improve - select
 * Given: select_crawler.c moves a struct conn from state to state;
 * crawl_conn.c opens it (conn_start) and closes it with its result line or
 * its error (conn_finish). Keep these as they are.
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

/* The end of a fetch: close the socket, FINISHED, and print the result line
 * (what == NULL) or, on stderr, what failed and strerror(err). A failed
 * fetch gets bytes = -1. */
void conn_finish(struct conn *c, const char *what, int err);

#endif
