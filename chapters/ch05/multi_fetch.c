/* multi_fetch.c - fetch many pages at once the production way: libcurl's multi interface
 *
 * Talk: asynchronous programming (beyond the talk: what real programs use)
 * Usage: multi_fetch [-q] [-n N] [-d MS] [-t SECONDS] [-c MAX] [URL...]
 * Shows: one thread driving many transfers with curl_multi_perform() and
 *        curl_multi_poll(), the event loop of callback_crawler.c done for
 *        us; at most MAX transfers at once, a new one added as one ends.
 * Compare: callback_crawler.c (the loop by hand), ch03's sequential_fetch.c
 *          (libcurl's easy interface, one at a time). Linux.
 */
#include "workbook.h"

#include <curl/curl.h>
#include <getopt.h>

/* --help: all of this on stdout, exit 0; a bad option: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    fputs("Usage: multi_fetch [-q] [-n N] [-d MS] [-t SECONDS] [-c MAX] [URL...]\n",
          status ? stderr : stdout);
    if (status == 0)
        printf("\nFetch the URLs with libcurl's multi interface: one thread, many\n"
               "transfers at once. With no URL, fetch N lab URLs of MS milliseconds.\n\n"
               "  -n N          how many lab URLs (default 10)\n"
               "  -d MS         the lab server's delay per URL (default 200)\n"
               "  -t SECONDS    give up on a URL not done after this long (default 10)\n"
               "  -c MAX        at most MAX transfers at once (default: all)\n"
               "  -q            no timeline, only the results\n");
    exit(status);
}

/* One URL's transfer: what the write callback counts, and libcurl's words
 * if it fails. */
struct transfer {
    long long body;
    char error[CURL_ERROR_SIZE];
};

/* The whole run: URLs before next are started, active of them under way. */
struct run {
    CURLM *multi;
    char **urls;
    struct transfer *t;
    int n, next, active, max, failed, timeout_s;
    struct wb_timeline tl;
};

/* libcurl hands over the body piece by piece; we only count it. */
static size_t count_body(char *data, size_t size, size_t nmemb, void *arg)
{
    (void)data;
    ((struct transfer *)arg)->body += (long long)(size * nmemb);
    return size * nmemb; /* less would tell libcurl to abort the transfer */
}

/* Start URLs until max transfers are under way or no URL is left. */
static void start_more(struct run *r)
{
    for (; r->next < r->n && r->active < r->max; r->next++) {
        int i = r->next;
        struct transfer *t = &r->t[i];
        CURL *easy = curl_easy_init();
        CURLMcode mc = CURLM_OK;
        wb_task_begin(&r->tl, i);
        /* Setting a known option fails only for lack of memory; check anyway. */
        if (!easy || curl_easy_setopt(easy, CURLOPT_URL, r->urls[i]) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_PRIVATE, t) != CURLE_OK || /* which URL */
            curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, count_body) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_WRITEDATA, t) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long)r->timeout_s) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK || /* no SIGALRM */
            curl_easy_setopt(easy, CURLOPT_PROXY, "") != CURLE_OK ||    /* loopback: no proxy */
            (mc = curl_multi_add_handle(r->multi, easy)) != CURLM_OK) {
            fprintf(stderr, "multi_fetch: %s: %s\n", r->urls[i],
                    mc != CURLM_OK ? curl_multi_strerror(mc) : "cannot set up the transfer");
            curl_easy_cleanup(easy); /* does nothing with NULL */
            r->failed++;
            continue;
        }
        r->active++;
    }
}

/* A transfer is over: print its line (or its error) and free its handle. */
static void done(struct run *r, CURL *easy, CURLcode res)
{
    char *priv = NULL;
    long header = 0;
    if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK || !priv)
        wb_die_err(EPROTO, "curl_easy_getinfo"); /* only a bug can get here */
    int i = (int)((struct transfer *)(void *)priv - r->t);
    wb_task_end(&r->tl, i);
    if (res == CURLE_OK && curl_easy_getinfo(easy, CURLINFO_HEADER_SIZE, &header) != CURLE_OK)
        res = CURLE_BAD_FUNCTION_ARGUMENT;
    if (res != CURLE_OK) {
        fprintf(stderr, "multi_fetch: %s: %s\n", r->urls[i],
                r->t[i].error[0] ? r->t[i].error : curl_easy_strerror(res));
        r->failed++;
    } else { /* all bytes received, headers and body, like the raw-socket programs */
        wb_result(i, header + r->t[i].body, r->tl.span[i].end - r->tl.span[i].start, r->urls[i]);
    }
    if (curl_multi_remove_handle(r->multi, easy) != CURLM_OK)
        wb_die_err(EPROTO, "curl_multi_remove_handle"); /* only a bug can get here */
    curl_easy_cleanup(easy);
    r->active--;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    struct wb_opts o = WB_OPTS_INIT;
    struct run r = {.timeout_s = 10};
    int c;
    while ((c = getopt_long(argc, argv, "qn:d:t:c:h", longopts, NULL)) != -1) {
        if (c == 't')
            r.timeout_s = (int)wb_opt_long("-t", optarg, 1, 3600);
        else if (c == 'c')
            r.max = (int)wb_opt_long("-c", optarg, 1, 100000);
        else if (c == 'h')
            usage(0);
        else if (!wb_common_opt(c, optarg, &o))
            usage(2);
    }
    /* One socket per transfer: raise the soft limit (often 1024) to the hard one. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) /* if refused, the old limit stays: fine */
        setrlimit(RLIMIT_NOFILE, &(struct rlimit){rl.rlim_max, rl.rlim_max});
    r.urls = wb_urls(argc - optind, argv + optind, &o, &r.n);
    r.max = r.max == 0 || r.max > r.n ? r.n : r.max;
    if (!(r.t = calloc((size_t)r.n, sizeof *r.t)))
        wb_die("calloc");
    wb_timeline_init(&r.tl, r.n);
    CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any handle */
    if (cc != CURLE_OK) {
        fprintf(stderr, "multi_fetch: curl_global_init: %s\n", curl_easy_strerror(cc));
        return 1;
    }
    if (!(r.multi = curl_multi_init()))
        wb_die_err(ENOMEM, "curl_multi_init");

    double t0 = wb_now();
    start_more(&r);
    while (r.active > 0) {
        int running, left;
        CURLMsg *msg;
        /* Let libcurl do all that its sockets allow now, without blocking... */
        CURLMcode mc = curl_multi_perform(r.multi, &running);
        /* ...then collect the finished transfers, each freeing a slot. */
        while (mc == CURLM_OK && (msg = curl_multi_info_read(r.multi, &left)))
            if (msg->msg == CURLMSG_DONE) {
                done(&r, msg->easy_handle, msg->data.result);
                start_more(&r);
            }
        /* Sleep until a socket is ready or libcurl's next timeout is due (it
         * knows both); the 1000 ms is only an upper bound. */
        if (mc == CURLM_OK && r.active > 0)
            mc = curl_multi_poll(r.multi, NULL, 0, 1000, NULL);
        if (mc != CURLM_OK) {
            fprintf(stderr, "multi_fetch: %s\n", curl_multi_strerror(mc));
            return 1;
        }
    }
    double wall = wb_now() - t0;
    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&r.tl, stdout);
    if (r.failed == r.n)
        wb_lab_hint();
    curl_multi_cleanup(r.multi);
    curl_global_cleanup();
    wb_timeline_free(&r.tl);
    free(r.t);
    wb_urls_free(r.urls, r.n);
    return r.failed ? 1 : 0;
}
