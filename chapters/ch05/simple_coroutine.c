/* simple_coroutine.c - a generator in C: a function that pauses at `yield`
 *
 * Talk: asynchronous programming / Co-routine (协程) / example
 * Usage: simple_coroutine [--trace] [VALUE]
 * Shows: a stackless, generator-style coroutine (Simon Tatham's "coroutines
 *        in C", the idea behind protothreads). The talk's Python generator
 *            def simple_coroutine():
 *                print('-> start')
 *                x = yield
 *                print('-> received', x)
 *        becomes a C function that can return in the middle and later carry
 *        on from where it left off. next() runs it to its first yield;
 *        send(VALUE) (default "test!") resumes it with a value, which the
 *        paused `x = yield` receives. Output, exactly as Python 3 prints it:
 *            -> start
 *            -> received test!
 *        (the talk's cell misspells "received"; this one does not.)
 * How:   a coroutine is a plain struct (its explicit state) plus a resume
 *        point: the line number of the yield it is paused at. The body is one
 *        big `switch (resume)`; each yield stores __LINE__, returns, and plants
 *        `case __LINE__:` right behind the return, so the next call jumps
 *        straight back in. Three macros, below, hide the switch; after the
 *        preprocessor the body of simple_coroutine() reads (N: the yield's line)
 *            switch (co->resume) { case 0:
 *                printf("-> start\n");
 *                do { co->resume = N; return true; case N:; } while (0);
 *                printf("-> received %s\n", co->sent);
 *            } co->resume = -1; return false;
 * Rules: 1. Locals do not survive a yield: the function really returns, its
 *           stack frame is gone. Keep everything that must live across a
 *           yield in the struct (here `sent`).
 *        2. No yield inside a switch of your own within the body: its `case`
 *           label would belong to the inner switch, the outer one would find
 *           no such case and skip to the end, and the coroutine would quietly
 *           finish (no compiler warns about it).
 *        3. One yield per source line (two would make the same case label
 *           twice; here the compiler does catch it).
 * Compare: producer_consumer.c (values both ways), event_loop_hello.c and
 *          coroutine_crawler.c (coroutines driven by an event loop);
 *          ch03/green_fetch.c (stackful green threads on ucontext, which keep
 *          their locals because each has a stack of its own).
 */
#include "workbook.h"

#include <getopt.h>
#include <stdbool.h>

/* The whole coroutine machinery. `resume` is 0 before the first call, the
 * line of the paused yield while suspended, and -1 once the body has ended.
 * A finished coroutine called again matches no case: it jumps past the body
 * and reports "finished" once more, as a spent Python generator does. */
/* clang-format off */
#define CO_BEGIN(co)                                                        \
    switch ((co)->resume) {                                                 \
    case 0:

#define CO_YIELD(co, val)                                                   \
    do {                                                                    \
        (co)->resume = __LINE__;                                            \
        return (val);                                                       \
    case __LINE__:;                                                         \
    } while (0)

#define CO_END(co, val)                                                     \
    }                                                                       \
    (co)->resume = -1;                                                      \
    return (val)
/* clang-format on */

/* The command line: --trace, and the value to send. */
struct options {
    bool trace;
    const char *value;
};

static void parse_options(int argc, char **argv, struct options *opt);

/* The generator object: its resume point and everything it keeps across a
 * yield. `sent` is the value send() passes in, which `x = yield` receives. */
struct simple_coroutine {
    int resume;
    const char *sent;
};

/* The generator's body. Each call runs to the next yield (returns true:
 * "suspended") or to the end (returns false: Python's StopIteration). */
static bool simple_coroutine(struct simple_coroutine *co)
{
    CO_BEGIN(co);
    printf("-> start\n");

    /* x = yield: pause here and hand control back to the caller */
    CO_YIELD(co, true);

    /* Resumed by send(): `x` is co->sent. A local `x` declared before the
     * yield would hold garbage now (rule 1). */
    printf("-> received %s\n", co->sent);
    CO_END(co, false);
}

/* send(value): resume the generator with a value. Returns true if it paused
 * at a yield again, false if it ran off its end. */
static bool co_send(struct simple_coroutine *co, const char *value, bool trace)
{
    /* Python refuses anything but None before the first yield: no `x = yield`
     * is waiting for it yet. So does this one. */
    if (co->resume == 0 && value != NULL) {
        fprintf(stderr, "%s: can't send a value to a just-started generator\n",
                program_invocation_short_name);
        exit(1);
    }

    const char *call = value ? "send" : "next";
    if (trace)
        fprintf(stderr, "[trace] %s(): enter at resume point %d\n", call, co->resume);

    /* run the body from where it paused to its next yield, or its end */
    co->sent = value;
    bool suspended = simple_coroutine(co);

    const char *how =
        suspended ? "paused at a yield" : "finished (Python: StopIteration)";
    if (trace)
        fprintf(stderr, "[trace] %s, resume point now %d\n", how, co->resume);
    return suspended;
}

/* next(gen) is send(None). */
static bool co_next(struct simple_coroutine *co, bool trace)
{
    return co_send(co, NULL, trace);
}

int main(int argc, char **argv)
{
    struct options opt;
    parse_options(argc, argv, &opt);

    /* line-buffered even into a pipe, so stdout and --trace interleave in order */
    if (opt.trace)
        setvbuf(stdout, NULL, _IOLBF, 0);

    /* sc = simple_coroutine(): a generator object, nothing has run yet */
    struct simple_coroutine sc = {0};

    /* next(sc): prints "-> start", pauses at the yield */
    co_next(&sc, opt.trace);

    /* sc.send('test!'): prints "-> received test!" and runs off the end of
     * the body. Python reports that end by raising StopIteration (the talk's
     * cell shows the traceback); here send() returns false, as expected. */
    bool suspended = co_send(&sc, opt.value, opt.trace);
    if (suspended) {
        fprintf(stderr, "%s: the generator should have finished\n",
                program_invocation_short_name);
        return 1;
    }
    return 0;
}

/* ---- the command line ------------------------------------------------------ */

/* --help: all of it on stdout, exit 0; a bad option: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    FILE *out = status == 0 ? stdout : stderr;
    fprintf(out, "Usage: %s [--trace] [VALUE]\n", program_invocation_short_name);
    if (status == 0)
        fputs("\nRun a generator-style coroutine written in C: next() runs it to its\n"
              "yield, send(VALUE) (default \"test!\") resumes it with VALUE.\n"
              "\n"
              "  --trace    show on stderr the resume point (a line number) each\n"
              "             call starts from and stops at\n",
              stdout);
    exit(status);
}

/* Fill in opt from the command line: the options, then at most one VALUE. */
static void parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"trace", no_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    *opt = (struct options){.trace = false, .value = "test!"};

    int c;
    while ((c = getopt_long(argc, argv, "th", longopts, NULL)) != -1) {
        switch (c) {
        case 't': opt->trace = true; break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (optind < argc) {
        opt->value = argv[optind];
        optind++;
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
}
