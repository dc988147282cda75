/* coroutine_crawler.c - fetch every URL at once, a coroutine each, on one thread
 *
 * Talk: asynchronous programming / refactor the before example code (asyncio wget)
 * Usage: coroutine_crawler [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
 * Shows: the talk's wget() (open_connection, write + drain, readline to the
 *        blank line, then the body counted to the end) as one stackless
 *        coroutine per URL, and an epoll loop that retries what each socket
 *        was waiting for. It runs on the Future, Task and macros of
 *        coro_task.c / coro_task.h (the same as coroutine_loop.c's), and its
 *        awaits are asyncio's streams, in coro_stream.c. Rules of the
 *        coroutine macros (coro_task.h): locals do not survive an await, so
 *        a fetch's state lives in struct fetch; no yield inside a nested
 *        switch; one await per line; only wget() itself awaits. Linux.
 * Compare: coroutine_loop.c (Future and Task alone), callback_crawler.c
 *          (callbacks: "stack ripping"), ch03/green_fetch.c (stackful).
 */
#include "workbook.h"

#include "coro_stream.h"
#include "coro_task.h"

#include <getopt.h>
#include <sys/epoll.h>

/* A task's frame: everything wget() keeps across its awaits. */
struct fetch {
    struct task task; /* wget()'s resume point and the future it awaits */
    const char *url;
    struct stream s; /* the connection: socket, buffers, pending operation */
    double began, ended;
};

struct options {
    struct wb_opts common; /* -q, -n N, -d MS */
    int timeout_s;         /* -t SECONDS */
};

static int parse_options(int argc, char **argv, struct options *opt);

/* The talk's wget(), line for line; main() reports how each one ended. */
static struct future *wget(struct task *t)
{
    struct fetch *f = t->frame;

    CO_BEGIN(t);

    /* reader, writer = yield from asyncio.open_connection(host, 80) */
    CO_AWAIT(t, open_connection(&f->s, f->url));

    /* writer.write(header); yield from writer.drain() */
    CO_AWAIT(t, stream_drain(&f->s));

    /* while True: line = yield from reader.readline(); if line == b'\r\n': break */
    do {
        CO_AWAIT(t, stream_readline(&f->s));
    } while (f->s.buf[0] != '\r' && f->s.buf[0] != '\n');

    /* the body, until the server closes (the talk's cell leaves it unread) */
    CO_AWAIT(t, stream_read(&f->s));

out:
    /* writer.close(), which also takes the socket out of the epoll set */
    f->ended = wb_now();
    stream_close(&f->s);
    CO_END(t, NULL);
}

/* loop.run_until_complete(asyncio.wait(tasks)): retry the pending operation
 * of each ready socket until every task has ended. All fetches start
 * together with one time limit, so their deadlines come in array order: the
 * earliest one pending is the first unfinished fetch's, and a cursor serves
 * instead of a heap of timers. `late` is what a fetch that runs out of time
 * reports. */
static void run_until_complete(int epfd, struct fetch *f, int n, int limit,
                               const char *late)
{
    struct epoll_event ev[256];
    int oldest = 0;

    for (;;) {
        /* the oldest fetch still pending; none left: every task has ended */
        while (oldest < n && f[oldest].s.io == NULL)
            oldest++;
        if (oldest == n)
            return;

        /* sleep until a socket is ready, or that fetch's time is up */
        int ms = (int)((f[oldest].began + limit - wb_now()) * 1000.0) + 1;
        if (ms < 0)
            ms = 0;
        int ready = epoll_wait(epfd, ev, 256, ms);

        /* EINTR: a signal came while it slept, so go round again */
        if (ready == -1 && errno != EINTR)
            wb_die("epoll_wait");

        /* retry the operation of each ready socket (an edge may also come
         * while nothing is pending) */
        for (int k = 0; k < ready; k++) {
            struct stream *s = ev[k].data.ptr;
            if (s->io != NULL)
                stream_complete(s, s->io(s));
        }

        /* time is up for these: fail their futures, with a reason that names
         * the -t limit (ETIMEDOUT alone would read as a network fault); each
         * task resumes at out */
        double now = wb_now();
        for (int i = oldest; i < n && f[i].began + limit <= now; i++) {
            if (f[i].s.io == NULL)
                continue;
            f[i].s.why = late;
            stream_complete(&f[i].s, -ETIMEDOUT);
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

    /* what a fetch still under way when -t runs out reports */
    char late[64];
    snprintf(late, sizeof late, "no complete answer within %d s (-t)", opt.timeout_s);

    /* tasks = [Task(wget(url)) for url in urls]: each runs to its first await */
    double start = wb_now();
    for (int i = 0; i < n; i++) {
        f[i] = (struct fetch){.url = urls[i]};
        f[i].task = (struct task){.coro = wget, .frame = &f[i]};
        f[i].s = (struct stream){.fd = -1, .epfd = epfd};
        f[i].began = wb_now();
        task_step(&f[i].task);
    }
    run_until_complete(epfd, f, n, opt.timeout_s, late);
    double wall = wb_now() - start;

    /* the outcomes, in order; a failure says why, or errno does */
    struct wb_timeline tl;
    wb_timeline_init(&tl, n);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        wb_span_set(&tl, i, f[i].began, f[i].ended);
        if (f[i].s.fut.result >= 0) {
            wb_result(i, (long long)f[i].s.bytes, wb_task_seconds(&tl, i), urls[i]);
            continue;
        }

        const char *why = f[i].s.why;
        if (why == NULL)
            why = strerror((int)-f[i].s.fut.result);
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
    if (close(epfd) == -1)
        wb_die("close");
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
