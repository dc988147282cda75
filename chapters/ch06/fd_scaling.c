/* fd_scaling.c - what one wake-up costs with select, poll and epoll as descriptors grow
 *
 * Talk: Q & A - how many connections can select handle, and why is epoll better?
 * Usage: fd_scaling [-q] [-n MAX]
 * Shows: N idle descriptors (socket pairs) and one ready. select() and poll()
 *        pass every descriptor on every call and the program asks each "was it
 *        you?"; epoll_wait() returns only what is ready, so its cost stays flat.
 *        select() stops at FD_SETSIZE. Medians of many rounds, on a log scale.
 * Compare: ch05/select_crawler.c (select), ch05/callback_crawler.c (epoll),
 *          multi_socket_fetch.c (the same lesson inside libcurl). Linux.
 */
#include "workbook.h"

#include <getopt.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>

/* One size N: N idle descriptors and, last, the reader of a pair we make ready
 * by writing a byte into its other end (the bell). Each wake-up below waits
 * for a ready descriptor and returns which one, as an event loop must. */
struct watched {
    int n, bell, highest, epfd;
    struct pollfd *pfd; /* pfd[i].fd is descriptor i; the bell's reader is pfd[n] */
};

/* select(): the set is a bitmap the call overwrites, so it is built again
 * before every call, and afterwards every bit is tested. */
static int wake_select(struct watched *w)
{
    fd_set readable;
    struct timeval one_second = {1, 0};

    FD_ZERO(&readable);
    for (int i = 0; i <= w->n; i++)
        FD_SET(w->pfd[i].fd, &readable);
    int ready = select(w->highest + 1, &readable, NULL, NULL, &one_second);

    int found = -1;
    for (int i = 0; ready == 1 && i <= w->n; i++)
        if (FD_ISSET(w->pfd[i].fd, &readable))
            found = w->pfd[i].fd;
    return found;
}

/* poll(): the array is kept from call to call, but the kernel still walks
 * all of it, and so does the program looking for the entry with revents. */
static int wake_poll(struct watched *w)
{
    int ready = poll(w->pfd, (nfds_t)w->n + 1, 1000);

    int found = -1;
    for (int i = 0; ready == 1 && i <= w->n; i++)
        if (w->pfd[i].revents & POLLIN)
            found = w->pfd[i].fd;
    return found;
}

/* epoll: the descriptors were registered once; the kernel keeps a list of
 * the ready ones and hands back only those. */
static int wake_epoll(struct watched *w)
{
    struct epoll_event ev[8];

    int ready = epoll_wait(w->epfd, ev, 8, 1000);

    return ready == 1 ? ev[0].data.fd : -1;
}

/* The median of many rounds, in us: steadier than a mean on a busy machine. */
static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A round rings the bell (not timed), times one wake-up, reads the byte back. */
static double median_us(int (*wake)(struct watched *), struct watched *w, int rounds)
{
    char byte = '!';
    double *t = calloc((size_t)rounds, sizeof *t);
    if (t == NULL)
        wb_die("calloc");

    for (int r = 0; r < rounds; r++) {
        if (write(w->bell, &byte, 1) != 1)
            wb_die("write");
        double t0 = wb_now();
        int found = wake(w);
        t[r] = wb_now() - t0;

        if (found != w->pfd[w->n].fd)
            wb_die_err(EPROTO, "the wake-up did not find the ready descriptor");
        if (read(found, &byte, 1) != 1)
            wb_die("read");
    }

    qsort(t, (size_t)rounds, sizeof *t, by_value);
    double median = t[rounds / 2] * 1e6;
    free(t);
    return median;
}

/* Open N idle descriptors (N even) and the bell; register each once, as a loop would */
static void watch_open(struct watched *w, int n)
{
    int pair[2];
    *w = (struct watched){.n = n};
    w->pfd = calloc((size_t)n + 1, sizeof *w->pfd);
    if (w->pfd == NULL)
        wb_die("calloc");

    /* both ends of each pair are watched for input; nobody ever writes */
    for (int i = 0; i <= n; i += 2) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == -1)
            wb_die("socketpair");
        w->pfd[i] = (struct pollfd){.fd = pair[0], .events = POLLIN};
        if (i < n)
            w->pfd[i + 1] = (struct pollfd){.fd = pair[1], .events = POLLIN};
        else
            w->bell = pair[1]; /* the last pair: its reader is watched last */
    }

    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd == -1)
        wb_die("epoll_create1");
    for (int i = 0; i <= n; i++) {
        int fd = w->pfd[i].fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
            wb_die("epoll_ctl");
        if (fd > w->highest)
            w->highest = fd;
    }
}

