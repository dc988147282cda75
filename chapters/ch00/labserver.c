/* labserver.c - the local web server every fetch program in the workbook targets
 *
 * Talk: (the lab) - stands in for the talk's remote web sites, with a delay of our choosing
 * Usage: labserver [-p PORT] [-d MS] [-t S] [--port-file FILE] [-v]
 * Shows: one thread serving thousands of connections: non-blocking sockets,
 *        an epoll event loop, timers in a min-heap, a state machine per connection.
 * Compare: ch05/select_crawler.c and ch05/callback_crawler.c (the client side of the same idea)
 * Linux: epoll, accept4, epoll_pwait.
 */
#include "workbook.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define HEAD_MAX (8 * 1024)        /* a request head longer than this gets 431 */
#define DELAY_MAX_MS 600000        /* /delay/MS is capped at ten minutes */
#define BYTES_MAX (1LL << 30)      /* /bytes/N is capped at 1 GiB */

enum state { READING, WAITING, HANGING, WRITING, DRAINING };

/* One client connection. The loop finds it by its descriptor. */
struct conn {
    int fd, events, heap_at;       /* epoll interest; index in the timer heap, -1 if none */
    enum state state;
    int keep_alive, closing, peer_eof, active, status;
    int64_t deadline;              /* when the timer fires, in ms */
    double t_req;                  /* when the request arrived, for the access log */
    char line[96];                 /* request line, for the access log */
    char in[HEAD_MAX];             /* bytes received and not yet handled */
    size_t in_len, head_len;
    char out[512];                 /* response head (and small body) not yet sent */
    size_t out_len, out_off;
    long long body_left, body_sent; /* /bytes/N is streamed from a pattern */
    int head_only, root;           /* HEAD: no body; GET /: the page */
    long delay_ms;
};

/* The whole server. Timers live in a binary min-heap ordered by deadline. */
struct server {
    int epfd, lfd, verbose, default_delay, read_timeout_ms; /* no full request in time: 408 */
    struct conn **by_fd;
    long max_fd;
    struct conn **heap;
    int heap_len;
    long long served, active, peak;
};

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }
static char pattern[65536 + 64]; /* /bytes/N bodies: lines of 63 letters and a newline */

static int64_t now_ms(void) { return (int64_t)(wb_now() * 1000.0); }

/* --- the timer heap ------------------------------------------------------- */
static void heap_swap(struct server *s, int a, int b)
{
    struct conn *t = s->heap[a];
    s->heap[a] = s->heap[b];
    s->heap[b] = t;
    s->heap[a]->heap_at = a;
    s->heap[b]->heap_at = b;
}
static void heap_fix(struct server *s, int i) /* move entry i up or down to its place */
{
    while (i > 0 && s->heap[(i - 1) / 2]->deadline > s->heap[i]->deadline) {
        heap_swap(s, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        int l = 2 * i + 1, m = i;
        if (l < s->heap_len && s->heap[l]->deadline < s->heap[m]->deadline)
            m = l;
        if (l + 1 < s->heap_len && s->heap[l + 1]->deadline < s->heap[m]->deadline)
            m = l + 1;
        if (m == i)
            return;
        heap_swap(s, i, m);
        i = m;
    }
}
static void timer_cancel(struct server *s, struct conn *c)
{
    int i = c->heap_at;
    if (i < 0)
        return;
    c->heap_at = -1;
    if (i != --s->heap_len) {
        s->heap[i] = s->heap[s->heap_len];
        s->heap[i]->heap_at = i;
        heap_fix(s, i);
    }
}
static void timer_set(struct server *s, struct conn *c, int64_t deadline)
{
    timer_cancel(s, c);
    c->deadline = deadline;
    c->heap_at = s->heap_len++;
    s->heap[c->heap_at] = c;
    heap_fix(s, c->heap_at);
}

/* --- connections ---------------------------------------------------------- */
/* Level-triggered epoll: tell it what this connection waits for now. With no
 * interest left, epoll still reports EPOLLHUP/EPOLLERR, which drop it. */
static void watch(struct server *s, struct conn *c)
{
    int ev = c->state == WRITING ? EPOLLOUT
           : (!c->peer_eof && c->in_len < sizeof c->in) ? EPOLLIN : 0;
    if (ev == c->events)
        return;
    struct epoll_event e = {.events = (uint32_t)ev, .data.fd = c->fd};
    if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &e) == -1)
        wb_die("epoll_ctl");
    c->events = ev;
}

