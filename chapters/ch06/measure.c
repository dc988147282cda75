/* measure.c - run one command and say what it cost, as the operating system saw it
 *
 * Talk: Q & A - which model should I use? (the yardstick of compare_models)
 * Usage: measure [-i MS] [-o FILE] COMMAND [ARG...]
 * Shows: wait4() hands back the rusage of the child and of every descendant it
 *        waited for: CPU time and the peak resident memory of the largest
 *        process. /proc, read every MS ms while it runs, gives how many threads
 *        and processes its process group had at most, and their summed memory.
 *        Nothing is taken from the program's own output. The group is the
 *        terminal's while it runs (Ctrl-C, Ctrl-Z and reading reach it), and
 *        an INT, TERM or HUP sent to measure is passed on to it, as a shell
 *        runs a job: job_control.h.
 * Compare: compare_models (which runs every model under it), /usr/bin/time.
 *          Linux.
 */
#include "workbook.h"

#include "job_control.h"

#include <dirent.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
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

/* ---- options ------------------------------------------------------------------ */

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

static void parse_options(int argc, char **argv, long *interval_ms,
                          const char **report_to)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    /* "+": stop at the first word that is not an option, the command's */
    while ((c = getopt_long(argc, argv, "+i:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': *interval_ms = wb_opt_long("-i", optarg, 1, 10000); break;
        case 'o': *report_to = optarg; break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (optind == argc) {
        fprintf(stderr, "%s: no command to run\n", program_invocation_short_name);
        usage(2);
    }
}

/* ---- main: fork, sample until it ends, wait4, report -------------------------- */

/* A step of the child before its exec failed: say so, and _exit, not exit (the
 * parent's stdio buffers and atexit handlers are not the child's to run). */
static _Noreturn void child_fails(const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
            strerror(errno));
    _exit(127);
}

int main(int argc, char **argv)
{
    long interval_ms = 20;
    const char *report_to = NULL;
    parse_options(argc, argv, &interval_ms, &report_to);

    /* where the report goes, opened first: a bad path costs no run */
    FILE *out = stderr;
    if (report_to != NULL)
        out = fopen(report_to, "we");
    if (out == NULL)
        wb_die(report_to);

    /* SIGTTOU blocked for good, INT, TERM and HUP until the wait */
    sigset_t original, waiting;
    block_signals(&original, &waiting);
    pid_t own_group = getpgrp();

    /* the command, in a process group of its own, so that /proc finds its
     * children too; it takes the terminal itself, before it can read it */
    fflush(stdout);
    double t0 = wb_now();
    pid_t pid = fork();
    if (pid == -1)
        wb_die("fork");

    if (pid == 0) {
        /* the child: its group, the terminal, the mask measure began with */
        if (setpgid(0, 0) == -1)
            child_fails("setpgid");
        hand_terminal(own_group, getpid());
        if (sigprocmask(SIG_SETMASK, &original, NULL) == -1)
            child_fails("sigprocmask");
        execvp(argv[optind], argv + optind);
        child_fails(argv[optind]);
    }

    /* also here: whichever runs first, the group exists (EACCES: the child
     * has run exec already, so it made its group itself) */
    if (setpgid(pid, pid) == -1 && errno != EACCES)
        wb_die("setpgid");

    /* from now on INT, TERM and HUP for measure are noted, then passed on */
    note_signals();

    /* sample until it ends: its pidfd becomes readable the moment it exits */
    struct peak p = {0};
    int pidfd = pidfd_open(pid, 0);
    if (pidfd == -1)
        wb_die("pidfd_open");
    struct pollfd ended = {.fd = pidfd, .events = POLLIN};
    struct timespec interval = {interval_ms / 1000, interval_ms % 1000 * 1000000};
    int ready;
    do {
        pass_on_signals(pid);
        follow_stop(pid, own_group);
        sample(pid, &p);

        /* the only place INT, TERM and HUP are let in: one cuts the wait short */
        ready = ppoll(&ended, 1, &interval, &waiting);
        if (ready == -1 && errno != EINTR)
            wb_die("ppoll"); /* EINTR: a signal came, to pass on */
    } while (ready != 1);
    double wall = wb_now() - t0;

    /* then wait4 reaps it and says what it and its waited-for children used */
    struct rusage ru;
    int status;
    if (wait4(pid, &status, 0, &ru) == -1)
        wb_die("wait4");
    close(pidfd);
    hand_terminal(pid, own_group);

    /* the exit status as a shell gives it: 128 + N when killed by signal N */
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

    fprintf(out,
            "wall %.3f cpu %.3f maxrss_kb %ld threads %ld procs %ld tree_rss_kb %ld "
            "exit %d\n",
            wall, seconds(ru.ru_utime) + seconds(ru.ru_stime), ru.ru_maxrss, p.threads,
            p.procs, p.rss_kb, code);
    if (out != stderr)
        fclose(out);

    /* Ctrl-C ended the command: end measure the same way, so that a shell
     * loop around it stops too (an exit of 130 would not stop it) */
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) {
        signal(SIGINT, SIG_DFL);
        if (sigprocmask(SIG_SETMASK, &original, NULL) == -1) /* SIGINT was blocked */
            wb_die("sigprocmask");
        raise(SIGINT);
    }
    return code;
}
