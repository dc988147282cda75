/* blocking_get.h - one page over a blocking socket: the talk's blocking_way()
 *
 * Talk: asynchronous programming / The Traditional Approach, The Process
 *       Approach, The Thread Approach (the function all three cells share)
 * Module: linked into the programs that include this header, blocking_way.c
 *         (ten calls in a row), process_way.c (one per forked worker) and
 *         thread_way.c (one per thread), as the talk's three cells call the
 *         same blocking_way().
 * Shows: the bare socket calls of an HTTP fetch (getaddrinfo, socket,
 *        connect, send, recv until the server closes), each of which blocks
 *        (阻塞) until the network answers, bounded by a timeout. Linux.
 */
#ifndef BLOCKING_GET_H
#define BLOCKING_GET_H

#include <stddef.h>

/* Fetch url over a blocking socket, giving up on a server silent for
 * timeout_s seconds. Returns the bytes received (status line, headers and
 * body), or -1 with the reason in why. Safe to call from several threads or
 * processes at once: it keeps nothing between calls. */
long long blocking_way(const char *url, int timeout_s, char *why, size_t whylen);

#endif