static void conn_close(struct server *s, struct conn *c)
{
    timer_cancel(s, c);
    if (c->active)
        s->active--;
    s->by_fd[c->fd] = NULL;
    close(c->fd); /* also takes it out of the epoll set */
    free(c);
}

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
    default: return status < 300 ? "Success" : status < 400 ? "Redirection"
                  : status < 500 ? "Client Error" : "Server Error";
    }
}

/* Queue a response: a head, then either a small body or `stream` bytes of the
 * pattern. An answered request stops counting as active. */
static void respond(struct server *s, struct conn *c, int status, const char *body, long long stream)
{
    long long len = (status == 204 || status == 304) ? 0 : body ? (long long)strlen(body) : stream;
    int n = snprintf(c->out, sizeof c->out,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %lld\r\n"
                     "Connection: %s\r\n%s\r\n%s",
                     status, reason(status), body && body[0] == '{' ? "application/json" : body && body[0] == '<' ? "text/html" : "text/plain",
                     len, c->keep_alive ? "keep-alive" : "close",
                     status == 405 ? "Allow: GET, HEAD\r\n" : "",
                     body && !c->head_only && len ? body : "");
    c->out_len = (size_t)n < sizeof c->out ? (size_t)n : sizeof c->out - 1;
    c->out_off = 0;
    c->body_left = body || c->head_only ? 0 : len;
    c->body_sent = 0;
    c->status = status;
    c->state = WRITING;
    timer_cancel(s, c);
    if (c->active) {
        c->active = 0;
        s->active--;
        s->served++;
    }
}

/* The request head is complete in c->in: parse it and decide what to do. */
static void handle_request(struct server *s, struct conn *c, size_t head_len)
{
    char method[16], target[2048], version[16];
    c->in[head_len - 1] = '\0'; /* the head's last '\n': the string functions stop there */
    size_t line_len = strcspn(c->in, "\r\n");
    snprintf(c->line, sizeof c->line, "%.*s", (int)line_len, c->in);
    c->t_req = wb_now();
    c->head_only = 0;
    c->keep_alive = 0; /* until the request line proves it a good request */
    /* Exactly three words, the target starting with '/', a version we speak. */
    int words = sscanf(c->in, "%15[!-~] %2047[!-~] %15[!-~]", method, target, version);
    if (words != 3 || line_len != strlen(method) + strlen(target) + strlen(version) + 2 ||
        target[0] != '/' || (strcmp(version, "HTTP/1.0") && strcmp(version, "HTTP/1.1"))) {
        respond(s, c, 400, "malformed request line\n", 0);
        return;
    }
    /* Keep-alive is the default in 1.1 and an opt-in in 1.0. */
    c->keep_alive = strcmp(version, "HTTP/1.1") == 0;
    for (char *h = strchr(c->in, '\n'); h && h + 1 < c->in + head_len; h = strchr(h + 1, '\n'))
        if (strncasecmp(h + 1, "Connection:", 11) == 0) {
            size_t vlen = strcspn(h + 12, "\r\n");
            if (memmem(h + 12, vlen, "close", 5))
                c->keep_alive = 0;
            else if (memmem(h + 12, vlen, "eep-alive", 9))
                c->keep_alive = 1;
        }
    c->head_only = strcmp(method, "HEAD") == 0;
    if (strcmp(method, "GET") != 0 && !c->head_only) {
        c->keep_alive = 0; /* a body may follow that we will not read */
        respond(s, c, 405, "only GET and HEAD here\n", 0);
        return;
    }
    target[strcspn(target, "?")] = '\0'; /* query strings only make URLs distinct */
    long n = 0;
    if (strcmp(target, "/stats") == 0) { /* not counted, so it can watch the others */
        char json[160];
        if (strstr(c->line, "?reset=1") || strstr(c->line, "&reset=1"))
            s->served = 0, s->peak = s->active;
        snprintf(json, sizeof json, "{\"served\": %lld, \"active\": %lld, \"peak\": %lld}\n",
                 s->served, s->active, s->peak);
        respond(s, c, 200, json, 0);
        return;
    }
    c->active = 1; /* received and not yet answered */
    if (++s->active > s->peak)
        s->peak = s->active;
    if (strcmp(target, "/") == 0 || (strncmp(target, "/delay/", 7) == 0 &&
                                     wb_parse_long(target + 7, 0, LONG_MAX, &n) == 0)) {
        c->root = strcmp(target, "/") == 0;
        c->delay_ms = c->root ? s->default_delay : n > DELAY_MAX_MS ? DELAY_MAX_MS : n;
        c->state = WAITING; /* the timer answers it */
        timer_set(s, c, now_ms() + c->delay_ms);
    } else if (strncmp(target, "/bytes/", 7) == 0 && wb_parse_long(target + 7, 0, LONG_MAX, &n) == 0) {
        respond(s, c, 200, NULL, n > BYTES_MAX ? BYTES_MAX : n);
    } else if (strncmp(target, "/status/", 8) == 0 && wb_parse_long(target + 8, 200, 599, &n) == 0) {
        char text[32];
        snprintf(text, sizeof text, "status %ld\n", n);
        respond(s, c, (int)n, text, 0);
    } else if (strcmp(target, "/hang") == 0) {
        c->state = HANGING; /* never answered; ends when the client gives up */
        timer_cancel(s, c);
    } else {
        respond(s, c, 404, "no such page: try /, /delay/MS, /bytes/N, /status/CODE, /hang, /stats\n", 0);
    }
}