static void watch_close(struct watched *w)
{
    for (int i = 0; i <= w->n; i++)
        close(w->pfd[i].fd);
    close(w->bell);
    close(w->epfd);
    free(w->pfd);
}

/* A row of the table, its bar on a log scale: 8 marks a factor of ten from 0.1 us */
static void print_row(const char *method, int n, double us, int quiet)
{
    printf("%-6s %6d %10.2f%s", method, n, us, quiet ? "" : "  ");
    for (double level = 0.1; !quiet && level < us && level < 1e6; level *= 1.3335)
        putchar('#');
    putchar('\n');
}

/* ---- options ------------------------------------------------------------------ */

/* --help: all of this on stdout, exit 0; a bad option: line one on stderr, exit 2 */
static _Noreturn void usage(int status)
{
    fprintf(status ? stderr : stdout, "Usage: %s [-q] [-n MAX]\n",
            program_invocation_short_name);
    if (status == 0)
        printf("\nTime one wake-up of select(), poll() and epoll_wait() while N\n"
               "idle descriptors are watched and one is ready, N = 10, 100, ...\n"
               "up to MAX; each time is the median of 50 + 200000 / N rounds.\n\n"
               "  -n MAX    the largest N (default 10000; from 10 to 100000)\n"
               "  -q        numbers only, no bars\n");
    exit(status);
}

static void parse_options(int argc, char **argv, int *quiet, long *max_n)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "qn:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'q': *quiet = 1; break;
        case 'n': *max_n = wb_opt_long("-n", optarg, 10, 100000); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
}

/* ---- main: the three methods at every size, then how much each grew ---------- */

int main(int argc, char **argv)
{
    static const char *const name[3] = {"select", "poll", "epoll"};
    int (*const wake[3])(struct watched *) = {wake_select, wake_poll, wake_epoll};
    int quiet = 0;
    long max_n = 10000;
    parse_options(argc, argv, &quiet, &max_n);

    /* N descriptors, the bell, epoll's own, stdin/out/err and a margin: 16 */
    long limit = wb_raise_fd_limit(1);
    if (limit < 10 + 16)
        wb_die_err(EMFILE, "the smallest N, 10, needs an open-file limit of 26");
    long largest = max_n - max_n % 2;
    if (largest + 16 > limit) {
        largest = (limit - 16) - (limit - 16) % 2;
        fprintf(stderr, "%s: the open-file limit is %ld, so N stops at %ld\n",
                program_invocation_short_name, limit, largest);
    }

    /* the sizes: 10, 100, 1000, ... and the largest itself */
    int sizes[8];
    int count = 0;
    for (long n = 10; n < largest && count < 7; n *= 10)
        sizes[count++] = (int)n;
    sizes[count++] = (int)largest;

    /* every method, the smallest and the largest size it went to */
    double first[3] = {0}, last[3] = {0};
    int last_n[3] = {0};

    printf("%-6s %6s %10s  (one wake-up, N idle and one ready: median)\n", "method",
           "N", "us");
    for (int s = 0; s < count; s++) {
        struct watched w;
        watch_open(&w, sizes[s]);

        for (int m = 0; m < 3; m++) {
            /* an fd_set is a bitmap of FD_SETSIZE bits: FD_SET past it would
             * write beyond the set, so select() stops here */
            if (m == 0 && w.highest >= FD_SETSIZE) {
                printf("%-6s %6d    refused  descriptor %d is past FD_SETSIZE (%d), "
                       "the size of select()'s bitmap\n",
                       name[m], sizes[s], w.highest, FD_SETSIZE);
                continue;
            }
            last[m] = median_us(wake[m], &w, 50 + 200000 / sizes[s]);
            last_n[m] = sizes[s];
            if (s == 0)
                first[m] = last[m];
            print_row(name[m], sizes[s], last[m], quiet);
        }
        watch_close(&w);
    }

    for (int m = 0; m < 3; m++)
        printf("%-6s grows x %.1f from N = %d to N = %d\n", name[m], last[m] / first[m],
               sizes[0], last_n[m]);
    return 0;
}
