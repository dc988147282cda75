/* labserver.c - the local web server every fetch program in the workbook targets
 *
 * Talk: (the lab) - stands in for the talk's remote web sites, with a delay of our
 *       choosing
 * Usage: labserver [-p PORT] [-d MS] [-t S] [-b S] [--port-file FILE] [-v]
 * Shows: one thread serving thousands of connections: non-blocking sockets, an epoll
 *        event loop, timers in a min-heap, a state machine per connection.
 * Compare: ch05/select_crawler.c and ch05/callback_crawler.c (the client side of
 *          the same idea)
 * Linux: epoll, accept4, epoll_pwait.
 *
 * The file has two parts. Part 1 reads HTTP: parse_request() turns the bytes
 * received so far into a request, or says it needs more. It is pure (no I/O, no
 * globals), kept apart from the server so that it can be read, and fuzzed, on its
 * own. Part 2 is the server: the event loop, the timers, one state machine per
 * connection, and the pages.
 */
#include "workbook.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* ==== Part 1: HTTP requests, parsed from the bytes received so far ================ */

/* A request head longer than this gets 431. */
#define HEAD_MAX (8 * 1024)

/* /barrier/N takes 1 <= N <= BARRIER_MAX. */
#define BARRIER_MAX 10000

/* The pages the lab serves. A path that names none of them is PAGE_UNKNOWN (404). */
enum page {
    PAGE_UNKNOWN,
    PAGE_ROOT,
    PAGE_DELAY,
    PAGE_BYTES,
    PAGE_STATUS,
    PAGE_HANG,
    PAGE_STATS,
    PAGE_BARRIER,
    PAGE_DRIP
};

/* One request, as parse_request() found it. */
struct request {
    /* how many bytes of the input it took: its whole head */
    size_t used;

    /* the request line's method, and its target without the query string */
    char method[16];
    char path[2048];

    /* the page the path names, and its number (the N of /delay/N, /drip/N...) */
    enum page page;
    long number;

    /* HEAD: answer with the head alone */
    int head_only;

    /* the connection stays open for another request after the answer */
    int keep_alive;

    /* the query string asks /stats to reset its counters */
    int reset;

    /* the request line, cut short, for the access log */
    char line[96];
};

/* Where the head of a request ends: just past its first empty line ("\r\n" or a
 * bare "\n"), or 0 when that has not come yet. Only the first HEAD_MAX bytes count. */
