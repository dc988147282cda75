/* syslog_receiver.c - the capture tool's receiving thread: UDP datagrams into a file
 * (exercise)
 *
 * Grader self-test: a submission half done. It captures, stops on 'stop' and
 * at end of input, drains the socket; it has no 'status', a 4 KiB buffer,
 * fprintf("%s") (a NUL cuts the line, a trailing newline doubles), and its
 * signal handler only sets a flag that nobody reads while fgets() blocks
 * (SA_RESTART), so SIGINT and SIGTERM never stop it.
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
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd == -1)
        wb_die("socket");

    int size = 4 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == -1)
        wb_die("setsockopt");

    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)*port)};
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
        wb_die_err(EINVAL, addr);

    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
        fprintf(stderr, "syslog: bind udp://%s:%ld: %s\n", addr, *port,
                strerror(errno));
        exit(1);
    }
    return fd;
}

/* stopping: poll() on the socket and on a pipe that main writes to */
void *receiver(void *arg)
{
    struct capture *cap = arg;

    /* TODO: is this big enough? */
    char buf[4096];

    struct pollfd fds[2] = {
        {.fd = cap->sock, .events = POLLIN},
        {.fd = cap->stop_pipe[0], .events = POLLIN},
    };
    for (;;) {
        int ready = poll(fds, 2, -1);
        if (ready == -1)
            continue;

        /* take all that is there, also when stopping */
        for (;;) {
            ssize_t n = recv(cap->sock, buf, sizeof buf - 1, MSG_DONTWAIT);
            if (n <= 0)
                break;
            buf[n] = '\0';
            fprintf(cap->log, "%s\n", buf);
            atomic_fetch_add(&cap->count, 1);
        }
        fflush(cap->log);

        if (fds[1].revents & POLLIN)
            return NULL;
    }
}
