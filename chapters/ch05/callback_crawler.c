/* callback_crawler.c - fetch pages at once with an event loop and callbacks
 *
 * Talk: asynchronous programming / the selectors + Crawler cell
 * Usage: callback_crawler [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
 * Shows: a crawler whose steps are callbacks on a tiny epoll loop: fetch()
 *        connects without waiting and registers connected(), which sends the
 *        request and registers read_response(), which counts the answer until
 *        the server closes. What one step leaves for the next lives in a
 *        struct, since each callback returns to the loop (stack ripping).
 *        The socket calls of each step are in nb_fetch.c, the same as
 *        select_crawler.c's: this file is the way of waiting (epoll_ctl,
 *        epoll_wait, a callback per readiness).
 * Compare: callback_loop.c (the loop as an API of its own, with futures),
 *          select_crawler.c (select, one loop body), coroutine_crawler.c
 *          (the steps as one function again), multi_fetch.c (libcurl). Linux.
 */
#include "workbook.h"

#include "nb_fetch.h"

#include <getopt.h>
#include <sys/epoll.h>

static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s);

/* ---- the crawler: all a fetch must remember from one callback to the next */

struct crawler;
typedef void step(struct crawler *c);

/* What the crawlers share: one epoll instance, and pending, the talk's
 * Crawler.counter, counting down. */
struct crawl {
    int epfd;
    int pending;
};

/* A crawler: the fetch's own state and steps (nb_fetch.c, shared with
 * select_crawler.c), and the callback that takes the next step. */
struct crawler {
    struct nb_fetch f;
    struct crawl *all;
    step *next; /* what to call when the socket is ready; NULL: nothing */
};

/* The talk's selector.register(fd, events, self.connected): epoll reports
 * the socket, and the loop then calls c->next(c). op: EPOLL_CTL_ADD the
 * first time, EPOLL_CTL_MOD to wait for something else. */
static int watch(struct crawler *c, int op, uint32_t events, step *next)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    c->next = next;
    return epoll_ctl(c->all->epfd, op, c->f.fd, &ev);
}

/* After a step: a fetch that is over (nb_finish() closed its socket, which
 * also took it out of the epoll set) is called no more and counts down; at
 * zero the loop stops (the talk's "Crawler.counter += 1 ... stopped = True"). */
static void count_if_done(struct crawler *c)
{
    if (c->f.state != FINISHED)
        return;

    c->next = NULL;
    c->all->pending--;
}

/* Readable: take one chunk per call, as the talk does, until the server
 * closes (EAGAIN, EINTR: wait for the next call). */
static void read_response(struct crawler *c)
{
    nb_on_readable(&c->f);
    count_if_done(c);
}

/* Writable after a non-blocking connect: the handshake is over, and SO_ERROR
 * says how it went. Then send the request, and wait for the answer. */
static void connected(struct crawler *c)
{
    nb_on_writable(&c->f);

    /* failed, or a short write: still registered, the rest goes next call */
    if (c->f.state != RECEIVING) {
        count_if_done(c);
        return;
    }

    /* all sent: from now on, wait until the socket is readable */
    if (watch(c, EPOLL_CTL_MOD, EPOLLIN, read_response) == -1) {
        nb_finish(&c->f, "epoll_ctl", errno);
        count_if_done(c);
    }
}

/* Start a fetch: connect without waiting; connected() runs once it is
 * writable. */
static void fetch(struct crawler *c)
{
    /* the request, the address, a non-blocking socket, connect (EINPROGRESS) */
    nb_start(&c->f);
    if (c->f.state == FINISHED) {
        count_if_done(c);
        return;
    }

    /* the talk's selector.register(self.sock.fileno(), EVENT_WRITE, ...) */
    if (watch(c, EPOLL_CTL_ADD, EPOLLOUT, connected) == -1) {
        nb_finish(&c->f, "epoll_ctl", errno);
        count_if_done(c);
    }
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

        /* EINTR: a signal cut the wait short, so wait again */
        if (ready == -1 && errno == EINTR)
            continue;
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

    /* the talk's main: start every fetch, then run the loop; -t is one
     * deadline for all, since all start together */
    double t0 = wb_now();
    for (int i = 0; i < n; i++) {
        struct nb_fetch f = {.state = CONNECTING, .fd = -1, .index = i, .url = urls[i]};
        crawlers[i] = (struct crawler){.f = f, .all = &all};
        fetch(&crawlers[i]);
    }
    loop(&all, t0 + timeout_s);

    /* what is still under way when the time ran out has failed */
    for (int i = 0; i < n; i++)
        if (crawlers[i].f.fd != -1)
            nb_give_up(&crawlers[i].f, timeout_s);
    double wall = wb_now() - t0;

    /* the timeline: each fetch's own times, and its mark if it failed */
    struct wb_timeline tl;
    wb_timeline_init(&tl, n);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        struct nb_fetch *f = &crawlers[i].f;
        wb_span_set(&tl, i, f->start, f->end);
        if (f->failed) {
            wb_task_failed(&tl, i);
            failed++;
        }
    }

    /* the summary */
    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);

    if (close(all.epfd) == -1)
        wb_die("close");
    free(crawlers);
    wb_timeline_free(&tl);
    wb_urls_free(urls, n);
    return failed > 0 ? 1 : 0;
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
        fputs("\nFetch every URL at once from one thread, an epoll loop calling each\n"
              "fetch's next step when its socket is ready. With no URL, fetch N\n"
              "lab URLs, each answered after MS milliseconds.\n"
              "\n"
              "  -n N          how many lab URLs (default 10)\n"
              "  -d MS         the lab server's delay per URL (default 200)\n"
              "  -t SECONDS    give up on whatever is not done by then (default 10)\n"
              "  -q            no timeline, only the results\n",
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
