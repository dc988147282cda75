/* callback_crawler.c - fetch pages at once with an event loop and callbacks
 *
 * Talk: asynchronous programming / the selectors + Crawler cell
 * Usage: callback_crawler [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
 * Shows: a crawler whose steps are callbacks on a tiny epoll loop: fetch()
 *        connects without waiting and registers connected(), which sends the
 *        request and registers read_response(), which counts the answer until
 *        the server closes. What one step leaves for the next lives in a
 *        struct, since each callback returns to the loop (stack ripping).
 * Compare: callback_loop.c (the loop as an API of its own, with futures),
 *          select_crawler.c (select, one loop body), coroutine_crawler.c
 *          (the steps as one function again), multi_fetch.c (libcurl). Linux.
 */
#include "workbook.h"

#include <getopt.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/socket.h>

static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s);

/* ---- the crawler: all a fetch must remember from one callback to the next */

struct crawler;
typedef void step(struct crawler *c);

/* What the crawlers share: one epoll instance, and pending, the talk's
 * Crawler.counter, counting down. */
struct crawl {
    int epfd;
    int pending, failed;
    struct wb_timeline tl;
};

struct crawler {
    struct crawl *all;
    int fd;     /* the socket, -1 when there is none */
    step *next; /* what to call when the socket is ready; NULL: nothing */
    int index;
    const char *url;
    char request[1024];
    int len, sent;
    long long bytes;
};

/* The talk's selector.register(fd, events, self.connected): epoll reports
 * the socket, and the loop then calls c->next(c). op: EPOLL_CTL_ADD the
 * first time, EPOLL_CTL_MOD to wait for something else. */
static int watch(struct crawler *c, int op, uint32_t events, step *next)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    c->next = next;
    return epoll_ctl(c->all->epfd, op, c->fd, &ev);
}

/* The end of a fetch, good or bad: close its socket, print its line, count
 * down; at zero the loop stops (the talk's "stopped = True"). */
static void finish(struct crawler *c, const char *what, int err)
{
    /* closing the socket also takes it out of the epoll set */
    struct crawl *all = c->all;
    if (c->fd != -1)
        close(c->fd);
    c->fd = -1;
    c->next = NULL;
    wb_task_end(&all->tl, c->index);

    if (what == NULL && c->bytes == 0)
        what = "the server closed without answering";
    if (what == NULL) {
        wb_result(c->index, c->bytes, wb_task_seconds(&all->tl, c->index), c->url);
    } else {
        const char *sep = err != 0 ? ": " : "";
        const char *why = err != 0 ? strerror(err) : "";
        fprintf(stderr, "%s: %s: %s%s%s\n", program_invocation_short_name, c->url, what,
                sep, why);
        wb_task_failed(&all->tl, c->index);
        all->failed++;
    }

    all->pending--;
}

/* Readable: take one chunk per call, as the talk does, until the server closes. */
static void read_response(struct crawler *c)
{
    char buf[4096];
    ssize_t r = recv(c->fd, buf, sizeof buf, 0);
    if (r > 0)
        c->bytes += r;
    else if (r == 0)
        finish(c, NULL, 0); /* the server closed: the whole answer is in */
    else if (errno != EAGAIN && errno != EINTR)
        finish(c, "recv", errno); /* EAGAIN, EINTR: wait for the next call */
}

/* Writable after a non-blocking connect: the handshake is over, and SO_ERROR
 * says how it went. Then send the request, and wait for the answer. */
static void connected(struct crawler *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
        err = errno;

    if (err != 0) {
        finish(c, "connect", err);
        return;
    }

    /* send what the socket takes; EAGAIN, EINTR: try again on the next call */
    ssize_t w =
        send(c->fd, c->request + c->sent, (size_t)(c->len - c->sent), MSG_NOSIGNAL);
    if (w == -1 && errno != EAGAIN && errno != EINTR) {
        finish(c, "send", errno);
        return;
    }

    if (w > 0)
        c->sent += (int)w;
    if (c->sent < c->len)
        return; /* a short write: still registered, the rest goes next call */

    /* all sent: from now on, wait until the socket is readable */
    if (watch(c, EPOLL_CTL_MOD, EPOLLIN, read_response) == -1)
        finish(c, "epoll_ctl", errno);
}

/* Start a fetch: connect without waiting; connected() runs once it is writable. */
static void fetch(struct crawler *c)
{
    char host[256], port[16];
    const char *path;
    wb_task_begin(&c->all->tl, c->index);

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
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd == -1)
        what = "socket";
    else if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == -1 && errno != EINPROGRESS)
        what = "connect";
    else if (watch(c, EPOLL_CTL_ADD, EPOLLOUT, connected) == -1)
        what = "epoll_ctl";
    int err = errno;
    freeaddrinfo(ai);

    if (what != NULL)
        finish(c, what, err);
}

/* The talk's loop(): wait until sockets are ready, and call what each one
 * registered, until every fetch is done or the deadline (a wb_now() time)
 * has passed. Level-triggered: data left unread is reported again. */
static void loop(struct crawl *all, double deadline)
{
    struct epoll_event ev[256];
    while (all->pending > 0) {
        int ms = (int)((deadline - wb_now()) * 1000) + 1;
        if (ms <= 0)
            return;

        int ready = epoll_wait(all->epfd, ev, 256, ms);
        if (ready == -1 && errno == EINTR)
            continue; /* a signal cut the wait short: wait again */
        if (ready == -1)
            wb_die("epoll_wait");
        if (ready == 0)
            return; /* the time is up */

        /* a fetch finished earlier in this batch has next == NULL */
        for (int i = 0; i < ready; i++) {
            struct crawler *c = ev[i].data.ptr;
            if (c->next != NULL)
                c->next(c);
        }
    }
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
    all.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (all.epfd == -1)
        wb_die("epoll_create1");
    wb_timeline_init(&all.tl, n);

    /* the talk's main: start every fetch, then run the loop; -t is one
     * deadline for all, since all start together */
    double t0 = wb_now();
    for (int i = 0; i < n; i++) {
        crawlers[i] =
            (struct crawler){.all = &all, .fd = -1, .index = i, .url = urls[i]};
        fetch(&crawlers[i]);
    }
    loop(&all, t0 + timeout_s);

    /* what is still under way when the time ran out has failed */
    for (int i = 0; i < n; i++)
        if (crawlers[i].fd != -1)
            finish(&crawlers[i], "no answer in time", ETIMEDOUT);
    double wall = wb_now() - t0;

    /* the summary */
    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&all.tl, stdout);

    close(all.epfd);
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