static size_t head_length(const char *buf, size_t len)
{
    size_t end = len < HEAD_MAX ? len : HEAD_MAX;

    for (size_t i = 0; i < end; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < end && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < end && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* A decimal number in [min, max]: digits only, no sign, no space. 0 ok, -1 not.
 * (Not strtol: it would accept "+5" and " 5", and it writes errno.) */
static int parse_number(const char *s, long min, long max, long *out)
{
    long value = 0;

    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        long digit = *s - '0';

        /* stop before value * 10 + digit could pass max (or overflow) */
        if (value > (max - digit) / 10)
            return -1;
        value = value * 10 + digit;
    }
    if (value < min)
        return -1;
    *out = value;
    return 0;
}

/* The pages whose path ends in a number, and the numbers they take. */
struct numbered_page {
    const char *prefix;
    enum page page;
    long min;
    long max;
};

/* Which page a path names, and its number. */
static enum page find_page(const char *path, long *number)
{
    static const struct numbered_page numbered[] = {
        {"/delay/", PAGE_DELAY, 0, LONG_MAX},
        {"/bytes/", PAGE_BYTES, 0, LONG_MAX},
        {"/status/", PAGE_STATUS, 200, 599},
        {"/barrier/", PAGE_BARRIER, 1, BARRIER_MAX},
        {"/drip/", PAGE_DRIP, 0, LONG_MAX},
    };

    *number = 0;
    if (strcmp(path, "/") == 0)
        return PAGE_ROOT;
    if (strcmp(path, "/hang") == 0)
        return PAGE_HANG;
    if (strcmp(path, "/stats") == 0)
        return PAGE_STATS;

    /* the rest end in a number, which must be in range */
    for (size_t i = 0; i < sizeof numbered / sizeof numbered[0]; i++) {
        size_t prefix_len = strlen(numbered[i].prefix);
        if (strncmp(path, numbered[i].prefix, prefix_len) != 0)
            continue;

        const char *digits = path + prefix_len;
        if (parse_number(digits, numbered[i].min, numbered[i].max, number) == 0)
            return numbered[i].page;
    }
    return PAGE_UNKNOWN;
}

/* Whether text (len bytes, no '\0' needed) holds word, in any case. */
static int has_word(const char *text, size_t len, const char *word)
{
    size_t word_len = strlen(word);

    for (size_t i = 0; i + word_len <= len; i++) {
        if (strncasecmp(text + i, word, word_len) == 0)
            return 1;
    }
    return 0;
}

/* Keep-alive is the default in HTTP/1.1 and an opt-in in 1.0: a "Connection:"
 * header with "close" or "keep-alive" in it decides. head ends with '\n'. */
static int keeps_alive(const char *head, size_t len, int by_default)
{
    const char *end = head + len;
    int keep_alive = by_default;

    /* from the end of the request line, one header line at a time */
    const char *at = memchr(head, '\n', len);
    while (at != NULL && end - at > 12) {
        const char *eol = memchr(at + 1, '\n', (size_t)(end - at - 1));

        if (strncasecmp(at + 1, "Connection:", 11) == 0) {
            const char *value = at + 12;
            size_t value_len = (size_t)(eol - value);

            if (has_word(value, value_len, "close"))
                keep_alive = 0;
            else if (has_word(value, value_len, "keep-alive"))
                keep_alive = 1;
        }
        at = eol;
    }
    return keep_alive;
}

/* Parse the request at the start of buf, of which len bytes have come so far.
 * Returns 0 when its head is not all there yet (read more, then call again), 200
 * for a good request, or the error status to answer: 400 a malformed request line,
 * 405 a method other than GET or HEAD, 431 a head over HEAD_MAX bytes. Whenever it
 * returns a status, *req is filled in and req->used says how many bytes of buf the
 * request took. Pure: no I/O, no globals, and the answer depends only on those
 * bytes, so a request that comes in two pieces parses as if it came whole. */
static int parse_request(const char *buf, size_t len, struct request *req)
{
    /* wait for the empty line that ends the head */
    size_t head_len = head_length(buf, len);
    if (head_len == 0 && len < HEAD_MAX)
        return 0;

    *req = (struct request){.used = head_len};
    if (head_len == 0) {
        req->used = HEAD_MAX;
        snprintf(req->line, sizeof req->line, "(header over %d bytes)", HEAD_MAX);
        return 431;
    }

    /* the request line, without its line end */
    size_t line_len = (size_t)((const char *)memchr(buf, '\n', head_len) - buf);
    if (line_len > 0 && buf[line_len - 1] == '\r')
        line_len--;
    snprintf(req->line, sizeof req->line, "%.*s", (int)line_len, buf);

    /* a copy ending in '\0', so that sscanf can split it */
    char target[sizeof req->path];
    char version[16];
    char line[sizeof req->method + sizeof target + sizeof version];
    if (line_len >= sizeof line)
        return 400;
    memcpy(line, buf, line_len);
    line[line_len] = '\0';

    /* exactly three printable words, one space between (widths: the arrays - 1) */
    int words =
        sscanf(line, "%15[!-~] %2047[!-~] %15[!-~]", req->method, target, version);
    if (words != 3)
        return 400;
    if (line_len != strlen(req->method) + strlen(target) + strlen(version) + 2)
        return 400;

    /* a path, and a version we speak */
    int http11 = strcmp(version, "HTTP/1.1") == 0;
    if (target[0] != '/')
        return 400;
    if (!http11 && strcmp(version, "HTTP/1.0") != 0)
        return 400;
    req->keep_alive = keeps_alive(buf, head_len, http11);

    /* only GET and HEAD: another method may send a body that we would not read */
    req->head_only = strcmp(req->method, "HEAD") == 0;
    if (strcmp(req->method, "GET") != 0 && !req->head_only) {
        req->keep_alive = 0;
        return 405;
    }

    /* a query string only makes URLs distinct, except for /stats?reset=1 */
    char *query = strchr(target, '?');
    if (query != NULL) {
        req->reset =
            strstr(query, "?reset=1") != NULL || strstr(query, "&reset=1") != NULL;
        *query = '\0';
    }
    memcpy(req->path, target, strlen(target) + 1);
    req->page = find_page(req->path, &req->number);
    return 200;
}

/* ==== Part 2: the server: one thread, one event loop ============================== */

/* /delay/MS, /bytes/N and /drip/N are capped; larger numbers get the cap. */
#define DELAY_MAX_MS 600000
#define BYTES_MAX (1LL << 30)
#define DRIP_MAX (1L << 20)

/* GET / answers this, after the delay of -d. */
#define ROOT_PAGE "<html><body><h1>the lab</h1><p>a small page</p></body></html>\n"

/* /drip/N rests this long between two pieces of its body. */
#define DRIP_PAUSE_MS 2

/* What a connection is doing between two events:
 *   READING    a request's head is arriving
 *   WAITING    /delay/MS or /: its timer will answer
 *   HANGING    /hang: nothing will ever answer
 *   BARRIER    /barrier/N: held until N wait at once, or its timer answers 504
 *   WRITING    the answer is on its way out
 *   DRIPPING   /drip/N: resting between two pieces of the body
 *   DRAINING   after an error: dropping what the client still sends, then closing */
enum state { READING, WAITING, HANGING, BARRIER, WRITING, DRIPPING, DRAINING };

/* One client connection: all it needs between two events, since the stack is gone
 * by the next one. The loop finds it by its descriptor. */
struct conn {
    int fd;
    enum state state;

    /* what epoll watches it for now: EPOLLIN, EPOLLOUT or nothing */
    int events;

    /* its place in the timer heap (-1: no timer), and when that timer fires */
    int heap_at;
    int64_t deadline;

    /* the request being served */
    enum page page;
    long number;
    int keep_alive;
    int head_only;
    int peer_eof;
    double t_req;
    char line[96];

    /* counted in /stats as active: received and not yet answered */
    int active;

    /* bytes received and not yet handled */
    char in[HEAD_MAX];
    size_t in_len;

    /* the answer: its head (and a small body), then body_left bytes of pattern */
    int status;
    char out[512];
    size_t out_len;
    size_t out_off;
    long long body_left;
    long long body_sent;

    /* /drip/N: bytes left in the current piece, and how many pieces so far */
    int drip;
    long piece_left;
    long pieces;

    /* /barrier/N: its neighbours among the requests waiting with it */
    struct conn *round_prev;
    struct conn *round_next;
};

/* The requests waiting at /barrier/N, and the most that ever waited at once. */
struct round {
    struct conn *first;
    long waiting;
    long most;
};

/* The whole server. Timers live in a binary min-heap ordered by deadline. */
struct server {
    int epfd;
    int lfd;

    /* a descriptor kept free for when all others are used (see on_accept) */
    int spare_fd;

    /* every connection by its descriptor, and the timers */
    struct conn **by_fd;
    long max_fd;
    struct conn **heap;
    int heap_len;

    /* /barrier/N's round, by N */
    struct round *rounds;

    /* what /stats shows */
    long long served;
    long long active;
    long long peak;
    long long barrier_waiting;
    long long barrier_rounds;

    /* the options */
    int verbose;
    int default_delay_ms;
    int read_timeout_ms;
    int barrier_timeout_ms;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* /bytes/N and /drip/N bodies: lines of 63 letters and a newline, repeated. */
static char pattern[65536 + 64];

static int64_t now_ms(void)
{
    return (int64_t)(wb_now() * 1000.0);
}

/* --- the timer heap ------------------------------------------------------------- */

static void heap_swap(struct server *s, int a, int b)
{
    struct conn *t = s->heap[a];
    s->heap[a] = s->heap[b];
    s->heap[b] = t;
    s->heap[a]->heap_at = a;
    s->heap[b]->heap_at = b;
}

/* Move entry i up or down until it sits in its place. */
static void heap_fix(struct server *s, int i)
{
    /* up, while it is due before its parent */
    while (i > 0 && s->heap[(i - 1) / 2]->deadline > s->heap[i]->deadline) {
        heap_swap(s, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }

    /* down, while a child is due before it */
    for (;;) {
        int left = 2 * i + 1;
        int first = i;

        if (left < s->heap_len && s->heap[left]->deadline < s->heap[first]->deadline)
            first = left;
        if (left + 1 < s->heap_len &&
            s->heap[left + 1]->deadline < s->heap[first]->deadline)
            first = left + 1;
        if (first == i)
            return;
        heap_swap(s, i, first);
        i = first;
    }
}

static void timer_cancel(struct server *s, struct conn *c)
{
    int i = c->heap_at;
    if (i < 0)
        return;
    c->heap_at = -1;
    s->heap_len--;
    if (i == s->heap_len)
        return;

    /* the last timer fills the hole, then finds its place */
    s->heap[i] = s->heap[s->heap_len];
    s->heap[i]->heap_at = i;
    heap_fix(s, i);
}

static void timer_set(struct server *s, struct conn *c, int64_t deadline)
{
    timer_cancel(s, c);
    c->deadline = deadline;
    c->heap_at = s->heap_len;
    s->heap[c->heap_at] = c;
    s->heap_len++;
    heap_fix(s, c->heap_at);
}

/* --- connections ---------------------------------------------------------------- */

/* Level-triggered epoll: tell it what this connection waits for now. With no
 * interest left, epoll still reports EPOLLHUP and EPOLLERR, which drop it. */
static void watch(struct server *s, struct conn *c)
{
    int events = 0;
    if (c->state == WRITING)
        events = EPOLLOUT;
    else if (!c->peer_eof && c->in_len < sizeof c->in)
        events = EPOLLIN;
    if (events == c->events)
        return;

    struct epoll_event e = {.events = (uint32_t)events, .data.fd = c->fd};
    if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &e) == -1)
        wb_die("epoll_ctl");
    c->events = events;
}

static void barrier_leave(struct server *s, struct conn *c);

static void conn_close(struct server *s, struct conn *c)
{
    timer_cancel(s, c);
    if (c->state == BARRIER)
        barrier_leave(s, c);
    if (c->active)
        s->active--;
    s->by_fd[c->fd] = NULL;

    /* closing it also takes it out of the epoll set */
    close(c->fd);
    free(c);
}

/* --- answers -------------------------------------------------------------------- */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    }
    if (status < 300)
        return "Success";
    if (status < 400)
        return "Redirection";
    if (status < 500)
        return "Client Error";
    return "Server Error";
}

