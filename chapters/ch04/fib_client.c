/* fib_client.c - ask a Fibonacci server for F(n): one client, or hundreds at once
 *
 * Talk: practice / Fibonacci program (the client of the socket server)
 * Usage: fib_client [-p PORT] [-H ADDR] [-c N] [-k K] [--check] [N...]
 * Shows: the line protocol from the client's side (send a line, read a
 *        line); N connections opened first, then a thread per connection,
 *        so N clients really are at the server at once; --check works out
 *        every answer here (decimal addition by hand past 64 bits) and
 *        counts the wrong and the missing ones.
 * Compare: solutions/ch04/fib_server.c (the server), exercises/ch04 (yours)
 */
#include "workbook.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>

#define BIG_DIGITS 2100 /* F(10000), the most a server may answer, has 2090 digits */

static const char usage[] =
    "Usage: fib_client [-p PORT] [-H ADDR] [-c N] [-k K] [--check] [N...]\n";

/* A request line and, with --check, what the server may answer: the exact
 * value, a line starting with err, or (past F(93), where a server without
 * the stretch part says "out of range") either of them. */
struct req {
    char *line, *wire, *value; /* wire: the line as sent, with its '\n' */
    const char *err;
    long n; /* the n whose value is expected, or -1 */
};

/* What every client shares, read-only while the threads run. */
struct job {
    struct req *req;
    int count;
    long per; /* requests per client: each client goes round the lines */
    bool check, print;
};

/* One client; main reads its counts after pthread_join(). */
struct client {
    const struct job *job;
    int id, fd;
    pthread_t thread;
    long answered, errs, wrong;
};

static void add_line(struct job *j, const char *text)
{
    if (!(j->req = realloc(j->req, (size_t)(j->count + 1) * sizeof *j->req)))
        wb_die("realloc");
    struct req *r = &j->req[j->count++];
    *r = (struct req){.line = strdup(text)};
    if (!r->line || asprintf(&r->wire, "%s\n", text) < 0)
        wb_die("add_line");
}

/* Work out the expected answers, reading each line as fib_server.c does. */
static void expect(struct job *j)
{
    long top = -1;
    for (int i = 0; i < j->count; i++) {
        struct req *r = &j->req[i];
        size_t len = strlen(r->line), sign = r->line[0] == '-';
        size_t digits = strspn(r->line + sign, "0123456789");
        r->n = -1; /* wb_parse_long() leaves it so unless n is 0..10000 */
        if (len > 64)
            r->err = "ERR line too long";
        else if (digits == 0 || sign + digits != len)
            r->err = "ERR not a number";
        else if (sign)
            r->err = "ERR negative";
        else if (wb_parse_long(r->line, 0, 10000, &r->n) < 0 || r->n > 93)
            r->err = "ERR out of range";
        top = r->n > top ? r->n : top;
    }
    /* One walk from F(0) up, saving each F(k) some line asks for. The
     * numbers are decimal text, right-aligned in their buffers, added from
     * the right column by column, as on paper. */
    char x[BIG_DIGITS + 1] = {0}, y[BIG_DIGITS + 1] = {0}, *f = x, *g = y, *t;
    memset(x, '0', BIG_DIGITS);
    memset(y, '0', BIG_DIGITS);
    y[BIG_DIGITS - 1] = '1'; /* f = F(k) and g = F(k+1), starting at k = 0 */
    for (long k = 0; k <= top; k++) {
        const char *digits = f + strspn(f, "0");
        digits -= *digits == '\0'; /* F(0) keeps one zero */
        for (int i = 0; i < j->count; i++)
            if (j->req[i].n == k && !(j->req[i].value = strdup(digits)))
                wb_die("strdup");
        for (int d = BIG_DIGITS - 1, carry = 0; d >= 0; d--) { /* f += g, then swap */
            int sum = (f[d] - '0') + (g[d] - '0') + carry;
            f[d] = (char)('0' + sum % 10);
            carry = sum / 10;
        }
        t = f, f = g, g = t;
    }
}

