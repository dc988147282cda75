/* syslog.c - capture a base station's syslog into a file until the user types stop
 *
 * Talk: practice / capture the base station's syslog (./syslog -l syslog_1.txt)
 * Usage: syslog -l FILE [-p PORT] [-b ADDR]
 * Shows: two threads, two jobs: a receiving thread appends every UDP datagram
 *        to FILE as one line while the main thread reads commands from the
 *        terminal (stop, status). Stopping is one byte written into a "stop
 *        pipe" that nobody reads: poll() in both threads then sees it readable
 *        and ends, so `stop`, end of input, Ctrl-C and SIGTERM share one path.
 * Compare: chapters/ch04/bts_sim.c (the base station that feeds it)
 * Linux: pipe2.
 */
#include "workbook.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>

#define DATAGRAM_MAX 65536 /* the largest UDP payload (65507 bytes over IPv4) fits */

static const char usage[] = "Usage: syslog -l FILE [-p PORT] [-b ADDR]\n";

/* Everything the two threads share. Only `count` changes while both run,
 * so it is atomic; `failed` is written by the receiver before it ends and
 * read by main after pthread_join, which orders the two. */
struct capture {
    const char *path;
    FILE *log;
    int sock, stop_rd; /* the stop pipe's read end: readable once asked to stop */
    _Atomic long count;
    int failed;
    char buf[DATAGRAM_MAX]; /* the receiver's: one datagram at a time */
};

/* The stop pipe's write end. A signal handler may call only async-signal-safe
 * functions (write is one) and reaches data only through a global. */
static int stop_fd = -1;
static void request_stop(int sig)
{
    (void)sig;
    int saved = errno; /* the interrupted code may be about to read errno */
    ssize_t r = write(stop_fd, "s", 1);
    (void)r; /* non-blocking: a full pipe already says "stop" */
    errno = saved;
}

/* Append every datagram the socket holds right now, without waiting.
 * Returns 0 when the socket is empty, -1 if the file cannot be written. */
static int drain(struct capture *cap)
{
    for (;;) {
        ssize_t n = recv(cap->sock, cap->buf, sizeof cap->buf, MSG_DONTWAIT);
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0; /* nothing more for now */
        if (n == -1 && errno == EINTR)
            continue; /* a signal arrived: just try again */
        if (n == -1) {
            fprintf(stderr, "syslog: recv: %s\n", strerror(errno));
            return -1;
        }
        /* One datagram, one line. fwrite with a length keeps a NUL inside
         * the text; a sender's own trailing newline is not doubled. */
        size_t len = (size_t)n - (n > 0 && cap->buf[n - 1] == '\n');
        if (fwrite(cap->buf, 1, len, cap->log) != len || putc('\n', cap->log) == EOF) {
            fprintf(stderr, "syslog: %s: %s\n", cap->path, strerror(errno));
            return -1;
        }
        atomic_fetch_add(&cap->count, 1);
    }
}

/* The receiving thread: take what has arrived, flush it so `tail -f` shows
 * it, then sleep in poll() until more comes or someone asks to stop. */
static void *receiver(void *arg)
{
    struct capture *cap = arg;
    struct pollfd fds[2] = {{.fd = cap->sock, .events = POLLIN},
                            {.fd = cap->stop_rd, .events = POLLIN}};
    for (int stopping = 0;;) {
        /* After a stop this drains once more: what the socket already
         * holds is captured, not thrown away. */
        if (drain(cap) == -1 || fflush(cap->log) == EOF) {
            cap->failed = 1;
            request_stop(0); /* so the main thread stops waiting for input */
            return NULL;
        }
        if (stopping)
            return NULL;
        if (poll(fds, 2, -1) == -1 && errno != EINTR)
            wb_die("poll"); /* only with a bad descriptor: a bug */
        stopping = (fds[1].revents & POLLIN) != 0;
    }
}

/* One command line from the user. Returns 1 for stop, 0 to go on. */
static int command(struct capture *cap, char *line)
{
    line[strcspn(line, "\r")] = '\0'; /* a terminal or a client may send CRLF */
    if (strcmp(line, "stop") == 0)
        return 1;
    if (strcmp(line, "status") == 0)
        printf("captured %ld messages so far\n", atomic_load(&cap->count));
    else if (line[0] != '\0')
        printf("unknown command '%s', type 'stop' to stop\n", line);
    return 0;
}

