/* workbook.h - the few helpers every workbook program may use (Linux, C17)
 * Kept tiny on purpose: the system calls are the lesson and stay visible in
 * each program. Here are only error exits, a clock, strict number parsing,
 * the default lab URLs, the result lines and the timeline. */
#ifndef WORKBOOK_H
#define WORKBOOK_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* program_invocation_short_name, asprintf, pipe2, ... */
#endif
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* A set-up call failed: say what and why, exit 1. wb_die_err() takes the
 * error number that pthread_* return; wb_die() reads errno. */
static inline _Noreturn void wb_die_err(int err, const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, strerror(err));
    exit(1);
}
static inline _Noreturn void wb_die(const char *what) { wb_die_err(errno, what); }

/* Seconds on a clock that never jumps. CLOCK_MONOTONIC is shared by every
 * process on the machine, so times taken in forked children compare too. */
static inline double wb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail with this clock id */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time (user + system) this process has used so far, in seconds. */
static inline double wb_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == -1)
        wb_die("getrusage");
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Strict decimal parsing: the whole string, in [min, max]. 0 ok, -1 not. */
static inline int wb_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0; /* strtol reports overflow only through errno */
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || v < min || v > max)
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

/* Where the lab server is: $LAB_URL, else the port `make serve` uses. */
static inline const char *wb_lab_url(void)
{ return getenv("LAB_URL") && *getenv("LAB_URL") ? getenv("LAB_URL") : "http://127.0.0.1:8000"; }

/* The hint every fetch program gives when the lab cannot be reached. */
static inline void wb_lab_hint(void)
{
    fprintf(stderr, "%s: is the lab server running at %s? start it with 'make serve' in "
            "another terminal (or set LAB_URL)\n", program_invocation_short_name, wb_lab_url());
}

/* The options every fetch program shares: -q, -n N, -d MS. Call it from the
 * program's own getopt switch; it returns 1 if it took the option. */
struct wb_opts { int quiet, n, delay_ms; };
#define WB_OPTS_INIT {0, 10, 200}
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
    int n = argc > 0 ? argc : o->n;
    char **urls = calloc((size_t)n, sizeof *urls);
    if (!urls)
        wb_die("calloc");
    for (int i = 0; i < n; i++)
        if (argc > 0 ? !(urls[i] = strdup(argv[i]))
                     : asprintf(&urls[i], "%s/delay/%d?i=%d", wb_lab_url(), o->delay_ms, i) < 0)
            wb_die("url");
    *count = n;
    return urls;
}
static inline void wb_urls_free(char **urls, int n)
{
    while (n > 0)
        free(urls[--n]);
    free(urls);
}

/* Split "http://host:port/path", "host:port/path" or "host" (port 80, path /)
 * for the programs that speak HTTP over raw sockets. 0 ok, -1 malformed. */
static inline int wb_split_url(const char *url, char *host, size_t hostlen, char *port,
                               size_t portlen, const char **path)
{
    if (strncmp(url, "http://", 7) == 0)
        url += 7;
    size_t hl = strcspn(url, ":/");
    const char *p = url + hl, *slash = strchr(p, '/');
    size_t pl = *p == ':' ? (slash ? (size_t)(slash - p - 1) : strlen(p + 1)) : 0;
    if (hl == 0 || hl >= hostlen || pl >= portlen || (*p == ':' && pl == 0))
        return -1;
    snprintf(host, hostlen, "%.*s", (int)hl, url);
    snprintf(port, portlen, "%.*s", (int)pl, *p == ':' ? p + 1 : "80");
    *path = slash ? slash : "/";
    return 0;
}

/* One result line and the closing line, as DESIGN.md gives them. */
static inline void wb_result(int i, long long bytes, double secs, const char *url)
{ printf("[%d] %lld bytes in %.3f s  %s\n", i, bytes, secs, url); }
static inline void wb_used_time(double secs) { printf("used time: %.3f s\n", secs); }

/* The timeline: task i owns slot i, so threads record without a lock (the
 * join that follows orders their writes before the drawing); forked children
 * send their two wb_now() values to the parent, which calls wb_span_set(). */
struct wb_span { double start, end; };
struct wb_timeline { int n; struct wb_span *span; };
static inline void wb_timeline_init(struct wb_timeline *t, int n)
{
    if (!(t->span = calloc((size_t)(t->n = n), sizeof *t->span)))
        wb_die("calloc");
}
static inline void wb_span_set(struct wb_timeline *t, int i, double start, double end)
{ t->span[i] = (struct wb_span){start, end}; }
static inline void wb_task_begin(struct wb_timeline *t, int i) { t->span[i].start = wb_now(); }
static inline void wb_task_end(struct wb_timeline *t, int i) { t->span[i].end = wb_now(); }

/* Draw one row per task (the first WB_ROWS of them): a bar from its start to
 * its end, scaled to the terminal's width, under an axis in seconds. */
#define WB_ROWS 40
static inline void wb_timeline_print(const struct wb_timeline *t, FILE *out)
{
    double t0 = 0, t1 = 0;
    for (int i = 0, seen = 0; i < t->n; i++) {
        const struct wb_span *s = &t->span[i];
        if (s->end <= 0)
            continue; /* a task that never finished draws an empty row */
        t0 = seen && t0 < s->start ? t0 : s->start;
        t1 = seen && t1 > s->end ? t1 : s->end;
        seen = 1;
    }
    struct winsize ws; /* the terminal's width, else $COLUMNS, else 80 */
    long width = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        width = ws.ws_col;
    else if (getenv("COLUMNS"))
        wb_parse_long(getenv("COLUMNS"), 20, 1000, &width);
    int bar = width - 8 > 100 ? 100 : (width - 8 < 20 ? 20 : (int)width - 8);
    setlocale(LC_CTYPE, "");
    int utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    double len = t1 - t0 > 1e-9 ? t1 - t0 : 1e-9;
    fprintf(out, "timeline: %d task%s, one column = %.1f ms\n", t->n, t->n == 1 ? "" : "s",
            len * 1e3 / bar);
    for (int i = 0; i < t->n && i < WB_ROWS; i++) {
        const struct wb_span *s = &t->span[i];
        int from = (int)((s->start - t0) / len * bar), to = (int)((s->end - t0) / len * bar);
        fprintf(out, "%5d ", i);
        for (int c = 0; c < bar; c++) /* every task gets at least one column */
            fputs(s->end > 0 && c >= from && (c < to || c == from) ? (utf8 ? "\u2588" : "#")
                                                                  : (utf8 ? "\u00b7" : "."),
                  out);
        fputc('\n', out);
    }
    if (t->n > WB_ROWS)
        fprintf(out, "%5s (%d more rows not drawn)\n", "...", t->n - WB_ROWS);
    fprintf(out, "%6s|0 s%*s%.3f s|\n", "", bar - 12, "", len);
}
static inline void wb_timeline_free(struct wb_timeline *t) { free(t->span); }

#endif