static const char *content_type(const char *body)
{
    if (body != NULL && body[0] == '{')
        return "application/json";
    if (body != NULL && body[0] == '<')
        return "text/html";
    return "text/plain";
}

/* An answered request leaves the active count and joins the served one. */
static void count_answered(struct server *s, struct conn *c)
{
    if (!c->active)
        return;
    c->active = 0;
    s->active--;
    s->served++;
}

/* Queue an answer: a head, then either a small body or `stream` bytes of the
 * pattern. flush() sends it. An answered request stops counting as active. */
static void respond(struct server *s, struct conn *c, int status, const char *body,
                    long long stream)
{
    /* the body's length: the text's, or the stream's; none for 204 and 304 */
    long long len = stream;
    if (body != NULL)
        len = (long long)strlen(body);
    if (status == 204 || status == 304)
        len = 0;

    /* the head, and a small body right after it */
    const char *text = "";
    if (body != NULL && !c->head_only && len > 0)
        text = body;
    const char *allow = status == 405 ? "Allow: GET, HEAD\r\n" : "";
    const char *connection = c->keep_alive ? "keep-alive" : "close";
    int n = snprintf(c->out, sizeof c->out,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %lld\r\n"
                     "Connection: %s\r\n%s\r\n%s",
                     status, reason(status), content_type(body), len, connection, allow,
                     text);
    c->out_len = (size_t)n;
    if (c->out_len >= sizeof c->out)
        c->out_len = sizeof c->out - 1;
    c->out_off = 0;

    /* a streamed body follows the head, unless HEAD asked for none */
    c->body_left = 0;
    if (body == NULL && !c->head_only)
        c->body_left = len;
    c->body_sent = 0;
    c->status = status;
    c->state = WRITING;
    timer_cancel(s, c);

    /* a drip counts as answered only once its last piece is out (see flush) */
    if (!c->drip)
        count_answered(s, c);
}

