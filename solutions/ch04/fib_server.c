/* fib_server.c - answer Fibonacci requests over TCP, one thread per client
 *
 * Talk: practice / Fibonacci program (提供一个 socket server)
 * Usage: fib_server [-p PORT]
 * Protocol: a request per line (LF or CRLF), many per connection: a decimal
 *        n gets F(n), anything else "ERR " and the reason (see answer()).
 * Shows: a thread per client (并发 concurrency: a silent client blocks only
 *        its own thread); lines cut out of a byte stream; a failing client
 *        costs only itself; a clean stop (signalfd, shutdown(), joins).
 * Compare: fib.c (the module), chapters/ch04/fib_client.c. Linux: signalfd, accept4.
 */
#include "workbook.h"
#include "fib.h"

#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#define LINE_LIMIT 64                     /* longest request, without its line end */
#define ANSWER_MAX (FIB_DECIMAL_SIZE + 1) /* longest answer: F(10000) and '\n' */

static const char usage[] = "Usage: fib_server [-p PORT]\n";

/* One connection: main creates it, joins its thread and frees it. Only main
 * closes fd, so the shutdown() at the end never hits a reused descriptor. */
struct client {
    int fd;
    pthread_t thread;
    atomic_bool done; /* the thread's last act: main may now join it */
    struct client *next;
};

/* The answer to one request line (without its LF or CRLF), into out. */
static size_t answer(const char *line, size_t len, char *out, size_t size)
{
    if (len > LINE_LIMIT)
        return (size_t)snprintf(out, size, "ERR line too long\n");
    size_t sign = len > 0 && line[0] == '-', i = sign;
    while (i < len && isdigit((unsigned char)line[i]))
        i++;
    if (i == sign || i != len) /* digits only, after an optional '-' */
        return (size_t)snprintf(out, size, "ERR not a number\n");
    if (sign)
        return (size_t)snprintf(out, size, "ERR negative\n");
    long n = 0; /* 64 digits overflow any long: stop once past the limit */
    for (i = 0; i < len && n <= FIB_DECIMAL_MAX; i++)
        n = n * 10 + (line[i] - '0');
    uint64_t value;
    if (fib(n, &value) == 0)
        return (size_t)snprintf(out, size, "%" PRIu64 "\n", value);
    int digits = fib_decimal(n, out, size - 1); /* past 64 bits: the stretch part */
    if (digits < 0)
        return (size_t)snprintf(out, size, "ERR out of range (max %d)\n", FIB_DECIMAL_MAX);
    out[digits] = '\n';
    return (size_t)digits + 1;
}

/* send() may take only part of the buffer (a short write): loop. MSG_NOSIGNAL:
 * a client that has left makes it fail with EPIPE, not raise SIGPIPE (fatal). */
static bool send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t sent = send(fd, buf, len, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) /* interrupted before sending: retry */
            continue;
        if (sent < 0)
            return false;
        buf += sent;
        len -= (size_t)sent;
    }
    return true;
}

/* The client's thread. TCP carries bytes, not messages: one recv() may hold
 * half a line or a hundred lines, so the current line lives across reads,
 * and the answers to everything one read brought go back in one send(). */
static void *serve_client(void *arg)
{
    struct client *c = arg;
    char in[4096], out[4 * ANSWER_MAX], line[LINE_LIMIT + 1]; /* +1: a CR before the LF */
    size_t len = 0, used = 0; /* len past sizeof line: too long, drop the rest */
    ssize_t got;
    while ((got = recv(c->fd, in, sizeof in, 0)) != 0) { /* 0: the client has gone */
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            break; /* ECONNRESET and the like: the end of this client only */
        for (ssize_t i = 0; i < got; i++) {
            if (in[i] != '\n') {
                if (len < sizeof line)
                    line[len++] = in[i];
                else
                    len = sizeof line + 1;
                continue;
            }
            if (len > 0 && len <= sizeof line && line[len - 1] == '\r')
                len--;
            if (used + ANSWER_MAX > sizeof out) { /* full: send before answering more */
                if (!send_all(c->fd, out, used))
                    break; /* and the send_all() below fails too */
                used = 0;
            }
            used += answer(line, len, out + used, sizeof out - used);
            len = 0;
        }
        if (!send_all(c->fd, out, used))
            break; /* the client left without reading its answers */
        used = 0;
    }
    shutdown(c->fd, SHUT_RDWR); /* goodbye now; main closes fd when it joins us */
    atomic_store(&c->done, true);
    return NULL;
}

