/* loop_per_core.c - one epoll event loop per CPU, the URLs dealt out among them
 *
 * Talk: Q & A - one event loop, or one per core?
 * Usage: loop_per_core [-q] [-n N] [-d MS] [-t SECONDS] [-w LOOPS] [URL...]
 * Shows: LOOPS threads (default: one per CPU this process may run on), each with
 *        its own epoll and its own connections, as nginx's workers and memcached's
 *        threads do: URL i goes to loop i % LOOPS and stays there, so the hot path
 *        takes no lock. A loop and the steps of its fetches: loop_fetch.h.
 * Compare: ch05/callback_crawler.c (one loop), multi_socket_fetch.c. Linux.
 */
#include "workbook.h"

#include "loop_fetch.h"

#include <getopt.h>
#include <pthread.h>

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
        printf("\nFetch the URLs from LOOPS event loops, a thread each (default: one\n"
               "per CPU this process may run on). With no URL, N lab URLs (10) of MS\n"
               "ms (200). -t: give up on a URL after SECONDS (10). -q: no timeline.\n");
    exit(status);
}

static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s,
                          int *loops)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "qn:d:t:w:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, o))
            continue;
        switch (c) {
        case 't': *timeout_s = (int)wb_opt_long("-t", optarg, 1, 3600); break;
        case 'w': *loops = (int)wb_opt_long("-w", optarg, 1, 1024); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
}

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    int timeout_s = 10, n;
    int loops = wb_cpus_allowed();
    parse_options(argc, argv, &o, &timeout_s, &loops);
    wb_raise_fd_limit(0);
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_grow_fd_table(n + 64); /* a socket per URL at most, before the threads */
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
