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
 *        `r` and `n` live in the struct), and no yield inside a nested switch.
 *        -n N produces N items instead of 5.
 * Compare: simple_coroutine.c (the macros explained), ch03/queue.c (the same
 *          hand-over between processes, with a pipe and the kernel between).
 */
#include "workbook.h"

#include <getopt.h>
#include <stdbool.h>

/* The coroutine machinery of simple_coroutine.c: `resume` is 0 before the
 * first call, the line of the paused yield while suspended, -1 once ended. */
/* clang-format off */
#define CO_BEGIN(co) switch ((co)->resume) { case 0:
#define CO_YIELD(co, val) do { (co)->resume = __LINE__; return (val); case __LINE__:; } while (0)
#define CO_END(co, val) } (co)->resume = -1; return (val)
/* clang-format on */

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
    for (;;) {             /* while True: */
        CO_YIELD(c, true); /* n = yield r: r goes out, n comes back in c->sent */
        if (c->sent)       /* print('[CONSUMER] Consuming %s...' % n) */
            printf("[CONSUMER] Consuming %d...\n", *c->sent);
        else
            printf("[CONSUMER] Consuming None...\n"); /* what Python prints for send(None) */
        c->r = "200 OK";
    }
    CO_END(c, false);
}

/* c.send(value): resume the consumer with value (NULL = None) and return
 * what it yields next. NULL means Python would raise StopIteration. */
static const char *consumer_send(struct consumer *c, const int *value)
{
    if (c->resume == 0 && value) { /* Python: TypeError, nothing waits for it yet */
        fprintf(stderr, "producer_consumer: can't send a value to a just-started generator\n");
        exit(1);
    }
    c->sent = value;
    return consumer(c) ? c->r : NULL;
}

/* c.close(): Python raises GeneratorExit at the paused yield. The consumer
 * catches nothing and has no `finally`, so nothing more of it runs and it
 * is finished: for this body, marking it ended is all close() does. */
static void consumer_close(struct consumer *c)
{
    c->resume = -1;
}

/* produce(c), as in the talk: prime, then send 1..count, then close. */
static void produce(struct consumer *c, int count)
{
    consumer_send(c, NULL); /* c.send(None): run the consumer to its first yield */
    /* produce() is an ordinary function: its locals live on its stack throughout. */
    int n = 0;
    while (n < count) {
        n = n + 1;
        printf("[PRODUCER] Producing %d...\n", n);
        const char *r = consumer_send(c, &n); /* the consumer runs now, then pauses */
        printf("[PRODUCER] Consumer return: %s\n", r ? r : "(the consumer has finished)");
    }
    consumer_close(c);
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: producer_consumer [-n N]\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    int count = 5, c;
    while ((c = getopt_long(argc, argv, "hn:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            printf("A producer hands the numbers 1..N (default 5) to a consumer coroutine\n"
                   "with send(); the consumer answers each with '200 OK'. One thread,\n"
                   "no lock: the two simply take turns.\n");
            return 0;
        case 'n': count = (int)wb_opt_long("-n", optarg, 0, 1000000); break;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    struct consumer cons = {0}; /* c = consumer(): a generator object, nothing run yet */
    produce(&cons, count);
    return 0;
}
