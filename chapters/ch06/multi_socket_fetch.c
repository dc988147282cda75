/* multi_socket_fetch.c - libcurl's socket interface driven by our own epoll loop
 *
 * Talk: Q & A - why is the simple libcurl multi loop slow at ten thousand?
 * Usage: multi_socket_fetch [-q] [-n N] [-d MS] [-t SECONDS] [-c MAX] [URL...]
 * Shows: libcurl says which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 *        to wake it (CURLMOPT_TIMERFUNCTION); epoll watches, and we hand back only
 *        the ready socket (curl_multi_socket_action): O(ready), not O(open).
 *        The run's state and its transfers started and finished, as in
 *        ch05/multi_fetch.c: multi_transfers.h.
 * Compare: ch05/multi_fetch.c (curl_multi_poll looks at every transfer on
 *          every turn), fd_scaling.c (why), loop_per_core.c. Linux.
 */
#include "workbook.h"

#include "multi_transfers.h"

#include <curl/curl.h>
#include <getopt.h>
#include <sys/epoll.h>

/* ---- what libcurl asks of our loop ------------------------------------------ */

/* Watch socket s for what libcurl wants now, or stop watching it. `known` is
 * what we attached to s with curl_multi_assign(): NULL the first time. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *arg, void *known)
{
    struct run *r = arg;
    (void)easy;

    if (what == CURL_POLL_REMOVE) {
        /* libcurl may have closed it already, which removed it from epoll */
        if (epoll_ctl(r->epfd, EPOLL_CTL_DEL, s, NULL) == -1 && errno != EBADF)
            wb_die("epoll_ctl");
        return 0;
    }

    /* CURL_POLL_IN, _OUT and _INOUT (1, 2, 3) as epoll's bits */
    static const uint32_t wanted[4] = {0, EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT};
    struct epoll_event ev = {.events = wanted[what & 3], .data.fd = s};

    /* a socket we have not seen: add it; else change what it is watched for */
    int op = known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(r->epfd, op, s, &ev) == -1)
        wb_die("epoll_ctl");

    /* and mark it seen: libcurl hands r back as `known` from now on */
    CURLMcode mc = CURLM_OK;
    if (known == NULL)
        mc = curl_multi_assign(r->multi, s, r);
    if (mc != CURLM_OK)
        die_curl("curl_multi_assign", curl_multi_strerror(mc));
    return 0;
}

/* libcurl's next timeout: -1 none, 0 as soon as possible, else in ms. */
static int on_timer(CURLM *multi, long timeout_ms, void *arg)
{
    struct run *r = arg;
    (void)multi;

    r->timer_at = timeout_ms < 0 ? 0 : wb_now() + (double)timeout_ms / 1000;
    return 0;
}

/* ---- the loop: sleep in epoll_wait, hand libcurl what woke us --------------- */
static void run_loop(struct run *r)
{
    struct epoll_event ev[256];
    CURLMsg *msg;
    int running, queued;

    while (r->active > 0) {
        /* sleep until a socket is ready or libcurl's timer is due */
        int ms = -1;
        double left = r->timer_at - wb_now();
        if (r->timer_at != 0)
            ms = left > 0 ? (int)(left * 1000) + 1 : 0;
        int ready = epoll_wait(r->epfd, ev, 256, ms);
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
            CURLMcode mc = curl_multi_socket_action(r->multi, fd, how, &running);
            if (mc != CURLM_OK)
                die_curl("curl_multi_socket_action", curl_multi_strerror(mc));
        }

        /* the timer is due: libcurl checks its timeouts (and starts new handles) */
        if (r->timer_at != 0 && wb_now() >= r->timer_at) {
            r->timer_at = 0;
            CURLMcode mc =
                curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
            if (mc != CURLM_OK)
                die_curl("curl_multi_socket_action", curl_multi_strerror(mc));
        }

        /* the transfers that are over, each making room for the next URL */
        while ((msg = curl_multi_info_read(r->multi, &queued)) != NULL)
            if (msg->msg == CURLMSG_DONE)
                finish(r, msg->easy_handle, msg->data.result);
    }
}

/* --help: all of this on stdout, exit 0; a bad option: line one on stderr, exit 2 */
static _Noreturn void usage(int status)
{
    fprintf(status ? stderr : stdout,
            "Usage: %s [-q] [-n N] [-d MS] [-t SECONDS] [-c MAX] [URL...]\n",
            program_invocation_short_name);
    if (status == 0)
        printf(
            "\nFetch the URLs with libcurl's socket interface from one epoll loop;\n"
            "with no URL, N lab URLs (10) of MS ms (200). -t: give up after SECONDS\n"
            "(10). -c, --max: MAX transfers at once (all). -q: no timeline.\n");
    exit(status);
}

static void parse_options(int argc, char **argv, struct wb_opts *o, struct run *r)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {"max", required_argument, NULL, 'c'},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "qn:d:t:c:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, o))
            continue;
        switch (c) {
        case 't': r->timeout_s = (int)wb_opt_long("-t", optarg, 1, 3600); break;
        case 'c': r->max = (int)wb_opt_long("-c", optarg, 1, 100000); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
}

/* ---- main: libcurl as a guest in our loop ----------------------------------- */
int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    struct run r = {.timeout_s = 10};
    parse_options(argc, argv, &o, &r);
    wb_raise_fd_limit(0);
    r.urls = wb_urls(argc - optind, argv + optind, &o, &r.n);
    wb_require_lab(r.urls, r.n);
    wb_timeline_init(&r.tl, r.n);

    /* libcurl once, before any handle; then the multi handle and our epoll */
    CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cc != CURLE_OK)
        die_curl("curl_global_init", curl_easy_strerror(cc));
    r.multi = curl_multi_init();
    if (r.multi == NULL)
        wb_die_err(ENOMEM, "curl_multi_init");
    r.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (r.epfd == -1)
        wb_die("epoll_create1");

    /* the two callbacks through which libcurl asks our loop for what it needs;
     * only a libcurl too old to know these options refuses them: checked once */
    int bad = curl_multi_setopt(r.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    bad |= curl_multi_setopt(r.multi, CURLMOPT_SOCKETDATA, &r);
    bad |= curl_multi_setopt(r.multi, CURLMOPT_TIMERFUNCTION, on_timer);
    bad |= curl_multi_setopt(r.multi, CURLMOPT_TIMERDATA, &r);
    if (bad != 0)
        die_curl("curl_multi_setopt", "this libcurl has no socket interface");

    double t0 = wb_now();
    start_more(&r);
    run_loop(&r);
    double wall = wb_now() - t0;

    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&r.tl, stdout);

    curl_multi_cleanup(r.multi);
    curl_global_cleanup();
    close(r.epfd);
    wb_timeline_free(&r.tl);
    wb_urls_free(r.urls, r.n);
    return r.failed > 0 ? 1 : 0;
}
