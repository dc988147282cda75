/* syslog_receiver.c - the capture tool's receiving thread: UDP datagrams into a file
 * (exercise)
 *
 * Talk: practice / capture the base station's syslog (完成 btslog 抓 syslog 的功能)
 * Usage: #include "syslog_receiver.h", link syslog_receiver.c (syslog.c does)
 * Your task: open_socket(), then receiver(): the receiving half of the
 *        capture tool. syslog.c is the other half (the commands, and the
 *        stop). Every place to fill in says TODO(student).
 * Check: make exercises && make grade (tests/exercises/ch04_syslog.bats)
 */
#include "workbook.h"
#include "syslog_receiver.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/socket.h>

int open_socket(const char *addr, long *port)
{
    /* TODO(student): socket(AF_INET, SOCK_DGRAM, 0); fill a struct
     * sockaddr_in (inet_pton for ADDR, which main has checked already;
     * htons for PORT); bind(). If bind fails (the port is taken), print
     * "syslog: bind udp://ADDR:PORT: <strerror(errno)>" to stderr and
     * exit(1). With PORT 0 the kernel picks one: getsockname() tells which,
     * so store it back into *port. */

    /* a placeholder: main says what is not written yet */
    (void)addr;
    (void)port;
    return -1;
}

void *receiver(void *arg)
{
    /* TODO(student): loop: recv() one datagram into a buffer of DATAGRAM_MAX
     * bytes; write it to cap->log as one line: fwrite() with its length (a
     * NUL inside must not cut it short), then '\n', unless the datagram
     * already ends with one; count it with atomic_fetch_add(). fflush() the
     * file now and then, so `tail -f FILE` shows the lines. */

    /* TODO(student): stopping. A thread blocked in recv() does not notice a
     * flag. Pick one way to wake it and say which in a comment:
     *   - poll() on the socket and on the read end of a pipe that main
     *     writes one byte into when it is time to stop (a signal handler may
     *     write to it too);
     *   - or SO_RCVTIMEO on the socket, so recv() returns every 100 ms to
     *     check an _Atomic flag.
     * Before it returns, it takes what the socket still holds (recv with
     * MSG_DONTWAIT until EAGAIN): a message that arrived before `stop` is
     * kept. */

    /* a placeholder: it receives nothing */
    (void)arg;
    return NULL;
}
