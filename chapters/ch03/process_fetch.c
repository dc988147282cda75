/* process_fetch.c - fetch every page at once, one forked child per URL
 *
 * Talk: parallel handling / multiprocess
 * Usage: process_fetch [-q] [--join-each] [-n N] [-d MS] [URL...]
 * Shows: fork() a child per URL; each child reports over one shared pipe in a
 *        single write() of a fixed-size report (at most PIPE_BUF bytes: atomic,
 *        so reports never mix); the parent prints them and reaps every child.
 *        --join-each is the talk's cell: each child is reaped before the next fork.
 * Compare: thread_fetch.c (threads share memory, no pipe needed), queue.c
 */
#include "workbook.h"

#include <curl/curl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sys/wait.h>

static void parse_options(int argc, char **argv, struct wb_opts *o, int *join_each);

/* One child's report: fixed size, well under PIPE_BUF (4096 on Linux). The
 * times come from wb_now(), CLOCK_MONOTONIC, the same clock in every process. */
struct report {
    int i;
    CURLcode rc;
    long long bytes;
    double start, end;
    char reason[CURL_ERROR_SIZE];
};
_Static_assert(sizeof(struct report) <= PIPE_BUF, "a report must fit one atomic write");

/* the same byte counter as sequential_fetch.c */
static size_t count_bytes(char *data, size_t size, size_t nmemb, void *userp)
{
    (void)data;
    *(long long *)userp += (long long)(size * nmemb);
    return size * nmemb;
}

/* The child: fetch one URL, send one report and _exit() (never exit(): that
 * would flush the stdio buffers copied from the parent). */
static _Noreturn void child(int i, const char *url, int out)
{
    /* thread_fetch.c's options but NOSIGNAL: a child has one thread. If a
     * setopt fails, the report says CURLE_OUT_OF_MEMORY. */
    struct report r = {.i = i, .rc = CURLE_OUT_OF_MEMORY};
    r.start = wb_now();
    CURL *h = curl_easy_init();
    if (h != NULL && curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.bytes) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*") == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r.reason) == CURLE_OK)
        r.rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    r.end = wb_now();

    /* A blocking write of at most PIPE_BUF bytes to a pipe is all or nothing:
     * never cut short, and no other child's bytes land inside it. It can only
     * fail before writing anything, so EINTR just means try again. */
    ssize_t w;
    do
        w = write(out, &r, sizeof r);
    while (w == -1 && errno == EINTR);

    if (w != (ssize_t)sizeof r)
        _exit(2);
    _exit(r.rc == CURLE_OK ? 0 : 1);
}

/* What the parent keeps while it listens: got[i] is 1 once child i's report came. */
struct parent {
    char **urls;
    struct wb_timeline tl;
    char *got;
    int failed;
};

/* Read reports and print them as they come. With wait_all, read until every
 * child has exited (EOF); else only the reports already waiting. */
static void collect(struct parent *p, int in, int wait_all)
{
    struct pollfd pfd = {in, POLLIN, 0};
    struct report r;

    while (wait_all || poll(&pfd, 1, 0) == 1) {
        /* one report; a read is not atomic, so loop over short ones */
        for (size_t have = 0; have < sizeof r;) {
            ssize_t k = read(in, (char *)&r + have, sizeof r - have);
            if (k == -1 && errno == EINTR)
                continue;
            if (k == -1)
                wb_die("read");
            if (k == 0)
                return; /* EOF */
            have += (size_t)k;
        }

        p->got[r.i] = 1;
        wb_span_set(&p->tl, r.i, r.start, r.end);
        if (r.rc == CURLE_OK) {
            wb_result(r.i, r.bytes, r.end - r.start, p->urls[r.i]);
            continue;
        }
        /* libcurl's error buffer, or the code's name where it stayed empty */
        const char *why = r.reason[0] != '\0' ? r.reason : curl_easy_strerror(r.rc);
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, p->urls[r.i],
                why);
        wb_task_failed(&p->tl, r.i);
        p->failed++;
    }
}

