/* io_latency.c - the cost ladder goes on: waiting for a program, a server, a disk
 *
 * Talk: why we need concurrency or parallelism
 * Usage: io_latency [-q] [-r N]
 * Shows: what a loopback TCP round trip, a request to the lab server and a
 *        4 KiB write + fsync cost here (median of N samples), counted in
 *        arithmetic steps and drawn on a log scale (ladder.h). A row that
 *        cannot run (no lab server, no folder to write to) says "not measured",
 *        why, and how to make it run. Linux.
 * Compare: latency.c (the first half of the ladder), ch05/blocking_way.c
 */
#include "ladder.h"
#include <curl/curl.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

/* The far end of the TCP connection: send back each byte until end of file.
 * No signal handler is installed, so no read or write is interrupted (no
 * EINTR), and a single byte is never cut short. */
static void *echo(void *arg)
{
    int fd = *(const int *)arg;
    char b;

    while (read(fd, &b, 1) == 1) {
        if (write(fd, &b, 1) != 1)
            break;
    }
    return NULL;
}

/* One byte to another thread, through the whole TCP stack twice. */
static void op_tcp(void *arg)
{
    int fd = *(const int *)arg;
    char b = 'x';

    if (write(fd, &b, 1) != 1)
        wb_die("write");
    if (read(fd, &b, 1) != 1)
        wb_die("read");
}

static void row_tcp(struct ladder *l)
{
    /* listen on 127.0.0.1, on a free port the kernel picks (port 0) */
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd == -1)
        wb_die("socket");
    if (bind(lfd, (struct sockaddr *)&addr, len) == -1)
        wb_die("bind");
    if (listen(lfd, 1) == -1)
        wb_die("listen");
    if (getsockname(lfd, (struct sockaddr *)&addr, &len) == -1)
        wb_die("getsockname");

    /* connect to it; the end that accept() returns goes to the echo thread */
    int near = socket(AF_INET, SOCK_STREAM, 0);
    if (near == -1)
        wb_die("socket");
    if (connect(near, (struct sockaddr *)&addr, len) == -1)
        wb_die("connect");
    int far = accept(lfd, NULL, NULL);
    if (far == -1)
        wb_die("accept");
    close(lfd);

    /* the far end answers from its own thread */
    pthread_t t;
    int err = pthread_create(&t, NULL, echo, &far);
    if (err != 0)
        wb_die_err(err, "pthread_create");
    ladder_row(l, "loopback TCP round trip", op_tcp, &near, 500, 1);

    /* the echo thread reads end of file and returns */
    close(near);
    err = pthread_join(t, NULL);
    if (err != 0)
        wb_die_err(err, "pthread_join");
    close(far);
}

/* libcurl hands over the body piece by piece: throw it away. */
static size_t discard(char *data, size_t size, size_t n, void *user)
{
    (void)data;
    (void)user;
    return size * n;
}

/* One GET of $LAB_URL/bytes/0, an empty answer sent at once, over the
 * connection that the handle keeps open from one request to the next. */
static void op_lab(void *arg)
{
    CURL *lab = arg;
    CURLcode rc = curl_easy_perform(lab);
    if (rc == CURLE_OK)
        return;

    /* the lab answered the first request, then stopped in the middle */
    fprintf(stderr, "%s: lab server request: %s\n", program_invocation_short_name,
            curl_easy_strerror(rc));
    exit(1);
}

/* What to do about the lab request's failure, by what curl says went wrong. */
static const char *lab_hint(CURLcode rc)
{
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
        return "start a lab server with 'make serve', or set LAB_URL";
    if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT)
        return "LAB_URL is not an http://host:port address: check it";
    return "something answers there, but not as a lab server: check LAB_URL";
}

static void row_lab(struct ladder *l, int hints)
{
    const char *name = "lab server request (/bytes/0)";

    /* one handle for every request: it keeps its connection open */
    char url[1024];
    snprintf(url, sizeof url, "%s/bytes/0", wb_lab_url());
    CURL *lab = curl_easy_init();
    if (lab == NULL)
        wb_die_err(ENOMEM, "curl_easy_init");

    /* a status of 400 or more fails too; never through a proxy */
    CURLcode rc = curl_easy_setopt(lab, CURLOPT_URL, url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(lab, CURLOPT_TIMEOUT, 5L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(lab, CURLOPT_FAILONERROR, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(lab, CURLOPT_NOPROXY, "*");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(lab, CURLOPT_WRITEFUNCTION, discard);

    /* one request first: is anybody there? */
    if (rc == CURLE_OK)
        rc = curl_easy_perform(lab);
    if (rc == CURLE_OK) {
        ladder_row(l, name, op_lab, lab, 20, 1);
    } else {
        char why[1200];
        snprintf(why, sizeof why, "%s: %s", url, curl_easy_strerror(rc));
        ladder_missing(name, why, hints ? lab_hint(rc) : NULL);
    }
    curl_easy_cleanup(lab);
}

/* Append 4 KiB and wait until the disk holds them. A short write would mean
 * that the disk is full. */
static void op_fsync(void *arg)
{
    static const char block[4096];
    int fd = *(const int *)arg;

    if (write(fd, block, sizeof block) != (ssize_t)sizeof block)
        wb_die("write");
    if (fsync(fd) == -1)
        wb_die("fsync");
}

static void row_fsync(struct ladder *l, int hints)
{
    const char *name = "write 4 KiB + fsync";

    /* A file with no name (O_TMPFILE), so nothing is left behind; in /var/tmp,
     * as /tmp may be in memory (tmpfs), where fsync has nothing to wait for. */
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0')
        dir = "/var/tmp";
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_APPEND, 0600);
    if (fd == -1) {
        char why[1200];
        snprintf(why, sizeof why, "cannot make a file in %s: %s", dir, strerror(errno));
        const char *hint = "set TMPDIR to a folder on a disk that you may write to";
        ladder_missing(name, why, hints ? hint : NULL);
        return;
    }

    ladder_row(l, name, op_fsync, &fd, 2, 1);
    close(fd);
}

static void parse_options(int argc, char **argv, int *reps, int *hints);

int main(int argc, char **argv)
{
    struct ladder l = {.reps = 7};
    int hints = 1;
    parse_options(argc, argv, &l.reps, &hints);

    /* libcurl is set up once, before any thread starts */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        wb_die_err(EIO, "curl_global_init");

    ladder_begin(&l, "waiting");
    row_tcp(&l);
    row_lab(&l, hints);
    row_fsync(&l, hints);
    ladder_end();

    curl_global_cleanup();
    return 0;
}

/* --- the command line: the same shape as latency.c ----------------------------- */

static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fputs("Usage: io_latency [-q] [-r N]\n", out);
    if (status == 0)
        fputs(
            "\nWhat waiting for another program, a web server and a disk costs here.\n"
            "A row that cannot run says why, and what would make it run.\n\n"
            "  -q, --quiet     leave out what would make a missing row run\n"
            "  -r, --repeat N  samples per row; the median is shown (default 7)\n",
            stdout);
    exit(status);
}

static void parse_options(int argc, char **argv, int *reps, int *hints)
{
    static const struct option longopts[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"repeat", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "qr:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'q': *hints = 0; break;
        case 'r': *reps = (int)wb_opt_long("-r", optarg, 1, LADDER_MAX_REPS); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
}
