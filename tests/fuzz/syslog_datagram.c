/* syslog_datagram.c - fuzz the capture tool's datagram handling, drain()
 *
 * Usage: make fuzz (or tests/fuzz/run SECONDS syslog_datagram)
 * Checks: whatever the datagrams hold (NUL bytes, newlines, nothing at all),
 *         each becomes exactly one line of the file, its own trailing
 *         newline not doubled, in the order sent, and the count agrees.
 *
 * The harness includes the solution's syslog_receiver.c, so it tests the
 * code the tool runs; the datagrams travel through a real datagram socket.
 */
#include "syslog_receiver.c"

#include <stdint.h>

/* The input is cut into datagrams at each 0xff byte (at most 16 of them). */
#define MAX_DATAGRAMS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a connected pair of datagram sockets stands in for the UDP socket */
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, pair) == -1)
        abort();

    /* the file, in memory */
    static struct capture cap;
    char *file = NULL;
    size_t file_len = 0;
    cap.path = "memory";
    cap.log = open_memstream(&file, &file_len);
    cap.sock = pair[0];
    atomic_store(&cap.count, 0);
    if (cap.log == NULL)
        abort();

    /* send the datagrams, and write down the lines they must become */
    char *want = malloc(size + MAX_DATAGRAMS + 1);
    size_t want_len = 0;
    long sent = 0;
    size_t from = 0;
    while (from <= size && sent < MAX_DATAGRAMS && want != NULL) {
        const uint8_t *cut = memchr(data + from, 0xff, size - from);
        size_t len = cut ? (size_t)(cut - data) - from : size - from;
        if (send(pair[1], data + from, len, 0) != (ssize_t)len)
            abort();
        sent++;

        size_t line = len;
        if (line > 0 && data[from + line - 1] == '\n')
            line--;
        memcpy(want + want_len, data + from, line);
        want_len += line;
        want[want_len++] = '\n';
        from += len + 1;
    }

    /* drain() takes them all and says the socket is empty */
    if (drain(&cap) != 0)
        abort();
    fclose(cap.log);
    if (atomic_load(&cap.count) != sent)
        abort();
    if (file_len != want_len || memcmp(file, want, want_len) != 0)
        abort();

    free(want);
    free(file);
    close(pair[0]);
    close(pair[1]);
    return 0;
}
