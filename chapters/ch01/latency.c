/* latency.c - the cost ladder: one CPU step against memory, the kernel, threads
 *
 * Talk: why we need concurrency or parallelism
 * Usage: latency [-r N]
 * Shows: what an arithmetic step, a cache miss, a system call, a thread switch,
 *        a thread and a process cost on this machine (the median of N samples),
 *        counted in arithmetic steps and drawn on a log scale (ladder.h). Linux.
 * Compare: io_latency.c (the ladder goes on: TCP, a web request, an fsync),
 *          ch02/fork_vs_thread.c (processes and threads)
 */
#include "ladder.h"
#include <getopt.h>
#include <pthread.h>

/* 2 Mi lines of 64 bytes: 128 MiB, more than the caches of a PC hold */
enum { LINES = 1 << 21 };

struct line {
    size_t next;
    char pad[64 - sizeof(size_t)];
};

/* Each read needs the address the read before found, and the chain jumps
 * around 128 MiB in an order no prefetcher guesses: nearly every read goes
 * out to main memory. 1000 reads a call. */
static void op_memory(void *arg)
{
    const struct line *lines = arg;
    size_t p = ladder_sink & (LINES - 1);
    for (int i = 0; i < 1000; i++)
        p = lines[p].next;
    ladder_sink = p;
}

static void row_memory(struct ladder *l)
{
    struct line *lines = aligned_alloc(64, LINES * sizeof *lines);
    if (lines == NULL)
        wb_die("aligned_alloc");

    /* i*A+C mod 2^21, with C odd and A-1 a multiple of 4, visits every line once */
    for (size_t i = 0; i < LINES; i++)
        lines[i].next = (i * 1103515245u + 12345u) & (LINES - 1);
    ladder_row(l, "memory read, cache miss", op_memory, lines, 100, 1000);

    /* let it go now: a big process is slower to fork */
    free(lines);
}

/* About the cheapest request the kernel answers: into the kernel and back. */
static void op_syscall(void *arg)
{
    (void)arg;
    ladder_sink = (unsigned long)getppid();
}

/* The thread switch row: main writes into ping and reads from pong; the echo
 * thread reads ping and writes each byte back into pong. */
struct pipes {
    int ping[2];
    int pong[2];
};

/* The far side: send back each byte until end of file. No signal handler is
 * installed, so no read or write is interrupted (no EINTR), and a single
 * byte is never cut short. */
static void *echo(void *arg)
{
    const struct pipes *p = arg;
    char b;
    while (read(p->ping[0], &b, 1) == 1) {
        if (write(p->pong[1], &b, 1) != 1)
            break;
    }
    return NULL;
}

/* One byte there and back. On one CPU each pass puts one thread to sleep
 * and wakes the other: a round trip is two switches (per = 2). */
static void op_switch(void *arg)
{
    const struct pipes *p = arg;
    char b = 'x';
    if (write(p->ping[1], &b, 1) != 1)
        wb_die("write");
    if (read(p->pong[0], &b, 1) != 1)
        wb_die("read");
}

static void row_switch(struct ladder *l)
{
    struct pipes p;
    if (pipe(p.ping) == -1)
        wb_die("pipe");
    if (pipe(p.pong) == -1)
        wb_die("pipe");

    pthread_t t;
    int err = pthread_create(&t, NULL, echo, &p);
    if (err != 0)
        wb_die_err(err, "pthread_create");
    ladder_row(l, "thread switch (pipe ping-pong)", op_switch, &p, 1000, 2);

    /* the echo thread reads end of file and returns */
    close(p.ping[1]);
    err = pthread_join(t, NULL);
    if (err != 0)
        wb_die_err(err, "pthread_join");
    close(p.ping[0]);
    close(p.pong[0]);
    close(p.pong[1]);
}

static void *nothing(void *arg)
{
    return arg;
}

static void op_thread(void *arg)
{
    pthread_t t;
    int err = pthread_create(&t, NULL, nothing, arg);
    if (err != 0)
        wb_die_err(err, "pthread_create");
    err = pthread_join(t, NULL);
    if (err != 0)
        wb_die_err(err, "pthread_join");
}

/* stdout was flushed after the last row, or the child would copy its buffer */
static void op_fork(void *arg)
{
    (void)arg;
    pid_t pid = fork();
    if (pid == -1)
        wb_die("fork");

    /* the child only ends: _exit runs no atexit handlers and flushes nothing */
    if (pid == 0)
        _exit(0);

    wb_reap(pid);
}

static int parse_options(int argc, char **argv);

int main(int argc, char **argv)
{
    struct ladder l = {.reps = parse_options(argc, argv)};

    ladder_begin(&l, "one operation");
    row_memory(&l);
    ladder_row(&l, "system call (getppid)", op_syscall, NULL, 20000, 1);
    row_switch(&l);
    ladder_row(&l, "thread create + join", op_thread, NULL, 100, 1);
    ladder_row(&l, "process fork + wait", op_fork, NULL, 20, 1);
    ladder_end();
    return 0;
}

/* --- the command line ------------------------------------------------------- */

/* --help: the whole text on stdout, exit 0; a bad option: the usage line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fputs("Usage: latency [-r N]\n", out);
    if (status == 0)
        fputs("\nWhat one operation costs here, from an arithmetic step to a new\n"
              "process, on a log scale (# = twice the cost). io_latency goes on.\n\n"
              "  -r, --repeat N  samples per row; the median is shown (default 7)\n",
              stdout);
    exit(status);
}

/* Returns the number of samples per row. */
static int parse_options(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"repeat", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int reps = 7;
    int opt;

    while ((opt = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'r': reps = (int)wb_opt_long("-r", optarg, 1, LADDER_MAX_REPS); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
    return reps;
}
