/* header_driver.c - the shared header's helpers, one at a time, for tests/common.bats
 *
 * Usage: header_driver timeline | timeline_end | parse TEXT MIN MAX | split URL
 *        | lab_url | require_lab (exits 1 with its message when no lab answers)
 *        | grow_fd_table N | cpus_allowed
 * Shows: what each helper gives for the input, on one line (the timeline:
 *        as it draws it), so a test can check it without a lab server.
 */
#include "workbook.h"

/* Three tasks: one that ran for 13.5 s, one that never ran, one that failed. */
static void timeline(void)
{
    struct wb_timeline tl;
    wb_timeline_init(&tl, 3);
    wb_span_set(&tl, 0, 100.0, 113.5);
    wb_span_set(&tl, 2, 102.0, 105.0);
    wb_task_failed(&tl, 2);
    wb_timeline_print(&tl, stdout);
    wb_timeline_free(&tl);
}

/* Three tasks; the second starts and fails as the run ends, the third after
 * the first has ended. */
static void timeline_end(void)
{
    struct wb_timeline tl;
    wb_timeline_init(&tl, 3);
    wb_span_set(&tl, 0, 100.0, 110.0);
    wb_span_set(&tl, 1, 110.0, 110.0);
    wb_task_failed(&tl, 1);
    wb_span_set(&tl, 2, 105.0, 110.0);
    wb_timeline_print(&tl, stdout);
    wb_timeline_free(&tl);
}

static void parse(const char *text, const char *min, const char *max)
{
    long value;
    if (wb_parse_long(text, atol(min), atol(max), &value) == 0)
        printf("%ld\n", value);
    else
        printf("not a number\n");
}

static void split(const char *url)
{
    char host[64];
    char port[8];
    const char *path;
    if (wb_split_url(url, host, sizeof host, port, sizeof port, &path) == 0)
        printf("host %s port %s path %s\n", host, port, path);
    else
        printf("malformed\n");
}

/* The check every fetch program makes first, on its N lab URLs. */
static void require_lab(void)
{
    struct wb_opts o = WB_OPTS_INIT;
    int n;
    char **urls = wb_urls(0, NULL, &o, &n);
    wb_require_lab(urls, n);
    wb_urls_free(urls, n);
    printf("a lab server answers\n");
}

/* The descriptor table's size (FDSize in /proc/self/status), before and after
 * wb_grow_fd_table(want), and whether it left a descriptor open. */
static long fd_table_size(void)
{
    long size = -1;
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        wb_die("/proc/self/status");
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "FDSize: %ld", &size) == 1)
            break;
    fclose(f);
    return size;
}

/* How many descriptors are open among the first `below`. */
static int open_fds(long below)
{
    int open = 0;
    for (int fd = 0; fd < below; fd++)
        open += fcntl(fd, F_GETFD) != -1;
    return open;
}

static void grow_fd_table(const char *want)
{
    long before = fd_table_size();
    int open_before = open_fds(before);
    wb_grow_fd_table(atol(want));
    long after = fd_table_size();
    int left_open = open_fds(after) - open_before;

    printf("table %ld -> %ld, %d descriptors left open\n", before, after, left_open);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "timeline") == 0)
        timeline();
    else if (argc == 2 && strcmp(argv[1], "timeline_end") == 0)
        timeline_end();
    else if (argc == 5 && strcmp(argv[1], "parse") == 0)
        parse(argv[2], argv[3], argv[4]);
    else if (argc == 3 && strcmp(argv[1], "split") == 0)
        split(argv[2]);
    else if (argc == 2 && strcmp(argv[1], "lab_url") == 0)
        printf("%s\n", wb_lab_url());
    else if (argc == 2 && strcmp(argv[1], "require_lab") == 0)
        require_lab();
    else if (argc == 3 && strcmp(argv[1], "grow_fd_table") == 0)
        grow_fd_table(argv[2]);
    else if (argc == 2 && strcmp(argv[1], "cpus_allowed") == 0)
        printf("%d\n", wb_cpus_allowed());
    else
        return 2;
    return 0;
}