/* One client: a request, then its answer, K times. */
static void *run_client(void *arg)
{
    struct client *c = arg;
    const struct job *j = c->job;
    FILE *in = fdopen(c->fd, "r"); /* stdio cuts the answers into lines */
    char *reply = NULL;
    size_t cap = 0;
    for (long k = 0; in && k < j->per; k++) {
        const struct req *r = &j->req[(c->id + k) % j->count]; /* clients start apart */
        /* Loop: a short write sends only part of the line; send the rest. */
        for (size_t off = 0, len = strlen(r->wire); off < len;) {
            /* MSG_NOSIGNAL: a server that has gone is an error, not SIGPIPE's death */
            ssize_t sent = send(c->fd, r->wire + off, len - off, MSG_NOSIGNAL);
            if (sent < 0 && errno != EINTR)
                goto done;
            off += sent > 0 ? (size_t)sent : 0;
        }
        ssize_t got = getline(&reply, &cap, in);
        if (got <= 0 || reply[got - 1] != '\n')
            break; /* the server closed the connection: the rest stay unanswered */
        reply[got - 1] = '\0';
        c->answered++;
        bool is_err = strncmp(reply, "ERR ", 4) == 0;
        c->errs += is_err;
        if (j->check && !(r->value && strcmp(reply, r->value) == 0) &&
            !(r->err && strncmp(reply, r->err, strlen(r->err)) == 0) && ++c->wrong <= 3)
            fprintf(stderr, "fib_client: wrong answer to '%s': '%.80s'\n", r->line, reply);
        if (j->print)
            printf(is_err ? "fib(%s): %s\n" : "fib(%s) = %s\n", r->line, reply);
    }
done:
    free(reply);
    if (in)
        fclose(in); /* closes c->fd too */
    else
        close(c->fd);
    return NULL;
}

/* A TCP connection to addr:port, or -1 after saying why. */
static int connect_to(const char *addr, long port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        errno = EINVAL;
    else if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return fd;
    fprintf(stderr, "fib_client: connect to %s:%ld: %s (is fib_server running there?)\n", addr,
            port, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'}, {"check", no_argument, NULL, 'C'}, {0}};
    const char *addr = "127.0.0.1";
    long port = 9093, nclients = 1;
    struct job j = {0};
    int opt;
    while ((opt = getopt_long(argc, argv, "+p:H:c:k:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p': port = wb_opt_long("-p", optarg, 1, 65535); break;
        case 'H': addr = optarg; break;
        case 'c': nclients = wb_opt_long("-c", optarg, 1, 1000); break;
        case 'k': j.per = wb_opt_long("-k", optarg, 1, 1000000); break;
        case 'C': j.check = true; break;
        case 'h':
            printf("%s\nSends each N to fib_server on ADDR:PORT (127.0.0.1:9093) and prints the\n"
                   "answers. N: the arguments; else 0..93 with -k; else the lines of stdin.\n"
                   "  -c N     N clients at once, each on its own connection\n"
                   "  -k K     each client sends K requests, going round the numbers\n"
                   "  --check  check every answer, print a summary, exit 1 if any is wrong\n"
                   "Options come first: after the first N (or --), -5 is a number.\n",
                   usage);
            return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    /* The request lines: the arguments, else every n that fits in 64 bits
     * for a load test (-k), else the lines of stdin. */
    for (int i = optind; i < argc; i++)
        add_line(&j, argv[i]);
    if (j.count == 0 && j.per > 0) {
        char num[12];
        for (int n = 0; n <= 93; n++) {
            snprintf(num, sizeof num, "%d", n);
            add_line(&j, num);
        }
    } else if (j.count == 0) {
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, stdin) > 0) {
            line[strcspn(line, "\r\n")] = '\0';
            add_line(&j, line);
        }
        free(line);
    }
    j.per = j.per ? j.per : j.count;
    j.print = nclients == 1;
    if (j.check)
        expect(&j);

    /* Every connection first, so all the clients are at the server at once. */
    struct client *cl = calloc((size_t)nclients, sizeof *cl);
    if (!cl)
        wb_die("calloc");
    double begin = wb_now();
    int opened = 0;
    while (opened < nclients && (cl[opened].fd = connect_to(addr, port)) >= 0)
        opened++;
    bool all = opened == nclients;
    for (int i = 0; i < opened && !all; i++)
        close(cl[i].fd); /* one could not connect (it said why): ask nothing */
    for (int i = 0; i < nclients && all; i++) {
        cl[i].job = &j, cl[i].id = i;
        int err = pthread_create(&cl[i].thread, NULL, run_client, &cl[i]);
        if (err != 0)
            wb_die_err(err, "pthread_create");
    }
    long asked = all ? nclients * j.per : 0, answered = 0, errs = 0, wrong = 0;
    for (int i = 0; i < nclients && all; i++) {
        int err = pthread_join(cl[i].thread, NULL);
        if (err != 0)
            wb_die_err(err, "pthread_join");
        answered += cl[i].answered, errs += cl[i].errs, wrong += cl[i].wrong;
    }
    if (all && (j.check || nclients > 1))
        printf("summary: %ld client%s, %ld requests, %ld answered (%ld ERR), %ld wrong%s, %.3f s\n",
               nclients, nclients == 1 ? "" : "s", asked, answered, errs, wrong,
               j.check ? "" : " (not checked)", wb_now() - begin);
    if (answered < asked)
        fprintf(stderr, "fib_client: %ld requests got no answer (connection closed)\n",
                asked - answered);
    for (int i = 0; i < j.count; i++) {
        free(j.req[i].line);
        free(j.req[i].wire);
        free(j.req[i].value);
    }
    free(j.req);
    free(cl);
    return !all || answered < asked || wrong > 0 ? 1 : 0;
}
