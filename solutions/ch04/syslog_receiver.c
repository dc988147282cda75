/* syslog_receiver.c - the capture tool's receiving thread: UDP datagrams into a file
 *
 * Talk: practice / capture the base station's syslog (完成 btslog 抓 syslog 的功能)
 * Usage: #include "syslog_receiver.h", link syslog_receiver.c (syslog.c does)
 * Shows: a thread that sleeps in poll() on two descriptors, the socket and
 *        the stop pipe; a socket drained without waiting (MSG_DONTWAIT until
 *        EAGAIN), so what arrived before a stop is kept; a datagram written
 *        whole as one line, NUL bytes and all.
 * Compare: syslog.c (the other thread, and the stop), chapters/ch04/bts_sim.c
 */
#include "workbook.h"
#include "syslog_receiver.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/socket.h>

int open_socket(const char *addr, long *port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)*port)};
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
        wb_die_err(EINVAL, addr);

    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        wb_die("socket");

    /* A bigger receive buffer rides out a burst while the thread writes the
     * file; the kernel quietly caps it at net.core.rmem_max. */
    int size = 4 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == -1)
        wb_die("setsockopt SO_RCVBUF");

    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
        fprintf(stderr, "%s: bind udp://%s:%ld: %s\n", program_invocation_short_name,
                addr, *port, strerror(errno));
        exit(1);
    }

    /* with -p 0 the kernel chose a port: ask which */
    socklen_t len = sizeof sin;
    if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
        wb_die("getsockname");
    *port = ntohs(sin.sin_port);
    return fd;
}

static int write_failed(const struct capture *cap)
{
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, cap->path,
            strerror(errno));
    return -1;
}

/* Append every datagram the socket holds right now, without waiting.
 * Returns 0 when the socket is empty, -1 if the file cannot be written. */
static int drain(struct capture *cap)
{
    for (;;) {
        ssize_t n = recv(cap->sock, cap->buf, sizeof cap->buf, MSG_DONTWAIT);

        /* nothing more for now; EINTR: a signal arrived, just try again */
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            fprintf(stderr, "%s: recv: %s\n", program_invocation_short_name,
                    strerror(errno));
            return -1;
        }

        /* a sender's own trailing newline is not doubled */
        size_t len = (size_t)n;
        if (n > 0 && cap->buf[n - 1] == '\n')
            len--;

        /* One datagram, one line: fwrite() with a length keeps a NUL inside
         * the text. */
        size_t written = fwrite(cap->buf, 1, len, cap->log);
        if (written != len)
            return write_failed(cap);
        if (putc('\n', cap->log) == EOF)
            return write_failed(cap);
        atomic_fetch_add(&cap->count, 1);
    }
}

/* Take what has arrived, flush it so `tail -f` shows it, then sleep in
 * poll() until more comes or someone asks to stop. */
void *receiver(void *arg)
{
    struct capture *cap = arg;
    struct pollfd fds[2] = {
        {.fd = cap->sock, .events = POLLIN},
        {.fd = cap->stop_rd, .events = POLLIN},
    };
    int stopping = 0;

    for (;;) {
        /* After a stop this drains once more: what the socket already
         * holds is captured, not thrown away. */
        int err = drain(cap);
        if (err == 0)
            err = fflush(cap->log);

        /* The file cannot be written: stop, and wake the main thread from
         * its wait for input. The pipe is non-blocking; a full one already
         * says stop. */
        if (err != 0) {
            cap->failed = 1;
            ssize_t w = write(cap->stop_wr, "s", 1);
            (void)w;
            return NULL;
        }
        if (stopping)
            return NULL;

        /* -1 only with a bad descriptor, a bug */
        int ready = poll(fds, 2, -1);
        if (ready == -1 && errno != EINTR)
            wb_die("poll");
        stopping = (fds[1].revents & POLLIN) != 0;
    }
}
