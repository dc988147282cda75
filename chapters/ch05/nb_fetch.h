/* nb_fetch.h - one fetch over a non-blocking socket, driven a step at a time
 *
 * Talk: asynchronous programming / non-blocking improve - select, and the
 *       selectors + Crawler cell (the steps both cells take)
 * Module: linked into select_crawler.c (which waits with select()) and
 *         callback_crawler.c (which waits with epoll and calls back). The
 *         steps are the same in both; what each program shows is the way of
 *         WAITING for the moment to take the next one.
 * Shows: a fetch as a small state machine that never sleeps: start (the
 *        request, the address, a non-blocking socket, connect() without
 *        waiting: EINPROGRESS), on_writable (SO_ERROR, then send what
 *        fits), on_readable (recv what is there), finish (close, the
 *        result line or the error), give_up (the -t limit ran out). Linux.
 */
#ifndef NB_FETCH_H
#define NB_FETCH_H

/* Where a fetch is. It waits for "writable" in the first two states
 * (connected; room to send) and for "readable" in the third. */
enum nb_state { CONNECTING, SENDING, RECEIVING, FINISHED };

/* All a fetch must remember from one step to the next. */
struct nb_fetch {
    enum nb_state state;
    int fd; /* the socket, -1 when there is none */
    int index;
    const char *url;
    char req[1024];
    int len, sent;
    long long bytes;
    double start, end;
    int failed;
    int err; /* the errno it failed with, or 0 */
};

/* The request, the address, a non-blocking socket, and connect() without
 * waiting. A fetch that fails here is FINISHED already. */
void nb_start(struct nb_fetch *f);

/* The socket is writable: while connecting, the handshake is over (SO_ERROR
 * says how it went); then send what the socket takes. RECEIVING once all of
 * the request is sent. */
void nb_on_writable(struct nb_fetch *f);

/* The socket is readable: one recv() takes what is there; FINISHED when the
 * server has closed (the whole answer is in) or on an error. */
void nb_on_readable(struct nb_fetch *f);

/* The fetch is over: close its socket and print its result line, or its
 * error on stderr (what failed, and strerror(err) unless err is 0). err
 * stays in f->err, for the caller to look at. */
void nb_finish(struct nb_fetch *f, const char *what, int err);

/* The time given by -t (timeout_s seconds) ran out before the fetch was
 * done: finish it, with a message that names that limit. */
void nb_give_up(struct nb_fetch *f, int timeout_s);

#endif
