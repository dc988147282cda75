/* fetch.h - one blocking HTTP GET over a plain socket, for the pool's workers
 *
 * Talk: parallel handling / the fetch_content() that every model runs
 * Given: bounded_pool.c calls it from its worker threads (it is safe in
 * threads: no shared state).
 */
#ifndef FETCH_H
#define FETCH_H

#include <stddef.h>

/* GET url (http://host:port/path) with HTTP/1.0 and read until the server
 * closes: return the number of bytes received (headers and body). On a
 * failure return -1 and say why in why[whylen]. Blocks as long as the
 * server takes: $LAB_URL/hang never answers. */
long long fetch(const char *url, char *why, size_t whylen);

#endif