static void log_request(const struct server *s, const struct conn *c)
{
    if (s->verbose)
        fprintf(stderr, "labserver: \"%s\" %d %lld bytes %.3f s\n", c->line, c->status,
                c->body_sent + (long long)c->out_len, wb_now() - c->t_req);
}

/* Send what is queued. Returns 1 when all is sent and the connection waits
 * for its next request, 0 when the socket is full (epoll says when to go on),
 * -1 when the connection is gone. */
static int flush(struct server *s, struct conn *c)
{
    while (c->out_off < c->out_len || c->body_left > 0) {
        struct iovec iov[2];
        int n = 0;
        if (c->out_off < c->out_len)
            iov[n++] = (struct iovec){c->out + c->out_off, c->out_len - c->out_off};
        if (c->body_left > 0) /* the pattern repeats every 64 bytes */
            iov[n++] = (struct iovec){pattern + c->body_sent % 64,
                                      (size_t)(c->body_left < 65536 ? c->body_left : 65536)};
        ssize_t w = writev(c->fd, iov, n); /* head and body in one call, one packet */
        if (w == -1 && errno == EINTR)
            continue;
        if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return watch(s, c), 0; /* short write: the rest when EPOLLOUT says so */
        if (w == -1) {              /* EPIPE, ECONNRESET: the client left */
            conn_close(s, c);
            return -1;
        }
        size_t head = c->out_len - c->out_off < (size_t)w ? c->out_len - c->out_off : (size_t)w;
        c->out_off += head;
        c->body_sent += w - (ssize_t)head;
        c->body_left -= w - (ssize_t)head;
    }
    log_request(s, c);
    if (c->status >= 400 && !c->keep_alive && !c->peer_eof) {
        /* After an error the client may still be sending: closing now, with
         * its bytes unread, would reset the connection and could destroy
         * our answer before it reads it. Say we are done, then drain. */
        shutdown(c->fd, SHUT_WR);
        c->state = DRAINING;
        c->in_len = 0;
        timer_set(s, c, now_ms() + 1000);
        return watch(s, c), 0;
    }
    if (!c->keep_alive || c->peer_eof) {
        conn_close(s, c);
        return -1;
    }
    c->state = READING;
    timer_set(s, c, now_ms() + s->read_timeout_ms);
    return 1;
}

/* Drive one connection as far as it can go without waiting: answer every
 * complete request already in its buffer (clients may pipeline). */
static void advance(struct server *s, struct conn *c)
{
    while (c->state == READING) {
        char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        char *lf = memmem(c->in, c->in_len, "\n\n", 2); /* tolerate bare LF lines */
        size_t head_len = end && (!lf || end < lf) ? (size_t)(end - c->in) + 4
                          : lf ? (size_t)(lf - c->in) + 2 : 0;
        if (head_len == 0 && c->in_len == sizeof c->in) {
            c->keep_alive = 0;
            c->t_req = wb_now();
            snprintf(c->line, sizeof c->line, "(header over %d bytes)", HEAD_MAX);
            respond(s, c, 431, "request header over 8 KiB\n", 0);
        } else if (head_len == 0 && c->peer_eof) {
            conn_close(s, c); /* the client left mid-request: just drop it */
            return;
        } else if (head_len == 0) {
            break; /* wait for the rest */
        } else {
            handle_request(s, c, head_len);
            memmove(c->in, c->in + head_len, c->in_len - head_len);
            c->in_len -= head_len;
        }
        if (c->state == WRITING && flush(s, c) != 1)
            return;
    }
    watch(s, c);
}

