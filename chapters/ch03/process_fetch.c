/* process_fetch.c - fetch every page at once, one forked child per URL
 *
 * Talk: parallel handling / multiprocess
 * Usage: process_fetch [-q] [--join-each] [-n N] [-d MS] [URL...]
 * Shows: fork() a child per URL; the children share no memory with the
 *        parent, so each one reports its result and its times over a pipe
 *        they all share, in one write() of a fixed-size message: a write of
 *        at most PIPE_BUF bytes is atomic, so messages never mix. The parent
 *        prints, draws the timeline, and reaps every child (and says so if
 *        one died). --join-each waits for each child before forking the next,
 *        as the talk's cell does, and the fetches run one at a time.
 * Compare: thread_fetch.c (threads share memory, no pipe needed), queue.c
 */
#include "workbook.h"

#include <curl/curl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sys/wait.h>

static const char usage[] = "Usage: process_fetch [-q] [--join-each] [-n N] [-d MS] [URL...]\n";

/* One child's report: fixed size, well under PIPE_BUF (4096 on Linux). */
struct report {
    int i;
    CURLcode rc;
    long long bytes;
    double start, end; /* wb_now() is CLOCK_MONOTONIC, the same in every process */
    char reason[CURL_ERROR_SIZE];
};
_Static_assert(sizeof(struct report) <= PIPE_BUF, "a report must fit one atomic write");

static size_t count_bytes(char *data, size_t size, size_t nmemb, void *userp)
{
    (void)data;
    *(long long *)userp += (long long)(size * nmemb);
    return size * nmemb;
}

/* The child: fetch one URL with its own handle, send one report, _exit()
 * (never exit(): that would flush stdio buffers copied from the parent). */
static void child(int i, const char *url, int out)
{
    struct report r = {.i = i, .start = wb_now()};
    char err[CURL_ERROR_SIZE] = "";
    CURL *h = curl_easy_init();
    if (!h)
        r.rc = CURLE_OUT_OF_MEMORY;
    else if (!(r.rc = curl_easy_setopt(h, CURLOPT_URL, url)) &&
             !(r.rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes)) &&
             !(r.rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.bytes)) &&
             !(r.rc = curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L)) && /* 404 fails */
             !(r.rc = curl_easy_setopt(h, CURLOPT_NOPROXY, "*")) &&
             !(r.rc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err)))
        r.rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    r.end = wb_now();
    snprintf(r.reason, sizeof r.reason, "%s", err[0] ? err : curl_easy_strerror(r.rc));
    /* A blocking write of at most PIPE_BUF bytes to a pipe is all or nothing:
     * it is never cut short, and no other child's bytes land inside it. It
     * can only fail before writing anything, so EINTR just means try again. */
    ssize_t w;
    do
        w = write(out, &r, sizeof r);
    while (w == -1 && errno == EINTR);
    _exit(w == (ssize_t)sizeof r ? (r.rc == CURLE_OK ? 0 : 1) : 2);
}

/* What the parent keeps while it listens to its children. */
struct parent {
    char **urls;
    struct wb_timeline tl;
    char *got; /* got[i]: child i's report has arrived */
    int failed, unreachable;
};

/* Read reports and print them as they come. With wait_all, read until every
 * writer has closed the pipe (EOF); else only those already waiting. */
static void collect(struct parent *p, int in, int wait_all)
{
    struct pollfd pfd = {in, POLLIN, 0};
    while (wait_all || poll(&pfd, 1, 0) == 1) {
        struct report r;
        size_t have = 0;
        while (have < sizeof r) { /* reads are not atomic: loop over short ones */
            ssize_t k = read(in, (char *)&r + have, sizeof r - have);
            if (k == -1 && errno == EINTR)
                continue;
            if (k == -1)
                wb_die("read");
            if (k == 0)
                return; /* EOF: every child has exited */
            have += (size_t)k;
        }
        p->got[r.i] = 1;
        wb_span_set(&p->tl, r.i, r.start, r.end);
        if (r.rc == CURLE_OK) {
            wb_result(r.i, r.bytes, r.end - r.start, p->urls[r.i]);
        } else {
            fprintf(stderr, "process_fetch: %s: %s\n", p->urls[r.i], r.reason);
            p->failed++;
            p->unreachable |= r.rc == CURLE_COULDNT_CONNECT;
        }
    }
}

