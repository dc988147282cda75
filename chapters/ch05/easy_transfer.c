/* easy_transfer.c - one URL's easy handle, for libcurl's multi interface
 *
 * Talk: asynchronous programming (beyond the talk: what real programs use)
 * Usage: #include "easy_transfer.h" (the Makefile then links easy_transfer.c in)
 * Module: no main(); multi_fetch.c makes a handle per URL with
 *         transfer_handle() (easy_transfer.h).
 * Shows: an easy handle's options, as in ch03's libcurl programs, and a
 *        write callback that counts everything that arrives, headers too.
 */
#include "easy_transfer.h"

/* libcurl hands over the headers and the body piece by piece; we only
 * count them, all bytes received, like the raw-socket programs. */
static size_t count_bytes(char *data, size_t size, size_t nmemb, void *arg)
{
    struct transfer *t = arg;
    (void)data;
    t->bytes += (long long)(size * nmemb);

    /* less would tell libcurl to abort the transfer */
    return size * nmemb;
}

/* curl_easy_init() and setting a known option fail only for lack of memory,
 * but each is checked anyway. */
CURL *transfer_handle(struct transfer *t, const char *url, int timeout_s)
{
    CURL *easy = curl_easy_init();
    if (easy == NULL)
        return NULL;

    /* PRIVATE: the transfer, for whoever gets the handle back; HEADERDATA
     * with no HEADERFUNCTION: the headers go to count_bytes() too;
     * FAILONERROR: an HTTP status of 400 or more fails the URL, as in ch03's
     * libcurl programs; NOSIGNAL: no SIGALRM for timeouts; PROXY "": the lab
     * is on loopback, no proxy from the environment; PROTOCOLS_STR: http
     * only, like the hand-written crawlers */
    int ok = curl_easy_setopt(easy, CURLOPT_URL, url) == CURLE_OK &&
             curl_easy_setopt(easy, CURLOPT_PRIVATE, t) == CURLE_OK &&
             curl_easy_setopt(easy, CURLOPT_HEADERDATA, t) == CURLE_OK &&
             curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, count_bytes) == CURLE_OK &&
             curl_easy_setopt(easy, CURLOPT_WRITEDATA, t) == CURLE_OK &&
             curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error) == CURLE_OK &&
             curl_easy_setopt(easy, CURLOPT_FAILONERROR, 1L) == CURLE_OK &&
             curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long)timeout_s) == CURLE_OK &&
             curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
             curl_easy_setopt(easy, CURLOPT_PROXY, "") == CURLE_OK &&
             curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http") == CURLE_OK;
    if (ok)
        return easy;

    curl_easy_cleanup(easy);
    return NULL;
}