/* A new client gets a thread of its own; if none can be had, only it is refused. */
static void accept_client(int listener, struct client **clients)
{
    int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) { /* EAGAIN, ECONNABORTED: it left before we got to it */
        int err = errno;
        if (err != EAGAIN && err != EINTR && err != ECONNABORTED)
            fprintf(stderr, "fib_server: accept: %s\n", strerror(err));
        if (err == EMFILE || err == ENFILE) /* out of descriptors: let some clients leave */
            poll(NULL, 0, 100);             /* rather than spin on a listener that stays ready */
        return;
    }
    struct client *c = calloc(1, sizeof *c);
    if (c)
        c->fd = fd; /* before the thread starts: it reads c->fd at once */
    int err = c ? pthread_create(&c->thread, NULL, serve_client, c) : ENOMEM;
    if (err != 0) {
        fprintf(stderr, "fib_server: new client: %s\n", strerror(err));
        close(fd);
        free(c);
        return;
    }
    c->next = *clients;
    *clients = c;
}

/* Join the threads that are done (or all of them) and close their sockets. */
static void reap(struct client **clients, bool all)
{
    for (struct client **p = clients, *c; (c = *p) != NULL;) {
        if (!all && !atomic_load(&c->done)) {
            p = &c->next;
            continue;
        }
        int err = pthread_join(c->thread, NULL);
        if (err != 0)
            wb_die_err(err, "pthread_join");
        close(c->fd);
        *p = c->next;
        free(c);
    }
}

/* Listen on 127.0.0.1:port (0: any free port); returns the socket and the port. */
static int listen_on(long port, int *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (fd < 0)
        wb_die("socket");
    /* SO_REUSEADDR: restart on the same port at once, despite old TIME_WAIT connections */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        wb_die("setsockopt");
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        wb_die("bind");
    if (listen(fd, SOMAXCONN) < 0) /* a deep queue: hundreds may connect at once */
        wb_die("listen");
    if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
        wb_die("getsockname");
    *bound = ntohs(sa.sin_port);
    return fd;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    long port = 9093;
    int opt;
    while ((opt = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p': port = wb_opt_long("-p", optarg, 0, 65535); break;
        case 'h':
            printf("%s\nAnswers F(n) for every line a client sends, a thread per client.\n"
                   "  -p PORT  port on 127.0.0.1 (default 9093; 0: any free port)\n",
                   usage);
            return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind != argc) { /* options only: an argument is a mistake */
        fputs(usage, stderr);
        return 2;
    }
    /* SIGINT and SIGTERM are blocked before any thread exists (threads
     * inherit the mask) and arrive instead as a readable descriptor that main
     * polls beside the listening socket: no handler, no race. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    int err = pthread_sigmask(SIG_BLOCK, &stop, NULL);
    if (err != 0)
        wb_die_err(err, "pthread_sigmask");
    int sig_fd = signalfd(-1, &stop, SFD_CLOEXEC);
    if (sig_fd < 0)
        wb_die("signalfd");
    int bound, listener = listen_on(port, &bound);
    printf("fib_server listening on port %d\n", bound);
    fflush(stdout);
    struct client *clients = NULL;
    struct pollfd pfd[2] = {{.fd = listener, .events = POLLIN}, {.fd = sig_fd, .events = POLLIN}};
    struct signalfd_siginfo si;
    for (;;) {
        int ready = poll(pfd, 2, 1000); /* at least once a second: join finished threads */
        if (ready < 0 && errno != EINTR)
            wb_die("poll");
        if (ready > 0 && (pfd[1].revents & POLLIN)) {
            if (read(sig_fd, &si, sizeof si) != sizeof si)
                wb_die("read signalfd");
            break;
        }
        if (ready > 0 && (pfd[0].revents & POLLIN))
            accept_client(listener, &clients);
        reap(&clients, false);
    }
    /* Stop taking clients. shutdown() makes each thread's waiting recv()
     * return 0 (or its send() fail), so every thread ends by itself. */
    close(listener);
    for (struct client *c = clients; c; c = c->next)
        shutdown(c->fd, SHUT_RDWR); /* fails harmlessly if the client already left */
    reap(&clients, true);
    close(sig_fd);
    printf("fib_server stopped by %s\n", strsignal((int)si.ssi_signo));
    return 0;
}
