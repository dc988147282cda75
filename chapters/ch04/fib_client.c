/* fib_client.c - ask a Fibonacci server for F(n): one client, or hundreds at once
 *
 * Talk: practice / Fibonacci program (the client of the socket server)
 * Usage: fib_client [-p PORT] [-H ADDR] [-c N] [-k K] [--check] [N...]
 * Shows: the line protocol from the client's side (send a line, read a
 *        line); N connections opened first, then a thread per connection,
 *        so N clients really are at the server at once; --check works out
 *        every answer here (fib_requests.h: decimal addition by hand past
 *        64 bits) and counts the wrong and the missing ones.
 * Compare: solutions/ch04/fib_server.c (the server), exercises/ch04 (yours)
 */
#include "workbook.h"

/* the request lines and the answers they must get */
#include "fib_requests.h"

/* where the server is (struct options), and connect_to() */
#include "fib_connect.h"

#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>

/* What every client shares, read-only while the threads run. */
struct job {
    struct requests rs;

    /* requests per client: each client goes round the lines */
    long per;
    bool check;
    bool print;
};

/* One client; main reads its counts after pthread_join(). */
struct client {
    const struct job *job;
    int id;
    int fd;
    pthread_t thread;
    long answered;
    long errs;
    long wrong;
};

static struct options parse_options(int argc, char **argv, struct job *j);

/* One client: a request, then its answer, K times. */
static void *run_client(void *arg)
{
    struct client *c = arg;
    const struct job *j = c->job;
    char *reply = NULL;
    size_t cap = 0;

    /* stdio cuts the answers into lines */
    FILE *in = fdopen(c->fd, "r");

    for (long k = 0; in != NULL && k < j->per; k++) {
        /* the clients start at different lines */
        const struct req *r = &j->rs.req[(c->id + k) % j->rs.count];

        /* A short write sends only part of the line: send the rest. With
         * MSG_NOSIGNAL a server that has gone is an error, not SIGPIPE's death. */
        size_t len = strlen(r->wire);
        size_t off = 0;
        while (off < len) {
            ssize_t sent = send(c->fd, r->wire + off, len - off, MSG_NOSIGNAL);
            if (sent < 0 && errno != EINTR)
                goto done;
            if (sent > 0)
                off += (size_t)sent;
        }

        /* the answer; none: the server closed, the rest stay unanswered */
        ssize_t got = getline(&reply, &cap, in);
        if (got <= 0 || reply[got - 1] != '\n')
            break;
        reply[got - 1] = '\0';
        c->answered++;

        bool is_err = strncmp(reply, "ERR ", 4) == 0;
        if (is_err)
            c->errs++;

        /* --check: the exact value or the expected ERR (it shows the first
         * three wrong answers of all the clients) */
        if (j->check && !requests_check(r, reply))
            c->wrong++;

        if (j->print && is_err)
            printf("fib(%s): %s\n", r->line, reply);
        else if (j->print)
            printf("fib(%s) = %s\n", r->line, reply);
    }

done:
    free(reply);

    /* fclose() closes c->fd too */
    if (in != NULL)
        fclose(in);
    else
        close(c->fd);
    return NULL;
}

int main(int argc, char **argv)
{
    struct job j = {0};
    struct options o = parse_options(argc, argv, &j);
    requests_read(&j.rs, argc - optind, argv + optind, j.per > 0);
    if (j.per == 0)
        j.per = j.rs.count;
    if (j.check)
        requests_expect(&j.rs);

    /* Every connection first, so all the clients are at the server at once;
     * if one cannot connect (it said why), ask nothing. */
    struct client *cl = calloc((size_t)o.clients, sizeof *cl);
    if (cl == NULL)
        wb_die("calloc");
    double begin = wb_now();
    int opened = 0;
    while (opened < o.clients) {
        cl[opened].fd = connect_to(&o, opened);
        if (cl[opened].fd < 0)
            break;
        opened++;
    }
    bool all = opened == o.clients;
    for (int i = 0; i < opened && !all; i++)
        close(cl[i].fd);

    /* then a thread per connection */
    for (int i = 0; i < o.clients && all; i++) {
        cl[i].job = &j;
        cl[i].id = i;
        int err = pthread_create(&cl[i].thread, NULL, run_client, &cl[i]);
        if (err != 0)
            wb_die_err(err, "pthread_create");
    }

    /* wait for them all and add up what they counted */
    long asked = all ? o.clients * j.per : 0;
    long answered = 0;
    long errs = 0;
    long wrong = 0;
    for (int i = 0; i < o.clients && all; i++) {
        int err = pthread_join(cl[i].thread, NULL);
        if (err != 0)
            wb_die_err(err, "pthread_join");
        answered += cl[i].answered;
        errs += cl[i].errs;
        wrong += cl[i].wrong;
    }

    /* the summary, for a check or a load test */
    if (all && (j.check || o.clients > 1)) {
        const char *plural = o.clients == 1 ? "" : "s";
        const char *checked = j.check ? "" : " (not checked)";
        printf("summary: %ld client%s, %ld requests, %ld answered (%ld ERR), "
               "%ld wrong%s, %.3f s\n",
               o.clients, plural, asked, answered, errs, wrong, checked,
               wb_now() - begin);
    }
    if (answered < asked)
        fprintf(stderr, "%s: %ld requests got no answer (connection closed)\n",
                program_invocation_short_name, asked - answered);

    requests_free(&j.rs);
    free(cl);
    return !all || answered < asked || wrong > 0;
}

/* --- the command line ------------------------------------------------------ */

/* --help: all of this on stdout, exit 0; a mistake: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    fputs("Usage: fib_client [-p PORT] [-H ADDR] [-c N] [-k K] [--check] [N...]\n",
          status == 0 ? stdout : stderr);
    if (status == 0)
        printf(
            "\nSends each N to fib_server at ADDR:PORT (default 127.0.0.1:9093; ADDR\n"
            "is an IPv4 address, not a host name) and prints the answers. N: the\n"
            "arguments; else 0..93 with -k; else the lines of stdin.\n"
            "  -c N     N clients at once, each on its own connection\n"
            "  -k K     each client sends K requests, going round the numbers\n"
            "  --check  check every answer, print a summary, exit 1 if any is wrong\n"
            "Options come first: after the first N (or --), -5 is a number.\n");
    exit(status);
}

static struct options parse_options(int argc, char **argv, struct job *j)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"check", no_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    struct options o = {.addr = "127.0.0.1", .port = 9093, .clients = 1};
    int c;

    /* '+': stop at the first N, so -5 after it is a number */
    while ((c = getopt_long(argc, argv, "+p:H:c:k:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': o.port = wb_opt_long("-p", optarg, 1, 65535); break;
        case 'H': o.addr = optarg; break;
        case 'c': o.clients = wb_opt_long("-c", optarg, 1, 1000); break;
        case 'k': j->per = wb_opt_long("-k", optarg, 1, 1000000); break;
        case 'C': j->check = true; break;
        case 'h': usage(0);
        default: usage(2);
        }
    }

    /* -H: an address, not a name (there is no DNS lookup here) */
    if (inet_pton(AF_INET, o.addr, &o.ip) != 1) {
        fprintf(stderr, "%s: -H: '%s' is not an IPv4 address\n",
                program_invocation_short_name, o.addr);
        usage(2);
    }
    j->print = o.clients == 1;
    return o;
}
