/* coroutine_crawler.c - fetch every URL at once, a coroutine each, on one thread (asyncio in C)
 *
 * Talk: asynchronous programming / refactor the before example code (asyncio wget)
 * Usage: coroutine_crawler [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
 * Shows: the talk's wget() (open_connection, write + drain, readline to the
 *        blank line, then the body counted to the end) on the Future, Task and
 *        event loop "500 Lines or Less" builds asyncio from, over epoll.
 *        Stackless coroutines, as in simple_coroutine.c and as Python's. Rules:
 *        locals do not survive an await (the state lives in struct fetch); no
 *        yield inside a nested switch; only wget() itself can await. Linux.
 * Compare: callback_crawler.c (callbacks: "stack ripping"), select_crawler.c.
 */
#include "workbook.h"
#include <getopt.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/socket.h>

/* simple_coroutine.c's macros; CO_AWAIT, `yield from`, goes to out: on failure. */
/* clang-format off */
#define CO_BEGIN(co) switch ((co)->resume) { case 0:
#define CO_YIELD(co, val) do { (co)->resume = __LINE__; return (val); case __LINE__:; } while (0)
#define CO_END(co, val) } (co)->resume = -1; return (val)
#define CO_AWAIT(co, op) do { if (!(op)->done) CO_YIELD(co, &(co)->fut); \
                              if ((co)->fut.result < 0) goto out; } while (0)
/* clang-format on */

/* asyncio's Future, as in 500 Lines: a result to come, and what to call then. */
struct future {
    int done;
    long result;                 /* >= 0: the operation's value; < 0: -errno */
    void (*callback)(void *arg); /* add_done_callback(): Python keeps a list, one will do */
    void *arg;
};

/* A task: its coroutine's frame (resume point, all that outlives an await). */
struct fetch {
    int resume, fd, epfd;
    const char *url, *why;      /* why: a failure's reason, if errno does not say */
    struct future fut;          /* the future it waits on, one at a time */
    long (*io)(struct fetch *); /* the operation pending on the socket, or NULL */
    struct sockaddr_in addr;
    char req[512], buf[4096];
    size_t reqlen, sent, len, line, bytes; /* buf: len bytes, the first `line` read */
    double began, ended;                   /* each fetch may take until began + -t seconds */
};

/* Task.step(): run the coroutine to an await of a pending future, or its end. */
static struct future *wget(struct fetch *f);
static void task_step(void *task)
{
    struct future *next = wget(task);
    if (next) /* next_future.add_done_callback(self.step) */
        next->callback = task_step, next->arg = task;
}

/* An attempt at the pending operation: -EAGAIN, it stays pending till epoll
 * reports again; else Future.set_result(): store the result, run the callback. */
static void complete(struct fetch *f, long result)
{
    if (result == -EAGAIN)
        return;
    f->io = NULL; /* nothing pending now; the callback may start the next operation */
    f->fut.done = 1;
    f->fut.result = result;
    if (f->fut.callback)
        f->fut.callback(f->fut.arg);
}

/* Begin an operation: a fresh future, resolved at once if it can be. */
static struct future *start(struct fetch *f, long (*io)(struct fetch *))
{
    f->fut = (struct future){0};
    f->io = io;
    complete(f, io(f));
    return &f->fut;
}

/* The operations return a value, -errno, or -EAGAIN ("not yet"). A socket
 * call that does not sleep is never interrupted by a signal: no EINTR here.
 * The first connect() starts the handshake (EINPROGRESS); asked again, it
 * tells how it went: 0 or EISCONN connected, EALREADY still going, or the
 * error, such as ECONNREFUSED (select_crawler.c reads SO_ERROR instead). */
static long connect_io(struct fetch *f)
{
    if (connect(f->fd, (struct sockaddr *)&f->addr, sizeof f->addr) == 0 || errno == EISCONN)
        return 0;
    return errno == EINPROGRESS || errno == EALREADY ? -EAGAIN : -errno;
}

