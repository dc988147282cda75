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

static const char usage[] = "Usage: sequential_fetch [-q] [-n N] [-d MS] [URL...]\n";

/* libcurl hands us the body piece by piece; we only count it, as the talk's
 * len(urlopen(url).read()) does. */
static size_t count_bytes(char *data, size_t size, size_t nmemb, void *userp)
{
    (void)data;
    *(long long *)userp += (long long)(size * nmemb);
    return size * nmemb; /* anything else tells libcurl to abort */
}

/* A libcurl set-up call failed: say which and why, exit 1. */
static void die_curl(const char *what, CURLcode rc)
{
    fprintf(stderr, "sequential_fetch: %s: %s\n", what, curl_easy_strerror(rc));
    exit(1);
}

/* One fetch with the shared handle. Returns CURLE_OK, or an error code with
 * the reason in err, the handle's CURLOPT_ERRORBUFFER. */
static CURLcode fetch(CURL *h, const char *url, long long *bytes, char *err)
{
    *bytes = 0;
    err[0] = '\0';
    CURLcode rc;
    if ((rc = curl_easy_setopt(h, CURLOPT_URL, url)) ||
        (rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, bytes)))
        return rc;
    rc = curl_easy_perform(h);
    if (rc != CURLE_OK && err[0] == '\0') /* the buffer is not always filled */
        snprintf(err, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
    return rc;
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
            printf("%s\nFetches each URL in turn and prints its size: the non-parallel\n"
                   "version that the rest of chapter 3 improves on. With no URL it\n"
                   "fetches N (default 10) lab URLs that each take MS (default 200) ms.\n"
                   "  -q  no timeline\n",
                   usage);
            return 0;
        }
        fputs(usage, stderr);
        return 2;
    }
    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);

    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        die_curl("curl_global_init", rc);
    CURL *h = curl_easy_init();
    if (!h)
        die_curl("curl_easy_init", CURLE_OUT_OF_MEMORY);
    char err[CURL_ERROR_SIZE];
    /* Options that stay the same for every URL. FAILONERROR turns an HTTP
     * status of 400 or more into a failure, as urlopen raises HTTPError;
     * NOPROXY "*" ignores any proxy in the environment, as the talk's
     * proxies={} does (the lab server is on this machine). */
    if ((rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes)) ||
        (rc = curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L)) ||
        (rc = curl_easy_setopt(h, CURLOPT_NOPROXY, "*")) ||
        (rc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err)))
        die_curl("curl_easy_setopt", rc);

    struct wb_timeline tl;
    wb_timeline_init(&tl, n);
    int failed = 0, unreachable = 0;
    double begin = wb_now();
    for (int i = 0; i < n; i++) {
        long long bytes;
        wb_task_begin(&tl, i);
        rc = fetch(h, urls[i], &bytes, err);
        wb_task_end(&tl, i);
        if (rc == CURLE_OK) {
            wb_result(i, bytes, tl.span[i].end - tl.span[i].start, urls[i]);
        } else {
            fprintf(stderr, "sequential_fetch: %s: %s\n", urls[i], err);
            failed++;
            unreachable |= rc == CURLE_COULDNT_CONNECT;
        }
    }
    wb_used_time(wb_now() - begin);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);
    if (unreachable && optind == argc) /* the default lab URLs failed */
        wb_lab_hint();

    wb_timeline_free(&tl);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    wb_urls_free(urls, n);
    return failed ? 1 : 0;
}
