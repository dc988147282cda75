/* callback_crawler.c - fetch pages at once with an event loop and callbacks
 *
 * Talk: asynchronous programming / the selectors + Crawler cell
 * Usage: callback_crawler [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
 * Shows: a crawler whose steps are callbacks on a tiny epoll loop: fetch()
 *        connects without waiting and registers connected(), which sends the
 *        request and registers read_response(), which counts the answer until
 *        the server closes. What one step leaves for the next lives in a
 *        struct, since each callback returns to the loop (stack ripping).
 * Compare: callback_loop.c (the same loop on its own, with futures),
 *          select_crawler.c (select, one loop body), coroutine_crawler.c
 *          (the steps as one function again), multi_fetch.c (libcurl). Linux.
 */
#include "workbook.h"

#include <getopt.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/socket.h>

static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s);

/* ---- the event loop, the same as callback_loop.c ------------------------- */

/* Python's selector.register(fd, events, data) keeps a bound method as the
 * data (self.connected); C keeps a function and the object it works on. */
typedef void callback(int fd, void *data);

struct watch {
    int fd;
    callback *cb; /* NULL: not registered */
    void *data;
};

struct loop {
    int epfd;
    int stopped;
};

/* Ask epoll to report fd for the events in mask, and remember what to call. */
static int loop_register(struct loop *l, struct watch *w, uint32_t mask, callback *cb,
                         void *data)
{
    struct epoll_event ev = {.events = mask, .data.ptr = w};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) == -1)
        return -1;

    w->cb = cb;
    w->data = data;
    return 0;
}

static void loop_unregister(struct loop *l, struct watch *w)
{
    if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL) == -1)
        wb_die("epoll_ctl"); /* only a bug in this file can get here */

    /* an event of this batch not yet handled is then skipped */
    w->cb = NULL;
}

/* Call the callback of each ready descriptor until stopped, or until the
 * deadline (a wb_now() time). Level-triggered: unread data is reported again. */
static void loop_run(struct loop *l, double deadline)
{
    struct epoll_event ev[256];
    while (!l->stopped) {
        int ms = (int)((deadline - wb_now()) * 1000) + 1;
        if (ms <= 0)
            return;

        int ready = epoll_wait(l->epfd, ev, 256, ms);
        if (ready == -1 && errno == EINTR)
            continue; /* a signal cut the wait short: wait again */
        if (ready == -1)
            wb_die("epoll_wait");
        if (ready == 0)
            return; /* the time is up */

        for (int i = 0; i < ready; i++) {
            struct watch *w = ev[i].data.ptr;
            if (w->cb != NULL)
                w->cb(w->fd, w->data);
        }
    }
}

/* ---- the crawler: all a fetch must remember from one callback to the next */

/* What the crawlers share; pending is the talk's Crawler.counter, counting down. */
struct crawl {
    struct loop loop;
    int pending, failed;
    struct wb_timeline tl;
};

struct crawler {
    struct crawl *crawl;
    struct watch watch; /* watch.fd is the socket, -1 when there is none */
    int index;
    const char *url;
    char request[1024];
    int len, sent;
    long long bytes;
};

/* The end of a fetch, good or bad: close its socket, print its line, count
 * down; the last one stops the loop (the talk's "stopped = True"). */
static void finish(struct crawler *c, const char *what, int err)
{
    struct crawl *all = c->crawl;
    if (c->watch.cb != NULL)
        loop_unregister(&all->loop, &c->watch);
    if (c->watch.fd != -1)
        close(c->watch.fd);
    c->watch.fd = -1;
    wb_task_end(&all->tl, c->index);

    if (what == NULL && c->bytes == 0)
        what = "the server closed without answering";
    if (what == NULL) {
        wb_result(c->index, c->bytes, wb_task_seconds(&all->tl, c->index), c->url);
    } else {
        if (err != 0)
            fprintf(stderr, "%s: %s: %s: %s\n", program_invocation_short_name, c->url,
                    what, strerror(err));
        else
            fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, c->url,
                    what);
        wb_task_failed(&all->tl, c->index);
        all->failed++;
    }

    all->pending--;
    if (all->pending == 0)
        all->loop.stopped = 1;
}

/* Readable: take one chunk per call, as the talk does, until the server closes. */
static void read_response(int fd, void *data)
{
    struct crawler *c = data;
    char buf[4096];
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r > 0)
        c->bytes += r;
    else if (r == 0)
        finish(c, NULL, 0); /* the server closed: the whole answer is in */
    else if (errno != EAGAIN && errno != EINTR)
        finish(c, "recv", errno); /* EAGAIN, EINTR: wait for the next call */
}

/* Writable after a non-blocking connect: the handshake is over, and SO_ERROR
 * says how it went. Then send the request, and wait for the answer. */
