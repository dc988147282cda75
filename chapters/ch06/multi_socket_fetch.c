/* multi_socket_fetch.c - libcurl's socket interface driven by our own epoll loops
 *
 * Talk: Q & A - why is the simple libcurl multi loop slow at ten thousand?
 * Usage: multi_socket_fetch [-q] [-n N] [-d MS] [-t SECONDS] [-c MAX] [-w LOOPS]
 *                           [URL...]
 * Shows: libcurl says which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 *        to wake it (CURLMOPT_TIMERFUNCTION); epoll watches, and we hand back only
 *        the ready socket (curl_multi_socket_action): O(ready), not O(open).
 *        libcurl's own CPU per transfer then bounds one loop: LOOPS threads
 *        (default: one per CPU), a multi handle each, the URLs dealt out among
 *        them like cards (next_url()), as loop_per_core.c deals them.
 *        A loop's state, its transfers started and finished: multi_transfers.h.
 * Compare: ch05/multi_fetch.c (curl_multi_poll looks at every transfer on
 *          every turn), fd_scaling.c (why), loop_per_core.c. Linux.
 */
#include "workbook.h"

#include "multi_transfers.h"

#include <curl/curl.h>
#include <getopt.h>
#include <pthread.h>
#include <sys/epoll.h>

/* ---- what libcurl asks of our loop ------------------------------------------ */

/* Watch socket s for what libcurl wants now, or stop watching it. `known` is
 * what we attached to s with curl_multi_assign(): NULL the first time. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *arg, void *known)
{
    struct loop *l = arg;
    (void)easy;

    if (what == CURL_POLL_REMOVE) {
        /* libcurl may have closed it already, which removed it from epoll */
        if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, s, NULL) == -1 && errno != EBADF)
            wb_die("epoll_ctl");
        return 0;
    }

    /* CURL_POLL_IN, _OUT and _INOUT (1, 2, 3) as epoll's bits */
    static const uint32_t wanted[4] = {0, EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT};
    struct epoll_event ev = {.events = wanted[what & 3], .data.fd = s};

    /* a socket we have not seen: add it; else change what it is watched for */
    int op = known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(l->epfd, op, s, &ev) == -1)
        wb_die("epoll_ctl");

    /* and mark it seen: libcurl hands l back as `known` from now on */
    CURLMcode mc = CURLM_OK;
    if (known == NULL)
        mc = curl_multi_assign(l->multi, s, l);
    if (mc != CURLM_OK)
        die_curl("curl_multi_assign", curl_multi_strerror(mc));
    return 0;
}

/* libcurl's next timeout: -1 none, 0 as soon as possible, else in ms. */
static int on_timer(CURLM *multi, long timeout_ms, void *arg)
{
    struct loop *l = arg;
    (void)multi;

    l->timer_at = timeout_ms < 0 ? 0 : wb_now() + (double)timeout_ms / 1000;
    return 0;
}

/* ---- one loop: sleep in epoll_wait, hand libcurl what woke us -------------- */
static void *run_loop(void *arg)
{
    struct loop *l = arg;
    struct epoll_event ev[256];
    CURLMsg *msg;
    int running, queued;

    start_more(l);
    while (l->active > 0) {
        /* sleep until a socket is ready or libcurl's timer is due */
        int ms = -1;
        double left = l->timer_at - wb_now();
        if (l->timer_at != 0)
            ms = left > 0 ? (int)(left * 1000) + 1 : 0;
        int ready = epoll_wait(l->epfd, ev, 256, ms);
        if (ready == -1 && errno != EINTR)
            wb_die("epoll_wait"); /* EINTR: a signal cut the wait short */

        /* each ready socket: tell libcurl which one, and how it is ready (a
         * failed transfer comes out of info_read below; a failed call means
         * libcurl itself cannot go on) */
        for (int k = 0; k < ready; k++) {
            int how = 0;
            if (ev[k].events & EPOLLIN)
                how |= CURL_CSELECT_IN;
            if (ev[k].events & EPOLLOUT)
                how |= CURL_CSELECT_OUT;
            if (ev[k].events & (EPOLLERR | EPOLLHUP))
                how |= CURL_CSELECT_ERR;

            int fd = ev[k].data.fd;
            CURLMcode mc = curl_multi_socket_action(l->multi, fd, how, &running);
            if (mc != CURLM_OK)
                die_curl("curl_multi_socket_action", curl_multi_strerror(mc));
        }

        /* the timer is due: libcurl checks its timeouts (and starts new handles) */
        if (l->timer_at != 0 && wb_now() >= l->timer_at) {
            l->timer_at = 0;
            CURLMcode mc =
                curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
            if (mc != CURLM_OK)
                die_curl("curl_multi_socket_action", curl_multi_strerror(mc));
        }

        /* the transfers that are over, each making room for the next URL */
        while ((msg = curl_multi_info_read(l->multi, &queued)) != NULL)
            if (msg->msg == CURLMSG_DONE)
                finish(l, msg->easy_handle, msg->data.result);
    }
    return NULL;
}

