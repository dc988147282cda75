/* fib_server.c - answer Fibonacci requests over TCP, many clients at once (exercise)
 *
 * Talk: practice / Fibonacci program (提供一个 socket server)
 * Usage: fib_server [-p PORT]
 * Protocol: a request per line (LF or CRLF), many per connection: a decimal
 *        n gets F(n), anything else "ERR not a number", "ERR negative", "ERR
 *        out of range (max 93)" or "ERR line too long" (fib_protocol.h).
 * Your task: main() (many clients at once, a clean stop on SIGINT and
 *        SIGTERM). Every place to fill in says TODO(student). The other
 *        halves: fib_protocol.c (what is said on one connection) and fib.c.
 * Check: make exercises && make grade (tests/exercises/ch04_fib_server.bats);
 *        by hand: exercises/ch04/fib_server -p 9093, then in another
 *        terminal printf '10\n93\nabc\n' | nc -N 127.0.0.1 9093
 */
#include "workbook.h"

/* the modules this program is linked with: the numbers and the protocol */
#include "fib.h"
#include "fib_protocol.h"

#include <getopt.h>
#include <netinet/in.h>
#include <sys/socket.h>

static long parse_options(int argc, char **argv);

/* Listen on 127.0.0.1:port (0: any free port); returns the socket and the port. */
static int listen_on(long port, int *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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

    /* TODO(student): SIGINT and SIGTERM must stop the server cleanly: stop
     * accepting, end every client's conversation, close every socket and
     * exit 0 (the default action kills the process instead). A handler may
     * only set a volatile sig_atomic_t flag or write() to a pipe that the
     * main loop watches with poll(); or block both signals before starting
     * any thread and read them from a signalfd() (Linux) in the main loop.
     * A thread blocked in recv() does not see a flag: shutdown(fd, SHUT_RDWR)
     * on its socket wakes it (recv() returns 0). */

    /* ready: say where, and flush, so a script waiting for the line sees it */
    int bound;
    int listener = listen_on(port, &bound);
    printf("fib_server listening on port %d\n", bound);
    fflush(stdout);

    /* TODO(student): serve many clients at once. This loop serves one client
     * at a time: while it waits for a client that says nothing, everyone
     * else waits too. Three ways out (并发 concurrency):
     * - a thread per client: pthread_create() after each accept(), the
     *   socket handed over in a struct of its own. Detach the threads, or
     *   keep them in a list and join them (shutdown() wakes them) when
     *   stopping. Chapter 3's thread_fetch starts one thread per job.
     * - a pool: a fixed number of threads taking work from a queue. If a
     *   worker keeps a connection until it ends, N workers serve only N
     *   clients at once and N silent clients stop everything: the grader
     *   connects 200 clients together. Hand the workers requests, not
     *   connections, or use this only beside an event loop.
     * - an event loop: one thread, non-blocking sockets, poll() or epoll
     *   over all of them, each connection's unfinished line kept in its
     *   own struct, each finished line answered with fib_answer().
     *   Chapter 5 builds one step by step. */
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            fprintf(stderr, "%s: accept: %s\n", program_invocation_short_name,
                    strerror(errno));
            continue;
        }
        fib_converse(fd);
        close(fd);
    }
}

/* --- the command line ------------------------------------------------------ */

/* --help: all of this on stdout, exit 0; a mistake: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    fputs("Usage: fib_server [-p PORT]\n", status == 0 ? stdout : stderr);
    if (status == 0)
        printf("\nAnswers F(n) for every line a client sends.\n"
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