static void log_request(const struct server *s, const struct conn *c)
{
    if (!s->verbose)
        return;
    long long bytes = c->body_sent + (long long)c->out_len;
    fprintf(stderr, "%s: \"%s\" %d %lld bytes %.3f s\n", program_invocation_short_name,
            c->line, c->status, bytes, wb_now() - c->t_req);
}

/* How much of the body the next write may take: all it can, up to 64 KiB of the
 * pattern, or what is left of the current piece of a drip. */
static size_t body_chunk(const struct conn *c)
{
    long long chunk = c->body_left < 65536 ? c->body_left : 65536;
    if (c->drip && chunk > c->piece_left)
        chunk = c->piece_left;
    return (size_t)chunk;
}

/* Count w bytes written: first what was left of the head, the rest of the body. */
static void count_written(struct conn *c, size_t w)
{
    size_t head_left = c->out_len - c->out_off;
    size_t head = head_left < w ? head_left : w;
    long long body = (long long)(w - head);

    c->out_off += head;
    c->body_sent += body;
    c->body_left -= body;
    if (c->drip)
        c->piece_left -= (long)body;
}

/* Send what is queued. Returns 1 when all is sent and the connection waits for
 * its next request, 0 when it must wait (a full socket, or a drip's pause), -1
 * when the connection is gone. */
static int flush(struct server *s, struct conn *c)
{
    while (c->out_off < c->out_len || c->body_left > 0) {
        /* a drip rests between its pieces: its timer sends the next one */
        if (c->drip && c->piece_left == 0 && c->out_off == c->out_len) {
            c->state = DRIPPING;
            timer_set(s, c, now_ms() + DRIP_PAUSE_MS);
            watch(s, c);
            return 0;
        }

        /* what is left of the head, then the body (the pattern repeats every 64) */
        struct iovec iov[2];
        int parts = 0;
        if (c->out_off < c->out_len) {
            iov[parts].iov_base = c->out + c->out_off;
            iov[parts].iov_len = c->out_len - c->out_off;
            parts++;
        }
        if (c->body_left > 0) {
            iov[parts].iov_base = pattern + c->body_sent % 64;
            iov[parts].iov_len = body_chunk(c);
            parts++;
        }

        /* head and body in one call, so in one packet */
        ssize_t w = writev(c->fd, iov, parts);
        if (w == -1 && errno == EINTR)
            continue;

        /* a short write: the rest goes when epoll reports EPOLLOUT */
        if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch(s, c);
            return 0;
        }

        /* EPIPE, ECONNRESET: the client left */
        if (w == -1) {
            conn_close(s, c);
            return -1;
        }
        count_written(c, (size_t)w);
    }
    count_answered(s, c);
    c->drip = 0;
    log_request(s, c);

    /* After an error the client may still be sending: closing now, with its bytes
     * unread, would reset the connection and could destroy our answer before it
     * reads it. Say we are done, then drain what comes. */
    if (c->status >= 400 && !c->keep_alive && !c->peer_eof) {
        if (shutdown(c->fd, SHUT_WR) == -1) {
            conn_close(s, c);
            return -1;
        }
        c->state = DRAINING;
        c->in_len = 0;
        timer_set(s, c, now_ms() + 1000);
        watch(s, c);
        return 0;
    }

    /* done with this connection, or ready for its next request */
    if (!c->keep_alive || c->peer_eof) {
        conn_close(s, c);
        return -1;
    }
    c->state = READING;
    timer_set(s, c, now_ms() + s->read_timeout_ms);
    return 1;
}

static void advance(struct server *s, struct conn *c);

/* --- the pages ------------------------------------------------------------------ */

