/* syslog.c - capture a base station's syslog into a file until the user types stop
 *
 * Talk: practice / capture the base station's syslog (./syslog -l syslog_1.txt)
 * Usage: syslog -l FILE [-p PORT] [-b ADDR]
 * Shows: two threads, two jobs: a receiving thread appends every UDP datagram
 *        to FILE as one line while the main thread reads commands from the
 *        terminal (stop, status). Stopping is one byte written into a "stop
 *        pipe" that nobody reads: poll() in both threads then sees it readable
 *        and ends, so `stop`, end of input, Ctrl-C and SIGTERM share one path.
 * Compare: syslog_receiver.c (the receiving thread),
 *          chapters/ch04/bts_sim.c (the base station that feeds it). Linux: pipe2.
 */
#include "workbook.h"

/* the receiving thread and what the two threads share */
#include "syslog_receiver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

struct options {
    const char *path;
    const char *addr;
    long port;
};

static struct options parse_options(int argc, char **argv);

/* The stop pipe's write end. A signal handler may call only async-signal-safe
 * functions (write is one) and reaches data only through a global. */
static int stop_fd = -1;

static void request_stop(int sig)
{
    (void)sig;

    /* the interrupted code may be about to read errno */
    int saved = errno;

    /* non-blocking: a full pipe already says "stop" */
    ssize_t r = write(stop_fd, "s", 1);
    (void)r;
    errno = saved;
}

/* One command line from the user. Returns 1 for stop, 0 to go on. */
static int command(struct capture *cap, char *line)
{
    /* a terminal or a client may send CRLF */
    line[strcspn(line, "\r")] = '\0';

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
    char line[256];
    char chunk[256];
    size_t len = 0;
    struct pollfd fds[2] = {
        {.fd = STDIN_FILENO, .events = POLLIN},
        {.fd = cap->stop_rd, .events = POLLIN},
    };

    for (;;) {
        /* EINTR: the handler wrote to the pipe; poll again to see it */
        int ready = poll(fds, 2, -1);
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == -1)
            wb_die("poll");
        if (fds[1].revents & POLLIN)
            return;

        /* 0: end of input (Ctrl-D); -1 for good: unreadable stdin */
        ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
        if (n == -1 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return;

        /* cut the bytes into lines; an overlong line is cut, not overflowed */
        for (ssize_t i = 0; i < n; i++) {
            if (chunk[i] != '\n') {
                if (len < sizeof line - 1)
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

/* The stop pipe, and Ctrl-C and SIGTERM taking the same road as `stop`. */
static void prepare_stop(struct capture *cap)
{
    /* non-blocking: a signal handler must never block */
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) == -1)
        wb_die("pipe2");
    cap->stop_rd = pipefd[0];
    cap->stop_wr = pipefd[1];
    stop_fd = pipefd[1];

    struct sigaction sa = {.sa_handler = request_stop};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1)
        wb_die("sigaction");
    if (sigaction(SIGTERM, &sa, NULL) == -1)
        wb_die("sigaction");
}

int main(int argc, char **argv)
{
    /* static: its 64 KiB buffer stays off the stack */
    static struct capture cap;
    struct options o = parse_options(argc, argv);
    cap.path = o.path;

    /* each answer shows at once, even into a pipe */
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Bind first, then open the file: a busy port leaves no file behind.
     * "a": what the file held stays. */
    cap.sock = open_socket(o.addr, &o.port);
    cap.log = fopen(cap.path, "a");
    if (cap.log == NULL)
        wb_die(cap.path);
    prepare_stop(&cap);

    /* two threads, two jobs */
    pthread_t tid;
    int err = pthread_create(&tid, NULL, receiver, &cap);
    if (err != 0)
        wb_die_err(err, "pthread_create");
    printf("capturing syslog on udp://%s:%ld into %s, type 'stop' to stop\n", o.addr,
           o.port, cap.path);
    command_loop(&cap);

    /* stop: the receiver takes what the socket holds, then ends */
    request_stop(0);
    err = pthread_join(tid, NULL);
    if (err != 0)
        wb_die_err(err, "pthread_join");
    if (fclose(cap.log) == EOF) {
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, cap.path,
                strerror(errno));
        cap.failed = 1;
    }

    /* From here a late signal must not write into a closed descriptor. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    close(cap.sock);
    close(cap.stop_rd);
    close(stop_fd);
    printf("stopped: %ld messages captured into %s\n", atomic_load(&cap.count),
           cap.path);
    return cap.failed ? 1 : 0;
}

/* --- the command line ------------------------------------------------------ */

/* --help: all of this on stdout, exit 0; a mistake: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    fputs("Usage: syslog -l FILE [-p PORT] [-b ADDR]\n", status == 0 ? stdout : stderr);
    if (status == 0)
        printf("\nCaptures syslog messages sent over UDP to ADDR:PORT (default\n"
               "0.0.0.0:5140) and appends each one to FILE as a line, until you\n"
               "type 'stop' (or end the input, or press Ctrl-C). 'status' tells\n"
               "how many messages have been captured so far.\n");
    exit(status);
}

static struct options parse_options(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct options o = {.addr = "0.0.0.0", .port = 5140};
    int c;

    while ((c = getopt_long(argc, argv, "l:p:b:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': o.path = optarg; break;
        case 'p': o.port = wb_opt_long("-p", optarg, 0, 65535); break;
        case 'b': o.addr = optarg; break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (o.path == NULL || optind != argc)
        usage(2);

    /* -b: an IPv4 address, such as 127.0.0.1 */
    struct in_addr checked;
    if (inet_pton(AF_INET, o.addr, &checked) != 1) {
        fprintf(stderr, "%s: -b: '%s' is not an IPv4 address\n",
                program_invocation_short_name, o.addr);
        usage(2);
    }
    return o;
}
