/* green_fetch.c - fetch every page at once with green threads, all on one OS thread
 *
 * Talk: parallel handling / gevent (spawn, wait, monkey.patch_all())
 * Usage: green_fetch [-q] [-n N] [-d MS] [URL...]
 * Shows: green threads (makecontext/swapcontext, stacks with a guard page), a hub owning an
 *        epoll set, and a plain blocking fetch() "monkey patched" by macros: its sockets are
 *        non-blocking, and connect, write and read park the green thread until epoll says
 *        ready. Macros, not ld's --wrap: the patch covers only fetch(), visibly, with no flags.
 * Compare: thread_fetch.c (an OS thread per URL), chapter 5's coroutines. Linux: epoll, gettid.
 */
#include "workbook.h"

#include <getopt.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <ucontext.h>

/* ASan must hear of every stack switch (GCC: __SANITIZE_ADDRESS__, clang: __has_feature). */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#include <sanitizer/common_interface_defs.h>
#else
#define __sanitizer_start_switch_fiber(fake, bottom, n) ((void)(fake), (void)(bottom), (void)(n))
#define __sanitizer_finish_switch_fiber(fake, bottom, n) ((void)(fake), (void)(bottom))
#endif

#define STACK_SIZE (256 * 1024) /* room for printf and getaddrinfo, even under ASan */
static const char usage[] = "Usage: green_fetch [-q] [-n N] [-d MS] [URL...]\n";

struct green {
    ucontext_t ctx;
    char *stack; /* STACK_SIZE bytes, with a guard page below */
    int done, i;
    const char *url;
};

struct hub {
    ucontext_t ctx;  /* the hub runs on main()'s own stack ... */
    const void *stack; /* ... which ASan tells us at the first switch */
    size_t stack_size;
    int ep, live, failed; /* the epoll set; green threads not finished; fetches failed */
    struct green *current;
    struct wb_timeline tl; /* each green thread writes its own row */
};

/* The patched calls keep their blocking signatures: they find the hub here, one per OS thread. */
static _Thread_local struct hub *the_hub;

/* Switch stacks, telling ASan which one runs next; returns once switched back. ASan's "fake
 * stack" (locals it keeps elsewhere) is saved in fake meanwhile, or freed on the last switch. */
static void switch_to(ucontext_t *from, ucontext_t *to, const void *stack, size_t size, int last)
{
    void *fake = NULL;
    __sanitizer_start_switch_fiber(last ? NULL : &fake, stack, size);
    if (swapcontext(from, to) == -1)
        wb_die("swapcontext");
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
}

/* Park the running green thread until fd is ready for events. 0, or -1 and errno. */
static int wait_fd(int fd, uint32_t events)
{
    struct hub *h = the_hub;
    struct epoll_event ev = {.events = events, .data.ptr = h->current};
    if (epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev) == -1)
        return -1;
    switch_to(&h->current->ctx, &h->ctx, h->stack, h->stack_size, 0); /* back when ready */
    return epoll_ctl(h->ep, EPOLL_CTL_DEL, fd, NULL);
}

/* ---- the patched calls: they block the green thread, never the OS thread ---- */
static int green_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int err;
    socklen_t errlen = sizeof err;
    if (connect(fd, addr, len) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR) /* EINTR: it goes on in the background */
        return -1;
    if (wait_fd(fd, EPOLLOUT) == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1)
        return -1;
    return (errno = err) ? -1 : 0; /* writable: connected (0), or failed and this is why */
}

/* read() into rbuf or write() from wbuf. EAGAIN: not ready, let the others run. EINTR: again.
 * The write is a send() with MSG_NOSIGNAL: to a peer that has gone, EPIPE and not SIGPIPE. */
static ssize_t green_io(int fd, void *rbuf, const void *wbuf, size_t len)
{
    ssize_t k;
    while ((k = rbuf ? read(fd, rbuf, len) : send(fd, wbuf, len, MSG_NOSIGNAL)) == -1 &&
           (errno == EAGAIN || errno == EINTR))
        if (errno == EAGAIN && wait_fd(fd, rbuf ? EPOLLIN : EPOLLOUT) == -1)
            return -1;
    return k;
}

/* monkey.patch_all(), in C, until the #undef (inside its own macro, socket() is the real one) */
#define socket(domain, type, proto) socket(domain, (type) | SOCK_NONBLOCK, proto)
#define connect(fd, addr, len) green_connect(fd, addr, len)
#define read(fd, buf, len) green_io(fd, buf, NULL, len)
#define write(fd, buf, len) green_io(fd, NULL, buf, len)

/* An ordinary blocking HTTP/1.0 GET: 0 and the body size, or -1 (or errno) and the reason
 * in why. getaddrinfo() is not patched: for 127.0.0.1 or localhost it answers at once. */