static void connected(int fd, void *data)
{
    struct crawler *c = data;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
        err = errno;
    if (err != 0) {
        finish(c, "connect", err);
        return;
    }

    /* send what the socket takes; EAGAIN, EINTR: try again on the next call */
    ssize_t w =
        send(fd, c->request + c->sent, (size_t)(c->len - c->sent), MSG_NOSIGNAL);
    if (w == -1 && errno != EAGAIN && errno != EINTR) {
        finish(c, "send", errno);
        return;
    }
    if (w > 0)
        c->sent += (int)w;
    if (c->sent < c->len)
        return; /* a short write: still registered, the rest goes next call */

    /* all sent: from now on, wait until the socket is readable */
    loop_unregister(&c->crawl->loop, &c->watch);
    if (loop_register(&c->crawl->loop, &c->watch, EPOLLIN, read_response, c) == -1)
        finish(c, "epoll_ctl", errno);
}

/* Start a fetch: connect without waiting; connected() runs once it is writable. */
static void fetch(struct crawler *c)
{
    char host[256], port[16];
    const char *path;
    wb_task_begin(&c->crawl->tl, c->index);

    /* the request: HTTP/1.0, so the server closes the connection when done */
    if (wb_split_url(c->url, host, sizeof host, port, sizeof port, &path) == -1) {
        finish(c, "not a URL", 0);
        return;
    }
    c->len = snprintf(c->request, sizeof c->request,
                      "GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n", path, host, port);
    if (c->len >= (int)sizeof c->request) {
        finish(c, "URL too long", 0);
        return;
    }

    /* the address: getaddrinfo() blocks, but a loopback name is answered at once */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        finish(c, gai_strerror(rc), 0);
        return;
    }

    /* EINPROGRESS: under way, and connected() will hear how it went */
    const char *what = NULL;
    c->watch.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->watch.fd == -1)
        what = "socket";
    else if (connect(c->watch.fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
             errno != EINPROGRESS)
        what = "connect";
    else if (loop_register(&c->crawl->loop, &c->watch, EPOLLOUT, connected, c) == -1)
        what = "epoll_ctl";
    int err = errno;
    freeaddrinfo(ai);
    if (what != NULL)
        finish(c, what, err);
}

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    int timeout_s;
    parse_options(argc, argv, &o, &timeout_s);

    /* a socket per fetch: lift the soft limit (often 1024) to the hard one */
    wb_raise_fd_limit(1);

    /* the URLs, a lab server to answer them, a crawler for each, one loop */
    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_require_lab(urls, n);
    struct crawler *crawlers = calloc((size_t)n, sizeof *crawlers);
    if (crawlers == NULL)
        wb_die("calloc");
    struct crawl all = {.pending = n};
    all.loop.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (all.loop.epfd == -1)
        wb_die("epoll_create1");
    wb_timeline_init(&all.tl, n);

    /* the talk's main: start every fetch, then run the loop; -t is one
     * deadline for all, since all start together */
    double t0 = wb_now();
    for (int i = 0; i < n; i++) {
        crawlers[i] = (struct crawler){.crawl = &all, .index = i, .url = urls[i]};
        crawlers[i].watch.fd = -1;
        fetch(&crawlers[i]);
    }
    loop_run(&all.loop, t0 + timeout_s);

    /* what is still under way when the time ran out has failed */
    for (int i = 0; i < n; i++)
        if (crawlers[i].watch.fd != -1)
            finish(&crawlers[i], "no answer in time", ETIMEDOUT);
    double wall = wb_now() - t0;

    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&all.tl, stdout);

    close(all.loop.epfd);
    free(crawlers);
    wb_timeline_free(&all.tl);
    wb_urls_free(urls, n);
    return all.failed > 0 ? 1 : 0;
}

/* ---- the command line ---------------------------------------------------- */

/* --help: the usage and what the options do, exit 0; a bad option: the usage
 * on stderr, exit 2. */
static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fprintf(out, "Usage: %s [-q] [-n N] [-d MS] [-t SECONDS] [URL...]\n",
            program_invocation_short_name);
    if (status == 0)
        fputs("Fetch every URL at once from one thread, an epoll loop calling each\n"
              "fetch's next step when its socket is ready. With no URL, fetch N\n"
              "lab URLs (default 10), each answered after MS ms (default 200).\n"
              "-t: give up on what is not done after SECONDS (default 10).\n"
              "-q: no timeline, only the results.\n",
              stdout);
    exit(status);
}

/* -q, -n and -d are the options every fetch program shares (workbook.h). */
static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *timeout_s = 10;

    int c;
    while ((c = getopt_long(argc, argv, "qn:d:t:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, o))
            continue;
        switch (c) {
        case 't': *timeout_s = (int)wb_opt_long("-t", optarg, 1, 3600); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
}
