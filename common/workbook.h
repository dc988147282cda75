/* workbook.h - the few helpers every workbook program may use (Linux, C17)
 *
 * Kept small on purpose: the system calls are the lesson and stay visible in
 * each program. Here are only error exits, a clock, strict number parsing,
 * the open-file limit and table, the CPUs a program may use, the options and
 * result lines the fetch programs share; lab.h adds the lab server's address
 * and the URLs, timeline.h the timeline.
 */
#ifndef WORKBOOK_H
#define WORKBOOK_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* program_invocation_short_name, asprintf, pipe2, ... */
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A set-up call failed: say what and why, exit 1. wb_die_err() takes the
 * error number that pthread_* return; wb_die() reads errno. */
static inline _Noreturn void wb_die_err(int err, const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, strerror(err));
    exit(1);
}

static inline _Noreturn void wb_die(const char *what)
{
    wb_die_err(errno, what);
}

/* Wait for child pid; unless it exited with status 0, say how it ended (a
 * child sets no errno) and exit 1. With `| head`, a child that writes may be
 * killed by SIGPIPE. A signal can cut the wait short (EINTR): wait again. */
static inline void wb_reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            wb_die("waitpid");

    if (WIFSIGNALED(status)) {
        fprintf(stderr, "%s: child %d was killed by signal %d (%s)\n",
                program_invocation_short_name, (int)pid, WTERMSIG(status),
                strsignal(WTERMSIG(status)));
        exit(1);
    }
    if (WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s: child %d exited with status %d\n",
                program_invocation_short_name, (int)pid, WEXITSTATUS(status));
        exit(1);
    }
}

/* Seconds on a clock that never jumps. CLOCK_MONOTONIC is shared by every
 * process on the machine, so times taken in forked children compare too. */
static inline double wb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time (user + system) this process has used so far, in seconds. */
static inline double wb_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == -1)
        wb_die("getrusage");
    double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return user + sys;
}

/* Strict decimal parsing: the whole string, in [min, max]. 0 ok, -1 not. */
static inline int wb_parse_long(const char *s, long min, long max, long *out)
{
    /* strtol alone would also take " 5" and "+5" */
    int digit_first = isdigit((unsigned char)s[0]);
    int minus_digit = s[0] == '-' && isdigit((unsigned char)s[1]);
    if (!digit_first && !minus_digit)
        return -1;

    /* strtol reports overflow only through errno */
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);

    if (end == s || *end != '\0' || errno == ERANGE)
        return -1;
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* The same for a command-line option: a bad value is a usage error (exit 2). */
static inline long wb_opt_long(const char *opt, const char *s, long min, long max)
{
    long v;
    if (wb_parse_long(s, min, max, &v) == 0)
        return v;
    fprintf(stderr, "%s: %s: '%s' is not a number from %ld to %ld\n",
            program_invocation_short_name, opt, s, min, max);
    exit(2);
}

/* After getopt, in a program that takes no arguments but options: say which
 * word is one too many. 1 if there is one (the caller then prints its usage
 * line and exits 2). */
static inline int wb_extra_argument(int argc, char **argv)
{
    if (optind >= argc)
        return 0;
    fprintf(stderr, "%s: unexpected argument '%s'\n", program_invocation_short_name,
            argv[optind]);
    return 1;
}

/* Raise the soft limit on open descriptors to the hard one, for programs
 * that hold a socket per fetch. Returns the limit now in force; with
 * `complain`, says so on stderr when the kernel refuses. */
static inline long wb_raise_fd_limit(int complain)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        wb_die("getrlimit");

    rlim_t before = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        return (long)rl.rlim_max;

    if (complain)
        fprintf(stderr, "%s: could not raise the open-file limit above %ld: %s\n",
                program_invocation_short_name, (long)before, strerror(errno));
    return (long)before;
}

/* Make room in the descriptor table for `want` descriptors now. The threads
 * of a process share one table, and each time a shared table doubles the
 * kernel waits for every CPU to pass a quiescent point (an RCU grace period,
 * milliseconds). A program that opens thousands of sockets from several
 * threads grows it once, before they start: a descriptor of its own, copied
 * to number `want` (or the highest the limit allows), then both closed. */
static inline void wb_grow_fd_table(long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        return;
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)want >= rl.rlim_cur)
        want = (long)rl.rlim_cur - 1;

    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return; /* best effort: the table grows as it is used */
    int high = fcntl(fd, F_DUPFD_CLOEXEC, (int)want); /* grows the table */
    if (high != -1)
        close(high); /* and the table keeps its size */
    close(fd);
}

/* How many CPUs this process may run on: its affinity mask, which taskset
 * and cpusets narrow, not every CPU online. A mask too small for the machine
 * (over 1024 CPUs) fails with EINVAL: then one. */
static inline int wb_cpus_allowed(void)
{
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == -1)
        return 1;
    return CPU_COUNT(&allowed);
}

/* The options every fetch program shares: -q, -n N, -d MS. Call it from the
 * program's own getopt switch; it returns 1 if it took the option. */
struct wb_opts {
    int quiet, n, delay_ms;
};
#define WB_OPTS_INIT                                                                   \
    {                                                                                  \
        0, 10, 200                                                                     \
    }

static inline int wb_common_opt(int c, const char *arg, struct wb_opts *o)
{
    switch (c) {
    case 'q': o->quiet = 1; return 1;
    case 'n': o->n = (int)wb_opt_long("-n", arg, 1, 100000); return 1;
    case 'd': o->delay_ms = (int)wb_opt_long("-d", arg, 0, 60000); return 1;
    default: return 0;
    }
}

/* One result line and the closing line, as the talk prints them. */
static inline void wb_result(int i, long long bytes, double secs, const char *url)
{
    printf("[%d] %lld bytes in %.3f s  %s\n", i, bytes, secs, url);
}

static inline void wb_used_time(double secs)
{
    printf("used time: %.3f s\n", secs);
}

/* Where the lab server is and the URLs to fetch, then the timeline of when
 * each task ran: files of their own, for their size. */
#include "lab.h"
#include "timeline.h"

#endif
