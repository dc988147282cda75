/* green_switch.c - green threads take turns on one OS thread, switched by the program
 *
 * Talk: parallel handling / gevent (what a greenlet is, before it fetches anything)
 * Usage: green_switch [-n N] [-s STEPS]
 * Shows: green threads (green.c: a ucontext_t and a stack of its own each, with
 *        a guard page below it) and a hub that resumes each in turn; each
 *        yields back to the hub after every step. Its locals live on its own
 *        stack, so they survive every switch. All on one OS thread. Linux: gettid.
 * Compare: green_fetch.c (the same green threads, waiting on sockets),
 *          ch05's simple_coroutine.c (a coroutine without a stack of its own)
 */
#include "workbook.h"

#include "green.h"

#include <getopt.h>

static void parse_options(int argc, char **argv, int *n, int *steps);

/* Every green thread runs this on its own stack. `step` is a local on that
 * stack: it keeps its value across every green_yield(). */
static void take_steps(struct green *g)
{
    const int *steps = g->arg;

    for (int step = 1; step <= *steps; step++) {
        printf("[green %d] step %d of %d  (OS thread %d)\n", g->i, step, *steps,
               (int)gettid());
        if (step < *steps)
            green_yield();
    }
}

int main(int argc, char **argv)
{
    int n = 3;
    int steps = 3;
    parse_options(argc, argv, &n, &steps);

    /* spawn them all; none runs yet */
    struct hub h;
    hub_init(&h, n, take_steps);
    for (int i = 0; i < n; i++)
        green_spawn(&h, i, &steps);

    /* the hub: resume each green thread in turn, until every one is done */
    while (h.live > 0) {
        for (int i = 0; i < n; i++) {
            if (!h.greens[i].done)
                green_resume(&h, &h.greens[i]);
        }
    }
    printf("hub: %d green threads took %d turns, all on OS thread %d\n", n, h.turns,
           (int)gettid());

    hub_free(&h);
    return 0;
}

/* ---- the command line ---- */

static _Noreturn void usage(int status)
{
    fputs("Usage: green_switch [-n N] [-s STEPS]\n", status == 0 ? stdout : stderr);
    if (status == 0)
        printf("\nStarts N green threads (default 3) on one OS thread; each prints a\n"
               "line per step and yields to the hub, which resumes the next.\n\n"
               "  -n N      green threads, 1 to 1000\n"
               "  -s STEPS  steps of each, 1 to 1000 (default 3)\n");
    exit(status);
}

static void parse_options(int argc, char **argv, int *n, int *steps)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "n:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': *n = (int)wb_opt_long("-n", optarg, 1, 1000); break;
        case 's': *steps = (int)wb_opt_long("-s", optarg, 1, 1000); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
}
