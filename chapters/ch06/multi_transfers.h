/* multi_transfers.h - one loop's state, and its transfers started and finished
 *
 * Part of multi_socket_fetch.c, kept apart because it is not about libcurl's
 * socket interface: what one loop keeps (struct loop), and starting and
 * finishing its transfers as ch05/multi_fetch.c does, at most MAX at once,
 * the next URL started as a transfer ends. Linux, C17.
 */
#ifndef MULTI_TRANSFERS_H
#define MULTI_TRANSFERS_H
#include "workbook.h"

#include <curl/curl.h>
#include <pthread.h>

/* One loop: its thread, libcurl's multi handle and our epoll; timer_at is
 * when libcurl asked to be woken (0: no timer). It is loop `id` of `loops`
 * and owns the URLs that next_url() deals it, of which `active` are under
 * way, at most `share` (its share of MAX; 0: no limit). No other thread
 * touches it. */
struct loop {
    pthread_t thread;
    CURLM *multi;
    int epfd;
    double timer_at;
    int id, loops;
    char **urls;
    int n, next, places; /* all the URLs; how next_url() deals them */
    int active, share;   /* its transfers under way, and its limit */
    int served, failed;  /* its URLs done, and of them failed */
    int timeout_s;
    struct wb_timeline *tl; /* shared, but slot i belongs to URL i's loop */
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

/* The loop's next URL, or -1 when it has none left. The URLs are dealt
 * like cards over `places` at the table, MAX of them (or one per URL): URL i
 * takes place i % places, and place p belongs to loop p % loops. A loop
 * that may run k transfers at once has k places, and so about k shares of
 * the URLs: no loop needs more rounds than one loop with MAX would. The
 * search goes on from `next`, so each URL is looked at once per loop. */
static inline int next_url(struct loop *l)
{
    while (l->next < l->n) {
        int i = l->next++;
        if (i % l->places % l->loops == l->id)
            return i;
    }
    return -1;
}

/* Start the loop's URLs until its share is under way or none is left.
 * Setting a known option fails only for lack of memory: checked once. */
static inline void start_more(struct loop *l)
{
    while (l->share == 0 || l->active < l->share) {
        int i = next_url(l);
        if (i == -1)
            break; /* all of its URLs are started */

        CURL *easy = curl_easy_init(); /* NULL fails every setopt below */

        /* a connection of its own, as in the raw-socket crawlers: looking
         * for one to reuse walks every connection open to the host */
        int bad = curl_easy_setopt(easy, CURLOPT_URL, l->urls[i]);
        bad |= curl_easy_setopt(easy, CURLOPT_PRIVATE, &l->urls[i]);
        bad |= curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
        bad |= curl_easy_setopt(easy, CURLOPT_FAILONERROR, 1L); /* 404: a failure */
        bad |= curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long)l->timeout_s);
        bad |= curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L); /* no SIGPIPE dance */
        bad |= curl_easy_setopt(easy, CURLOPT_PROXY, "");
        bad |= curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http"); /* http only */
        bad |= curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
        bad |= curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
        /* a 1 KiB receive buffer, not 16: the answers are short, and ten
         * thousand smaller ones are 30 MB less (and, with two loops, 0.1 s) */
        bad |= curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 1024L);
        if (bad != 0 || curl_multi_add_handle(l->multi, easy) != CURLM_OK)
            wb_die_err(ENOMEM, "cannot set up a transfer");

        wb_task_begin(l->tl, i);
        l->active++;
    }
}

/* A transfer is over: print its line (or error), free it, start the next URL. */
static inline void finish(struct loop *l, CURL *easy, CURLcode res)
{
    char **url = NULL;
    long head = 0;
    curl_off_t body = 0;
    /* which URL, and its bytes: for a handle of ours, getinfo cannot fail */
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &url);
    curl_easy_getinfo(easy, CURLINFO_HEADER_SIZE, &head);
    curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &body);
    int i = (int)(url - l->urls);
    wb_task_end(l->tl, i);

    /* every byte received, head and body, like the raw-socket programs */
    if (res == CURLE_OK) {
        wb_result(i, head + (long long)body, wb_task_seconds(l->tl, i), *url);
    } else {
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, *url,
                curl_easy_strerror(res));
        wb_task_failed(l->tl, i);
        l->failed++;
    }
    l->served++;

    /* a handle of ours, in the multi handle: only a bug can make this fail */
    CURLMcode mc = curl_multi_remove_handle(l->multi, easy);
    if (mc != CURLM_OK)
        die_curl("curl_multi_remove_handle", curl_multi_strerror(mc));
    curl_easy_cleanup(easy);
    l->active--;
    start_more(l);
}

#endif
