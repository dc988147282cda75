/* fib_protocol.c - the Fibonacci server's line protocol, one client at a time
 * (exercise)
 *
 * Talk: practice / Fibonacci program (提供一个 socket server)
 * Usage: #include "fib_protocol.h" and "fib.h", link fib_protocol.c and fib.c
 *        (fib_server.c does)
 * Your task: fib_answer() (one request line, one answer), then
 *        fib_converse() (a whole conversation: lines cut out of a byte
 *        stream). fib_protocol.h says what each must do; every place to fill
 *        in says TODO(student). fib_server.c is the other half: many clients
 *        at once, and fib.c computes the numbers.
 * Check: make exercises && make grade (tests/exercises/ch04_fib_server.bats)
 */
#include "workbook.h"
#include "fib_protocol.h"

#include <inttypes.h>
#include <sys/socket.h>

size_t fib_answer(const char *line, size_t len, char *out, size_t size)
{
    /* TODO(student): answer one request line. line is not NUL-terminated
     * and may hold any byte, NUL included. */

    /* - Digits only: it is n. Answer F(n) and a newline, with fib() (print a
     *   uint64_t with "%" PRIu64) and, past FIB_MAX, with fib_decimal() once
     *   you have written it (the stretch part).
     * - Anything else gets one of these lines, word for word:
     *     "ERR not a number"           letters, an empty line, "1.5", "12abc"
     *     "ERR negative"               a '-' followed by digits
     *     "ERR out of range (max 93)"  n too big: say max 10000 instead once
     *                                  fib_decimal() works. A line of 30
     *                                  digits is too big too, not "not a
     *                                  number": strtol() reports its
     *                                  overflow through errno (ERANGE).
     *     "ERR line too long"          len over FIB_LINE_LIMIT: see
     *                                  fib_converse() */

    /* a placeholder, until then */
    (void)line;
    (void)len;
    return (size_t)snprintf(out, size,
                            "TODO(student): write fib_answer() in fib_protocol.c\n");
}

void fib_converse(int fd)
{
    /* TODO(student): the protocol. As it stands this reads once, answers
     * once and returns (fib_server.c then hangs up). Instead, until the
     * client closes the connection, answer every line it sends. */

    /* - recv() into a buffer. TCP is a byte stream, not messages: one
     *   recv() may bring half a line, or fifty lines. Keep the unfinished
     *   line for the next read.
     * - A line ends with '\n'; drop a '\r' just before it (CRLF). Answer
     *   every line, in order, and keep the connection open after an ERR.
     * - A line over FIB_LINE_LIMIT bytes gets "ERR line too long" when its
     *   '\n' comes, and the rest of it is thrown away, however long it is
     *   (never store more than FIB_LINE_LIMIT bytes of a line, and perhaps
     *   its '\r').
     * - recv() returns 0 when the client has gone and -1 on an error:
     *   EINTR means try again, ECONNRESET means the client has gone too.
     * - send() may take only part of the buffer (a short write): loop. Pass
     *   MSG_NOSIGNAL, or the first client that leaves without reading its
     *   answers kills the whole server with SIGPIPE. */

    /* a placeholder: one read, one answer */
    char in[4096];
    char out[FIB_ANSWER_MAX];

    ssize_t got = recv(fd, in, sizeof in, 0);
    if (got <= 0)
        return;

    size_t len = fib_answer(in, (size_t)got, out, sizeof out);
    if (send(fd, out, len, MSG_NOSIGNAL) < 0)
        fprintf(stderr, "%s: send: %s\n", program_invocation_short_name,
                strerror(errno));
}
