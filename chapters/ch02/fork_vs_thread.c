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
#include <sys/wait.h>

static const char usage[] =
    "Usage: fork_vs_thread [-n N]\n"
    "Shows that a child process works on its own copy of memory while a thread\n"
    "shares main's, then measures what creating and finishing a process costs\n"
    "against a thread.\n"
    "  -n N   processes and threads to time (default 1000)\n";

/* Wait for a child and make sure it exited with status 0. waitpid can be
 * interrupted by a signal before the child is done (EINTR): wait again. */
static void reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            wb_die("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { /* errno says nothing here */
        fprintf(stderr, "fork_vs_thread: child %d did not exit with status 0\n", (int)pid);
        exit(1);
    }
}

static void *set_to_one(void *arg)
{
    int *value = arg;
    *value = 1; /* main reads it only after pthread_join: no data race */
    printf("thread:  thread %d (in process %d) sets value = 1\n", gettid(), getpid());
    return NULL;
}

static void *nothing(void *arg) { return arg; }

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int n = 1000, opt, err;
    while ((opt = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n': n = (int)wb_opt_long("-n", optarg, 1, 1000000); break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind < argc) {
        fputs(usage, stderr);
        return 2;
    }

    /* 1. A process: the child gets a copy of everything, value included. */
    int value = 0;
    printf("main:    process %d, value = %d\n", getpid(), value);
    fflush(stdout); /* or the child would inherit the unwritten buffer and print it again */
    pid_t pid = fork();
    if (pid == -1)
        wb_die("fork");
    if (pid == 0) {
        char line[128];
        value = 1;
        int len = snprintf(line, sizeof line, "process: child process %d sets value = %d\n",
                           getpid(), value);
        /* The child prints with write(2), one call per line. A write may take
         * only part of the line (a short write) or be interrupted (EINTR):
         * go on with what is left. */
        for (ssize_t off = 0, w; off < len; off += w)
            if ((w = write(STDOUT_FILENO, line + off, (size_t)(len - off))) == -1 && errno != EINTR)
                _exit(1);
            else if (w == -1)
                w = 0;
        _exit(0); /* _exit, not exit: the parent's stdio buffers are not ours to flush */
    }
    reap(pid);
    printf("process: after the child set value = 1, the parent sees value = %d\n", value);
    printf("         (the child changed its own copy: processes share no memory)\n");

    /* 2. A thread: the same memory, so the same variable. */
    value = 0;
    pthread_t t;
    if ((err = pthread_create(&t, NULL, set_to_one, &value)) || (err = pthread_join(t, NULL)))
        wb_die_err(err, "thread");
    printf("thread:  after the thread set value = 1, main sees value = %d\n", value);
    printf("         (threads live in one process and share its memory)\n\n");

    /* 3. The cost: create and finish n of each, one at a time. */
    fflush(stdout);
    double t0 = wb_now();
    for (int i = 0; i < n; i++) {
        if ((pid = fork()) == -1)
            wb_die("fork");
        if (pid == 0)
            _exit(0);
        reap(pid);
    }
    double process_us = (wb_now() - t0) / n * 1e6;
    t0 = wb_now();
    for (int i = 0; i < n; i++)
        if ((err = pthread_create(&t, NULL, nothing, NULL)) || (err = pthread_join(t, NULL)))
            wb_die_err(err, "thread");
    double thread_us = (wb_now() - t0) / n * 1e6;
    printf("cost of a process (fork + waitpid):               %9.1f us (mean of %d)\n",
           process_us, n);
    printf("cost of a thread (pthread_create + pthread_join): %9.1f us (mean of %d)\n",
           thread_us, n);
    printf("a process costs %.1f times as much as a thread here\n", process_us / thread_us);
    return 0;
}
