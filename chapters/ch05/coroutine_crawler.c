/* coroutine_crawler.c - fetch every URL at once, a coroutine each, on one thread
 *
 * Talk: asynchronous programming / refactor the before example code (asyncio wget)
 * Usage: coroutine_crawler [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
 * Shows: the talk's wget() (open_connection, write + drain, readline to the
 *        blank line, then the body counted to the end) as one stackless
 *        coroutine per URL, on the Future and Task of coroutine_loop.c and
 *        an epoll loop that retries what each socket was waiting for. Rules
 *        of the coroutine macros (simple_coroutine.c): locals do not survive
 *        an await, so a fetch's state lives in struct fetch; no yield inside
 *        a nested switch; one await per line; only wget() itself awaits. Linux.
 * Compare: coroutine_loop.c (Future and Task alone), callback_crawler.c
 *          (callbacks: "stack ripping"), ch03/green_fetch.c (stackful).
 */
#include "workbook.h"

#include <getopt.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/socket.h>

/* The same coroutine macros and await as coroutine_loop.c: await starts an
 * operation; unless its future is done already, it pauses until it is; if it
 * failed, it goes to the clean-up at the label out. */
/* clang-format off */
#define CO_BEGIN(co) switch ((co)->resume) { case 0:
#define CO_YIELD(co, val) \
    do { (co)->resume = __LINE__; return (val); case __LINE__:; } while (0)
#define CO_END(co, val) } (co)->resume = -1; return (val)

#define CO_AWAIT(co, operation)                                             \
    do {                                                                    \
        operation;                                                          \
        if (!(co)->fut.done)                                                \
            CO_YIELD(co, &(co)->fut);                                       \
        if ((co)->fut.result < 0)                                           \
            goto out;                                                       \
    } while (0)
/* clang-format on */

/* The same Future as coroutine_loop.c: a result to come (>= 0, or -errno),
 * and what to call then. */
struct future {
    int done;
    long result;
    void (*callback)(void *arg);
    void *arg;
};

/* A task: its coroutine's frame, everything that must outlive an await. */
struct fetch {
    int resume, fd, epfd;
    const char *url;
    const char *why;            /* a failure's reason, when errno does not say */
    struct future fut;          /* the one future it waits on */
    long (*io)(struct fetch *); /* the operation pending on the socket, or NULL */
    struct sockaddr_in addr;
    char req[512];
    size_t reqlen, sent;
    char buf[4096];
    size_t len, line; /* buf holds len bytes; the first `line` are the line read */
    size_t bytes;     /* the answer's bytes so far */
    double began, ended;
};

struct options {
    struct wb_opts common; /* -q, -n N, -d MS */
    int timeout_s;         /* -t SECONDS */
};

static int parse_options(int argc, char **argv, struct options *opt);
static struct future *wget(struct fetch *f);

/* Task.step(), as in coroutine_loop.c: run the coroutine to its next await
 * of a pending future, then next_future.add_done_callback(self.step). */
static void task_step(void *task)
{
    struct future *next = wget(task);
    if (next == NULL)
        return;
    next->callback = task_step;
    next->arg = task;
}

/* One attempt at the pending operation gave `result`. -EAGAIN: it stays
 * pending until epoll reports the socket again. Anything else is
 * Future.set_result(): store the result, then run the callback. */
static void complete(struct fetch *f, long result)
{
    if (result == -EAGAIN)
        return;

    /* nothing is pending now: the callback may start the next operation */
    f->io = NULL;
    f->fut.done = 1;
    f->fut.result = result;
    if (f->fut.callback != NULL)
        f->fut.callback(f->fut.arg);
}

/* Start an operation: a fresh future, resolved at once if it can be. */
static void start(struct fetch *f, long (*io)(struct fetch *))
{
    f->fut = (struct future){0};
    f->io = io;
    complete(f, io(f));
}

/* The operations return a value, -errno, or -EAGAIN ("not yet"). A socket
 * call that does not sleep is never interrupted by a signal: no EINTR here.
 * The first connect() starts the handshake (EINPROGRESS); asked again, it
 * tells how it went: 0 or EISCONN connected, EALREADY still going, or the
 * error, such as ECONNREFUSED (select_crawler.c reads SO_ERROR instead). */
static long connect_io(struct fetch *f)
{
    int rc = connect(f->fd, (struct sockaddr *)&f->addr, sizeof f->addr);
    if (rc == 0 || errno == EISCONN)
        return 0;
    if (errno == EINPROGRESS || errno == EALREADY)
        return -EAGAIN;
    return -errno;
}

