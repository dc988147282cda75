/* green_fetch.c - fetch every page at once with green threads, all on one OS thread
 *
 * Talk: parallel handling / gevent (spawn, wait, monkey.patch_all())
 * Usage: green_fetch [-q] [-n N] [-d MS] [URL...]
 * Shows: green_switch.c's green threads, with a hub that owns an epoll set, and a
 *        plain blocking fetch() "monkey patched" by macros: its sockets are
 *        non-blocking, and connect, write and read park the green thread until
 *        epoll says ready. Macros, not ld's --wrap: the patch covers only fetch().
 * Compare: green_switch.c (the switching alone), thread_fetch.c (an OS thread per
 *          URL), chapter 5's coroutines. Linux: epoll, gettid.
 */
#include "workbook.h"

#include <getopt.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <ucontext.h>

/* room for printf and getaddrinfo, even under AddressSanitizer */
#define STACK_SIZE (256 * 1024)
#define WHY_SIZE 256

static void parse_options(int argc, char **argv, struct wb_opts *o);

/* AddressSanitizer must hear of every stack switch, as in green_switch.c */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#include <sanitizer/common_interface_defs.h>
#else
#define __sanitizer_start_switch_fiber(fake_save, bottom, size) ((void)(fake_save))
#define __sanitizer_finish_switch_fiber(fake, bottom_old, size_old) ((void)(fake))
#endif

struct green {
    ucontext_t ctx;
    char *stack; /* STACK_SIZE bytes, with a guard page below */
    int i, done;
    const char *url;
};

/* The hub runs on main()'s stack and waits for every green thread's socket. */
struct hub {
    ucontext_t ctx;
    const void *stack; /* main()'s, as ASan tells us at the first switch */
    size_t stack_size;
    struct green *current;
    int ep;     /* the epoll set */
    int live;   /* green threads not finished */
    int failed; /* fetches that failed */
    struct wb_timeline tl;
};

/* The patched calls keep their blocking signatures: they find the hub here. */
static _Thread_local struct hub *the_hub;

/* the two ways to switch stacks, as in green_switch.c */
static void to_green(struct hub *h, struct green *g)
{
    void *fake = NULL;

    __sanitizer_start_switch_fiber(&fake, g->stack, STACK_SIZE);
    if (swapcontext(&h->ctx, &g->ctx) == -1)
        wb_die("swapcontext");
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
}

static void to_hub(struct hub *h, struct green *g, int last)
{
    void *fake = NULL;

    __sanitizer_start_switch_fiber(last ? NULL : &fake, h->stack, h->stack_size);
    if (swapcontext(&g->ctx, &h->ctx) == -1)
        wb_die("swapcontext");
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
}

/* Park the running green thread until fd is ready for events: the hub goes on
 * with the others and switches back when epoll says so. 0, or -1 and errno. */
static int wait_fd(int fd, uint32_t events)
{
    struct hub *h = the_hub;
    struct epoll_event ev = {.events = events, .data.ptr = h->current};

    if (epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev) == -1)
        return -1;
    to_hub(h, h->current, 0);
    return epoll_ctl(h->ep, EPOLL_CTL_DEL, fd, NULL);
}

/* ---- the patched calls: they block the green thread, never the OS thread ---- */

static int green_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int err;
    socklen_t errlen = sizeof err;

    /* EINTR: the connection goes on in the background, as with EINPROGRESS */
    if (connect(fd, addr, len) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR)
        return -1;

    /* writable: connected, or failed, and SO_ERROR says why */
    if (wait_fd(fd, EPOLLOUT) == -1)
        return -1;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1)
        return -1;
    errno = err;
    return err == 0 ? 0 : -1;
}

/* read() into rbuf, or write() from wbuf as a send() with MSG_NOSIGNAL (to a
 * peer that has gone: EPIPE for this fetch, not SIGPIPE for the program).
 * EAGAIN: not ready, let the others run until it is. EINTR: try again. */
static ssize_t green_io(int fd, void *rbuf, const void *wbuf, size_t len)
{
    for (;;) {
        ssize_t k;
        if (rbuf != NULL)
            k = read(fd, rbuf, len);
        else
            k = send(fd, wbuf, len, MSG_NOSIGNAL);
        if (k >= 0 || (errno != EAGAIN && errno != EINTR))
            return k;
        if (errno == EAGAIN && wait_fd(fd, rbuf != NULL ? EPOLLIN : EPOLLOUT) == -1)
            return -1;
    }
}

/* monkey.patch_all(), in C, down to the #undef. (Inside its own macro, socket()
 * is the real one: a macro is not expanded again within itself.) */
#define socket(domain, type, proto) socket(domain, (type) | SOCK_NONBLOCK, proto)
#define connect(fd, addr, len) green_connect(fd, addr, len)
#define read(fd, buf, len) green_io(fd, buf, NULL, len)
#define write(fd, buf, len) green_io(fd, NULL, buf, len)

/* ---- ordinary blocking code, as the talk's fetch_content ---- */