/* /barrier/N: one more request waits in N's round; the Nth answers them all. */
static void barrier_arrive(struct server *s, struct conn *c)
{
    struct round *r = &s->rounds[c->number];

    /* join the round's list */
    c->state = BARRIER;
    c->round_prev = NULL;
    c->round_next = r->first;
    if (r->first != NULL)
        r->first->round_prev = c;
    r->first = c;

    /* count it */
    r->waiting++;
    if (r->waiting > r->most)
        r->most = r->waiting;
    s->barrier_waiting++;
    if (r->waiting < c->number) {
        timer_set(s, c, now_ms() + s->barrier_timeout_ms);
        return;
    }

    /* the round is full: take it whole, so the next request starts a new one */
    struct conn *all = r->first;
    *r = (struct round){0};
    s->barrier_waiting -= c->number;
    s->barrier_rounds++;

    /* answer all N together */
    char text[64];
    snprintf(text, sizeof text, "all %ld arrived\n", c->number);
    for (struct conn *w = all; w != NULL; w = w->round_next)
        respond(s, w, 200, text, 0);

    /* send the answers; this request's own goes out when advance() continues */
    struct conn *next = NULL;
    for (struct conn *w = all; w != NULL; w = next) {
        next = w->round_next;
        if (w != c && flush(s, w) == 1)
            advance(s, w);
    }
}

/* A request leaves its round: answered 504, or its client left. */
static void barrier_leave(struct server *s, struct conn *c)
{
    struct round *r = &s->rounds[c->number];

    if (c->round_prev != NULL)
        c->round_prev->round_next = c->round_next;
    else
        r->first = c->round_next;
    if (c->round_next != NULL)
        c->round_next->round_prev = c->round_prev;

    r->waiting--;
    s->barrier_waiting--;

    /* an empty round: the next one counts from zero */
    if (r->waiting == 0)
        r->most = 0;
}

/* /barrier/N waited too long: 504, saying how many were there at most. */
static void barrier_give_up(struct server *s, struct conn *c)
{
    char text[64];
    long most = s->rounds[c->number].most;

    snprintf(text, sizeof text, "only %ld of %ld arrived\n", most, c->number);
    barrier_leave(s, c);
    respond(s, c, 504, text, 0);
}

/* /drip/N: the head up front with Content-Length N, then the body in pieces of 1
 * to 100 bytes with a pause after each, so a client must read until it has all N. */
static long next_piece(struct conn *c)
{
    c->pieces++;
    return 1 + (c->pieces * 37) % 100;
}

static void drip_start(struct server *s, struct conn *c)
{
    /* send each small piece at once, instead of letting the kernel gather them */
    int one = 1;
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1)
        fprintf(stderr, "%s: setsockopt TCP_NODELAY: %s\n",
                program_invocation_short_name, strerror(errno));

    long n = c->number < DRIP_MAX ? c->number : DRIP_MAX;
    c->drip = 1;
    c->pieces = 0;
    c->piece_left = next_piece(c);
    respond(s, c, 200, NULL, n);
}

/* /stats: the counters as JSON. Not counted itself, so it can watch the others. */
static void stats_answer(struct server *s, struct conn *c, int reset)
{
    if (reset) {
        s->served = 0;
        s->peak = s->active;
        s->barrier_rounds = 0;
    }

    char json[256];
    snprintf(json, sizeof json,
             "{\"served\": %lld, \"active\": %lld, \"peak\": %lld, "
             "\"barrier_waiting\": %lld, \"barrier_rounds\": %lld}\n",
             s->served, s->active, s->peak, s->barrier_waiting, s->barrier_rounds);
    respond(s, c, 200, json, 0);
}

/* A request has arrived whole: answer it, or start what will answer it. */
static void start_request(struct server *s, struct conn *c, const struct request *req,
                          int status)
{
    c->t_req = wb_now();
    memcpy(c->line, req->line, sizeof c->line);
    c->page = req->page;
    c->number = req->number;
    c->keep_alive = req->keep_alive;
    c->head_only = req->head_only;

    /* what the parser refused */
    if (status == 400) {
        respond(s, c, 400, "malformed request line\n", 0);
        return;
    }
    if (status == 405) {
        respond(s, c, 405, "only GET and HEAD here\n", 0);
        return;
    }
    if (status == 431) {
        respond(s, c, 431, "request header over 8 KiB\n", 0);
        return;
    }
    if (c->page == PAGE_STATS) {
        stats_answer(s, c, req->reset);
        return;
    }

    /* every other request counts: received and not yet answered */
    c->active = 1;
    s->active++;
    if (s->active > s->peak)
        s->peak = s->active;

    char text[32];
    switch (c->page) {
    case PAGE_ROOT:
    case PAGE_DELAY:
        /* a delay is a timer, not a sleeping thread: on_timer() answers */
        if (c->page == PAGE_ROOT)
            c->number = s->default_delay_ms;
        if (c->number > DELAY_MAX_MS)
            c->number = DELAY_MAX_MS;
        c->state = WAITING;

        /* now_ms() drops the part of a millisecond already gone: one more
         * millisecond, so that no answer ever comes before its delay */
        timer_set(s, c, now_ms() + c->number + 1);
        break;
    case PAGE_BYTES:
        respond(s, c, 200, NULL, c->number < BYTES_MAX ? c->number : BYTES_MAX);
        break;
    case PAGE_STATUS:
        snprintf(text, sizeof text, "status %ld\n", c->number);
        respond(s, c, (int)c->number, text, 0);
        break;
    case PAGE_HANG:
        /* never answered; it ends when the client gives up */
        c->state = HANGING;
        timer_cancel(s, c);
        break;
    case PAGE_BARRIER: barrier_arrive(s, c); break;
    case PAGE_DRIP: drip_start(s, c); break;
    case PAGE_STATS: /* answered above */
    case PAGE_UNKNOWN:
        respond(s, c, 404,
                "no such page: try /, /delay/MS, /bytes/N, /status/CODE, /hang, "
                "/barrier/N, /drip/N, /stats\n",
                0);
        break;
    }
}

