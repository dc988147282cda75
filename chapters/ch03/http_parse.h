/* http_parse.h - what green_fetch's blocking fetch() makes of a URL and an answer
 *
 * Part of green_fetch.c, kept apart because it is not about green threads: the
 * text of HTTP/1.0, with no I/O in it. Why a URL is refused (its port, or the
 * rest of it), and what the first bytes of an answer say: its status, where
 * its header ends, and whether the body is as long as Content-Length promised,
 * as libcurl checks for the other programs of the chapter. Linux, C17.
 */
#ifndef HTTP_PARSE_H
#define HTTP_PARSE_H
#include "workbook.h"

#include <strings.h>

/* room for the reason a fetch failed */
#define WHY_SIZE 256

/* The reason into why, and -1, for a fetch that failed. */
static inline int fail(char *why, const char *reason)
{
    snprintf(why, WHY_SIZE, "%s", reason);
    return -1;
}

/* Why wb_split_url() refused url: a port that is no number from 1 to 65535,
 * else a URL that is not http://host[:port][/path]. */
static inline const char *url_problem(const char *url)
{
    if (strncmp(url, "http://", 7) == 0)
        url += 7;
    const char *colon = url + strcspn(url, ":/?");
    if (*colon != ':')
        return "not an http:// URL";

    /* the port: from the colon to the path */
    char port[16];
    long number;
    size_t len = strcspn(colon + 1, "/");
    snprintf(port, sizeof port, "%.*s", (int)len, colon + 1);
    if (len >= sizeof port || wb_parse_long(port, 1, 65535, &number) != 0)
        return "bad port: not a number from 1 to 65535";
    return "not an http:// URL";
}

/* The value of the header's Content-Length line, or -1 if it has none. The
 * header is the text from head to end, where the blank line starts. */
static inline long long content_length(const char *head, const char *end)
{
    const char *line = strstr(head, "\r\n");

    /* each line after the status line, up to the blank one */
    while (line != NULL && line < end) {
        line += 2;
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            return strtoll(line + 15, NULL, 10);
        line = strstr(line, "\r\n");
    }
    return -1;
}

/* An answer read to its end: its first kept bytes in head (an array of size
 * bytes), and *bytes more after them. 0 and the body's size in *bytes, or -1
 * and the reason in why. */
static inline int check_answer(char *head, size_t kept, size_t size, long long *bytes,
                               char *why)
{
    /* the status: 400 and up fail, as urlopen raises HTTPError */
    head[kept] = '\0';
    int status = 0;
    if (sscanf(head, "HTTP/%*d.%*d %d", &status) != 1)
        return fail(why, "not HTTP");
    if (status >= 400) {
        snprintf(why, WHY_SIZE, "HTTP error %d", status);
        return -1;
    }

    /* the header ends at a blank line; a head full of header has none */
    char *end = strstr(head, "\r\n\r\n");
    if (end == NULL && kept == size - 1)
        return fail(why, "header too long");
    if (end == NULL)
        return fail(why, "answer ends inside its header");

    /* the body: the rest of head, and all after it */
    *bytes += (long long)kept - (end + 4 - head);

    /* shorter than Content-Length: the server closed before the end */
    long long promised = content_length(head, end);
    if (promised > *bytes) {
        snprintf(why, WHY_SIZE, "transfer closed with %lld bytes remaining to read",
                 promised - *bytes);
        return -1;
    }
    return 0;
}

#endif
