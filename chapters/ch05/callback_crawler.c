/* callback_crawler.c - fetch pages at once with an event loop, callbacks and futures
 *
 * Talk: asynchronous programming / the selectors + Future + Crawler cell
 * Usage: callback_crawler [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
 * Shows: a tiny event loop on epoll (register a descriptor with a callback and
 *        its data, unregister, run until stopped), as Python's DefaultSelector
 *        is on Linux; a future (add_done_callback, set_result); a crawler whose
 *        state is a struct passed along: fetch -> connected -> read_response.
 * Compare: select_crawler.c (select, one loop body), multi_fetch.c (libcurl)
 */
#include "workbook.h"

#include <getopt.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/socket.h>

/* --help: all of this on stdout, exit 0; a bad option: line one on stderr, exit 2 */
static _Noreturn void usage(int status)
{
    fputs("Usage: callback_crawler [-q] [-n N] [-d MS] [-t SECONDS] [URL...]\n",
          status ? stderr : stdout);
    if (status == 0)
        puts("\nFetch every URL at once from one thread, an epoll loop calling each fetch's\n"
             "next step when its socket is ready. With no URL, fetch N lab URLs of MS ms\n"
             "(10 of 200). -t: give up on a URL not done after SECONDS (10). -q: no timeline.");
    exit(status);
}

/* ---- the event loop: Python's selector.register()/unregister() + loop() ---- */
struct loop {
    int epfd, stopped;
};
/* A descriptor and what to call when it is ready (NULL: not registered). Python
 * registers a bound method (self.connected); C a function and its object (data). */
typedef void callback(int fd, void *data);
struct watch {
    callback *cb;
    void *data;
    int fd;
};

static int loop_register(struct loop *l, struct watch *w, uint32_t mask, callback *cb, void *data)
{
    struct epoll_event ev = {.events = mask, .data.ptr = w};
    w->data = data;
    w->cb = epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) == 0 ? cb : NULL;
    return w->cb ? 0 : -1;
}

static void loop_unregister(struct loop *l, struct watch *w)
{
    if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL) == -1)
        wb_die("epoll_ctl"); /* only a bug in this file can get here */
    w->cb = NULL;            /* an event of this batch not yet handled is then skipped */
}

/* Call the callback of each ready descriptor until stopped or past the deadline
 * (a wb_now() time). Level-triggered: data left unread is reported again. */
static void loop_run(struct loop *l, double deadline)
{
    struct epoll_event ev[256];
    while (!l->stopped) {
        int ms = (int)((deadline - wb_now()) * 1000) + 1, n;
        if (ms <= 0 || (n = epoll_wait(l->epfd, ev, 256, ms)) == 0)
            return;                    /* time is up */
        if (n == -1 && errno != EINTR) /* EINTR: a signal cut the wait short, wait again */
            wb_die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct watch *w = ev[i].data.ptr;
            if (w->cb)
                w->cb(w->fd, w->data);
        }
    }
}

/* ---- a future: a result that is not there yet, and what to do with it ---- */
struct future {
    long long result;
    void (*fn)(struct future *f, void *arg); /* Python keeps a list; one is enough here */
    void *arg;
};

static void add_done_callback(struct future *f, void (*fn)(struct future *, void *), void *arg)
{
    f->fn = fn;
    f->arg = arg;
}

static void set_result(struct future *f, long long result)
{
    f->result = result;
    f->fn(f, f->arg);
}

/* ---- the crawler: all a fetch must remember from one callback to the next ---- */
struct crawl { /* what the crawlers share */
    struct loop loop;
    int pending, failed; /* pending: the talk's Crawler.counter, counting down */
    struct wb_timeline tl;
};
struct crawler {
    struct crawl *crawl;
    struct watch watch; /* watch.fd is the socket, -1 when there is none */
    int index, len, sent, err;
    const char *url, *what; /* what failed, and err its errno (or 0) */
    char request[1024];
    long long bytes;
    struct future done; /* resolved with the byte count, or -1 */
};

/* The end of a fetch, good or bad: close its socket, resolve its future. */
static void finish(struct crawler *c, const char *what, int err)
{
    if (c->watch.cb)
        loop_unregister(&c->crawl->loop, &c->watch);
    if (c->watch.fd != -1)
        close(c->watch.fd);
    c->watch.fd = -1;
    wb_task_end(&c->crawl->tl, c->index);
    c->what = what || c->bytes > 0 ? what : "the server closed without answering";
    c->err = err;
    set_result(&c->done, c->what ? -1 : c->bytes);
}

static void read_response(int fd, void *data)
{
    struct crawler *c = data;
    char buf[4096];
    ssize_t r = recv(fd, buf, sizeof buf, 0); /* one chunk per call, as in the talk */
    if (r > 0)
        c->bytes += r;
    else if (r == 0) /* the server closed: the whole answer is in */
        finish(c, NULL, 0);
    else if (errno != EAGAIN && errno != EINTR) /* those two: wait for the next call */
        finish(c, "recv", errno);
}