/* --- events --------------------------------------------------------------------- */

/* Drive one connection as far as it goes without waiting: answer every complete
 * request already in its buffer (a client may send several at once). */
static void advance(struct server *s, struct conn *c)
{
    while (c->state == READING) {
        struct request req;
        int status = parse_request(c->in, c->in_len, &req);

        /* the client left mid-request: just drop it */
        if (status == 0 && c->peer_eof) {
            conn_close(s, c);
            return;
        }

        /* not all there yet: wait for the rest */
        if (status == 0)
            break;

        /* serve it, and keep what came after it */
        start_request(s, c, &req, status);
        memmove(c->in, c->in + req.used, c->in_len - req.used);
        c->in_len -= req.used;

        /* nothing after /hang is ever answered: forget it, and keep reading
         * so that we hear when the client leaves */
        if (c->state == HANGING)
            c->in_len = 0;
        if (c->state == WRITING && flush(s, c) != 1)
            return;
    }
    watch(s, c);
}

static void on_readable(struct server *s, struct conn *c)
{
    ssize_t n = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);

    /* nothing after all: level-triggered epoll will say so again */
    if (n == -1 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;

    /* ECONNRESET: drop it, nobody else notices */
    if (n == -1) {
        conn_close(s, c);
        return;
    }

    /* end of file: it may still wait for an answer (a half-close) */
    if (n == 0)
        c->peer_eof = 1;
    c->in_len += (size_t)n;
    if (c->state == DRAINING || c->state == HANGING)
        c->in_len = 0;

    /* A client that leaves while held at /hang or a barrier, or while we drain it,
     * is gone: drop it. At a barrier it no longer counts. */
    int held = c->state == HANGING || c->state == BARRIER || c->state == DRAINING;
    if (held && c->peer_eof)
        conn_close(s, c);
    else if (c->state == READING)
        advance(s, c);
    else
        watch(s, c);
}

/* A timer fired: a delay is over, a barrier gave up, a drip's pause is over, or a
 * request never came (408). */
static void on_timer(struct server *s, struct conn *c)
{
    char text[64];

    timer_cancel(s, c);
    switch (c->state) {
    case DRAINING: conn_close(s, c); return;
    case WAITING:
        if (c->page == PAGE_ROOT) {
            respond(s, c, 200, ROOT_PAGE, 0);
            break;
        }
        snprintf(text, sizeof text, "waited %ld ms\n", c->number);
        respond(s, c, 200, text, 0);
        break;
    case BARRIER: barrier_give_up(s, c); break;
    case DRIPPING:
        c->piece_left = next_piece(c);
        c->state = WRITING;
        break;
    case READING:
        c->keep_alive = 0;
        /* whatever the last request was, this answer has a body */
        c->head_only = 0;
        c->t_req = wb_now();
        snprintf(c->line, sizeof c->line, "(no full request within %.1f s)",
                 s->read_timeout_ms / 1e3);
        respond(s, c, 408, "no full request in time\n", 0);
        break;
    case HANGING:
    case WRITING: return;
    }
    if (flush(s, c) == 1)
        advance(s, c);
}

/* A connection we cannot take is told nothing: it is closed, and we say why. */
static void refuse(int fd, int err)
{
    fprintf(stderr, "%s: cannot take a connection: %s\n", program_invocation_short_name,
            strerror(err));
    close(fd);
}

/* A new connection gets its struct, a place in epoll and a timer for its request. */
static void conn_open(struct server *s, int fd)
{
    /* the table has room for descriptors below max_fd only */
    if (fd >= s->max_fd) {
        refuse(fd, EMFILE);
        return;
    }
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        refuse(fd, errno);
        return;
    }

    struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e) == -1) {
        int err = errno;
        free(c);
        refuse(fd, err);
        return;
    }
    c->fd = fd;
    c->events = EPOLLIN;
    c->heap_at = -1;
    c->state = READING;
    s->by_fd[fd] = c;
    timer_set(s, c, now_ms() + s->read_timeout_ms);
}

/* Called after the other events of a batch: a connection closed in the batch
 * frees its descriptor number, and a newcomer given that number must not get
 * the events meant for the old one. */