/* A loop's multi handle and epoll, and the two callbacks through which libcurl
 * asks the loop for what it needs. Only a libcurl too old to know these
 * options refuses them: checked once. */
static void open_loop(struct loop *l)
{
    l->multi = curl_multi_init();
    if (l->multi == NULL)
        wb_die_err(ENOMEM, "curl_multi_init");
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd == -1)
        wb_die("epoll_create1");

    int bad = curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    bad |= curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
    bad |= curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    bad |= curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
    if (bad != 0)
        die_curl("curl_multi_setopt", "this libcurl has no socket interface");
}

/* --help: all of this on stdout, exit 0; a bad option: line one on stderr, exit 2 */
static _Noreturn void usage(int status)
{
    fprintf(status ? stderr : stdout,
            "Usage: %s [-q] [-n N] [-d MS] [-t SECONDS] [-c MAX] [-w LOOPS] [URL...]\n",
            program_invocation_short_name);
    if (status == 0)
        printf(
            "\nFetch the URLs with libcurl's socket interface from LOOPS epoll loops,\n"
            "a thread each. With no URL, fetch N lab URLs, each answered after MS\n"
            "milliseconds. An HTTP status of 400 or more fails its URL.\n"
            "\n"
            "  -n N          how many lab URLs (default 10)\n"
            "  -d MS         the lab server's delay per URL (default 200)\n"
            "  -t SECONDS    give up on a URL not done after this long (default 10)\n"
            "  -c, --max MAX at most MAX transfers at once (default: all)\n"
            "  -w LOOPS      how many loops (default: one per CPU it may run on)\n"
            "  -q            no timeline, only the results\n");
    exit(status);
}

static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s,
                          int *max, int *loops)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {"max", required_argument, NULL, 'c'},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "qn:d:t:c:w:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, o))
            continue;
        switch (c) {
        case 't': *timeout_s = (int)wb_opt_long("-t", optarg, 1, 3600); break;
        case 'c': *max = (int)wb_opt_long("-c", optarg, 1, 100000); break;
        case 'w': *loops = (int)wb_opt_long("-w", optarg, 1, 1024); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
}

/* ---- main: libcurl as a guest in our loops, one per core -------------------- */
int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    int timeout_s = 10, max = 0, n;
    int loops = wb_cpus_allowed();
    parse_options(argc, argv, &o, &timeout_s, &max, &loops);
    wb_raise_fd_limit(0);
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_grow_fd_table(n + 64); /* a socket per URL at most, before the threads */
    wb_require_lab(urls, n);

    struct wb_timeline tl;
    wb_timeline_init(&tl, n);
    if (max > 0 && loops > max)
        loops = max; /* each loop holds one transfer at least */
    struct loop *loop = calloc((size_t)loops, sizeof *loop);
    if (loop == NULL)
        wb_die("calloc");

    /* libcurl once, before any thread or handle */
    CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cc != CURLE_OK)
        die_curl("curl_global_init", curl_easy_strerror(cc));
    double t0 = wb_now();

    /* each loop: its share of MAX (they add up to it), then its thread */
    for (int w = 0; w < loops; w++) {
        struct loop *l = &loop[w];
        *l = (struct loop){.id = w, .loops = loops, .urls = urls, .n = n, .tl = &tl};
        l->places = max > 0 ? max : n;
        l->share = max > 0 ? max / loops + (w < max % loops) : 0;
        l->timeout_s = timeout_s;
        open_loop(l);

        int err = pthread_create(&l->thread, NULL, run_loop, l);
        if (err != 0)
            wb_die_err(err, "pthread_create");
    }

    /* wait for every loop: only then are its counts ours to read */
    int failed = 0;
    for (int w = 0; w < loops; w++) {
        int err = pthread_join(loop[w].thread, NULL);
        if (err != 0)
            wb_die_err(err, "pthread_join");
        failed += loop[w].failed;
        curl_multi_cleanup(loop[w].multi);
        close(loop[w].epfd);
    }
    double wall = wb_now() - t0;

    for (int w = 0; w < loops; w++)
        printf("loop %d served %d URLs, %d failed\n", w, loop[w].served,
               loop[w].failed);
    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);

    curl_global_cleanup();
    free(loop);
    wb_timeline_free(&tl);
    wb_urls_free(urls, n);
    return failed > 0 ? 1 : 0;
}
