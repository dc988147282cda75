/* pool_task.h - what pool_fetch's pool maps: one fetch, its result stored whole
 *
 * Part of pool_fetch.c, kept apart because it is not about the pool: the
 * talk's fetch_content (thread_fetch.c's fetch, with libcurl), which fills
 * in a struct result of fixed size, one that can live in MAP_SHARED memory
 * where a forked worker's writes reach the parent. Linux, C17.
 */
#ifndef POOL_TASK_H
#define POOL_TASK_H
#include "workbook.h"

#include <curl/curl.h>

/* Task i's result, filled in by the worker that took it (else "never fetched"). */
struct result {
    CURLcode rc;
    long long bytes;
    double start, end;
    char reason[CURL_ERROR_SIZE];
};

/* the same byte counter as sequential_fetch.c */
static inline size_t count_bytes(char *data, size_t size, size_t nmemb, void *userp)
{
    (void)data;
    *(long long *)userp += (long long)(size * nmemb);
    return size * nmemb;
}

/* What the pool maps: the talk's fetch_content (thread_fetch.c's fetch), stored
 * whole at the end, so that a worker killed halfway leaves "never fetched". */
static inline void fetch(const char *url, struct result *out)
{
    struct result r = {.rc = CURLE_OUT_OF_MEMORY}; /* if a setopt fails */

    r.start = wb_now();
    CURL *h = curl_easy_init();
    if (h != NULL && curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.bytes) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*") == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r.reason) == CURLE_OK)
        r.rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    r.end = wb_now();
    if (r.reason[0] == '\0') /* libcurl does not fill it for every error */
        snprintf(r.reason, sizeof r.reason, "%s", curl_easy_strerror(r.rc));
    *out = r;
}

#endif