/* writer.drain(): send what write() queued; a short write sends only part */
static long drain_io(struct fetch *f)
{
    while (f->sent < f->reqlen) {
        size_t left = f->reqlen - f->sent;
        ssize_t w = send(f->fd, f->req + f->sent, left, MSG_NOSIGNAL);
        if (w == -1)
            return -errno; /* EAGAIN: the socket's buffer is full */
        f->sent += (size_t)w;
    }
    return 0;
}

/* reader.readline(): the next line, left at the start of buf */
static long readline_io(struct fetch *f)
{
    /* count the line the coroutine has seen, and drop it */
    f->bytes += f->line;
    f->len -= f->line;
    memmove(f->buf, f->buf + f->line, f->len);
    f->line = 0;

    for (;;) {
        char *newline = memchr(f->buf, '\n', f->len);
        if (newline != NULL) {
            f->line = (size_t)(newline - f->buf) + 1;
            return (long)f->line;
        }
        if (f->len == sizeof f->buf)
            return -EMSGSIZE; /* a header line longer than the buffer */

        /* read more: -EAGAIN, nothing new yet */
        ssize_t r = recv(f->fd, f->buf + f->len, sizeof f->buf - f->len, 0);
        if (r == -1)
            return -errno;

        /* closed: asyncio's readline() gives b'', and the talk's loop, which
         * waits for b'\r\n', would then go round forever */
        if (r == 0) {
            f->why = "closed before the blank line";
            return -ENODATA;
        }
        f->len += (size_t)r;
    }
}

/* reader.read(): the rest of the answer, counted, not kept */
static long read_io(struct fetch *f)
{
    /* the blank line, and the part of the body that came with it */
    f->bytes += f->len;
    f->len = 0;

    for (;;) {
        ssize_t r = recv(f->fd, f->buf, sizeof f->buf, 0);
        if (r == 0)
            return 0; /* the server closed: the answer is whole */
        if (r == -1)
            return -errno;
        f->bytes += (size_t)r;
    }
}

/* The address and the request, from the URL: NULL, or why not. */
static const char *prepare(struct fetch *f)
{
    char host[256], port[16];
    const char *path;
    if (wb_split_url(f->url, host, sizeof host, port, sizeof port, &path) == -1)
        return "not a URL";

    /* for 127.0.0.1 only a parse (asyncio hands the lookup to a thread) */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0)
        return gai_strerror(rc);
    memcpy(&f->addr, ai->ai_addr, sizeof f->addr);
    freeaddrinfo(ai);

    /* writer.write(header): queued here, sent by drain_io() */
    const char *form = "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n";
    int len = snprintf(f->req, sizeof f->req, form, path, host, port);
    if (len >= (int)sizeof f->req)
        return "URL too long";
    f->reqlen = (size_t)len;
    return NULL;
}

/* A fetch that cannot even start: its future fails at once. */
static void fail_now(struct fetch *f, long result)
{
    f->fut = (struct future){.done = 1, .result = result};
}

/* asyncio.open_connection(): a non-blocking socket, registered once,
 * edge-triggered, both ways. epoll then reports changes only, so an
 * operation may wait only after it saw EAGAIN: each one tries first. */
static void open_connection(struct fetch *f)
{
    f->why = prepare(f);
    if (f->why != NULL) {
        fail_now(f, -1);
        return;
    }

    /* EMFILE, ENOSPC: over the limit on descriptors or epoll watches */
    f->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->fd == -1) {
        fail_now(f, -errno);
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = f};
    if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->fd, &ev) == -1) {
        fail_now(f, -errno);
        return;
    }

    start(f, connect_io);
}

/* The talk's wget(), line for line; main() reports how each one ended. */
static struct future *wget(struct fetch *f)
{
    CO_BEGIN(f);

    /* reader, writer = yield from asyncio.open_connection(host, 80) */
    CO_AWAIT(f, open_connection(f));

    /* writer.write(header); yield from writer.drain() */
    CO_AWAIT(f, start(f, drain_io));

    /* while True: line = yield from reader.readline(); if line == b'\r\n': break */
    do {
        CO_AWAIT(f, start(f, readline_io));
    } while (f->buf[0] != '\r' && f->buf[0] != '\n');

    /* the body, until the server closes (the talk's cell leaves it unread) */
    CO_AWAIT(f, start(f, read_io));

out:
    /* writer.close(), which also takes the socket out of the epoll set */
    f->ended = wb_now();
    if (f->fd >= 0)
        close(f->fd);
    CO_END(f, NULL);
}