static int fail(char *why, const char *reason)
{
    snprintf(why, WHY_SIZE, "%s", reason);
    return -1;
}

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
        close(fd); /* never connected: nothing to lose */
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
 * find the status and where the body starts: 0 and the body's size, or -1. */
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

    /* the status: 400 and up fail, as urlopen raises HTTPError */
    head[kept] = '\0';
    char *end = strstr(head, "\r\n\r\n");
    int status = 0;
    if (end == NULL || sscanf(head, "HTTP/%*d.%*d %d", &status) != 1)
        return fail(why, "not HTTP");
    if (status >= 400) {
        snprintf(why, WHY_SIZE, "HTTP error %d", status);
        return -1;
    }
    *bytes += (long long)kept - (end + 4 - head);
    return 0;
}

/* A blocking HTTP/1.0 GET: 0 and the body's size, or -1 and the reason in why. */
static int fetch(const char *url, long long *bytes, char *why)
{
    char host[256], port[16], req[2048];
    const char *path;

    /* the request, whole or not at all */
    if (wb_split_url(url, host, sizeof host, port, sizeof port, &path) == -1)
        return fail(why, "not an http:// URL");
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

/* ---- the green threads and their hub, as in green_switch.c ---- */

/* Every green thread starts here, on its own stack: the talk's fetch_content(). */
static void green_main(void)
{
    struct hub *h = the_hub;
    struct green *g = h->current;
    char why[WHY_SIZE];
    long long bytes = 0;

    /* the first switch onto this stack: ASan says where the hub's is */
    __sanitizer_finish_switch_fiber(NULL, &h->stack, &h->stack_size);

    wb_task_begin(&h->tl, g->i);
    int rc = fetch(g->url, &bytes, why);
    wb_task_end(&h->tl, g->i);
    if (rc == 0) {
        printf("[%d] %lld bytes in %.3f s  %s  (OS thread %d)\n", g->i, bytes,
               wb_task_seconds(&h->tl, g->i), g->url, (int)gettid());
    } else {
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, g->url, why);
        wb_task_failed(&h->tl, g->i);
        h->failed++;
    }

    /* done: back to the hub for good (main() frees our stack, we stand on it) */
    g->done = 1;
    to_hub(h, g, 1);
}

/* Run g until it waits or ends. */
static void resume(struct hub *h, struct green *g)
{
    h->current = g;
    to_green(h, g);
    if (g->done)
        h->live--;
}

/* gevent.spawn(): a context on g's stack, a guard page below it; it runs at
 * once, until it first has to wait. */
static void spawn(struct hub *h, struct green *g, size_t page)
{
    if (mprotect(g->stack - page, page, PROT_NONE) == -1)
        wb_die("mprotect");
    if (getcontext(&g->ctx) == -1)
        wb_die("getcontext");
    g->ctx.uc_stack.ss_sp = g->stack;
    g->ctx.uc_stack.ss_size = STACK_SIZE;
    g->ctx.uc_link = NULL; /* green_main() never returns */
    makecontext(&g->ctx, green_main, 0);
    h->live++;
    resume(h, g);
}

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    parse_options(argc, argv, &o);

    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_require_lab(urls, n);
    wb_raise_fd_limit(1); /* a socket per green thread */

    /* all the stacks in one mapping: slot i is a guard page, then stack i */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t slot = page + STACK_SIZE;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE;
    char *stacks = mmap(NULL, slot * (size_t)n, PROT_READ | PROT_WRITE, flags, -1, 0);
    struct green *greens = calloc((size_t)n, sizeof *greens);
    struct hub h = {.ep = epoll_create1(EPOLL_CLOEXEC)};
    if (stacks == MAP_FAILED || greens == NULL || h.ep == -1)
        wb_die("set-up");
    the_hub = &h;
    wb_timeline_init(&h.tl, n);

    /* gevent.spawn() for every URL */
    double begin = wb_now();
    for (int i = 0; i < n; i++) {
        greens[i].i = i;
        greens[i].url = urls[i];
        greens[i].stack = stacks + (size_t)i * slot + page;
        spawn(&h, &greens[i], page);
    }

    /* gevent.wait(): sleep until sockets are ready, resume their green threads
     * (EINTR: a signal woke us first, wait again) */
    struct epoll_event evs[64];
    while (h.live > 0) {
        int k = epoll_wait(h.ep, evs, 64, -1);
        if (k == -1 && errno != EINTR)
            wb_die("epoll_wait");
        for (int i = 0; i < k; i++)
            resume(&h, evs[i].data.ptr);
    }
    wb_used_time(wb_now() - begin);
    if (!o.quiet)
        wb_timeline_print(&h.tl, stdout);

    if (munmap(stacks, slot * (size_t)n) == -1 || close(h.ep) == -1)
        wb_die("clean-up");
    wb_timeline_free(&h.tl);
    free(greens);
    wb_urls_free(urls, n);
    return h.failed > 0 ? 1 : 0;
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