static long drain_io(struct fetch *f) /* writer.drain(): send what write() queued */
{
    for (ssize_t w; f->sent < f->reqlen; f->sent += (size_t)w) /* a short write: go on */
        if ((w = send(f->fd, f->req + f->sent, f->reqlen - f->sent, MSG_NOSIGNAL)) == -1)
            return -errno; /* EAGAIN: the socket buffer is full */
    return 0;
}

static long readline_io(struct fetch *f) /* reader.readline(): the next line, at buf */
{
    f->bytes += f->line; /* count the line the coroutine saw, and drop it */
    memmove(f->buf, f->buf + f->line, f->len -= f->line);
    f->line = 0;
    for (ssize_t r;; f->len += (size_t)r) {
        char *nl = memchr(f->buf, '\n', f->len);
        if (nl)
            return (long)(f->line = (size_t)(nl - f->buf + 1));
        if (f->len == sizeof f->buf)
            return -EMSGSIZE; /* a header line longer than the buffer */
        /* -EAGAIN: nothing new yet. 0, closed: asyncio's readline() gives b'',
         * and the talk's loop, waiting for b'\r\n', would then spin forever. */
        if ((r = recv(f->fd, f->buf + f->len, sizeof f->buf - f->len, 0)) <= 0)
            return r ? -errno : (f->why = "closed before the blank line", -ENODATA);
    }
}

static long read_io(struct fetch *f) /* reader.read(): the rest, counted, not kept */
{
    f->bytes += f->len; /* the blank line and the body that came with it */
    f->len = 0;
    for (ssize_t r;; f->bytes += (size_t)r)
        if ((r = recv(f->fd, f->buf, sizeof f->buf, 0)) <= 0)
            return r == 0 ? 0 : -errno; /* 0: the server closed, the answer is whole */
}

/* asyncio.open_connection(): look up the address (a blocking call asyncio
 * gives a thread; for 127.0.0.1 it only parses), queue the request (write),
 * and register a non-blocking socket once, edge-triggered, both ways: epoll
 * reports changes, so an operation may wait only after it saw EAGAIN (they
 * all try first). */
static struct future *open_connection(struct fetch *f)
{
    char host[256], port[16];
    const char *path;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = f};
    int r;
    f->fut = (struct future){.done = 1, .result = -1}; /* failed, until the set-up is over */
    if (wb_split_url(f->url, host, sizeof host, port, sizeof port, &path) == -1)
        return f->why = "not a URL", &f->fut;
    if ((r = getaddrinfo(host, port, &hints, &ai)) != 0)
        return f->why = gai_strerror(r), &f->fut;
    memcpy(&f->addr, ai->ai_addr, sizeof f->addr);
    freeaddrinfo(ai);
    r = snprintf(f->req, sizeof f->req, "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n", path, host, port);
    if ((f->reqlen = (size_t)r) >= sizeof f->req)
        return f->why = "URL too long", &f->fut;
    if ((f->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1 ||
        epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->fd, &ev) == -1) /* EMFILE, ENOSPC: over a limit */
        return f->fut.result = -errno, &f->fut;
    return start(f, connect_io);
}

/* The talk's wget(), line for line; main() reports how each one ended. */
static struct future *wget(struct fetch *f)
{
    CO_BEGIN(f);
    CO_AWAIT(f, open_connection(f)); /* reader, writer = yield from open_connection() */
    CO_AWAIT(f, start(f, drain_io)); /* writer.write(header); yield from drain() */
    do                               /* while True: line = yield from readline() */
        CO_AWAIT(f, start(f, readline_io));
    while (f->buf[0] != '\r' && f->buf[0] != '\n'); /* if line == b'\r\n': break */
    CO_AWAIT(f, start(f, read_io));                 /* the body, until the server closes */
out:
    f->ended = wb_now();
    if (f->fd >= 0)
        close(f->fd); /* which also takes it out of the epoll set */
    CO_END(f, NULL);
}