/* The main thread's job: read lines from stdin until `stop`, end of input,
 * or the stop pipe (a signal, a failed receiver) says to end. read() and not
 * fgets(), because poll() must see every byte that is still waiting. */
static void command_loop(struct capture *cap)
{
    char line[256], chunk[256];
    size_t len = 0;
    struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                            {.fd = cap->stop_rd, .events = POLLIN}};
    for (;;) {
        if (poll(fds, 2, -1) == -1) {
            if (errno != EINTR) /* EINTR: the handler wrote to the pipe: poll again */
                wb_die("poll");
            continue;
        }
        if (fds[1].revents & POLLIN)
            return;
        ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
        if (n == -1 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return; /* end of input (Ctrl-D) or unreadable stdin: stop */
        for (ssize_t i = 0; i < n; i++) {
            if (chunk[i] != '\n') {
                if (len < sizeof line - 1) /* an overlong line is cut, not overflowed */
                    line[len++] = chunk[i];
                continue;
            }
            line[len] = '\0';
            len = 0;
            if (command(cap, line))
                return;
        }
    }
}

/* Bind a UDP socket to ADDR:PORT; a busy port is an error (exit 1). */
static int open_socket(const char *addr, long *port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        fprintf(stderr, "syslog: -b: '%s' is not an IPv4 address\n%s", addr, usage);
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), size = 4 << 20;
    if (fd == -1)
        wb_die("socket");
    /* A bigger receive buffer rides out a burst while the thread writes the
     * file; the kernel quietly caps it at net.core.rmem_max. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == -1)
        wb_die("setsockopt SO_RCVBUF");
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
        fprintf(stderr, "syslog: bind udp://%s:%ld: %s\n", addr, *port, strerror(errno));
        exit(1);
    }
    socklen_t len = sizeof sin; /* with -p 0 the kernel chose a port: ask which */
    if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
        wb_die("getsockname");
    *port = ntohs(sin.sin_port);
    return fd;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    static struct capture cap; /* static: its 64 KiB buffer stays off the stack */
    const char *addr = "0.0.0.0";
    long port = 5140;
    int c;
    while ((c = getopt_long(argc, argv, "l:p:b:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': cap.path = optarg; break;
        case 'p': port = wb_opt_long("-p", optarg, 0, 65535); break;
        case 'b': addr = optarg; break;
        case 'h':
            printf("%s\nCaptures syslog messages sent over UDP to ADDR:PORT (default\n"
                   "0.0.0.0:5140) and appends each one to FILE as a line, until you\n"
                   "type 'stop' (or end the input, or press Ctrl-C). 'status' tells\n"
                   "how many messages have been captured so far.\n",
                   usage);
            return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (!cap.path || optind != argc) {
        fputs(usage, stderr);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* each answer shows at once, even into a pipe */

    /* Bind first, then open the file: a busy port leaves no file behind. */
    cap.sock = open_socket(addr, &port);
    if (!(cap.log = fopen(cap.path, "a"))) /* "a": what was there stays */
        wb_die(cap.path);
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) == -1) /* a handler must never block */
        wb_die("pipe2");
    cap.stop_rd = pipefd[0];
    stop_fd = pipefd[1];
    /* Ctrl-C and SIGTERM take the same road as `stop`. */
    struct sigaction sa = {.sa_handler = request_stop};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1)
        wb_die("sigaction");

    pthread_t tid;
    int err = pthread_create(&tid, NULL, receiver, &cap);
    if (err)
        wb_die_err(err, "pthread_create");
    printf("capturing syslog on udp://%s:%ld into %s, type 'stop' to stop\n", addr, port,
           cap.path);

    command_loop(&cap);
    request_stop(0);
    if ((err = pthread_join(tid, NULL)))
        wb_die_err(err, "pthread_join");
    if (fclose(cap.log) == EOF) {
        fprintf(stderr, "syslog: %s: %s\n", cap.path, strerror(errno));
        cap.failed = 1;
    }
    /* From here a late signal must not write into a closed descriptor. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    close(cap.sock);
    close(cap.stop_rd);
    close(stop_fd);
    printf("stopped: %ld messages captured into %s\n", atomic_load(&cap.count), cap.path);
    return cap.failed ? 1 : 0;
}