/* loop.run_until_complete(asyncio.wait(tasks)): retry the pending operation
 * of each ready socket until every task has ended. All fetches start
 * together with one time limit, so their deadlines come in array order: the
 * earliest one pending is the first unfinished fetch's, and a cursor serves
 * instead of a heap of timers. */
static void run_until_complete(int epfd, struct fetch *f, int n, int limit)
{
    struct epoll_event ev[256];
    int oldest = 0;

    for (;;) {
        /* the oldest fetch still pending; none left: every task has ended */
        while (oldest < n && f[oldest].io == NULL)
            oldest++;
        if (oldest == n)
            return;

        /* sleep until a socket is ready, or that fetch's time is up */
        int ms = (int)((f[oldest].began + limit - wb_now()) * 1000.0) + 1;
        if (ms < 0)
            ms = 0;
        int ready = epoll_wait(epfd, ev, 256, ms);
        if (ready == -1 && errno != EINTR)
            wb_die("epoll_wait"); /* EINTR: a signal came while it slept */

        /* retry the operation of each ready socket (an edge may also come
         * while nothing is pending) */
        for (int k = 0; k < ready; k++) {
            struct fetch *t = ev[k].data.ptr;
            if (t->io != NULL)
                complete(t, t->io(t));
        }

        /* time is up for these: fail their futures; each task resumes at out */
        double now = wb_now();
        for (int i = oldest; i < n && f[i].began + limit <= now; i++) {
            if (f[i].io != NULL)
                complete(&f[i], -ETIMEDOUT);
        }
    }
}

int main(int argc, char **argv)
{
    struct options opt;
    int first_url = parse_options(argc, argv, &opt);

    /* the URLs, a lab server to answer them, and a descriptor for each */
    int n;
    char **urls = wb_urls(argc - first_url, argv + first_url, &opt.common, &n);
    wb_require_lab(urls, n);
    wb_raise_fd_limit(1);

    /* loop = asyncio.get_event_loop(): here, one epoll instance */
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd == -1)
        wb_die("epoll_create1");
    struct fetch *f = calloc((size_t)n, sizeof *f);
    if (f == NULL)
        wb_die("calloc");

    /* tasks = [Task(wget(url)) for url in urls]: each runs to its first await */
    double start = wb_now();
    for (int i = 0; i < n; i++) {
        f[i] = (struct fetch){.fd = -1, .epfd = epfd, .url = urls[i]};
        f[i].began = wb_now();
        task_step(&f[i]);
    }
    run_until_complete(epfd, f, n, opt.timeout_s);
    double wall = wb_now() - start;

    /* the outcomes, in order; -t's cut-off is ETIMEDOUT, "Connection timed out" */
    struct wb_timeline tl;
    wb_timeline_init(&tl, n);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        wb_span_set(&tl, i, f[i].began, f[i].ended);
        if (f[i].fut.result >= 0) {
            wb_result(i, (long long)f[i].bytes, wb_task_seconds(&tl, i), urls[i]);
            continue;
        }

        const char *why = f[i].why;
        if (why == NULL)
            why = strerror((int)-f[i].fut.result);
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, urls[i], why);
        wb_task_failed(&tl, i);
        failed++;
    }

    /* the summary: one thread, and almost no CPU time */
    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!opt.common.quiet)
        wb_timeline_print(&tl, stdout);

    /* loop.close() */
    close(epfd);
    free(f);
    wb_timeline_free(&tl);
    wb_urls_free(urls, n);
    return failed > 0 ? 1 : 0;
}

/* ---- the command line ------------------------------------------------------ */

/* --help: all of it on stdout, exit 0; a bad option: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fprintf(out, "Usage: %s [-q] [-n N] [-d MS] [-t SECONDS] [URL...]\n",
            program_invocation_short_name);
    if (status == 0)
        fputs("\nFetch every URL at once, a coroutine each, on one thread, and print\n"
              "the bytes received. With no URL, fetch N lab URLs of MS milliseconds.\n"
              "\n"
              "  -n N          how many lab URLs (default 10)\n"
              "  -d MS         the lab server's delay per URL (default 200)\n"
              "  -t SECONDS    give up on a fetch after this long (default 10)\n"
              "  -q            no timeline, only the results\n",
              stdout);
    exit(status);
}

/* Fill in opt from the command line; returns the index of the first URL. */
static int parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *opt = (struct options){.common = WB_OPTS_INIT, .timeout_s = 10};

    int c;
    while ((c = getopt_long(argc, argv, "qn:d:t:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, &opt->common))
            continue;
        switch (c) {
        case 't': opt->timeout_s = (int)wb_opt_long("-t", optarg, 1, 3600); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }

    return optind;
}
