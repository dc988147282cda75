/* measure.c - run one command and say what it cost, as the operating system saw it
 *
 * Talk: Q & A - which model should I use? (the yardstick of compare_models)
 * Usage: measure [-i MS] [-o FILE] COMMAND [ARG...]
 * Shows: wait4() hands back the rusage of the child and of every descendant it
 *        waited for: CPU time and the peak resident memory of the largest
 *        process. /proc, read every MS ms while it runs, gives how many threads
 *        and processes its process group had at most, and their summed memory.
 *        Nothing is taken from the program's own output.
 * Compare: compare_models (which runs every model under it), /usr/bin/time.
 *          Linux.
 */
#include "workbook.h"

#include <dirent.h>
#include <poll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>

/* The largest the process group got, over every sample. */
struct peak {
    long threads, procs, rss_kb;
};

/* One sample: every process whose group is `group` (the command and all its
 * children), from /proc/PID/stat: field 5 is the group, 20 the threads, 24
 * the resident pages. The command name (field 2) may hold spaces: skip past
 * its closing parenthesis first. */
static void sample(pid_t group, struct peak *p)
{
    long threads = 0, procs = 0, pages = 0;
    DIR *proc = opendir("/proc");
    if (proc == NULL)
        wb_die("/proc");

    struct dirent *d;
    while ((d = readdir(proc)) != NULL) {
        char path[300], line[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", d->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue; /* not a process, or it ended just now */

        char *got = fgets(line, sizeof line, f);
        fclose(f);
        char *after = got ? strrchr(line, ')') : NULL;
        if (after == NULL)
            continue;

        long pgrp, nthreads, rss;
        int n = sscanf(after + 2,
                       "%*c %*d %ld %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
                       "%*d %*d %*d %*d %ld %*d %*u %*u %ld",
                       &pgrp, &nthreads, &rss);
        if (n != 3 || pgrp != group)
            continue;

        procs++;
        threads += nthreads;
        pages += rss;
    }
    closedir(proc);

    long rss_kb = pages * (sysconf(_SC_PAGESIZE) / 1024);

    if (threads > p->threads)
        p->threads = threads;
    if (procs > p->procs)
        p->procs = procs;
    if (rss_kb > p->rss_kb)
        p->rss_kb = rss_kb;
}

static double seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* --help: all of this on stdout, exit 0; a bad option: line one on stderr, exit 2 */
static _Noreturn void usage(int status)
{
    fputs("Usage: measure [-i MS] [-o FILE] COMMAND [ARG...]\n",
          status ? stderr : stdout);
    if (status == 0)
        printf(
            "\nRun COMMAND and print one line of what it cost: wall and CPU seconds,\n"
            "the peak resident memory of its largest process (wait4's rusage), and\n"
            "the most threads, processes and summed memory its process group had\n"
            "(/proc, every MS ms, default 20). -o: that line to FILE, not stderr.\n");
    exit(status);
}

int main(int argc, char **argv)
{
    long interval_ms = 20;
    const char *report_to = NULL;
    int c;

    /* "+": stop at the first word that is not an option, the command's */
    while ((c = getopt(argc, argv, "+i:o:h")) != -1) {
        if (c == 'i')
            interval_ms = wb_opt_long("-i", optarg, 1, 10000);
        else if (c == 'o')
            report_to = optarg;
        else
            usage(c == 'h' ? 0 : 2);
    }
    if (optind == argc)
        usage(2);

    /* the command, in a process group of its own, so that /proc finds its
     * children too */
    fflush(stdout);
    double t0 = wb_now();
    pid_t pid = fork();
    if (pid == -1)
        wb_die("fork");

    if (pid == 0) {
        setpgid(0, 0);
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "measure: %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also here: whichever runs first, the group exists */

    /* sample until it ends: its pidfd becomes readable the moment it exits */
    struct peak p = {0};
    int pidfd = pidfd_open(pid, 0);
    if (pidfd == -1)
        wb_die("pidfd_open");
    struct pollfd ended = {.fd = pidfd, .events = POLLIN};
    do
        sample(pid, &p);
    while (poll(&ended, 1, (int)interval_ms) == 0);
    double wall = wb_now() - t0;

    /* then wait4 reaps it and says what it and its waited-for children used */
    struct rusage ru;
    int status;
    if (wait4(pid, &status, 0, &ru) == -1)
        wb_die("wait4");
    close(pidfd);

    /* the exit status as a shell gives it: 128 + N when killed by signal N */
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

    FILE *out = stderr;
    if (report_to != NULL)
        out = fopen(report_to, "w");
    if (out == NULL)
        wb_die(report_to);
    fprintf(out,
            "wall %.3f cpu %.3f maxrss_kb %ld threads %ld procs %ld tree_rss_kb %ld "
            "exit %d\n",
            wall, seconds(ru.ru_utime) + seconds(ru.ru_stime), ru.ru_maxrss, p.threads,
            p.procs, p.rss_kb, code);
    if (out != stderr)
        fclose(out);
    return code;
}
