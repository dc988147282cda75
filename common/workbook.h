/* workbook.h - the few helpers every workbook program may use (Linux, C17)
 *
 * Kept small on purpose: the system calls are the lesson and stay visible in
 * each program. Here are only error exits, a clock, strict number parsing,
 * the lab server's address, the open-file limit, the result lines and the
 * timeline.
 */
#ifndef WORKBOOK_H
#define WORKBOOK_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* program_invocation_short_name, asprintf, pipe2, ... */
#endif
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
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
    char *end;
    errno = 0; /* strtol reports overflow only through errno */
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

/* Where the lab server is: $LAB_URL, else the port `make serve` uses. A
 * slash at the end is dropped, since the programs add "/path" after it. */
static inline const char *wb_lab_url(void)
{
    static char url[256];
    const char *env = getenv("LAB_URL");
    if (env == NULL || *env == '\0')
        return "http://127.0.0.1:8000";

    size_t len = strlen(env);
    while (len > 1 && env[len - 1] == '/')
        len--;
    if (len >= sizeof url)
        wb_die_err(ENAMETOOLONG, "LAB_URL");
    memcpy(url, env, len);
    url[len] = '\0';
    return url;
}

/* Split "http://host:port/path", "host:port/path" or "host" (port 80, path /)
 * for the programs that speak HTTP over raw sockets. 0 ok, -1 malformed. */
static inline int wb_split_url(const char *url, char *host, size_t hostlen, char *port,
                               size_t portlen, const char **path)
{
    if (strncmp(url, "http://", 7) == 0)
        url += 7;
    size_t host_len = strcspn(url, ":/");
    const char *after_host = url + host_len;
    const char *slash = strchr(after_host, '/');

    /* the port: digits between ':' and the path, else 80 */
    const char *port_text = "80";
    size_t port_len = 2;
    if (*after_host == ':') {
        port_text = after_host + 1;
        port_len = strcspn(port_text, "/");
        if (port_len == 0)
            return -1;
    }
    if (host_len == 0 || host_len >= hostlen || port_len >= portlen)
        return -1;

    snprintf(host, hostlen, "%.*s", (int)host_len, url);
    snprintf(port, portlen, "%.*s", (int)port_len, port_text);
    *path = slash ? slash : "/";
    return 0;
}

/* Before fetching: when every URL is on the lab server and nothing listens
 * at its address, say how to start it in one line and exit 1. */
static inline void wb_require_lab(char **urls, int n)
{
    const char *lab = wb_lab_url();
    for (int i = 0; i < n; i++)
        if (strncmp(urls[i], lab, strlen(lab)) != 0)
            return; /* some URL is elsewhere: each reports its own failure */

    char host[256], port[16];
    const char *path;
    struct addrinfo *ai;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (wb_split_url(lab, host, sizeof host, port, sizeof port, &path) != 0)
        return;
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return;

    /* try to connect once, then hang up before sending anything */
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    int up = fd != -1 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
    if (fd != -1)
        close(fd);
    freeaddrinfo(ai);
    if (up)
        return;
    fprintf(stderr,
            "%s: no lab server answers at %s: start one with 'make serve' in "
            "another terminal (or set LAB_URL to where one runs)\n",
            program_invocation_short_name, lab);
    exit(1);
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

/* The URLs to fetch: the arguments if any, else N lab URLs that differ only
 * in their query string ($LAB_URL/delay/MS?i=K). Free with wb_urls_free(). */
static inline char **wb_urls(int argc, char **argv, const struct wb_opts *o, int *count)
{
    int n = o->n;
    if (argc > 0)
        n = argc;
    char **urls = calloc((size_t)n, sizeof *urls);
    if (urls == NULL)
        wb_die("calloc");

    for (int i = 0; i < n; i++) {
        if (argc > 0)
            urls[i] = strdup(argv[i]);
        else if (asprintf(&urls[i], "%s/delay/%d?i=%d", wb_lab_url(), o->delay_ms, i) <
                 0)
            urls[i] = NULL;
        if (urls[i] == NULL)
            wb_die("url");
    }
    *count = n;
    return urls;
}

static inline void wb_urls_free(char **urls, int n)
{
    for (int i = 0; i < n; i++)
        free(urls[i]);
    free(urls);
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

/* The timeline of when each task ran: a file of its own, for its size. */
#include "timeline.h"

#endif