static void on_readable(struct server *s, struct conn *c)
{
    ssize_t n = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
    if (n == -1 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return; /* level-triggered: epoll will say again */
    if (n == -1) {
        conn_close(s, c); /* ECONNRESET mid-request: drop it, nobody else notices */
        return;
    }
    if (n == 0)
        c->peer_eof = 1; /* it may still wait for an answer (a half-close) */
    c->in_len += (size_t)n;
    if (c->state == DRAINING)
        c->in_len = 0; /* discarded */
    if ((c->state == HANGING || c->state == DRAINING) && c->peer_eof)
        conn_close(s, c);
    else if (c->state == READING)
        advance(s, c);
    else
        watch(s, c); /* keep what it pipelined for later; stop reading when full */
}

/* A timer fired: a delay is over (answer), or a request never came (408). */
static void on_timer(struct server *s, struct conn *c)
{
    char text[64];
    timer_cancel(s, c);
    if (c->state == DRAINING) {
        conn_close(s, c);
        return;
    }
    if (c->state == WAITING) {
        snprintf(text, sizeof text, "waited %ld ms\n", c->delay_ms);
        respond(s, c, 200, c->root ? "<html><body><h1>the lab</h1><p>a small page</p></body></html>\n"
                                   : text, 0);
    } else {
        c->keep_alive = 0;
        c->t_req = wb_now();
        snprintf(c->line, sizeof c->line, "(no full request within %.1f s)", s->read_timeout_ms / 1e3);
        respond(s, c, 408, "no full request in time\n", 0);
    }
    if (flush(s, c) == 1)
        advance(s, c);
}

static void on_accept(struct server *s, int *spare)
{
    for (;;) { /* take every connection waiting in the backlog */
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1 && (errno == EINTR || errno == ECONNABORTED))
            continue;
        if (fd == -1 && (errno == EMFILE || errno == ENFILE) && *spare >= 0) {
            /* Out of descriptors: use the spare one to accept and close the
             * newcomer, or level-triggered epoll would report it forever. */
            close(*spare);
            fd = accept(s->lfd, NULL, NULL);
            if (fd >= 0)
                close(fd);
            *spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
            fprintf(stderr, "labserver: out of file descriptors, refused a connection\n");
            continue;
        }
        if (fd == -1)
            return; /* EAGAIN: the backlog is empty */
        struct conn *c = calloc(1, sizeof *c);
        struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
        if (!c || fd >= s->max_fd || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e) == -1) {
            fprintf(stderr, "labserver: cannot take a connection: %s\n", strerror(errno));
            free(c);
            close(fd);
            continue;
        }
        *c = (struct conn){.fd = fd, .events = EPOLLIN, .heap_at = -1, .state = READING};
        s->by_fd[fd] = c;
        timer_set(s, c, now_ms() + s->read_timeout_ms);
    }
}

/* Listen on 127.0.0.1:port (loopback only: the lab is private). */
static int listen_on(long port, long *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        wb_die("socket");
    int one = 1; /* restart at once, even with old connections in TIME_WAIT */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1)
        wb_die("setsockopt");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == -1)
        wb_die("bind");
    if (listen(fd, SOMAXCONN) == -1)
        wb_die("listen");
    if (getsockname(fd, (struct sockaddr *)&a, &len) == -1) /* port 0: which one we got */
        wb_die("getsockname");
    *bound = ntohs(a.sin_port);
    return fd;
}

/* Write the port to FILE atomically: a reader sees no file or the whole number. */
static void write_port_file(const char *file, long port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", file, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%ld\n", port) < 0 || fclose(f) == EOF)
        wb_die(tmp);
    if (rename(tmp, file) == -1)
        wb_die(file);
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: labserver [-p PORT] [-d MS] [-t S] [--port-file FILE] [-v]\n"
                 "  -p PORT           port on 127.0.0.1 (default 8000; 0 = any free port)\n"
                 "  -d MS             delay of GET / in milliseconds (default 100)\n"
                 "  -t S              answer 408 when no full request came in S seconds (10)\n"
                 "  --port-file FILE  write the port to FILE once listening\n"
                 "  -v                log every request to stderr\n"
                 "Pages: / /delay/MS /bytes/N /status/CODE /hang /stats[?reset=1]\n");
}

