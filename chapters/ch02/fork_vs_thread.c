/* fork_vs_thread.c - processes versus threads: what they share, what they cost
 *
 * Talk: glossary / multiprocessing vs thread (进程 vs 线程)
 * Usage: fork_vs_thread [-n N]
 * Shows: a child process changes a variable and its parent does not see it
 *        (fork gives the child a copy of the memory); a thread changes it and
 *        main sees it (threads share one memory). Then the cost of creating
 *        and finishing N processes (fork + waitpid) against N threads
 *        (pthread_create + pthread_join). Linux.
 * Compare: ch01/latency.c, ch03/process_fetch.c and ch03/thread_fetch.c
 */
#include "workbook.h"
#include <getopt.h>
#include <pthread.h>

/* The child prints with write(2), one call per line. A write may take only
 * part of the line (a short write) or be interrupted before it writes
 * anything (EINTR): go on with what is left. */
static void write_line(const char *line, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(STDOUT_FILENO, line + off, len - off);
        if (w == -1 && errno == EINTR)
            continue;
        if (w == -1)
            _exit(1);
        off += (size_t)w;
    }
}

/* 1. A process: the child gets a copy of everything, value included. */
static void show_process(void)
{
    int value = 0;
    printf("main:    process %d, value = %d\n", getpid(), value);

    /* or the child would inherit the unwritten buffer and print it again */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == -1)
        wb_die("fork");
    if (pid == 0) {
        /* the child: change its copy of value, and say so */
        value = 1;
        char line[128];
        int len =
            snprintf(line, sizeof line, "process: child process %d sets value = %d\n",
                     getpid(), value);
        write_line(line, (size_t)len);

        /* _exit, not exit: the parent's stdio buffers are not ours to flush */
        _exit(0);
    }

    wb_reap(pid);
    printf("process: after the child set value = 1, the parent sees value = %d\n",
           value);
    printf("         (the child changed its own copy: processes share no memory)\n");
}

static void *set_to_one(void *arg)
{
    int *value = arg;

    /* main reads it only after pthread_join: no data race */
    *value = 1;
    printf("thread:  thread %d (in process %d) sets value = 1\n", gettid(), getpid());
    return NULL;
}

/* 2. A thread: the same memory, so the same variable. */
static void show_thread(void)
{
    int value = 0;

    pthread_t t;
    int err = pthread_create(&t, NULL, set_to_one, &value);
    if (err != 0)
        wb_die_err(err, "pthread_create");
    err = pthread_join(t, NULL);
    if (err != 0)
        wb_die_err(err, "pthread_join");

    printf("thread:  after the thread set value = 1, main sees value = %d\n", value);
    printf("         (threads live in one process and share its memory)\n\n");
}

static void *nothing(void *arg)
{
    return arg;
}

/* 3. The cost: create and finish n of each, one at a time; the mean in us. */
static double process_cost(int n)
{
    /* nothing buffered for the children to copy */
    fflush(stdout);

    double t0 = wb_now();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == -1)
            wb_die("fork");
        if (pid == 0)
            _exit(0);
        wb_reap(pid);
    }
    return (wb_now() - t0) / n * 1e6;
}

static double thread_cost(int n)
{
    double t0 = wb_now();
    for (int i = 0; i < n; i++) {
        pthread_t t;
        int err = pthread_create(&t, NULL, nothing, NULL);
        if (err != 0)
            wb_die_err(err, "pthread_create");
        err = pthread_join(t, NULL);
        if (err != 0)
            wb_die_err(err, "pthread_join");
    }
    return (wb_now() - t0) / n * 1e6;
}

static int parse_options(int argc, char **argv);

int main(int argc, char **argv)
{
    int n = parse_options(argc, argv);

    show_process();
    show_thread();

    double process_us = process_cost(n);
    double thread_us = thread_cost(n);

    printf("cost of a process (fork + waitpid):               %9.1f us (mean of %d)\n",
           process_us, n);
    printf("cost of a thread (pthread_create + pthread_join): %9.1f us (mean of %d)\n",
           thread_us, n);
    printf("a process costs %.1f times as much as a thread here\n",
           process_us / thread_us);
    return 0;
}

/* --- the command line: the same shape as buns.c ------------------------------- */

static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fputs("Usage: fork_vs_thread [-n N]\n", out);
    if (status == 0)
        fputs("\nShows that a child process works on its own copy of memory while a\n"
              "thread shares main's, then measures what creating and finishing a\n"
              "process costs against a thread.\n\n"
              "  -n N   processes and threads to time (default 1000)\n",
              stdout);
    exit(status);
}

/* Returns how many processes and threads to time. */
static int parse_options(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int n = 1000;
    int opt;

    while ((opt = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n': n = (int)wb_opt_long("-n", optarg, 1, 1000000); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
    return n;
}
