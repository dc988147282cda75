/* producer_consumer.c - a producer drives a consumer coroutine with send()
 *
 * Talk: asynchronous programming / Co-routine (协程) / consumer and producer
 * Usage: producer_consumer [-n N]
 * Shows: values flowing both ways through one yield. In the talk's Python
 *            def consumer():
 *                r = ''
 *                while True:
 *                    n = yield r      # hand r out, take n in
 *                    print('[CONSUMER] Consuming %s...' % n)
 *                    r = '200 OK'
 *        the producer primes the consumer with send(None), then sends it 1..5:
 *        each send() runs the consumer until it pauses at `yield r` again and
 *        returns that r; at the end close() stops it. No thread, no lock, no
 *        queue: the two take turns on one stack, and each switch is an
 *        ordinary function call and return (协程: cooperative routines).
 *        The output is line for line what Python 3 prints for the cell.
 * How:   the same stackless coroutine as simple_coroutine.c (a resume point
 *        plus an explicit struct, three macros; see that file for the full
 *        story). Its rules hold here too: locals do not survive a yield (so
 *        `r` and `n` live in the struct), no yield inside a nested switch,
 *        one yield per source line. -n N produces N items instead of 5.
 * Compare: simple_coroutine.c (the macros explained), ch03/queue.c (the same
 *          hand-over between processes, with a pipe and the kernel between).
 */
#include "workbook.h"

#include "coro.h" /* the coroutine macros, as simple_coroutine.c explains them */

#include <getopt.h>
#include <stdbool.h>

/* The command line: how many items to produce. */
struct options {
    int count;
};

static void parse_options(int argc, char **argv, struct options *opt);

/* The consumer generator: its resume point and the two variables of the
 * Python body that must outlive a yield. `sent` points at the value send()
 * passes in (NULL is Python's None); `r` is what the yield hands back. */
struct consumer {
    int resume;
    const int *sent;
    const char *r;
};

/* The body of consumer(). Returns true when paused at the yield (the value
 * it yields is c->r), false if it ever ran off its end (it never does). */
static bool consumer(struct consumer *c)
{
    CO_BEGIN(c);
    c->r = "";

    /* while True: */
    for (;;) {
        /* n = yield r: r goes out, and n comes back in c->sent */
        CO_YIELD(c, true);

        /* print('[CONSUMER] Consuming %s...' % n); None prints as Python does */
        if (c->sent)
            printf("[CONSUMER] Consuming %d...\n", *c->sent);
        else
            printf("[CONSUMER] Consuming None...\n");
        c->r = "200 OK";
    }
    CO_END(c, false);
}

/* c.send(value): resume the consumer with value (NULL = None) and return
 * what it yields next. NULL means Python would raise StopIteration. */
static const char *consumer_send(struct consumer *c, const int *value)
{
    /* Python: TypeError, no `n = yield r` is waiting for a value yet */
    if (c->resume == 0 && value != NULL) {
        fprintf(stderr, "%s: can't send a value to a just-started generator\n",
                program_invocation_short_name);
        exit(1);
    }

    c->sent = value;
    bool suspended = consumer(c);
    return suspended ? c->r : NULL;
}

/* c.close(): Python raises GeneratorExit at the paused yield. The consumer
 * catches nothing and has no `finally`, so nothing more of it runs and it
 * is finished: for this body, marking it ended is all close() does. */
static void consumer_close(struct consumer *c)
{
    c->resume = -1;
}

/* produce(c), as in the talk: prime, then send 1..count, then close. An
 * ordinary function: its locals live on its stack throughout. */
static void produce(struct consumer *c, int count)
{
    /* c.send(None): run the consumer to its first yield */
    consumer_send(c, NULL);

    int n = 0;
    while (n < count) {
        n = n + 1;
        printf("[PRODUCER] Producing %d...\n", n);

        /* the consumer runs now, up to its yield, and hands back r */
        const char *r = consumer_send(c, &n);
        printf("[PRODUCER] Consumer return: %s\n",
               r ? r : "(the consumer has finished)");
    }
    consumer_close(c);
}

int main(int argc, char **argv)
{
    struct options opt;
    parse_options(argc, argv, &opt);

    /* c = consumer(): a generator object, nothing has run yet */
    struct consumer c = {0};

    /* produce(c) */
    produce(&c, opt.count);
    return 0;
}

/* ---- the command line ------------------------------------------------------ */

/* --help: all of it on stdout, exit 0; a bad option: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fprintf(out, "Usage: %s [-n N]\n", program_invocation_short_name);
    if (status == 0)
        fputs("\nA producer hands the numbers 1..N to a consumer coroutine with\n"
              "send(); the consumer answers each with '200 OK'. One thread, no\n"
              "lock: the two simply take turns.\n"
              "\n"
              "  -n N    how many numbers to produce (default 5)\n",
              stdout);
    exit(status);
}

/* Fill in opt from the command line, which takes no arguments but options. */
static void parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *opt = (struct options){.count = 5};

    int c;
    while ((c = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': opt->count = (int)wb_opt_long("-n", optarg, 0, 1000000); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
}