/* Writable after a non-blocking connect: the handshake is over; SO_ERROR says how. */
static void connected(int fd, void *data)
{
    struct crawler *c = data;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0) {
        finish(c, "connect", err ? err : errno);
        return;
    }
    ssize_t w = send(fd, c->request + c->sent, (size_t)(c->len - c->sent), MSG_NOSIGNAL);
    if (w == -1 && errno != EAGAIN && errno != EINTR) { /* those two: try again next call */
        finish(c, "send", errno);
        return;
    }
    c->sent += w > 0 ? (int)w : 0;
    if (c->sent < c->len)
        return; /* a short write: still registered, the rest goes on the next call */
    loop_unregister(&c->crawl->loop, &c->watch); /* all sent: now wait for the answer */
    if (loop_register(&c->crawl->loop, &c->watch, EPOLLIN, read_response, c) == -1)
        finish(c, "epoll_ctl", errno);
}

/* Start a fetch: connect without waiting; connected() runs once it is writable. */
static void fetch(struct crawler *c)
{
    char host[256], port[16];
    const char *path, *what = NULL;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
    int rc = -1; /* getaddrinfo()'s answer; once it is 0, errno says why */
    wb_task_begin(&c->crawl->tl, c->index);
    if (wb_split_url(c->url, host, sizeof host, port, sizeof port, &path) == -1)
        what = "not a URL";
    else if ((c->len = snprintf(c->request, sizeof c->request,
                                "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n", path, host, port)) >=
             (int)sizeof c->request)
        what = "URL too long";
    else if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) /* blocks; loopback is instant */
        what = gai_strerror(rc);
    else if ((c->watch.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
        what = "socket";
    else if (connect(c->watch.fd, ai->ai_addr, ai->ai_addrlen) == -1 && errno != EINPROGRESS)
        what = "connect"; /* EINPROGRESS: under way; connected() will hear how it went */
    else if (loop_register(&c->crawl->loop, &c->watch, EPOLLOUT, connected, c) == -1)
        what = "epoll_ctl";
    if (what)
        finish(c, what, rc == 0 ? errno : 0);
    if (rc == 0)
        freeaddrinfo(ai);
}

/* ---- main: one crawler per URL; the loop stops when every future is done ---- */
static void on_done(struct future *f, void *arg)
{
    struct crawler *c = arg;
    struct wb_span *s = &c->crawl->tl.span[c->index];
    if (f->result < 0)
        fprintf(stderr, "callback_crawler: %s: %s%s%s\n", c->url, c->what, c->err ? ": " : "",
                c->err ? strerror(c->err) : "");
    else
        wb_result(c->index, f->result, s->end - s->start, c->url);
    c->crawl->failed += f->result < 0;
    if (--c->crawl->pending == 0) /* the talk's "if Crawler.counter == 10: stopped = True" */
        c->crawl->loop.stopped = 1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    struct wb_opts o = WB_OPTS_INIT;
    int timeout_s = 10, c, n;
    while ((c = getopt_long(argc, argv, "qn:d:t:h", longopts, NULL)) != -1) {
        if (c == 't')
            timeout_s = (int)wb_opt_long("-t", optarg, 1, 3600);
        else if (c == 'h')
            usage(0);
        else if (!wb_common_opt(c, optarg, &o))
            usage(2);
    }
    struct rlimit rl; /* a socket per fetch: lift the soft limit (often 1024) to the hard one */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) /* if refused, the old limit stays: fine */
        setrlimit(RLIMIT_NOFILE, &(struct rlimit){rl.rlim_max, rl.rlim_max});
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    struct crawler *crawlers = calloc((size_t)n, sizeof *crawlers);
    struct crawl all = {.loop.epfd = epoll_create1(EPOLL_CLOEXEC), .pending = n};
    if (!crawlers || all.loop.epfd == -1)
        wb_die(crawlers ? "epoll_create1" : "calloc");
    wb_timeline_init(&all.tl, n);
    double t0 = wb_now();
    for (int i = 0; i < n; i++) {
        struct crawler *k = &crawlers[i];
        *k = (struct crawler){.crawl = &all, .watch.fd = -1, .index = i, .url = urls[i]};
        add_done_callback(&k->done, on_done, k);
        fetch(k);
    }
    loop_run(&all.loop, t0 + timeout_s); /* -t: all started just now, one deadline for all */
    for (int i = 0; i < n; i++)
        if (crawlers[i].watch.fd != -1) /* still under way when the time ran out */
            finish(&crawlers[i], "no answer in time", ETIMEDOUT);
    double wall = wb_now() - t0;
    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&all.tl, stdout);
    if (all.failed == n)
        wb_lab_hint();
    close(all.loop.epfd);
    free(crawlers);
    wb_timeline_free(&all.tl);
    wb_urls_free(urls, n);
    return all.failed ? 1 : 0;
}
