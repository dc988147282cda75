/* loop_per_core.c - one epoll event loop per CPU, the URLs dealt out among them
 *
 * Talk: Q & A - one event loop, or one per core?
 * Usage: loop_per_core [-q] [-n N] [-d MS] [-t SECONDS] [-w LOOPS] [URL...]
 * Shows: LOOPS threads (default: one per online CPU), each with its own epoll and
 *        its own connections, as nginx's workers and memcached's threads do: URL i
 *        goes to loop i % LOOPS and stays there, so the hot path takes no lock.
 * Compare: ch05/callback_crawler.c (one loop), multi_socket_fetch.c. Linux.
 */
#include "workbook.h"

#include <getopt.h>
#include <pthread.h>
#include <sys/epoll.h> /* socket and getaddrinfo: in workbook.h */

/* One fetch: how much of its request is sent, how much answer has come. */
struct fetch {
    int index, fd;
    size_t sent;
    long long bytes;
    const char *url;
    char *request;
};

/* One loop: its thread, its epoll, its fetches; no other thread touches them. */
struct loop {
    pthread_t thread;
    int epfd, count, pending, failed;
    struct fetch *fetch;
    double deadline;
    struct wb_timeline *tl; /* shared, but slot i belongs to URL i's loop */
};

/* ---- one fetch's steps (as in ch05/callback_crawler.c) ---------------------- */

/* The end of a fetch: close its socket, print its line, or why it failed. */
static void finish(struct loop *l, struct fetch *f, const char *why)
{
    close(f->fd); /* which also takes it out of the epoll set */
    f->fd = -1;
    free(f->request); /* a fetch ends once: freed once */

    l->pending--;
    wb_task_end(l->tl, f->index);

    if (why == NULL) {
        wb_result(f->index, f->bytes, wb_task_seconds(l->tl, f->index), f->url);
    } else {
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, f->url, why);
        wb_task_failed(l->tl, f->index);
        l->failed++;
    }
}

/* Connect without waiting; the loop hears when the socket is writable. */
static void start(struct loop *l, struct fetch *f)
{
    char host[256], port[16];
    const char *path;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
    wb_task_begin(l->tl, f->index);

    if (wb_split_url(f->url, host, sizeof host, port, sizeof port, &path) == -1) {
        finish(l, f, "not a URL");
        return;
    }
    if (asprintf(&f->request,
                 "GET %s HTTP/1.0\r\nHost: %s:%s\r\nConnection: close\r\n\r\n", path,
                 host, port) == -1)
        wb_die("asprintf");
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        finish(l, f, gai_strerror(rc));
        return;
    }

    f->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    rc = -1;
    if (f->fd != -1)
        rc = connect(f->fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc == -1 && errno != EINPROGRESS) {
        finish(l, f, strerror(errno)); /* EINPROGRESS: under way */
        return;
    }

    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = f};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, f->fd, &ev) == -1)
        finish(l, f, strerror(errno));
}

/* Writable: the handshake is over (SO_ERROR says how); send what is left. */
static void on_writable(struct loop *l, struct fetch *f)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0) {
        finish(l, f, strerror(err ? err : errno));
        return;
    }

    size_t total = strlen(f->request);
    ssize_t sent = send(f->fd, f->request + f->sent, total - f->sent, MSG_NOSIGNAL);
    if (sent == -1 && errno != EAGAIN && errno != EINTR) {
        finish(l, f, strerror(errno));
        return;
    }
    if (sent > 0)
        f->sent += (size_t)sent;
    if (f->sent < total)
        return; /* a short write: the rest when it is writable again */

    /* all sent: from now on, wait for the answer */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = f};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, f->fd, &ev) == -1)
        finish(l, f, strerror(errno));
}

/* Readable: take what came; the server closing means the answer is whole. */
static void on_readable(struct loop *l, struct fetch *f)
{
    char buf[4096];
    ssize_t got = recv(f->fd, buf, sizeof buf, 0);
    if (got > 0)
        f->bytes += got;
    else if (got == 0)
        finish(l, f, NULL);
    else if (errno != EAGAIN && errno != EINTR)
        finish(l, f, strerror(errno));
}