/* Wait for one child (EINTR: a signal came first, wait again). */
static int reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            wb_die("waitpid");
    return status;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'}, {"join-each", no_argument, NULL, 'j'}, {0}};
    struct wb_opts o = WB_OPTS_INIT;
    int c, join_each = 0;
    while ((c = getopt_long(argc, argv, "qn:d:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, &o))
            continue;
        if (c == 'j') {
            join_each = 1;
        } else if (c == 'h') {
            printf("%s\nFetches every URL in its own child process; the children report to\n"
                   "the parent over one shared pipe.\n"
                   "  --join-each  wait for each child before forking the next, as the\n"
                   "               talk's cell does: the fetches then run one at a time\n"
                   "  -q           no timeline\n",
                   usage);
            return 0;
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    int n;
    struct parent p = {.urls = wb_urls(argc - optind, argv + optind, &o, &n)};
    char **urls = p.urls;
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT); /* once, inherited by every child */
    if (rc != CURLE_OK) {
        fprintf(stderr, "process_fetch: curl_global_init: %s\n", curl_easy_strerror(rc));
        return 1;
    }
    int fds[2];
    if (pipe(fds) == -1)
        wb_die("pipe");
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    int *status = calloc((size_t)n, sizeof *status);
    p.got = calloc((size_t)n, 1);
    if (!pids || !status || !p.got)
        wb_die("calloc");
    wb_timeline_init(&p.tl, n);
    if (join_each)
        printf("--join-each: each child is waited for before the next is forked (the talk's "
               "cell), so the fetches run one at a time\n");

    double begin = wb_now();
    for (int i = 0; i < n; i++) {
        fflush(stdout); /* or the child's copy of the buffer would print twice */
        pids[i] = fork();
        if (pids[i] == -1) {
            fprintf(stderr, "process_fetch: %s: fork: %s\n", urls[i], strerror(errno));
            pids[i] = 0;
            continue;
        }
        if (pids[i] == 0) {
            if (close(fds[0]) == -1) /* the child only writes: no report, the parent says so */
                _exit(2);
            child(i, urls[i], fds[1]);
        }
        if (join_each) { /* the talk's p.start(); p.join() in one loop */
            status[i] = reap(pids[i]);
            collect(&p, fds[0], 0);
        }
    }
    if (close(fds[1]) == -1) /* now EOF comes once the last child has exited */
        wb_die("close");
    collect(&p, fds[0], 1);
    if (close(fds[0]) == -1)
        wb_die("close");
    for (int i = 0; i < n; i++) {
        if (pids[i] > 0 && !join_each)
            status[i] = reap(pids[i]);
        if (p.got[i])
            continue;
        p.failed++; /* no report: fork failed, or the child died before sending it */
        if (pids[i] > 0 && WIFSIGNALED(status[i]))
            fprintf(stderr, "process_fetch: %s: child %d killed by signal %d (%s)\n", urls[i],
                    (int)pids[i], WTERMSIG(status[i]), strsignal(WTERMSIG(status[i])));
        else if (pids[i] > 0)
            fprintf(stderr, "process_fetch: %s: child %d exited with status %d and no report\n",
                    urls[i], (int)pids[i], WEXITSTATUS(status[i]));
    }
    wb_used_time(wb_now() - begin);
    if (!o.quiet)
        wb_timeline_print(&p.tl, stdout);
    if (p.unreachable && optind == argc)
        wb_lab_hint();

    free(p.got);
    free(status);
    free(pids);
    wb_timeline_free(&p.tl);
    curl_global_cleanup();
    wb_urls_free(urls, n);
    return p.failed ? 1 : 0;
}
