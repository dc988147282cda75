/* blocking.c - blocking versus non-blocking: what a reader does while it waits
 *
 * Talk: glossary / blocking and non-blocking (阻塞 / 非阻塞)
 * Usage: blocking [-d MS]
 * Shows: a writer thread fills a pipe after a delay. In blocking mode the
 *        reader's read() sleeps until the data is there and the reader does
 *        nothing else; with O_NONBLOCK, read() fails at once with EAGAIN and
 *        the reader does other work between two tries. Both runs print what
 *        happened and when, the other work done and the CPU time used.
 * Compare: ch05/blocking_way.c and ch05/nonblocking_way.c (the same with sockets)
 * The other work, and the CPU clock of a thread, come from chew.h.
 */
#include "chew.h"
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>

static const char message[] = "your bun is ready";

struct writer {
    int fd; /* the pipe's write end; the writer closes it when done */
    long delay_ms;
    double t0; /* when the run started, for the time stamps */
};

static void *write_later(void *arg)
{
    struct writer *w = arg;

    /* EINTR: a signal cut the sleep short; sleep for what is left of it */
    struct timespec left = {w->delay_ms / 1000, w->delay_ms % 1000 * 1000000};
    while (nanosleep(&left, &left) == -1) {
        if (errno != EINTR)
            wb_die("nanosleep");
    }
    printf("  %.3f s  writer: writes %zu bytes into the pipe\n", wb_now() - w->t0,
           strlen(message));

    /* A pipe takes up to PIPE_BUF bytes (at least 512) in one piece, so this
     * write is never short; EINTR could only come before anything is written. */
    ssize_t n;
    do {
        n = write(w->fd, message, strlen(message));
    } while (n == -1 && errno == EINTR);
    if (n == -1)
        wb_die("write");

    /* the reader's next read() returns 0: end of file */
    close(w->fd);
    return NULL;
}

/* One run: start the writer, then read until end of file. The reading code is
 * the same in both modes; only the O_NONBLOCK flag on the pipe differs. */
static void run(int nonblocking, long delay_ms)
{
    int fds[2];
    if (pipe(fds) == -1)
        wb_die("pipe");
    if (nonblocking) {
        int flags = fcntl(fds[0], F_GETFL);
        if (flags == -1)
            wb_die("fcntl F_GETFL");
        if (fcntl(fds[0], F_SETFL, flags | O_NONBLOCK) == -1)
            wb_die("fcntl O_NONBLOCK");
        printf("== non-blocking read (非阻塞, O_NONBLOCK)\n");
    } else {
        printf("== blocking read (阻塞)\n");
    }

    struct writer w = {.fd = fds[1], .delay_ms = delay_ms, .t0 = wb_now()};
    pthread_t t;
    int err = pthread_create(&t, NULL, write_later, &w);
    if (err != 0)
        wb_die_err(err, "pthread_create");

    char buf[256];
    long tries = 0;
    long units = 0;
    uint64_t work = 1;
    double cpu0 = thread_cpu();
    double waited = 0;
    printf("  %.3f s  reader: calls read() on the empty pipe\n", wb_now() - w.t0);
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf - 1);
        tries++;

        /* data: how long it took the first time, and what came */
        if (n > 0) {
            if (waited == 0)
                waited = wb_now() - w.t0;
            buf[n] = '\0';
            printf("  %.3f s  reader: read() returned %zd bytes on try %ld: \"%s\"\n",
                   wb_now() - w.t0, n, tries, buf);
            continue;
        }
        if (n == 0) {
            printf("  %.3f s  reader: read() returned 0: end of file\n",
                   wb_now() - w.t0);
            break;
        }

        /* EINTR: a signal came first, so just read again */
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            wb_die("read");

        /* EAGAIN, non-blocking only: nothing there yet, so do something else */
        if (units == 0)
            printf("  %.3f s  reader: read() returned -1, EAGAIN: no data yet, "
                   "so it does other work and tries again\n",
                   wb_now() - w.t0);
        work = chew(10000, work);
        units++;
    }
    double cpu = thread_cpu() - cpu0;

    err = pthread_join(t, NULL);
    if (err != 0)
        wb_die_err(err, "pthread_join");
    close(fds[0]);

    /* so the compiler cannot skip the other work */
    volatile uint64_t keep = work;
    (void)keep;
    printf("  the reader waited %.3f s for the data\n", waited);
    printf("  other work done while waiting: %ld units\n", units);
    printf("  CPU used by the reader: %.3f s\n\n", cpu);
}

static long parse_options(int argc, char **argv);

int main(int argc, char **argv)
{
    long delay_ms = parse_options(argc, argv);

    run(0, delay_ms);
    run(1, delay_ms);
    printf("blocking: the reader slept and could do nothing else (but used no CPU);\n"
           "non-blocking: it got on with other work, and had to keep asking.\n");
    return 0;
}

/* --- the command line: the same shape as buns.c ------------------------------- */

static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fputs("Usage: blocking [-d MS]\n", out);
    if (status == 0)
        fputs(
            "\nA writer puts a message into a pipe after a delay; a reader waits for\n"
            "it, once blocking (it sleeps inside read) and once non-blocking (read\n"
            "says EAGAIN at once, and the reader does other work until the data is\n"
            "there).\n\n"
            "  -d MS   the writer's delay in milliseconds (default 300)\n",
            stdout);
    exit(status);
}

/* Returns the writer's delay in milliseconds. */
static long parse_options(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long delay_ms = 300;
    int opt;

    while ((opt = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd': delay_ms = wb_opt_long("-d", optarg, 0, 60000); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
    return delay_ms;
}