int main(int argc, char **argv)
{
    struct server s = {.default_delay = 100, .read_timeout_ms = 10000};
    long port = 8000;
    const char *port_file = NULL;
    static const struct option longopts[] = {
        {"port-file", required_argument, NULL, 'P'}, {"help", no_argument, NULL, 'h'}, {0}};
    for (int c; (c = getopt_long(argc, argv, "p:d:t:vh", longopts, NULL)) != -1;) {
        switch (c) {
        case 'p': port = wb_opt_long("-p", optarg, 0, 65535); break;
        case 'd': s.default_delay = (int)wb_opt_long("-d", optarg, 0, DELAY_MAX_MS); break;
        case 't': s.read_timeout_ms = (int)wb_opt_long("-t", optarg, 1, 3600) * 1000; break;
        case 'P': port_file = optarg; break;
        case 'v': s.verbose = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    /* Thousands of connections need thousands of descriptors: raise the soft
     * limit as far as the hard limit allows. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        wb_die("getrlimit");
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
        wb_die("setrlimit");
    s.max_fd = rl.rlim_cur > 1 << 20 ? 1 << 20 : (long)rl.rlim_cur;
    s.by_fd = calloc((size_t)s.max_fd, sizeof *s.by_fd);
    s.heap = calloc((size_t)s.max_fd, sizeof *s.heap);
    if (!s.by_fd || !s.heap)
        wb_die("calloc");
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 64 % 26);

    /* SIGPIPE would kill us when a client leaves mid-answer: take EPIPE instead.
     * SIGINT/SIGTERM are blocked except inside epoll_pwait, so the flag the
     * handler sets is always seen before the loop waits again. */
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigset_t block, during_wait;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1 ||
        sigprocmask(SIG_BLOCK, &block, &during_wait) == -1)
        wb_die("sigaction");
    sigdelset(&during_wait, SIGINT);
    sigdelset(&during_wait, SIGTERM);

    s.lfd = listen_on(port, &port);
    int spare = open("/dev/null", O_RDONLY | O_CLOEXEC); /* see on_accept */
    if ((s.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 || spare == -1)
        wb_die("epoll_create1");
    struct epoll_event e = {.events = EPOLLIN, .data.fd = s.lfd};
    if (epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.lfd, &e) == -1)
        wb_die("epoll_ctl");
    if (port_file)
        write_port_file(port_file, port);
    printf("labserver listening on http://127.0.0.1:%ld\n", port);
    fflush(stdout);

    /* The event loop: wait for the next event or the nearest timer. */
    struct epoll_event events[256];
    while (!stop_requested) {
        int timeout = -1;
        if (s.heap_len > 0) { /* round up, so a timer never fires early */
            int64_t wait = s.heap[0]->deadline - now_ms() + 1;
            timeout = wait < 0 ? 0 : wait > INT32_MAX ? INT32_MAX : (int)wait;
        }
        int n = epoll_pwait(s.epfd, events, 256, timeout, &during_wait);
        if (n == -1 && errno != EINTR)
            wb_die("epoll_pwait");
        for (int i = 0; i < n; i++) {
            if (events[i].data.fd == s.lfd) {
                on_accept(&s, &spare);
                continue;
            }
            struct conn *c = s.by_fd[events[i].data.fd];
            if (!c) /* closed earlier in this same batch */
                continue;
            if (events[i].events & (EPOLLERR | EPOLLHUP))
                conn_close(&s, c);
            else if (events[i].events & EPOLLOUT) {
                if (flush(&s, c) == 1)
                    advance(&s, c);
            } else
                on_readable(&s, c);
        }
        for (int64_t now = now_ms(); s.heap_len > 0 && s.heap[0]->deadline <= now;)
            on_timer(&s, s.heap[0]);
    }

    /* Stop: close every connection, free everything, exit 0. */
    for (long fd = 0; fd < s.max_fd; fd++)
        if (s.by_fd[fd])
            conn_close(&s, s.by_fd[fd]);
    close(s.lfd);
    close(s.epfd);
    close(spare);
    free(s.by_fd);
    free(s.heap);
    fprintf(stderr, "labserver: stopped\n");
    return 0;
}