static void on_accept(struct server *s)
{
    /* take every connection waiting in the backlog */
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            conn_open(s, fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;

        /* EAGAIN: the backlog is empty (after another error: try again later) */
        int out_of_fds = errno == EMFILE || errno == ENFILE;
        if (!out_of_fds || s->spare_fd < 0)
            return;

        /* Out of descriptors: use the spare one to accept and close the newcomer,
         * or level-triggered epoll would report it forever. */
        close(s->spare_fd);
        fd = accept(s->lfd, NULL, NULL);
        if (fd >= 0)
            close(fd);
        s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        /* accept4 says EMFILE before it looks at the backlog: it may be empty */
        if (fd == -1)
            return;
        fprintf(stderr, "%s: out of file descriptors, refused a connection\n",
                program_invocation_short_name);
    }
}

static void on_event(struct server *s, const struct epoll_event *ev)
{
    /* NULL: closed earlier in this same batch */
    struct conn *c = s->by_fd[ev->data.fd];
    if (c == NULL)
        return;

    if (ev->events & (EPOLLERR | EPOLLHUP)) {
        conn_close(s, c);
        return;
    }
    if (ev->events & EPOLLOUT) {
        if (flush(s, c) == 1)
            advance(s, c);
        return;
    }
    on_readable(s, c);
}

/* How long epoll may sleep: until the nearest timer (rounded up, so that a timer
 * never fires early), or for ever when there is none. */
static int next_timeout(const struct server *s)
{
    if (s->heap_len == 0)
        return -1;
    int64_t wait = s->heap[0]->deadline - now_ms() + 1;
    if (wait < 0)
        return 0;
    if (wait > INT32_MAX)
        return INT32_MAX;
    return (int)wait;
}

/* The event loop: wait for the next event or the nearest timer, handle it, again. */
static void run(struct server *s, const sigset_t *during_wait)
{
    struct epoll_event events[256];

    while (!stop_requested) {
        int n = epoll_pwait(s->epfd, events, 256, next_timeout(s), during_wait);
        if (n == -1 && errno != EINTR)
            wb_die("epoll_pwait");

        /* the connections that are ready, then the newcomers (see on_accept) */
        int newcomers = 0;
        for (int i = 0; i < n; i++) {
            if (events[i].data.fd == s->lfd)
                newcomers = 1;
            else
                on_event(s, &events[i]);
        }
        if (newcomers)
            on_accept(s);

        /* the timers that are due */
        int64_t now = now_ms();
        while (s->heap_len > 0 && s->heap[0]->deadline <= now)
            on_timer(s, s->heap[0]);
    }
}

/* --- set-up --------------------------------------------------------------------- */

/* The port is taken, most likely by a lab server started earlier: say how to run
 * one more beside it. */
static _Noreturn void port_taken(long port)
{
    long other = port < 65535 ? port + 1 : 8001;

    const char *me = program_invocation_short_name;
    fprintf(stderr,
            "%s: port %ld is taken: a lab server may already be running there\n", me,
            port);
    fprintf(stderr,
            "%s: use it, or start one more on another port: make serve PORT=%ld\n", me,
            other);
    fprintf(stderr,
            "%s: and point the programs at that one: LAB_URL=http://127.0.0.1:%ld\n",
            me, other);
    exit(1);
}

/* Listen on 127.0.0.1:port (loopback only: the lab is private). */
static int listen_on(long port, long *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        wb_die("socket");

    /* restart at once, even with old connections in TIME_WAIT */
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1)
        wb_die("setsockopt");

    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == -1) {
        if (errno == EADDRINUSE)
            port_taken(port);
        wb_die("bind");
    }
    if (listen(fd, SOMAXCONN) == -1)
        wb_die("listen");

    /* port 0: which one we got */
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) == -1)
        wb_die("getsockname");
    *bound = ntohs(a.sin_port);
    return fd;
}

/* Write the port to FILE atomically: a reader sees no file or the whole number. */
static void write_port_file(const char *file, long port)
{
    char tmp[4096], option[4096];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", file, (long)getpid());
    snprintf(option, sizeof option, "--port-file %s", file);

    /* an error names the file the user gave, not our temporary one */
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        wb_die(option);
    if (fprintf(f, "%ld\n", port) < 0)
        wb_die(option);
    if (fclose(f) == EOF)
        wb_die(option);
    if (rename(tmp, file) == -1)
        wb_die(option);
}

/* SIGPIPE would kill us when a client leaves mid-answer: take EPIPE instead.
 * SIGINT and SIGTERM are blocked except inside epoll_pwait (with *during_wait),
 * so the flag their handler sets is always seen before the loop waits again. */
static void set_up_signals(sigset_t *during_wait)
{
    struct sigaction ignore = {.sa_handler = SIG_IGN};
    if (sigaction(SIGPIPE, &ignore, NULL) == -1)
        wb_die("sigaction");

    struct sigaction stop = {.sa_handler = on_signal};
    if (sigaction(SIGINT, &stop, NULL) == -1)
        wb_die("sigaction");
    if (sigaction(SIGTERM, &stop, NULL) == -1)
        wb_die("sigaction");

    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &block, during_wait) == -1)
        wb_die("sigprocmask");
    sigdelset(during_wait, SIGINT);
    sigdelset(during_wait, SIGTERM);
}

