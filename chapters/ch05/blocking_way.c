/* blocking_way.c - fetch ten pages one after another over blocking sockets
 *
 * Talk: asynchronous programming / The Traditional Approach
 * Usage: blocking_way [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
 * Shows: the talk's sync_way(): ten calls in a row to its blocking_way(),
 *        which lives in blocking_get.c (the bare socket calls of an HTTP
 *        fetch, each blocking (阻塞) until the network answers), so ten
 *        fetches take ten times one.
 * Compare: process_way.c and thread_way.c (the same blocking_way(), ten at
 *          once), nonblocking_way.c (no blocking, and no faster). Linux.
 */
#include "workbook.h"

#include "blocking_get.h"

#include <getopt.h>

static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s);

int main(int argc, char **argv)
{
    struct wb_opts o = WB_OPTS_INIT;
    int timeout_s;
    parse_options(argc, argv, &o, &timeout_s);

    /* the URLs, and a lab server to answer them */
    int n;
    char **urls = wb_urls(argc - optind, argv + optind, &o, &n);
    wb_require_lab(urls, n);
    struct wb_timeline tl;
    wb_timeline_init(&tl, n);

    /* the talk's sync_way(): one blocking_way() after another */
    int failed = 0;
    double start = wb_now();
    for (int i = 0; i < n; i++) {
        char why[512];

        wb_task_begin(&tl, i);
        long long bytes = blocking_way(urls[i], timeout_s, why, sizeof why);
        wb_task_end(&tl, i);

        if (bytes < 0) {
            fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, urls[i],
                    why);
            wb_task_failed(&tl, i);
            failed++;
        } else {
            wb_result(i, bytes, wb_task_seconds(&tl, i), urls[i]);
        }
    }
    double wall = wb_now() - start;

    /* the summary: almost no CPU time, all of it spent waiting */
    printf("cpu time: %.3f s (wall %.3f s)\n", wb_cpu_seconds(), wall);
    wb_used_time(wall);
    if (!o.quiet)
        wb_timeline_print(&tl, stdout);

    wb_timeline_free(&tl);
    wb_urls_free(urls, n);
    return failed > 0 ? 1 : 0;
}

/* ---- the command line ---------------------------------------------------- */

/* --help: the usage and what the options do, exit 0; a bad option: the usage
 * on stderr, exit 2. */
static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fprintf(out, "Usage: %s [-q] [-n N] [-d MS] [-t SECONDS] [URL...]\n",
            program_invocation_short_name);
    if (status == 0)
        fputs("\nFetch each URL with a blocking socket, one after another. With no\n"
              "URL, fetch N lab URLs, each answered after MS milliseconds.\n"
              "\n"
              "  -n N          how many lab URLs (default 10)\n"
              "  -d MS         the lab server's delay per URL (default 200)\n"
              "  -t SECONDS    give up on a server silent for this long (default 10)\n"
              "  -q            no timeline, only the results\n",
              stdout);
    exit(status);
}

/* -q, -n and -d are the options every fetch program shares (workbook.h). */
static void parse_options(int argc, char **argv, struct wb_opts *o, int *timeout_s)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *timeout_s = 10;

    int c;
    while ((c = getopt_long(argc, argv, "qn:d:t:h", longopts, NULL)) != -1) {
        if (wb_common_opt(c, optarg, o))
            continue;
        switch (c) {
        case 't': *timeout_s = (int)wb_opt_long("-t", optarg, 1, 3600); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
}
