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

/* a longer length means the stream is mixed up */
#define MAX_MSG (16 << 20)

static long parse_options(int argc, char **argv);

/* put(): one message, length first, in one write(). Up to PIPE_BUF bytes in
 * all, the kernel copies it in one go and nobody else's bytes land inside it.
 * Above that, a write to a full pipe is copied in pieces as the reader makes
 * room, and the other child's bytes may go in between the pieces. A signal can
 * also cut a write short after some bytes: the loop sends the rest. */
static int put(int fd, const char *msg, uint32_t len)
{
    size_t total = sizeof len + len;
    char *buf = malloc(total);
    if (buf == NULL)
        return -1;

    /* the length, then the bytes, in one buffer for one write() */
    memcpy(buf, &len, sizeof len);
    memcpy(buf + sizeof len, msg, len);

    /* all of it: after a short write, the rest; after EINTR (nothing written), again */
    size_t done = 0;
    while (done < total) {
        ssize_t k = write(fd, buf + done, total - done);
        if (k == -1 && errno == EINTR)
            continue;
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
    size_t got = 0;

    while (got < len) {
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
        fprintf(stderr, "%s: a length of %u bytes: the stream is mixed up\n",
                program_invocation_short_name, *len);
        return NULL;
    }

    char *msg = malloc((size_t)*len + 1);
    if (msg == NULL)
        wb_die("malloc");
    if (read_full(fd, msg, *len) == -1) {
        free(msg);
        return NULL;
    }
    msg[*len] = '\0';
    return msg;
}

/* The child's f(q, num): put [num, None, 'hello'], padded to size with pad.
 * _exit(), not exit(): the parent's stdio buffers are not ours to flush. */
static _Noreturn void child(int fd, int num, long size, char pad)
{
    char head[64];
    int n = snprintf(head, sizeof head, "[%d, None, 'hello']", num);
    size_t len = (size_t)n;
    if (size > n)
        len = (size_t)size;

    char *msg = malloc(len);
    if (msg == NULL)
        _exit(1);
    memset(msg, pad, len);
    memcpy(msg, head, (size_t)n);

    int rc = put(fd, msg, (uint32_t)len);
    free(msg);
    _exit(rc == 0 ? 0 : 1);
}

/* Print one message; with padding, say how much and whether both children's
 * bytes are in it. Returns 1 if they are (the messages mixed). */
static int show(const char *msg, uint32_t len)
{
    size_t head = strcspn(msg, "ab");
    if (len == head) {
        printf("%s\n", msg);
        return 0;
    }

    const char *pad = msg + head;
    int mixed =
        memchr(pad, 'a', len - head) != NULL && memchr(pad, 'b', len - head) != NULL;
    printf("%.*s + %zu bytes of padding%s\n", (int)head, msg, len - head,
           mixed ? ", MIXED: bytes of both children" : "");
    return mixed;
}

/* Wait for child k (its number from 1); 0 if it put its message, else 1. */
static int join(pid_t pid, int k)
{
    const char *me = program_invocation_short_name;
    int st;

    while (waitpid(pid, &st, 0) == -1)
        if (errno != EINTR)
            wb_die("waitpid");

    if (WIFSIGNALED(st)) {
        fprintf(stderr, "%s: child %d killed by signal %d (%s)\n", me, k, WTERMSIG(st),
                strsignal(WTERMSIG(st)));
        return 1;
    }
    if (WEXITSTATUS(st) != 0) {
        fprintf(stderr, "%s: child %d could not put its message\n", me, k);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long size = parse_options(argc, argv);

    /* q = Queue(): a pipe */
    int fds[2];
    if (pipe(fds) == -1)
        wb_die("pipe");
    double begin = wb_now();

    /* p1.start(); p2.start(); fflush first, or the children inherit our output */
    const int nums[2] = {12, 24};
    const char pads[2] = {'a', 'b'};
    pid_t pids[2];
    fflush(stdout);
    for (int k = 0; k < 2; k++) {
        pids[k] = fork();
        if (pids[k] == -1)
            wb_die("fork");
        if (pids[k] == 0) {
            if (close(fds[0]) == -1)
                _exit(1);
            child(fds[1], nums[k], size, pads[k]);
        }
    }

    /* close our write end: EOF once both children are done */
    if (close(fds[1]) == -1)
        wb_die("close");

    /* print q.get(), twice */
    int bad = 0;
    for (int k = 0; k < 2 && !bad; k++) {
        uint32_t len;
        char *msg = get(fds[0], &len);
        if (msg == NULL) {
            fprintf(stderr, "%s: message %d never came whole\n",
                    program_invocation_short_name, k + 1);
            bad = 1;
            continue;
        }

        bad |= show(msg, len);
        free(msg);
    }

    /* a child still writing now gets SIGPIPE, instead of waiting forever */
    if (close(fds[0]) == -1)
        wb_die("close");

    /* p1.join(); p2.join() */
    for (int k = 0; k < 2; k++)
        bad |= join(pids[k], k + 1);
    wb_used_time(wb_now() - begin);
    return bad ? 1 : 0;
}

/* ---- the command line ---- */

static _Noreturn void usage(int status)
{
    fputs("Usage: queue [-s BYTES]\n", status == 0 ? stdout : stderr);
    if (status == 0)
        printf("\nTwo child processes each put a message on a queue built from a pipe\n"
               "(length-prefixed messages); the parent gets and prints both, in the\n"
               "order they arrived.\n\n"
               "  -s BYTES  pad each message to BYTES; with its 4-byte length, a\n"
               "            write over PIPE_BUF (%d) bytes may mix with the other's:\n"
               "            try 1000000\n",
               PIPE_BUF);
    exit(status);
}

/* Returns the padded size of each message (-s), 0 for none. */
static long parse_options(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long size = 0;
    int c;

    while ((c = getopt_long(argc, argv, "s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': size = wb_opt_long("-s", optarg, 0, MAX_MSG); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
    return size;
}