/* ---- one loop: its own epoll, its own fetches, no lock ---------------------- */
static void *run_loop(void *arg)
{
    struct loop *l = arg;
    struct epoll_event ev[256];

    for (int k = 0; k < l->count; k++)
        start(l, &l->fetch[k]);

    while (l->pending > 0 && wb_now() < l->deadline) {
        int ms = (int)((l->deadline - wb_now()) * 1000) + 1;
        int ready = epoll_wait(l->epfd, ev, 256, ms);
        if (ready == -1 && errno != EINTR)
            wb_die("epoll_wait"); /* EINTR: a signal cut the wait short */

        for (int k = 0; k < ready; k++) {
            struct fetch *f = ev[k].data.ptr;
            if (ev[k].events & EPOLLOUT)
                on_writable(l, f); /* connected, or still sending */
            else
                on_readable(l, f); /* the answer, or an error to read */
        }
    }

    /* what is still under way ran out of time */
    for (int k = 0; k < l->count; k++)
        if (l->fetch[k].fd != -1)
            finish(l, &l->fetch[k], "no answer in time");
    return NULL;
}

/* --help: all of this on stdout, exit 0; a bad option: line one on stderr, exit 2 */
static _Noreturn void usage(int status)
{
    fputs("Usage: loop_per_core [-q] [-n N] [-d MS] [-t SECONDS] [-w LOOPS] [URL...]\n",
          status ? stderr : stdout);
    if (status == 0)
        printf("\nFetch the URLs from LOOPS event loops, a thread each (one per CPU).\n"
               "With no URL, N lab URLs (10) of MS ms (200). -t: give up on a URL\n"
               "after SECONDS (10). -q: no timeline.\n");
    exit(status);
}

static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s,
                          int *loops)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "qn:d:t:w:h", longopts, NULL)) != -1) {
        if (c == 't')
            *timeout_s = (int)wb_opt_long("-t", optarg, 1, 3600);
        else if (c == 'w')
            *loops = (int)wb_opt_long("-w", optarg, 1, 1024);
        else if (c == 'h')
            usage(0);
        else if (!wb_common_opt(c, optarg, o))
            usage(2);
    }
}

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    int timeout_s = 10, n;
    int loops = (int)sysconf(_SC_NPROCESSORS_ONLN);
    parse_options(argc, argv, &o, &timeout_s, &loops);
    wb_raise_fd_limit(0);
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_require_lab(urls, n);

    struct wb_timeline tl;
    wb_timeline_init(&tl, n);
    struct loop *loop = calloc((size_t)loops, sizeof *loop);
    if (loop == NULL)
        wb_die("calloc");
    double t0 = wb_now();

    /* deal the URLs like cards, URL i to loop i % loops, and start each loop */
    for (int w = 0; w < loops; w++) {
        struct loop *l = &loop[w];
        *l = (struct loop){.tl = &tl, .deadline = t0 + timeout_s};
        l->fetch = calloc((size_t)(n / loops + 1), sizeof *l->fetch);
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (l->fetch == NULL || l->epfd == -1)
            wb_die("setting up a loop");
        for (int i = w; i < n; i += loops)
            l->fetch[l->count++] = (struct fetch){.index = i, .fd = -1, .url = urls[i]};
        l->pending = l->count;

        int err = pthread_create(&l->thread, NULL, run_loop, l);
        if (err != 0)
            wb_die_err(err, "pthread_create");
    }

    /* wait for every loop: only then are its counts and slots ours to read */
    int failed = 0;
    for (int w = 0; w < loops; w++) {
        int err = pthread_join(loop[w].thread, NULL);
        if (err != 0)
            wb_die_err(err, "pthread_join");
        failed += loop[w].failed;
        close(loop[w].epfd);
        free(loop[w].fetch);
    }
    double wall = wb_now() - t0;

    for (int w = 0; w < loops; w++)
        printf("loop %d served %d URLs, %d failed\n", w, loop[w].count, loop[w].failed);
    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);

    free(loop);
    wb_timeline_free(&tl);
    wb_urls_free(urls, n);
    return failed > 0 ? 1 : 0;
}
