/* fib_protocol.c - the Fibonacci server's line protocol, one client at a time
 *
 * Talk: practice / Fibonacci program (提供一个 socket server)
 * Usage: #include "fib_protocol.h" and "fib.h", link fib_protocol.c and fib.c
 *        (fib_server.c does)
 * Shows: lines cut out of a byte stream (one recv() may bring half a line or
 *        a hundred lines); a line's length limited, so a hostile client
 *        cannot make the server store without end; short writes; a client
 *        that leaves is an error for its own conversation only.
 * Compare: fib_server.c (who calls it, a thread per client), fib.c (F(n))
 */
#include "workbook.h"
#include "fib_protocol.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <sys/socket.h>

size_t fib_answer(const char *line, size_t len, char *out, size_t size)
{
    /* fib_converse() passes a length past the limit for a line too long */
    if (len > FIB_LINE_LIMIT)
        return (size_t)snprintf(out, size, "ERR line too long\n");

    /* digits only, after an optional '-' */
    size_t sign = 0;
    if (len > 0 && line[0] == '-')
        sign = 1;
    size_t i = sign;
    while (i < len && isdigit((unsigned char)line[i]))
        i++;
    if (i == sign || i != len)
        return (size_t)snprintf(out, size, "ERR not a number\n");
    if (sign == 1)
        return (size_t)snprintf(out, size, "ERR negative\n");

    /* n: 64 digits overflow any long, so stop once past the limit */
    long n = 0;
    for (i = 0; i < len && n <= FIB_DECIMAL_MAX; i++)
        n = n * 10 + (line[i] - '0');

    /* up to F(93): a 64-bit number */
    uint64_t value;
    if (fib(n, &value) == 0)
        return (size_t)snprintf(out, size, "%" PRIu64 "\n", value);

    /* past 64 bits: the stretch part writes the digits itself */
    int digits = fib_decimal(n, out, size - 1);
    if (digits < 0)
        return (size_t)snprintf(out, size, "ERR out of range (max %d)\n",
                                FIB_DECIMAL_MAX);
    out[digits] = '\n';
    return (size_t)digits + 1;
}

/* send() may take only part of the buffer (a short write): loop. With
 * MSG_NOSIGNAL a client that has left makes it fail with EPIPE instead of
 * raising SIGPIPE, which would kill the whole server. */
static bool send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t sent = send(fd, buf, len, MSG_NOSIGNAL);

        /* interrupted before sending anything: try again */
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0)
            return false;

        buf += sent;
        len -= (size_t)sent;
    }
    return true;
}

/* TCP carries bytes, not messages, so the current line lives across reads;
 * the answers to everything one read brought go back in one send(). */
void fib_converse(int fd)
{
    char in[4096];
    char out[4 * FIB_ANSWER_MAX];

    /* +1: room for a CR before the LF */
    char line[FIB_LINE_LIMIT + 1];

    /* len past sizeof line: the line is too long, the rest is dropped */
    size_t len = 0;
    size_t used = 0;
    ssize_t got;

    /* recv() returns 0 when the client has gone */
    while ((got = recv(fd, in, sizeof in, 0)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;

        /* ECONNRESET and the like: the end of this client only */
        if (got < 0)
            return;

        for (ssize_t i = 0; i < got; i++) {
            /* inside a line: keep at most sizeof line bytes of it */
            if (in[i] != '\n') {
                if (len < sizeof line)
                    line[len++] = in[i];
                else
                    len = sizeof line + 1;
                continue;
            }

            /* the line ends with LF or with CRLF */
            if (len > 0 && len <= sizeof line && line[len - 1] == '\r')
                len--;

            /* no room for another answer: send what is there first */
            if (used + FIB_ANSWER_MAX > sizeof out) {
                if (!send_all(fd, out, used))
                    return;
                used = 0;
            }

            used += fib_answer(line, len, out + used, sizeof out - used);
            len = 0;
        }

        /* the answers to this read; failing: the client left without them */
        if (!send_all(fd, out, used))
            return;
        used = 0;
    }
}
