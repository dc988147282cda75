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
 */
#include "workbook.h"
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>

static const char usage[] =
    "Usage: blocking [-d MS]\n"
    "A writer puts a message into a pipe after a delay; a reader waits for it,\n"
    "once blocking (it sleeps inside read) and once non-blocking (read says\n"
    "EAGAIN at once, and the reader does other work until the data is there).\n"
    "  -d MS   the writer's delay in milliseconds (default 300)\n";

static const char message[] = "your bun is ready";

struct writer {
    int fd;      /* the pipe's write end; the writer closes it when done */
    long delay_ms;
    double t0;   /* when the run started, for the time stamps */
};

static void *write_later(void *arg)
{
    struct writer *w = arg;
    struct timespec left = {w->delay_ms / 1000, w->delay_ms % 1000 * 1000000};
    while (nanosleep(&left, &left) == -1) /* EINTR: a signal cut the sleep short; */
        if (errno != EINTR)               /* sleep for what is left of it */
            wb_die("nanosleep");
    printf("  %.3f s  writer: writes %zu bytes into the pipe\n", wb_now() - w->t0, strlen(message));
    /* A pipe takes up to PIPE_BUF bytes (at least 512) in one piece, so this
     * write is never short; EINTR could only come before anything is written. */
    ssize_t n;
    while ((n = write(w->fd, message, strlen(message))) == -1 && errno == EINTR)
        continue;
    if (n == -1)
        wb_die("write");
    close(w->fd); /* the reader's next read() returns 0: end of file */
    return NULL;
}

/* A small piece of other work the reader can do while it has nothing to read. */
static uint64_t other_work(uint64_t x)
{
    for (int i = 0; i < 10000; i++)
        x = x * 6364136223846793005u + 1442695040888963407u;
    return x;
}

static double thread_cpu(void) /* CPU time used by the calling thread */
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == -1)
        wb_die("clock_gettime");
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One run: start the writer, then read until end of file. The reading code is
 * the same in both modes; only the O_NONBLOCK flag on the pipe differs. */
static void run(int nonblocking, long delay_ms)
{
    int fds[2], err;
    if (pipe(fds) == -1)
        wb_die("pipe");
    if (nonblocking && fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK) == -1)
        wb_die("fcntl O_NONBLOCK");
    printf("== %s read (%s)\n", nonblocking ? "non-blocking" : "blocking",
           nonblocking ? "非阻塞, O_NONBLOCK" : "阻塞");
    struct writer w = {fds[1], delay_ms, wb_now()};
    pthread_t t;
    if ((err = pthread_create(&t, NULL, write_later, &w)))
        wb_die_err(err, "pthread_create");

    char buf[256];
    long tries = 0, units = 0;
    uint64_t work = 1;
    double cpu0 = thread_cpu(), waited = 0;
    printf("  %.3f s  reader: calls read() on the empty pipe\n", wb_now() - w.t0);
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf - 1);
        tries++;
        if (n > 0) {
            waited = waited > 0 ? waited : wb_now() - w.t0;
            buf[n] = '\0';
            printf("  %.3f s  reader: read() returned %zd bytes on try %ld: \"%s\"\n",
                   wb_now() - w.t0, n, tries, buf);
        } else if (n == 0) {
            printf("  %.3f s  reader: read() returned 0: end of file\n", wb_now() - w.t0);
            break;
        } else if (errno == EAGAIN) { /* non-blocking only: nothing there yet */
            if (units == 0)
                printf("  %.3f s  reader: read() returned -1, EAGAIN: no data yet, so it does"
                       " other work and tries again\n", wb_now() - w.t0);
            work = other_work(work);
            units++;
        } else if (errno != EINTR) { /* EINTR: a signal came first, just read again */
            wb_die("read");
        }
    }
    double cpu = thread_cpu() - cpu0;
    if ((err = pthread_join(t, NULL)))
        wb_die_err(err, "pthread_join");
    close(fds[0]);
    volatile uint64_t keep = work; /* so the compiler cannot skip the other work */
    (void)keep;
    printf("  the reader waited %.3f s for the data\n", waited);
    printf("  other work done while waiting: %ld units\n", units);
    printf("  CPU used by the reader: %.3f s\n\n", cpu);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    long delay_ms = 300;
    int opt;
    while ((opt = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd': delay_ms = wb_opt_long("-d", optarg, 0, 60000); break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind < argc) {
        fputs(usage, stderr);
        return 2;
    }
    run(0, delay_ms);
    run(1, delay_ms);
    printf("blocking: the reader slept and could do nothing else (but used no CPU);\n"
           "non-blocking: it got on with other work, and had to keep asking.\n");
    return 0;
}