/* Wait for child i, then take the reports that have come. A child that sent
 * none failed: say how it ended. (EINTR: a signal came first, wait again.) */
static void reap(struct parent *p, int i, pid_t pid, int in)
{
    const char *me = program_invocation_short_name;
    const char *url = p->urls[i];
    int st;

    while (waitpid(pid, &st, 0) == -1)
        if (errno != EINTR)
            wb_die("waitpid");
    collect(p, in, 0);
    if (p->got[i])
        return;

    p->failed++;
    if (WIFSIGNALED(st))
        fprintf(stderr, "%s: %s: child %d killed by signal %d (%s)\n", me, url,
                (int)pid, WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        fprintf(stderr, "%s: %s: child %d exited with status %d and no report\n", me,
                url, (int)pid, WEXITSTATUS(st));
}

int main(int argc, char **argv)
{
    const char *me = program_invocation_short_name;
    struct wb_opts o = WB_OPTS_INIT;
    int join_each = 0;
    parse_options(argc, argv, &o, &join_each);

    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_require_lab(urls, n);

    /* once, in the parent: every child inherits it */
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        fprintf(stderr, "%s: curl_global_init: %s\n", me, curl_easy_strerror(rc));
        return 1;
    }

    /* one pipe for every child's report */
    int fds[2];
    if (pipe(fds) == -1)
        wb_die("pipe");
    struct parent p = {.urls = urls, .got = calloc((size_t)n, 1)};
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    if (pids == NULL || p.got == NULL)
        wb_die("calloc");
    wb_timeline_init(&p.tl, n);
    if (join_each)
        printf("--join-each: each child is waited for before the next is forked (the "
               "talk's cell), so the fetches run one at a time\n");

    /* fork a child per URL; fflush first, or a child prints our buffer again */
    double begin = wb_now();
    for (int i = 0; i < n; i++) {
        fflush(stdout);
        pids[i] = fork();
        if (pids[i] == -1) {
            fprintf(stderr, "%s: %s: fork: %s\n", me, urls[i], strerror(errno));
            p.failed++;
            continue;
        }

        /* the child only writes: if it cannot close, it sends no report */
        if (pids[i] == 0) {
            if (close(fds[0]) == -1)
                _exit(2);
            child(i, urls[i], fds[1]);
        }

        /* the talk's p.start(); p.join() in one loop */
        if (join_each)
            reap(&p, i, pids[i], fds[0]);
    }

    /* close our write end: EOF comes once the last child has exited */
    if (close(fds[1]) == -1)
        wb_die("close");
    collect(&p, fds[0], 1);

    /* reap every child (--join-each has reaped them already) */
    for (int i = 0; i < n && !join_each; i++)
        if (pids[i] > 0)
            reap(&p, i, pids[i], fds[0]);
    if (close(fds[0]) == -1)
        wb_die("close");
    wb_used_time(wb_now() - begin);
    if (!o.quiet)
        wb_timeline_print(&p.tl, stdout);

    free(p.got);
    free(pids);
    wb_timeline_free(&p.tl);
    curl_global_cleanup();
    wb_urls_free(urls, n);
    return p.failed > 0 ? 1 : 0;
}

/* ---- the command line ---- */

static _Noreturn void usage(int status)
{
    fputs("Usage: process_fetch [-q] [--join-each] [-n N] [-d MS] [URL...]\n",
          status == 0 ? stdout : stderr);
    if (status == 0)
        printf("\nFetches every URL in a child process; they report on one pipe.\n\n"
               "  --join-each  reap each child before the next fork: one at a time\n"
               "  -n N         how many lab URLs (default 10)\n"
               "  -d MS        the lab server's delay per URL (default 200)\n"
               "  -q           no timeline, only the results\n");
    exit(status);
}

/* -q, -n and -d are the options every fetch program shares (workbook.h). */
static void parse_options(int argc, char **argv, struct wb_opts *o, int *join_each)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"join-each", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "qn:d:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, o))
            continue;
        switch (c) {
        case 'j': *join_each = 1; break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
}