/* loop.run_until_complete(asyncio.wait(tasks)): retry what is pending on each
 * ready socket until every task has ended. All fetches start together with
 * one time limit, so their deadlines come in array order: the earliest one
 * pending is the first unfinished fetch's, and a cursor replaces a timer heap. */
static void run_until_complete(int epfd, struct fetch *f, int n, int limit)
{
    struct epoll_event ev[256];
    for (int oldest = 0;;) {
        while (oldest < n && !f[oldest].io) /* a task that has not ended is waiting */
            oldest++;
        if (oldest == n)
            return;
        int ms = (int)((f[oldest].began + limit - wb_now()) * 1000.0) + 1; /* rounded up */
        int k = epoll_wait(epfd, ev, 256, ms < 0 ? 0 : ms);
        if (k == -1 && errno != EINTR) /* EINTR: a signal came while it slept */
            wb_die("epoll_wait");
        for (struct fetch *t; k > 0 && (t = ev[--k].data.ptr);) /* each ready socket */
            if (t->io) /* (an edge may also come while nothing is pending) */
                complete(t, t->io(t));
        for (int i = oldest; i < n && f[i].began + limit <= wb_now(); i++)
            if (f[i].io) /* time is up: fail the future; the task resumes into out: */
                complete(&f[i], -ETIMEDOUT);
    }
}

static const char usage[] = "Usage: coroutine_crawler [-q] [-n N] [-d MS] [-t SECONDS] [URL...]\n";
int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    struct wb_opts o = WB_OPTS_INIT;
    struct rlimit rl;
    int c, n, epfd, timeout_s = 10, nfailed = 0;
    while ((c = getopt_long(argc, argv, "hqn:d:t:", longopts, NULL)) != -1) {
        if (c == 't')
            timeout_s = (int)wb_opt_long("-t", optarg, 1, 3600);
        else if (c == 'h')
            return printf("%sEvery URL at once, a coroutine each, on one thread. Defaults:\n"
                          "10 lab URLs (-n) of 200 ms (-d), 10 s allowed per fetch (-t).\n",
                          usage) < 0;
        else if (!wb_common_opt(c, optarg, &o))
            return fputs(usage, stderr), 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || /* a socket per fetch: soft limit up to hard */
        setrlimit(RLIMIT_NOFILE, &(struct rlimit){rl.rlim_max, rl.rlim_max}) == -1)
        wb_die("RLIMIT_NOFILE");
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    struct fetch *f = calloc((size_t)n, sizeof *f);
    if (!f || (epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
        wb_die(f ? "epoll_create1" : "calloc");
    double start = wb_now();
    for (int i = 0; i < n; i++) { /* Task(wget(url)): it runs to its first await */
        f[i] = (struct fetch){.fd = -1, .epfd = epfd, .url = urls[i], .began = wb_now()};
        task_step(&f[i]);
    }
    run_until_complete(epfd, f, n, timeout_s);
    double wall = wb_now() - start;
    struct wb_timeline tl;
    wb_timeline_init(&tl, n);
    /* The outcomes, in order; -t's cut-off is ETIMEDOUT, "Connection timed out". */
    for (int i = 0; i < n; i++) {
        if (f[i].fut.result < 0)
            fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, urls[i],
                    f[i].why ? f[i].why : strerror((int)-f[i].fut.result));
        else
            wb_result(i, (long long)f[i].bytes, f[i].ended - f[i].began, urls[i]);
        nfailed += f[i].fut.result < 0;
        wb_span_set(&tl, i, f[i].began, f[i].ended);
    }
    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);
    if (nfailed == n)
        wb_lab_hint();
    close(epfd);
    free(f);
    wb_timeline_free(&tl);
    wb_urls_free(urls, n);
    return nfailed ? 1 : 0;
}