/* The tables: a connection per descriptor, a timer per connection, a round per
 * barrier size; and the pattern that /bytes and /drip bodies are cut from. */
static void allocate_tables(struct server *s)
{
    /* thousands of connections need thousands of descriptors */
    long limit = wb_raise_fd_limit(1);
    s->max_fd = limit;
    if (limit <= 0 || limit > 1L << 20)
        s->max_fd = 1L << 20;

    s->by_fd = calloc((size_t)s->max_fd, sizeof *s->by_fd);
    s->heap = calloc((size_t)s->max_fd, sizeof *s->heap);
    s->rounds = calloc(BARRIER_MAX + 1, sizeof *s->rounds);
    if (s->by_fd == NULL || s->heap == NULL || s->rounds == NULL)
        wb_die("calloc");

    for (size_t i = 0; i < sizeof pattern; i++) {
        pattern[i] = (char)('a' + i % 64 % 26);
        if (i % 64 == 63)
            pattern[i] = '\n';
    }
}

static void parse_options(int argc, char **argv, struct server *s, long *port,
                          const char **port_file);

int main(int argc, char **argv)
{
    struct server s = {
        .default_delay_ms = 100, .read_timeout_ms = 10000, .barrier_timeout_ms = 5000};
    long port = 8000;
    const char *port_file = NULL;
    parse_options(argc, argv, &s, &port, &port_file);

    /* the tables, and the signals that stop us */
    allocate_tables(&s);
    sigset_t during_wait;
    set_up_signals(&during_wait);

    /* a descriptor held in reserve for when all others are taken (see on_accept) */
    s.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s.spare_fd == -1)
        wb_die("/dev/null");

    /* the listening socket, watched by epoll like every connection after it */
    s.lfd = listen_on(port, &port);
    s.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s.epfd == -1)
        wb_die("epoll_create1");
    struct epoll_event e = {.events = EPOLLIN, .data.fd = s.lfd};
    if (epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.lfd, &e) == -1)
        wb_die("epoll_ctl");

    /* ready: say where */
    if (port_file != NULL)
        write_port_file(port_file, port);
    printf("labserver listening on http://127.0.0.1:%ld\n", port);
    fflush(stdout);

    run(&s, &during_wait);

    /* stopped by a signal: close every connection, free everything, exit 0 */
    for (long fd = 0; fd < s.max_fd; fd++) {
        if (s.by_fd[fd] != NULL)
            conn_close(&s, s.by_fd[fd]);
    }
    close(s.lfd);
    close(s.epfd);
    close(s.spare_fd);
    free(s.by_fd);
    free(s.heap);
    free(s.rounds);
    fprintf(stderr, "%s: stopped\n", program_invocation_short_name);
    return 0;
}

/* --- options -------------------------------------------------------------------- */

/* --help: all of this on stdout, exit 0; a bad option: line one on stderr, exit 2 */
static _Noreturn void usage(int status)
{
    fprintf(status ? stderr : stdout,
            "Usage: %s [-p PORT] [-d MS] [-t S] [-b S] [--port-file FILE] [-v]\n",
            program_invocation_short_name);
    if (status != 0)
        exit(status);
    printf(
        "  -p PORT           port on 127.0.0.1 (default 8000; 0 = any free port)\n"
        "  -d MS             delay of GET / in milliseconds (default 100)\n"
        "  -t S              answer 408 when no full request came in S seconds (10)\n"
        "  -b S              answer 504 to a request held at a barrier S seconds (5)\n"
        "  --port-file FILE  write the port to FILE once listening\n"
        "  -v                log every request to stderr\n"
        "Pages:\n"
        "  /                 a small page, after the delay of -d\n"
        "  /delay/MS         'waited MS ms', after MS milliseconds\n"
        "  /bytes/N          N bytes at once (at most 1 GiB)\n"
        "  /status/CODE      that status, 200 to 599\n"
        "  /hang             no answer, ever\n"
        "  /barrier/N        held until N requests to /barrier/N wait at once, then\n"
        "                    all answered 200; after -b seconds, 504 'only K of N\n"
        "                    arrived', K the most that waited at once\n"
        "                    (1 <= N <= 10000; other N: 404)\n"
        "  /drip/N           N bytes in pieces of 1 to 100 with a pause after each\n"
        "                    (at most 1 MiB)\n"
        "  /stats            counters as JSON; /stats?reset=1 resets them\n");
    exit(0);
}

static void parse_options(int argc, char **argv, struct server *s, long *port,
                          const char **port_file)
{
    static const struct option longopts[] = {
        {"port-file", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "p:d:t:b:vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p': *port = wb_opt_long("-p", optarg, 0, 65535); break;
        case 'd':
            s->default_delay_ms = (int)wb_opt_long("-d", optarg, 0, DELAY_MAX_MS);
            break;
        case 't':
            s->read_timeout_ms = (int)wb_opt_long("-t", optarg, 1, 3600) * 1000;
            break;
        case 'b':
            s->barrier_timeout_ms = (int)wb_opt_long("-b", optarg, 1, 3600) * 1000;
            break;
        case 'P': *port_file = optarg; break;
        case 'v': s->verbose = 1; break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
}
