/* latency.c - the cost ladder: one CPU step versus everything off the CPU
 *
 * Talk: why we need concurrency or parallelism
 * Usage: latency [-q] [-r N]
 * Shows: what an arithmetic step, a cache miss, a system call, a thread switch, a
 *        thread, a process, a loopback TCP round trip, a lab server request and a
 *        4 KiB write + fsync cost here (median of N samples), on a log scale. Linux.
 * Compare: ch02/fork_vs_thread.c (processes and threads), ch02/blocking.c
 */
#include "workbook.h"
#include <curl/curl.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>

static const char usage[] =
    "Usage: latency [-q] [-r N]\n"
    "Measures what one operation costs here, from an arithmetic step to an fsync, on a\n"
    "logarithmic bar (# = twice the cost): off the CPU, all is slower by magnitudes.\n"
    "  -q, --skip-missing  skip (and say so) a row that cannot run: no lab server, no disk\n"
    "  -r, --repeat N      samples per row; the median is shown (default 7)\n";

enum { LINES = 1 << 21 }; /* 2 Mi lines of 64 bytes: 128 MiB, more than a PC's caches hold */
struct ctx {
    int reps;       /* samples per row */
    double *sample; /* reps slots, reused by every row */
    double base;    /* the cost of an arithmetic step: the unit of the table */
    struct line { size_t next; char pad[64 - sizeof(size_t)]; } *lines;
    int fd[4];      /* round trips: write fd[0], read fd[1]; the echo: fd[2], fd[3] */
    CURL *lab;      /* a handle on $LAB_URL/delay/0, NULL if nobody answers */
    int disk;       /* the fsync row's file (opened to append), -1 if none */
};
static volatile unsigned long sink; /* results land here, so the compiler keeps the work */

/* Time `calls` calls of op (each does `per` operations) reps times; print the
 * median cost of one operation (deaf to a sample when the machine was busy),
 * in ns, in arithmetic steps (row one), and as a bar: a # for every doubling. */
static void measure(struct ctx *c, const char *name, void (*op)(struct ctx *), long calls, long per)
{
    char bar[64] = "#";
    for (int r = 0; r < c->reps; r++) {
        double t0 = wb_now();
        for (long i = 0; i < calls; i++)
            op(c);
        c->sample[r] = (wb_now() - t0) / (double)(calls * per) * 1e9;
    }
    for (int i = 1; i < c->reps; i++) /* sort them (insertion sort: there are few) */
        for (int j = i; j > 0 && c->sample[j] < c->sample[j - 1]; j--) {
            double t = c->sample[j];
            c->sample[j] = c->sample[j - 1], c->sample[j - 1] = t;
        }
    double ns = c->sample[c->reps / 2];
    c->base = c->base > 0 ? c->base : ns;
    for (double f = ns / c->base; f >= 2 && strlen(bar) < sizeof bar - 1; f /= 2)
        strcat(bar, "#");
    printf("%-31s %11.1f ns %12.0fx  %s\n", name, ns, ns / c->base, bar);
    fflush(stdout); /* show each row as it comes, and leave fork no buffer to copy */
}

/* 1000 steps a call, so the call's own cost is shared out. Each multiply-add
 * needs the result of the one before, so no two of them overlap. */
static void op_arith(struct ctx *c)
{
    unsigned long x = sink, mul = sink | 1; /* values the compiler cannot know */
    for (int i = 0; i < 1000; i++)
        x = x * mul + 1;
    sink = x + (unsigned long)c->reps;
}

/* Each read needs the address the last one found, and the chain jumps around 128 MiB
 * in an order no prefetcher guesses, so nearly every read goes out to memory.
 * (i*A+C mod 2^21, with C odd and A-1 a multiple of 4, visits every line once.) */
static void op_memory(struct ctx *c)
{
    size_t p = sink & (LINES - 1);
    for (int i = 0; i < 1000; i++)
        p = c->lines[p].next;
    sink = p;
}
static void row_memory(struct ctx *c)
{
    if (!(c->lines = aligned_alloc(64, LINES * sizeof *c->lines)))
        wb_die("aligned_alloc");
    for (size_t i = 0; i < LINES; i++)
        c->lines[i].next = (i * 1103515245u + 12345u) & (LINES - 1);
    measure(c, "memory read, cache miss", op_memory, 100, 1000);
    free(c->lines); /* now: a big process is slower to fork */
}

static void op_syscall(struct ctx *c) { sink = (unsigned long)getppid() + (unsigned long)c->reps; }
/* No signal handler is installed, so no read or write here is interrupted
 * (no EINTR to retry), and one byte is never cut short. */
