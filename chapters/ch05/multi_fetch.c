/* multi_fetch.c - fetch many pages at once with libcurl's multi interface
 *
 * Talk: asynchronous programming (beyond the talk: what real programs use)
 * Usage: multi_fetch [-q] [-n N] [-d MS] [-t SECONDS] [-c MAX] [URL...]
 * Shows: one thread driving many transfers with curl_multi_perform() and
 *        curl_multi_poll(), the event loop of callback_crawler.c done for
 *        us; at most MAX transfers at once, a new one added as one ends.
 *        Each transfer is an easy handle (easy_transfer.c); an HTTP error
 *        status fails its URL.
 * Compare: callback_crawler.c (the loop by hand), ch03's sequential_fetch.c
 *          (libcurl's easy interface, one at a time). Linux.
 */
#include "workbook.h"

#include "easy_transfer.h"

#include <curl/curl.h>
#include <getopt.h>

/* The whole run: URLs before next are started, active of them under way. */
struct run {
    CURLM *multi;
    char **urls;
    struct transfer *t;
    int n, next, active, max, failed, timeout_s;
    struct wb_timeline tl;
};

static void parse_options(int argc, char **argv, struct wb_opts *o, struct run *r);

/* An easy handle for URL i (easy_transfer.c), handed to the multi handle,
 * which runs it from now on. Returns NULL, or why it could not be. */
static const char *add_transfer(struct run *r, int i)
{
    CURL *easy = transfer_handle(&r->t[i], r->urls[i], r->timeout_s);
    if (easy == NULL)
        return "cannot set up the transfer";

    /* from now on the multi handle runs the transfer */
    CURLMcode mc = curl_multi_add_handle(r->multi, easy);
    if (mc != CURLM_OK) {
        curl_easy_cleanup(easy);
        return curl_multi_strerror(mc);
    }
    return NULL;
}

/* Start URLs until max transfers are under way or no URL is left. */
static void start_more(struct run *r)
{
    while (r->next < r->n && r->active < r->max) {
        int i = r->next;
        r->next++;

        wb_task_begin(&r->tl, i);
        const char *why = add_transfer(r, i);
        if (why == NULL) {
            r->active++;
            continue;
        }

        /* this URL fails; the others go on */
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, r->urls[i], why);
        wb_task_end(&r->tl, i);
        wb_task_failed(&r->tl, i);
        r->failed++;
    }
}

/* A transfer is over: print its line (or its error) and free its handle. */
static void done(struct run *r, CURL *easy, CURLcode res)
{
    /* which URL it was: its struct transfer, set as CURLOPT_PRIVATE (only
     * a bug can make this fail) */
    char *priv = NULL;
    if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK || priv == NULL)
        wb_die_err(EPROTO, "curl_easy_getinfo");

    int i = (int)((struct transfer *)(void *)priv - r->t);
    wb_task_end(&r->tl, i);

    if (res == CURLE_OK) {
        wb_result(i, r->t[i].bytes, wb_task_seconds(&r->tl, i), r->urls[i]);
    } else {
        const char *why = r->t[i].error;
        if (why[0] == '\0')
            why = curl_easy_strerror(res);
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, r->urls[i], why);
        wb_task_failed(&r->tl, i);
        r->failed++;
    }

    /* the slot is free for the next URL (only a bug can fail here) */
    if (curl_multi_remove_handle(r->multi, easy) != CURLM_OK)
        wb_die_err(EPROTO, "curl_multi_remove_handle");
    curl_easy_cleanup(easy);
    r->active--;
}

/* libcurl itself failed to set up or to run: nothing more can run. */
static _Noreturn void die_curl(const char *what, const char *why)
{
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, why);
    exit(1);
}

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    struct run r = {0};
    parse_options(argc, argv, &o, &r);

    /* one socket per transfer: lift the soft limit (often 1024) to the hard one */
    wb_raise_fd_limit(1);

    /* the URLs, a lab server to answer them, and a slot for each transfer */
    r.urls = wb_urls(argc - optind, argv + optind, &o, &r.n);
    wb_require_lab(r.urls, r.n);
    if (r.max == 0 || r.max > r.n)
        r.max = r.n;
    r.t = calloc((size_t)r.n, sizeof *r.t);
    if (r.t == NULL)
        wb_die("calloc");
    wb_timeline_init(&r.tl, r.n);

    /* libcurl's global set-up, once, before any handle */
    CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cc != CURLE_OK)
        die_curl("curl_global_init", curl_easy_strerror(cc));
    r.multi = curl_multi_init();
    if (r.multi == NULL)
        wb_die_err(ENOMEM, "curl_multi_init");

    /* the loop, run by libcurl: perform, collect, poll */
    double t0 = wb_now();
    start_more(&r);
    while (r.active > 0) {
        /* let libcurl do all that its sockets allow now, without blocking */
        int running;
        CURLMcode mc = curl_multi_perform(r.multi, &running);
        if (mc != CURLM_OK)
            die_curl("curl_multi_perform", curl_multi_strerror(mc));

        /* collect the finished transfers, each freeing a slot for the next URL */
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(r.multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            done(&r, msg->easy_handle, msg->data.result);
            start_more(&r);
        }
        if (r.active == 0)
            break;

        /* Sleep until a socket is ready or libcurl's next timeout is due (it
         * knows both); the 1000 ms is only an upper bound. */
        mc = curl_multi_poll(r.multi, NULL, 0, 1000, NULL);
        if (mc != CURLM_OK)
            die_curl("curl_multi_poll", curl_multi_strerror(mc));
    }
    double wall = wb_now() - t0;

    /* the summary */
    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&r.tl, stdout);

    curl_multi_cleanup(r.multi);
    curl_global_cleanup();
    wb_timeline_free(&r.tl);
    free(r.t);
    wb_urls_free(r.urls, r.n);
    return r.failed > 0 ? 1 : 0;
}

/* ---- the command line ---------------------------------------------------- */

/* --help: the usage and what the options do, exit 0; a bad option: the usage
 * on stderr, exit 2. */
static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fprintf(out, "Usage: %s [-q] [-n N] [-d MS] [-t SECONDS] [-c MAX] [URL...]\n",
            program_invocation_short_name);
    if (status == 0)
        fputs("\nFetch the URLs with libcurl's multi interface: one thread, many\n"
              "transfers. With no URL, fetch N lab URLs, each answered after MS\n"
              "milliseconds. An HTTP status of 400 or more fails its URL.\n"
              "\n"
              "  -n N          how many lab URLs (default 10)\n"
              "  -d MS         the lab server's delay per URL (default 200)\n"
              "  -t SECONDS    give up on a URL not done after this long (default 10)\n"
              "  -c MAX        at most MAX transfers at once (default: all)\n"
              "  -q            no timeline, only the results\n",
              stdout);
    exit(status);
}

/* -q, -n and -d are the options every fetch program shares (workbook.h). */
static void parse_options(int argc, char **argv, struct wb_opts *o, struct run *r)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    r->timeout_s = 10;
    r->max = 0;

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
