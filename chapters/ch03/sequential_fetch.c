/* sequential_fetch.c - fetch the pages one after another with one libcurl handle
 *
 * Talk: parallel handling / non-parallel
 * Usage: sequential_fetch [-q] [-n N] [-d MS] [URL...]
 * Shows: the baseline every other program of the chapter beats: each fetch
 *        waits for the one before it, so the times add up (10 x 200 ms = 2 s).
 *        The one handle keeps its connection to the lab server open between
 *        fetches (HTTP keep-alive), as a browser would.
 * Compare: thread_fetch.c, process_fetch.c, pool_fetch.c, green_fetch.c
 */
#include "workbook.h"

#include <curl/curl.h>
#include <getopt.h>

static void parse_options(int argc, char **argv, struct wb_opts *o);

/* A libcurl set-up call failed: say which and why, exit 1. */
static _Noreturn void die_curl(const char *what, CURLcode rc)
{
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
            curl_easy_strerror(rc));
    exit(1);
}

/* libcurl hands us the body piece by piece; we only count it, as the talk's
 * len(urlopen(url).read()) does. Returning less tells libcurl to abort. */
static size_t count_bytes(char *data, size_t size, size_t nmemb, void *userp)
{
    (void)data;
    *(long long *)userp += (long long)(size * nmemb);
    return size * nmemb;
}

/* The options that stay the same for every URL. FAILONERROR turns an HTTP
 * status of 400 or more into a failure, as urlopen raises HTTPError; NOPROXY
 * "*" ignores any proxy in the environment, as the talk's proxies={} does
 * (the lab server is on this machine). Setting one fails only for want of memory. */
static void set_up_handle(CURL *h, char *err)
{
    if (curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*") == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err) == CURLE_OK)
        return;
    die_curl("curl_easy_setopt", CURLE_OUT_OF_MEMORY);
}

/* One fetch with the shared handle. Returns CURLE_OK, or an error code with
 * the reason in err, the handle's CURLOPT_ERRORBUFFER. */
static CURLcode fetch(CURL *h, const char *url, long long *bytes, char *err)
{
    *bytes = 0;
    err[0] = '\0';

    /* CURLE_OUT_OF_MEMORY stands if a setopt fails */
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    if (curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_WRITEDATA, bytes) == CURLE_OK)
        rc = curl_easy_perform(h);

    /* libcurl does not fill the buffer for every error */
    if (rc != CURLE_OK && err[0] == '\0')
        snprintf(err, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
    return rc;
}

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    parse_options(argc, argv, &o);

    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_require_lab(urls, n);

    /* one handle for the whole run */
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        die_curl("curl_global_init", rc);
    CURL *h = curl_easy_init();
    if (h == NULL)
        die_curl("curl_easy_init", CURLE_OUT_OF_MEMORY);
    char err[CURL_ERROR_SIZE];
    set_up_handle(h, err);

    struct wb_timeline tl;
    wb_timeline_init(&tl, n);
    int failed = 0;
    double begin = wb_now();

    /* the talk's loop: each fetch starts when the one before it is done */
    for (int i = 0; i < n; i++) {
        long long bytes;

        wb_task_begin(&tl, i);
        rc = fetch(h, urls[i], &bytes, err);
        wb_task_end(&tl, i);

        if (rc == CURLE_OK) {
            wb_result(i, bytes, wb_task_seconds(&tl, i), urls[i]);
        } else {
            fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, urls[i],
                    err);
            wb_task_failed(&tl, i);
            failed++;
        }
    }
    wb_used_time(wb_now() - begin);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);

    /* clean up */
    wb_timeline_free(&tl);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    wb_urls_free(urls, n);
    return failed > 0 ? 1 : 0;
}

/* ---- the command line ---- */

static _Noreturn void usage(int status)
{
    fputs("Usage: sequential_fetch [-q] [-n N] [-d MS] [URL...]\n",
          status == 0 ? stdout : stderr);
    if (status == 0)
        printf("\nFetches each URL in turn and prints its size: the non-parallel\n"
               "version that the rest of chapter 3 improves on. With no URL it\n"
               "fetches N lab URLs that each take MS milliseconds.\n\n"
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
