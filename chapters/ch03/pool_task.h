/* pool_task.h - what pool_fetch's pool maps: one fetch, its result stored whole
 *
 * Part of pool_fetch.c, kept apart because it is not about the pool: the
 * talk's fetch_content (thread_fetch.c's fetch, with libcurl), which fills
 * in a struct result of fixed size, one that can live in MAP_SHARED memory
 * where a forked worker's writes reach the parent; and what the parent makes
 * of a task whose worker process died before its result was stored. Linux, C17.
 */
#ifndef POOL_TASK_H
#define POOL_TASK_H
#include "workbook.h"

#include <curl/curl.h>
#include <sys/wait.h>

/* Task i's result, filled in by the worker that took it (else "never fetched"). */
struct result {
    CURLcode rc;
    long long bytes;

    /* end stays 0 until the result is stored */
    double start, end;

    /* the process that took the task: the one to name if it never comes back */
    pid_t worker;
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
 * whole at the end, so that a worker killed halfway leaves its task unfinished. */
static inline void fetch(const char *url, struct result *out)
{
    /* CURLE_OUT_OF_MEMORY stands if a setopt fails */
    struct result r = {.rc = CURLE_OUT_OF_MEMORY, .worker = getpid()};

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

    /* libcurl does not fill the error buffer for every error */
    if (r.reason[0] == '\0')
        snprintf(r.reason, sizeof r.reason, "%s", curl_easy_strerror(r.rc));
    *out = r;
}

/* Worker process pid ended with waitpid()'s status st, and not by exiting 0.
 * The task it took and never finished says how it ended, instead of "never
 * fetched"; a worker that held none (it died between two tasks) is named on
 * stderr all the same. */
static inline void worker_died(struct result *res, int n, pid_t pid, int st)
{
    char how[128];
    if (WIFSIGNALED(st))
        snprintf(how, sizeof how, "worker %d killed by signal %d (%s)", (int)pid,
                 WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(how, sizeof how, "worker %d exited with status %d", (int)pid,
                 WEXITSTATUS(st));

    /* its unfinished task: taken by pid, and no result stored */
    int held = 0;
    for (int i = 0; i < n; i++) {
        if (res[i].worker != pid || res[i].end != 0)
            continue;
        snprintf(res[i].reason, sizeof res[i].reason, "%s", how);
        held++;
    }
    if (held == 0)
        fprintf(stderr, "%s: %s, holding no task\n", program_invocation_short_name,
                how);
}

#endif
