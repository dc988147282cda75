/* queue.c - two children put a message on a queue made of a pipe; the parent gets both
 *
 * Talk: parallel handling / Queue (multiprocessing.Queue)
 * Usage: queue [-s BYTES]
 * Shows: put() sends a message as a 4-byte length and the bytes, in one write();
 *        get() reads the length, then exactly that many bytes. A pipe write of at
 *        most PIPE_BUF (4096) bytes is atomic, so the two children's messages never
 *        mix. -s pads each message to BYTES, child 1 with 'a' and child 2 with 'b':
 *        above PIPE_BUF a write can be cut in pieces, and the pieces can interleave.
 * Compare: process_fetch.c and pool_fetch.c (fixed-size messages on a pipe)
 */
#include "workbook.h"

#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <sys/wait.h>

#define MAX_MSG (16 << 20) /* a longer length means the stream is mixed up */

static const char usage[] = "Usage: queue [-s BYTES]\n";

/* put(): one message, length first, in one write(). Up to PIPE_BUF bytes in
 * all, the kernel copies it in one go and nobody else's bytes land inside it.
 * Above that, a write to a full pipe is copied in pieces as the reader makes
 * room, and the other child's bytes may go in between the pieces. A signal can
 * also cut a write short after some bytes: the loop sends the rest. */
static int put(int fd, const char *msg, uint32_t len)
{
    char *buf = malloc(sizeof len + len);
    if (!buf)
        return -1;
    memcpy(buf, &len, sizeof len);
    memcpy(buf + sizeof len, msg, len);
    size_t done = 0, total = sizeof len + len;
    while (done < total) {
        ssize_t k = write(fd, buf + done, total - done);
        if (k == -1 && errno == EINTR)
            continue; /* a signal came before anything was written: try again */
        if (k == -1)
            break;
        done += (size_t)k;
    }
    free(buf);
    return done == total ? 0 : -1;
}

/* Read exactly len bytes, looping over short reads. 0 ok, -1 EOF or error. */
static int read_full(int fd, void *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t k = read(fd, (char *)buf + got, len - got);
        if (k == -1 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    return 0;
}

/* get(): the next message (malloc'd, NUL-terminated), or NULL at the end of
 * the stream or when its length is absurd, which means the stream is mixed up. */
static char *get(int fd, uint32_t *len)
{
    if (read_full(fd, len, sizeof *len) == -1)
        return NULL;
    if (*len > MAX_MSG) {
        fprintf(stderr, "queue: a length of %u bytes: the stream is mixed up\n", *len);
        return NULL;
    }
    char *msg = malloc((size_t)*len + 1);
    if (!msg)
        wb_die("malloc");
    if (read_full(fd, msg, *len) == -1) {
        free(msg);
        return NULL;
    }
    msg[*len] = '\0';
    return msg;
}

/* The child's f(q, num): put [num, None, 'hello'], padded to size with pad. */
static void child(int fd, int num, long size, char pad)
{
    char head[64];
    int n = snprintf(head, sizeof head, "[%d, None, 'hello']", num);
    size_t len = size > n ? (size_t)size : (size_t)n;
    char *msg = malloc(len);
    if (!msg)
        _exit(1);
    memset(msg, pad, len);
    memcpy(msg, head, (size_t)n);
    int rc = put(fd, msg, (uint32_t)len);
    free(msg);
    _exit(rc == 0 ? 0 : 1); /* _exit: the parent's stdio buffers are not ours to flush */
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    long size = 0;
    int c;
    while ((c = getopt_long(argc, argv, "s:h", longopts, NULL)) != -1) {
        if (c == 's') {
            size = wb_opt_long("-s", optarg, 0, MAX_MSG);
        } else if (c == 'h') {
            printf("%s\nTwo child processes each put a message on a queue built from a pipe\n"
                   "(length-prefixed messages); the parent gets and prints both, in the\n"
                   "order they arrived.\n"
                   "  -s BYTES  pad each message to BYTES; with its 4-byte length, a write\n"
                   "            over PIPE_BUF (%d) bytes may mix with the other's: try 1000000\n",
                   usage, PIPE_BUF);
            return 0;
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fputs(usage, stderr);
        return 2;
    }

    int fds[2];
    if (pipe(fds) == -1)
        wb_die("pipe");
    double begin = wb_now();
    const int nums[2] = {12, 24};
    pid_t pids[2];
    fflush(stdout); /* so the children do not inherit unprinted output */
    for (int k = 0; k < 2; k++) {
        if ((pids[k] = fork()) == -1)
            wb_die("fork");
        if (pids[k] == 0) {
            if (close(fds[0]) == -1) /* the child only writes */
                _exit(1);
            child(fds[1], nums[k], size, k == 0 ? 'a' : 'b');
        }
    }
    if (close(fds[1]) == -1) /* ours is not needed: EOF once both children are done */
        wb_die("close");

    int bad = 0;
    for (int k = 0; k < 2 && !bad; k++) { /* q.get(), twice */
        uint32_t len;
        char *msg = get(fds[0], &len);
        if (!msg) {
            fprintf(stderr, "queue: message %d never came whole\n", k + 1);
            bad = 1;
            continue;
        }
        size_t head = strcspn(msg, "ab"); /* where the padding starts */
        int both = memchr(msg + head, 'a', len - head) && memchr(msg + head, 'b', len - head);
        if (len == head)
            printf("%s\n", msg);
        else
            printf("%.*s + %zu bytes of padding%s\n", (int)head, msg, len - head,
                   both ? ", MIXED: bytes of both children" : "");
        bad |= both;
        free(msg);
    }
    if (close(fds[0]) == -1) /* a child still writing gets SIGPIPE, not a wait forever */
        wb_die("close");
    for (int k = 0; k < 2; k++) { /* p1.join(); p2.join() */
        int st;
        while (waitpid(pids[k], &st, 0) == -1)
            if (errno != EINTR)
                wb_die("waitpid");
        if (WIFSIGNALED(st))
            fprintf(stderr, "queue: child %d killed by signal %d (%s)\n", k + 1, WTERMSIG(st),
                    strsignal(WTERMSIG(st)));
        else if (WEXITSTATUS(st) != 0)
            fprintf(stderr, "queue: child %d could not put its message\n", k + 1);
        bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    }
    wb_used_time(wb_now() - begin);
    return bad ? 1 : 0;
}
