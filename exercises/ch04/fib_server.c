/* fib_server.c - answer Fibonacci requests over TCP, many clients at once (exercise)
 *
 * Talk: practice / Fibonacci program (提供一个 socket server)
 * Usage: fib_server [-p PORT]
 * Protocol: a request per line (LF or CRLF), many per connection: a decimal
 *        n gets F(n), anything else "ERR not a number", "ERR negative", "ERR
 *        out of range (max 93)" or "ERR line too long" (over 64 bytes).
 * Your task: answer() and serve_client() (the protocol), then main() (many
 *        clients at once, a clean stop on SIGINT and SIGTERM). Every place
 *        to fill in says TODO(student). fib.c is the other half.
 * Check: make exercises && make grade (tests/exercises/ch04_fib_server.bats);
 *        by hand: exercises/ch04/fib_server -p 9093, then in another
 *        terminal printf '10\n93\nabc\n' | nc -N 127.0.0.1 9093
 */
#include "workbook.h"
#include "fib.h"

#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define LINE_LIMIT 64 /* the longest request, without its line end */

static const char usage[] = "Usage: fib_server [-p PORT]\n";

/* The answer to one request line (without its LF or CRLF), written into out
 * (size bytes, room for any answer); returns its length. */
static size_t answer(const char *line, size_t len, char *out, size_t size)
{
    /* TODO(student): answer one request line.
     * - Digits only: it is n. Answer F(n) and a newline, with fib() (print a
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
     *     "ERR line too long"          see serve_client()
     * - line is not NUL-terminated and may hold any byte, NUL included. */
    (void)line;
    (void)len;
    return (size_t)snprintf(out, size, "TODO(student): write answer() in fib_server.c\n");
}

/* Talk with one client until it leaves. */
static void serve_client(int fd)
{
    /* TODO(student): the protocol. As it stands this reads once, answers
     * once and hangs up. Instead, until the client closes the connection:
     * - recv() into a buffer. TCP is a byte stream, not messages: one
     *   recv() may bring half a line, or fifty lines. Keep the unfinished
     *   line for the next read.
     * - A line ends with '\n'; drop a '\r' just before it (CRLF). Answer
     *   every line, in order, and keep the connection open after an ERR.
     * - A line over LINE_LIMIT bytes gets "ERR line too long" when its '\n'
     *   comes, and the rest of it is thrown away, however long it is (never
     *   store more than LINE_LIMIT bytes of a line, and perhaps its '\r').
     * - recv() returns 0 when the client has gone and -1 on an error:
     *   EINTR means try again, ECONNRESET means the client has gone too.
     * - send() may take only part of the buffer (a short write): loop. Pass
     *   MSG_NOSIGNAL, or the first client that leaves without reading its
     *   answers kills the whole server with SIGPIPE. */
    char in[4096], out[FIB_DECIMAL_SIZE + 1]; /* room for the longest answer and its '\n' */
    ssize_t got = recv(fd, in, sizeof in, 0);
    if (got > 0) {
        size_t len = answer(in, (size_t)got, out, sizeof out);
        if (send(fd, out, len, MSG_NOSIGNAL) < 0)
            fprintf(stderr, "fib_server: send: %s\n", strerror(errno));
    }
}

/* Listen on 127.0.0.1:port (0: any free port); returns the socket and the port. */
static int listen_on(long port, int *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
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
        if (opt == 'p') {
            port = wb_opt_long("-p", optarg, 0, 65535);
        } else if (opt == 'h') {
            printf("%s\nAnswers F(n) for every line a client sends.\n"
                   "  -p PORT  port on 127.0.0.1 (default 9093; 0: any free port)\n",
                   usage);
            return 0;
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    /* TODO(student): SIGINT and SIGTERM must stop the server cleanly: stop
     * accepting, end every client's conversation, close every socket and
     * exit 0 (the default action kills the process instead). A handler may
     * only set a volatile sig_atomic_t flag or write() to a pipe that the
     * main loop watches with poll(); or block both signals before starting
     * any thread and read them from a signalfd() (Linux) in the main loop.
     * A thread blocked in recv() does not see a flag: shutdown(fd, SHUT_RDWR)
     * on its socket wakes it (recv() returns 0). */
    int bound, listener = listen_on(port, &bound);
    printf("fib_server listening on port %d\n", bound);
    fflush(stdout); /* a script waiting for this line sees it now, not at exit */

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
     *   own struct. Chapter 5 builds one step by step. */
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            fprintf(stderr, "fib_server: accept: %s\n", strerror(errno));
            continue;
        }
        serve_client(fd);
        close(fd);
    }
}
