/* multi_transfers.h - the run's state, and its transfers started and finished
 *
 * Part of multi_socket_fetch.c, kept apart because it is not about libcurl's
 * socket interface: what the run keeps (struct run), and starting and
 * finishing transfers as ch05/multi_fetch.c does, at most MAX at once, the
 * next URL started as a transfer ends. Linux, C17.
 */
#ifndef MULTI_TRANSFERS_H
#define MULTI_TRANSFERS_H
#include "workbook.h"

#include <curl/curl.h>

/* The whole run: libcurl's multi handle and our epoll; timer_at is when
 * libcurl asked to be woken (0: no timer); the URLs before next are started,
 * active of them under way. */
struct run {
    CURLM *multi;
    int epfd;
    double timer_at;
    char **urls;
    int n, next, active, max, failed, timeout_s;
    struct wb_timeline tl;
};

/* libcurl itself failed to set up or to run: nothing more can run. */
static inline _Noreturn void die_curl(const char *what, const char *why)
{
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, why);
    exit(1);
}

/* The body is only counted (CURLINFO_SIZE_DOWNLOAD_T), not kept. */
static inline size_t discard(char *data, size_t size, size_t nmemb, void *arg)
{
    (void)data;
    (void)arg;
    return size * nmemb;
}

/* Start URLs until max transfers are under way or no URL is left. Setting a
 * known option fails only for lack of memory: the answers are checked once. */
static inline void start_more(struct run *r)
{
    while (r->next < r->n && (r->max == 0 || r->active < r->max)) {
        int i = r->next++;
        CURL *easy = curl_easy_init(); /* NULL fails every setopt below */

        /* a connection of its own, as in the raw-socket crawlers: looking
         * for one to reuse walks every connection open to the host */
        int bad = curl_easy_setopt(easy, CURLOPT_URL, r->urls[i]);
        bad |= curl_easy_setopt(easy, CURLOPT_PRIVATE, &r->urls[i]);
        bad |= curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
        bad |= curl_easy_setopt(easy, CURLOPT_FAILONERROR, 1L); /* 404: a failure */
        bad |= curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long)r->timeout_s);
        bad |= curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L); /* no SIGPIPE dance */
        bad |= curl_easy_setopt(easy, CURLOPT_PROXY, "");
        bad |= curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http"); /* http only */
        bad |= curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
        bad |= curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
        if (bad != 0 || curl_multi_add_handle(r->multi, easy) != CURLM_OK)
            wb_die_err(ENOMEM, "cannot set up a transfer");

        wb_task_begin(&r->tl, i);
        r->active++;
    }
}

/* A transfer is over: print its line (or error), free it, start the next URL. */
static inline void finish(struct run *r, CURL *easy, CURLcode res)
{
    char **url = NULL;
    long head = 0;
    curl_off_t body = 0;
    /* which URL, and its bytes: for a handle of ours, getinfo cannot fail */
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &url);
    curl_easy_getinfo(easy, CURLINFO_HEADER_SIZE, &head);
    curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &body);
    int i = (int)(url - r->urls);
    wb_task_end(&r->tl, i);

    /* every byte received, head and body, like the raw-socket programs */
    if (res == CURLE_OK) {
        wb_result(i, head + (long long)body, wb_task_seconds(&r->tl, i), *url);
    } else {
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, *url,
                curl_easy_strerror(res));
        wb_task_failed(&r->tl, i);
        r->failed++;
    }

    /* a handle of ours, in the multi handle: only a bug can make this fail */
    CURLMcode mc = curl_multi_remove_handle(r->multi, easy);
    if (mc != CURLM_OK)
        die_curl("curl_multi_remove_handle", curl_multi_strerror(mc));
    curl_easy_cleanup(easy);
    r->active--;
    start_more(r);
}

#endif
