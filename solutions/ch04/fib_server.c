/* fib_server.c - answer Fibonacci requests over TCP, one thread per client
 *
 * Talk: practice / Fibonacci program (提供一个 socket server)
 * Usage: fib_server [-p PORT]
 * Protocol: a request per line (LF or CRLF), many per connection: a decimal
 *        n gets F(n), anything else "ERR " and the reason (fib_protocol.h).
 * Shows: a thread per client (并发 concurrency: a silent client blocks only
 *        its own thread); a failing client costs only itself; a clean stop
 *        (signalfd, shutdown(), joins).
 * Compare: fib_protocol.c (one conversation), fib.c (the numbers),
 *          chapters/ch04/fib_client.c. Linux: signalfd, accept4.
 */
#include "workbook.h"

/* the modules this program is linked with: the numbers and the protocol */
#include "fib.h"
#include "fib_protocol.h"

#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

static long parse_options(int argc, char **argv);

/* One connection: main creates it, joins its thread and frees it. Only main
 * closes fd, so the shutdown() at the end never hits a reused descriptor. */
struct client {
    int fd;
    pthread_t thread;

    /* the thread's last act: main may now join it */
    atomic_bool done;
    struct client *next;
};

/* The client's thread: the whole conversation, then goodbye. */
static void *serve_client(void *arg)
{
    struct client *c = arg;
    fib_converse(c->fd);

    /* hang up now; main closes fd when it joins this thread */
    shutdown(c->fd, SHUT_RDWR);
    atomic_store(&c->done, true);
    return NULL;
}

/* No thread for a new client: only it is refused. */
static void refuse_client(int fd, int err)
{
    fprintf(stderr, "%s: new client: %s\n", program_invocation_short_name,
            strerror(err));
    close(fd);
}

/* A new client gets a thread of its own. */
static void accept_client(int listener, struct client **clients)
{
    int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);

    /* EAGAIN, ECONNABORTED: it left before we got to it */
    if (fd < 0) {
        int err = errno;
        if (err != EAGAIN && err != EINTR && err != ECONNABORTED)
            fprintf(stderr, "%s: accept: %s\n", program_invocation_short_name,
                    strerror(err));

        /* out of descriptors: let some clients leave, rather than spin on a
         * listener that stays ready */
        if (err == EMFILE || err == ENFILE)
            poll(NULL, 0, 100);
        return;
    }

    /* fd is set before the thread starts: it reads c->fd at once */
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        refuse_client(fd, ENOMEM);
        return;
    }
    c->fd = fd;

    int err = pthread_create(&c->thread, NULL, serve_client, c);
    if (err != 0) {
        refuse_client(fd, err);
        free(c);
        return;
    }

    c->next = *clients;
    *clients = c;
}

/* Join the threads that are done (or all of them) and close their sockets. */
static void reap(struct client **clients, bool all)
{
    struct client **p = clients;
    while (*p != NULL) {
        struct client *c = *p;

        /* still talking: leave it for a later round */
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
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        wb_die("socket");

    /* SO_REUSEADDR: restart on the same port at once, despite old
     * connections in TIME_WAIT */
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        wb_die("setsockopt");

    struct sockaddr_in sa = {
        .sin_family = AF_INET,
        .sin_port = htons((uint16_t)port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        wb_die("bind");

    /* a deep queue: hundreds may connect at once */
    if (listen(fd, SOMAXCONN) < 0)
        wb_die("listen");

    /* with port 0 the kernel chose one: ask which */
    socklen_t sl = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
        wb_die("getsockname");
    *bound = ntohs(sa.sin_port);
    return fd;
}

int main(int argc, char **argv)
{
    long port = parse_options(argc, argv);

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

    /* ready: say where */
    int bound;
    int listener = listen_on(port, &bound);
    printf("fib_server listening on port %d\n", bound);
    fflush(stdout);

    /* Wait for a client or a signal, and at least once a second join the
     * threads that have finished. */
    struct client *clients = NULL;
    struct pollfd pfd[2] = {
        {.fd = listener, .events = POLLIN},
        {.fd = sig_fd, .events = POLLIN},
    };
    for (;;) {
        int ready = poll(pfd, 2, 1000);
        if (ready < 0 && errno != EINTR)
            wb_die("poll");
        if (ready > 0 && (pfd[1].revents & POLLIN))
            break;
        if (ready > 0 && (pfd[0].revents & POLLIN))
            accept_client(listener, &clients);
        reap(&clients, false);
    }

    /* which signal it was */
    struct signalfd_siginfo si;
    if (read(sig_fd, &si, sizeof si) != sizeof si)
        wb_die("read signalfd");

    /* Stop taking clients. shutdown() makes each thread's waiting recv()
     * return 0 (or its send() fail), so every thread ends by itself; it
     * fails harmlessly for a client that already left. */
    close(listener);
    for (struct client *c = clients; c != NULL; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    reap(&clients, true);
    close(sig_fd);
    printf("fib_server stopped by %s\n", strsignal((int)si.ssi_signo));
    return 0;
}

/* --- the command line ------------------------------------------------------ */

/* --help: all of this on stdout, exit 0; a mistake: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    fputs("Usage: fib_server [-p PORT]\n", status == 0 ? stdout : stderr);
    if (status == 0)
        printf("\nAnswers F(n) for every line a client sends, a thread per client.\n"
               "  -p PORT  port on 127.0.0.1 (default 9093; 0: any free port)\n");
    exit(status);
}

/* The port to listen on. Options only: an argument is a mistake. */
static long parse_options(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long port = 9093;
    int c;

    while ((c = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': port = wb_opt_long("-p", optarg, 0, 65535); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (optind != argc)
        usage(2);
    return port;
}
