/* easy_transfer.h - one URL's easy handle, for libcurl's multi interface
 *
 * Talk: asynchronous programming (beyond the talk: what real programs use)
 * Module: linked into multi_fetch.c, which makes one such handle per URL and
 *         hands it to its multi handle to run.
 * Shows: the easy handle of ch03's libcurl programs, set up for one URL: its
 *        options (FAILONERROR, a time limit, http only, no proxy), each
 *        checked, and a write callback that only counts the bytes. Linux.
 */
#ifndef EASY_TRANSFER_H
#define EASY_TRANSFER_H

#include <curl/curl.h>

/* One URL's transfer: the bytes counted as they arrive, and libcurl's
 * words if it fails. */
struct transfer {
    long long bytes;
    char error[CURL_ERROR_SIZE];
};

/* An easy handle that fetches url, counting its bytes into t and giving up
 * after timeout_s seconds; its CURLOPT_PRIVATE is t, so that whoever gets
 * the handle back knows the transfer. NULL if libcurl could not set it up. */
CURL *transfer_handle(struct transfer *t, const char *url, int timeout_s);

#endif