static void op_roundtrip(struct ctx *c)
{
    char b = 'x';
    if (write(c->fd[0], &b, 1) != 1 || read(c->fd[1], &b, 1) != 1)
        wb_die("round trip");
}
static void *echo(void *arg) /* the far side: send back each byte until end-of-file */
{
    int *fd = arg;
    char b;
    while (read(fd[0], &b, 1) == 1 && write(fd[1], &b, 1) == 1)
        continue;
    return NULL;
}
/* Round trips through fd[0] and fd[1], with an echo thread at fd[2], fd[3]. */
static void with_echo(struct ctx *c, const char *label, const int fd[4], long calls, long per)
{
    pthread_t t;
    memcpy(c->fd, fd, sizeof c->fd);
    int err = pthread_create(&t, NULL, echo, c->fd + 2);
    if (err)
        wb_die_err(err, "pthread_create");
    measure(c, label, op_roundtrip, calls, per);
    close(c->fd[0]); /* the echo thread reads end-of-file and returns */
    if ((err = pthread_join(t, NULL)))
        wb_die_err(err, "pthread_join");
    if (c->fd[1] != c->fd[0]) /* pipes: four descriptors; a socket: one at each end */
        close(c->fd[1]), close(c->fd[3]);
    close(c->fd[2]);
}
static void row_switch(struct ctx *c) /* on one CPU, a round trip is two switches */
{
    int a[2], b[2];
    if (pipe(a) == -1 || pipe(b) == -1)
        wb_die("pipe");
    with_echo(c, "thread switch (pipe ping-pong)", (const int[4]){a[1], b[0], a[0], b[1]}, 1000, 2);
}
static void row_tcp(struct ctx *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa; /* port 0: the kernel picks a free one */
    int lfd = socket(AF_INET, SOCK_STREAM, 0), cfd = socket(AF_INET, SOCK_STREAM, 0), sfd;
    if (lfd == -1 || cfd == -1 || bind(lfd, (struct sockaddr *)&sa, len) == -1 ||
        listen(lfd, 1) == -1 || getsockname(lfd, (struct sockaddr *)&sa, &len) == -1 ||
        connect(cfd, (struct sockaddr *)&sa, len) == -1 || (sfd = accept(lfd, NULL, NULL)) == -1)
        wb_die("loopback TCP");
    close(lfd);
    with_echo(c, "loopback TCP round trip", (const int[4]){cfd, cfd, sfd, sfd}, 500, 1);
}
static void *nothing(void *arg) { return arg; }
static void op_thread(struct ctx *c)
{
    pthread_t t;
    int err = pthread_create(&t, NULL, nothing, c);
    if (err || (err = pthread_join(t, NULL)))
        wb_die_err(err, "thread");
}
static void op_fork(struct ctx *c)
{
    int status;
    pid_t pid = fork(); /* stdout was flushed, or the child would copy its buffer */
    if (pid == 0)
        _exit(0); /* _exit: the child runs no atexit handlers, flushes nothing */
    if (pid == -1 || waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) || WEXITSTATUS(status))
        wb_die("fork and wait");
    (void)c;
}

/* One GET of $LAB_URL/delay/0, the body thrown away. The handle keeps its
 * connection open from one request to the next (HTTP keep-alive). */
static size_t discard(char *p, size_t n, size_t k, void *u) { return (void)p, (void)u, n * k; }
static void op_lab(struct ctx *c)
{
    if (curl_easy_perform(c->lab) != CURLE_OK)
        wb_die_err(EIO, "lab server request");
}
static CURL *lab_open(void)
{
    char url[1024];
    CURL *h = curl_easy_init();
    snprintf(url, sizeof url, "%s/delay/0", wb_lab_url());
    if (!h || curl_easy_setopt(h, CURLOPT_URL, url) || curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L) ||
        curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L) || /* a status of 400 or more fails too */
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard) || curl_easy_perform(h) != CURLE_OK) {
        curl_easy_cleanup(h); /* harmless on NULL */
        return NULL;
    }
    return h;
}
/* Append 4 KiB, wait until the disk holds them (a short write: the disk is full). */
static void op_fsync(struct ctx *c)
{
    static const char block[4096];
    if (write(c->disk, block, sizeof block) != (ssize_t)sizeof block || fsync(c->disk) == -1)
        wb_die("write 4 KiB + fsync");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"skip-missing", no_argument, NULL, 'q'},
        {"repeat", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'}, {0}};
    struct ctx c = {.reps = 7};
    int skip = 0, opt;
    while ((opt = getopt_long(argc, argv, "qr:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'q': skip = 1; break;
        case 'r': c.reps = (int)wb_opt_long("-r", optarg, 1, 1000); break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind < argc)
        return fputs(usage, stderr), 2;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) /* before any thread starts */
        wb_die_err(EIO, "curl_global_init");
    if (!(c.lab = lab_open()) && !skip) /* find out now, not after the other rows */
        return wb_lab_hint(), fputs("latency: or use -q to skip that row\n", stderr), 1;
    /* A nameless file (O_TMPFILE) in /var/tmp: /tmp may be in memory (tmpfs). */
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
    if ((c.disk = open(dir, O_TMPFILE | O_WRONLY | O_APPEND, 0600)) == -1 && !skip)
        wb_die("a file for the fsync row (-q skips that row)");
    cpu_set_t one; /* all on one CPU, the one we are on: a hand-over between threads is */
    CPU_ZERO(&one); /* then a real switch, and no row depends on which core answers */
    CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
    if (sched_setaffinity(0, sizeof one, &one) == -1 ||
        !(c.sample = calloc((size_t)c.reps, sizeof *c.sample)))
        wb_die("set-up");

    printf("latency: what one operation costs on this machine (median of %d samples)\n\n", c.reps);
    printf("%-31s %14s %13s  %s\n", "operation", "time", "vs arithmetic", "(# = twice the cost)");
    measure(&c, "arithmetic step (multiply-add)", op_arith, 1000, 1000);
    row_memory(&c);
    measure(&c, "system call (getppid)", op_syscall, 20000, 1);
    row_switch(&c);
    measure(&c, "thread create + join", op_thread, 100, 1);
    measure(&c, "process fork + wait", op_fork, 20, 1);
    row_tcp(&c);
    if (c.lab)
        measure(&c, "lab server request (/delay/0)", op_lab, 20, 1);
    else
        printf("%-31s skipped: no lab server at %s\n", "lab server request", wb_lab_url());
    if (c.disk != -1)
        measure(&c, "write 4 KiB + fsync", op_fsync, 2, 1);
    else
        printf("%-31s skipped: cannot make a file in %s\n", "write 4 KiB + fsync", dir);
    printf("\nthe bottleneck is everything off the CPU\n");

    if (c.disk != -1)
        close(c.disk);
    curl_easy_cleanup(c.lab);
    curl_global_cleanup();
    free(c.sample);
    return 0;
}