static int fetch(const char *url, long long *bytes, char *why, size_t whylen)
{
    char host[256], port[16], req[2048], head[2048], body[4096];
    const char *path;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
    int n = wb_split_url(url, host, sizeof host, port, sizeof port, &path) == -1 ? -1
            : snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host);
    if (n < 0 || n >= (int)sizeof req) /* malformed, or cut short: never send half a request */
        return snprintf(why, whylen, n < 0 ? "not an http:// URL" : "URL too long"), -1;
    int e = getaddrinfo(host, port, &hints, &ai);
    if (e != 0)
        return snprintf(why, whylen, "%s", gai_strerror(e)), -1;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    e = fd == -1 || connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 ? errno : 0;
    freeaddrinfo(ai);
    for (ssize_t k, sent = 0; e == 0 && sent < n; sent += k) /* a short write: send the rest */
        if ((k = write(fd, req + sent, (size_t)(n - sent))) == -1)
            e = errno;
    size_t kept = 0; /* the first bytes go to head, to find the status and the body */
    *bytes = 0;
    for (ssize_t k = 1; e == 0 && k > 0; *bytes += k > 0 ? k : 0) { /* to EOF: HTTP/1.0 */
        int in_head = kept < sizeof head - 1;
        k = read(fd, in_head ? head + kept : body, in_head ? sizeof head - 1 - kept : sizeof body);
        e = k == -1 ? errno : 0;
        kept += in_head && k > 0 ? (size_t)k : 0;
    }
    if (fd != -1 && close(fd) == -1 && e == 0)
        e = errno;
    if (e != 0)
        return snprintf(why, whylen, "%s", strerror(e)), e;
    head[kept] = '\0';
    char *end = strstr(head, "\r\n\r\n");
    int status = 0; /* 400 and up fail, as urlopen raises HTTPError */
    if (!end || sscanf(head, "HTTP/%*d.%*d %d", &status) != 1 || status >= 400)
        return snprintf(why, whylen, status ? "HTTP error %d" : "not HTTP", status), -1;
    *bytes -= end + 4 - head;
    return 0;
}

#undef socket
#undef connect
#undef read
#undef write

/* Every green thread starts here, on its own stack: the talk's fetch_content(url). */
static void green_main(void)
{
    struct hub *h = the_hub;
    struct green *g = h->current;
    __sanitizer_finish_switch_fiber(NULL, &h->stack, &h->stack_size); /* main()'s stack */
    char why[256];
    long long bytes;
    wb_task_begin(&h->tl, g->i);
    int err = fetch(g->url, &bytes, why, sizeof why);
    wb_task_end(&h->tl, g->i);
    if (err == 0)
        printf("[%d] %lld bytes in %.3f s  %s  (OS thread %d)\n", g->i, bytes,
               h->tl.span[g->i].end - h->tl.span[g->i].start, g->url, (int)gettid());
    else
        fprintf(stderr, "green_fetch: %s: %s\n", g->url, why);
    h->failed += err != 0;
    g->done = 1; /* main() frees the stacks: we cannot, we are standing on ours */
    switch_to(&g->ctx, &h->ctx, h->stack, h->stack_size, 1);
}

static void resume(struct hub *h, struct green *g) /* run g until it waits or ends */
{
    h->current = g;
    switch_to(&h->ctx, &g->ctx, g->stack, STACK_SIZE, 0);
    h->live -= g->done;
}

/* gevent.spawn(): a context on g's stack, below which a guard page (an overflow
 * faults instead of silently writing over the next stack). It runs at once. */
static void spawn(struct hub *h, struct green *g, size_t page)
{
    if (mprotect(g->stack - page, page, PROT_NONE) == -1 || getcontext(&g->ctx) == -1)
        wb_die("spawn");
    g->ctx.uc_stack = (stack_t){.ss_sp = g->stack, .ss_size = STACK_SIZE};
    g->ctx.uc_link = NULL; /* green_main() never returns */
    makecontext(&g->ctx, green_main, 0);
    h->live++;
    resume(h, g);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    struct wb_opts o = WB_OPTS_INIT;
    int c;
    while ((c = getopt_long(argc, argv, "qn:d:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, &o))
            continue;
        if (c == 'h') {
            printf("%s\nFetches every URL in its own green thread, all on one OS thread, which\n"
                   "sleeps in epoll_wait() while they all wait.  -q: no timeline\n", usage);
            return 0;
        }
        fputs(usage, stderr);
        return 2;
    }
    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    struct rlimit rl; /* a socket per green thread: open files up to the hard limit */
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1 ||
        setrlimit(RLIMIT_NOFILE, &(struct rlimit){rl.rlim_max, rl.rlim_max}) == -1)
        wb_die("RLIMIT_NOFILE");
    /* All the stacks in one mapping: slot i is a guard page, then green thread i's stack. */
    size_t page = (size_t)sysconf(_SC_PAGESIZE), slot = page + STACK_SIZE;
    char *stacks = mmap(NULL, slot * (size_t)n, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    struct green *greens = calloc((size_t)n, sizeof *greens);
    struct hub h = {.ep = epoll_create1(EPOLL_CLOEXEC)};
    if (stacks == MAP_FAILED || !greens || h.ep == -1)
        wb_die("set-up");
    the_hub = &h;
    wb_timeline_init(&h.tl, n);
    double begin = wb_now();
    for (int i = 0; i < n; i++) {
        greens[i] = (struct green){.i = i, .url = urls[i], .stack = stacks + i * slot + page};
        spawn(&h, &greens[i], page);
    }
    struct epoll_event evs[64];
    while (h.live > 0) { /* gevent.wait(): sleep until sockets are ready, resume their owners */
        int k = epoll_wait(h.ep, evs, 64, -1);
        if (k == -1 && errno != EINTR) /* EINTR: a signal woke us; wait again */
            wb_die("epoll_wait");
        for (int i = 0; i < k; i++) /* a green thread waits on one socket at a time */
            resume(&h, evs[i].data.ptr);
    }
    wb_used_time(wb_now() - begin);
    if (!o.quiet)
        wb_timeline_print(&h.tl, stdout);
    if (h.failed == n && optind == argc) /* not one lab URL worked: is the server up? */
        wb_lab_hint();
    if (munmap(stacks, slot * (size_t)n) == -1 || close(h.ep) == -1)
        wb_die("clean-up");
    wb_timeline_free(&h.tl);
    free(greens);
    wb_urls_free(urls, n);
    return h.failed ? 1 : 0;
}
