/* green_fetch.c - fetch every page at once with green threads, all on one OS thread
 *
 * Talk: parallel handling / gevent (spawn, wait, monkey.patch_all())
 * Usage: green_fetch [-q] [-n N] [-d MS] [URL...]
 * Shows: a plain blocking fetch() "monkey patched" by macros: its sockets are
 *        non-blocking, and connect, write and read become green_socket.c's
 *        calls, which park the green thread in the hub's epoll set until it is
 *        ready. One green thread per URL (green.c, as in green_switch.c); the
 *        hub sleeps in epoll_wait(). Macros, not ld's --wrap: the patch covers
 *        only fetch().
 * Compare: green_switch.c (the switching alone), thread_fetch.c (an OS thread per
 *          URL), chapter 5's coroutines. Linux: epoll, gettid.
 */
#include "workbook.h"

#include "green.h"
#include "green_socket.h"

/* fail(), and what a URL or an answer says: HTTP/1.0's text, with no I/O */
#include "http_parse.h"

#include <getopt.h>
#include <netdb.h>
#include <sys/socket.h>

static void parse_options(int argc, char **argv, struct wb_opts *o);

/* What every green thread's fetch_content() shares: green_spawn() hands it over. */
struct crawl {
    /* green thread i fetches urls[i] */
    char **urls;
    struct wb_timeline tl;

    /* how many fetches failed */
    int failed;
};

/* monkey.patch_all(), in C, down to the #undef: in the code between, these
 * names mean green_socket.c's calls, which block the green thread only.
 * (Inside its own macro, socket() is the real one: a macro is not expanded
 * again within itself.) */
#define socket(domain, type, proto) socket(domain, (type) | SOCK_NONBLOCK, proto)
#define connect(fd, addr, len) green_connect(fd, addr, len)
#define read(fd, buf, len) green_io(fd, buf, NULL, len)
#define write(fd, buf, len) green_io(fd, NULL, buf, len)

/* ---- ordinary blocking code, as the talk's fetch_content ---- */

/* A connected socket, or -1 and the reason in why. getaddrinfo() is not
 * patched: for 127.0.0.1 or localhost it answers at once. */
static int dial(const char *host, const char *port, char *why)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai;
    int e = getaddrinfo(host, port, &hints, &ai);
    if (e != 0)
        return fail(why, gai_strerror(e));

    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd == -1) {
        fail(why, strerror(errno));
    } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
        fail(why, strerror(errno));
        /* never connected: nothing to lose */
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Send all of buf: a write can be cut short, so send the rest. */
static int send_all(int fd, const char *buf, size_t len, char *why)
{
    size_t sent = 0;

    while (sent < len) {
        ssize_t k = write(fd, buf + sent, len - sent);
        if (k == -1)
            return fail(why, strerror(errno));
        sent += (size_t)k;
    }
    return 0;
}

/* Read the answer to EOF (HTTP/1.0 ends it so), the first bytes into head to
 * check the status and the body's length: 0 and the body's size, or -1. */
static int read_answer(int fd, long long *bytes, char *why)
{
    char head[2048], rest[4096];
    size_t kept = 0;
    ssize_t k = 1;

    while (k > 0 && kept < sizeof head - 1) {
        k = read(fd, head + kept, sizeof head - 1 - kept);
        if (k > 0)
            kept += (size_t)k;
    }
    *bytes = 0;
    while (k > 0) {
        k = read(fd, rest, sizeof rest);
        if (k > 0)
            *bytes += k;
    }
    if (k == -1)
        return fail(why, strerror(errno));

    /* the status, the header and the body's length (http_parse.h) */
    return check_answer(head, kept, sizeof head, bytes, why);
}

/* A blocking HTTP/1.0 GET: 0 and the body's size, or -1 and the reason in why. */
static int fetch(const char *url, long long *bytes, char *why)
{
    char host[256], port[16], req[2048];
    const char *path;

    /* the request, whole or not at all */
    if (wb_split_url(url, host, sizeof host, port, sizeof port, &path) == -1)
        return fail(why, url_problem(url));
    int n =
        snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host);
    if (n >= (int)sizeof req)
        return fail(why, "URL too long");

    /* connect, send it, read the answer */
    int fd = dial(host, port, why);
    if (fd == -1)
        return -1;
    int rc = send_all(fd, req, (size_t)n, why);
    if (rc == 0)
        rc = read_answer(fd, bytes, why);
    if (close(fd) == -1 && rc == 0)
        rc = fail(why, strerror(errno));
    return rc;
}

#undef socket
#undef connect
#undef read
#undef write

/* ---- the green threads and their hub ---- */

/* Every green thread runs this on its own stack: the talk's fetch_content(). */
static void fetch_content(struct green *g)
{
    struct crawl *c = g->arg;
    const char *url = c->urls[g->i];
    char why[WHY_SIZE];
    long long bytes = 0;

    /* the fetch, timed; it switches to the hub at every wait */
    wb_task_begin(&c->tl, g->i);
    int rc = fetch(url, &bytes, why);
    wb_task_end(&c->tl, g->i);

    /* its result line, or why it failed */
    if (rc == 0) {
        printf("[%d] %lld bytes in %.3f s  %s  (OS thread %d)\n", g->i, bytes,
               wb_task_seconds(&c->tl, g->i), url, (int)gettid());
    } else {
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, url, why);
        wb_task_failed(&c->tl, g->i);
        c->failed++;
    }
}

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    parse_options(argc, argv, &o);

    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_require_lab(urls, n);

    /* a socket per green thread */
    wb_raise_fd_limit(1);

    /* the hub with its epoll set, where the patched calls wait; the shared record */
    struct hub h;
    hub_init(&h, n, fetch_content);
    hub_watch_sockets(&h);
    struct crawl c = {.urls = urls};
    wb_timeline_init(&c.tl, n);

    /* gevent.spawn() for every URL: each runs at once, until it first waits */
    double begin = wb_now();
    for (int i = 0; i < n; i++) {
        green_spawn(&h, i, &c);
        green_resume(&h, &h.greens[i]);
    }

    /* gevent.wait(): the hub sleeps in epoll_wait() until every one is done */
    hub_wait(&h);
    wb_used_time(wb_now() - begin);
    if (!o.quiet)
        wb_timeline_print(&c.tl, stdout);

    /* clean up: every green thread is done */
    hub_free(&h);
    wb_timeline_free(&c.tl);
    wb_urls_free(urls, n);
    return c.failed > 0 ? 1 : 0;
}

/* ---- the command line ---- */

static _Noreturn void usage(int status)
{
    fputs("Usage: green_fetch [-q] [-n N] [-d MS] [URL...]\n",
          status == 0 ? stdout : stderr);
    if (status == 0)
        printf("\nFetches every URL in its own green thread, all on one OS thread,\n"
               "which sleeps in epoll_wait() while they all wait.\n\n"
               "  -n N   how many lab URLs (default 10)\n"
               "  -d MS  the lab server's delay per URL (default 200)\n"
               "  -q     no timeline, only the results\n");
    exit(status);
}

/* -q, -n and -d are the options every fetch program shares (workbook.h). */
static void parse_options(int argc, char **argv, struct wb_opts *o)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "qn:d:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, o))
            continue;
        switch (c) {
        case 'h': usage(0);
        default: usage(2);
        }
    }
}
