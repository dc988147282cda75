/* fib_protocol.h - what a Fibonacci server and its client say to each other
 *
 * Talk: practice / Fibonacci program (提供一个 socket server)
 * One request per line (LF or CRLF), many per connection. A decimal n gets
 * F(n) and a LF; anything else gets one line, word for word:
 *     ERR not a number           letters, an empty line, "1.5", "12abc"
 *     ERR negative               a '-' followed by digits
 *     ERR out of range (max M)   n past the largest the module computes
 *     ERR line too long          over FIB_LINE_LIMIT bytes before the line end
 * fib_server.c talks with each client through fib_converse(); a server with
 * an event loop would cut the lines itself and call fib_answer() for each.
 *
 * This file is given: write the two functions in fib_protocol.c. The grader
 * talks only to the server, so you may add to this file what your design
 * needs (a struct per connection for an event loop, say).
 * TODO(student), only if your design needs it: add your declarations below
 * the given ones, and keep those as they are.
 */
#ifndef FIB_PROTOCOL_H
#define FIB_PROTOCOL_H

#include "fib.h"

#include <stddef.h>

/* The longest request, without its line end. */
#define FIB_LINE_LIMIT 64

/* The longest answer: F(FIB_DECIMAL_MAX) and its '\n'. */
#define FIB_ANSWER_MAX (FIB_DECIMAL_SIZE + 1)

/* The answer to one request line of len bytes (without its LF or CRLF; any
 * byte, NUL included, and len > FIB_LINE_LIMIT for a line that was too
 * long), written into out (size bytes, at least FIB_ANSWER_MAX). Returns
 * the answer's length, its '\n' included. */
size_t fib_answer(const char *line, size_t len, char *out, size_t size);

/* Talk with one client on a connected, blocking socket until it leaves:
 * answer every line it sends, in order. Returns when the client has gone or
 * its connection failed; the caller closes fd. */
void fib_converse(int fd);

#endif
