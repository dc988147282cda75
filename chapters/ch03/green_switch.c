/* green_switch.c - green threads take turns on one OS thread, switched by the program
 *
 * Talk: parallel handling / gevent (what a greenlet is, before it fetches anything)
 * Usage: green_switch [-n N] [-s STEPS]
 * Shows: a green thread is a ucontext_t and a stack of its own (with a guard page
 *        below it); swapcontext() switches stacks with no help from the kernel; a
 *        hub resumes each green thread in turn, and each yields back to the hub.
 *        Its locals live on its own stack, so they survive every switch. Every
 *        switch is announced to AddressSanitizer. Linux: gettid.
 * Compare: green_fetch.c (the same green threads, waiting on sockets),
 *          ch05's simple_coroutine.c (a coroutine without a stack of its own)
 */
#include "workbook.h"

#include <getopt.h>
#include <sys/mman.h>
#include <ucontext.h>

/* room for printf, even under AddressSanitizer */
#define STACK_SIZE (256 * 1024)

static void parse_options(int argc, char **argv, int *n, int *steps);

/* AddressSanitizer keeps some locals off the stack ("fake stacks"), so it must
 * hear of every switch; without it, the two calls do nothing. GCC says
 * __SANITIZE_ADDRESS__ when it is on, clang __has_feature(). */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#include <sanitizer/common_interface_defs.h>
#else
#define __sanitizer_start_switch_fiber(fake_save, bottom, size) ((void)(fake_save))
#define __sanitizer_finish_switch_fiber(fake, bottom_old, size_old) ((void)(fake))
#endif

/* One green thread: its saved registers and its stack. */
struct green {
    ucontext_t ctx;
    char *stack; /* STACK_SIZE bytes, with a guard page below */
    int i, done;
};

/* The hub runs on main()'s own stack, whose bounds ASan tells us at the first
 * switch; it resumes green threads one at a time. */
struct hub {
    ucontext_t ctx;
    const void *stack;
    size_t stack_size;
    struct green *current;
    int steps, turns;
};

/* makecontext() can pass a new green thread only ints: it finds the hub here. */
static struct hub *the_hub;

/* From the hub to green thread g; returns when g switches back. ASan hears
 * which stack runs next, and keeps the hub's fake frames in `fake` meanwhile. */
static void to_green(struct hub *h, struct green *g)
{
    void *fake = NULL;

    __sanitizer_start_switch_fiber(&fake, g->stack, STACK_SIZE);
    if (swapcontext(&h->ctx, &g->ctx) == -1)
        wb_die("swapcontext");
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
}

/* From green thread g back to the hub; returns when the hub resumes g. On g's
 * last switch, NULL tells ASan to free g's fake frames: it will not return. */
static void to_hub(struct hub *h, struct green *g, int last)
{
    void *fake = NULL;

    __sanitizer_start_switch_fiber(last ? NULL : &fake, h->stack, h->stack_size);
    if (swapcontext(&g->ctx, &h->ctx) == -1)
        wb_die("swapcontext");
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
}

/* Give the OS thread back to the hub; returns when the hub resumes us. */
static void yield(void)
{
    struct hub *h = the_hub;

    to_hub(h, h->current, 0);
}

/* Every green thread starts here, on its own stack. `step` is a local on that
 * stack: it keeps its value across every yield(). */
static void green_main(void)
{
    struct hub *h = the_hub;
    struct green *g = h->current;

    /* the first switch onto this stack: ASan says where the hub's stack is */
    __sanitizer_finish_switch_fiber(NULL, &h->stack, &h->stack_size);

    for (int step = 1; step <= h->steps; step++) {
        printf("[green %d] step %d of %d  (OS thread %d)\n", g->i, step, h->steps,
               (int)gettid());
        if (step < h->steps)
            yield();
    }

    /* done: back to the hub for good (main() frees our stack, we stand on it) */
    g->done = 1;
    to_hub(h, g, 1);
}

/* Run g until it yields or ends. */
static void resume(struct hub *h, struct green *g)
{
    h->current = g;
    h->turns++;
    to_green(h, g);
}

/* gevent.spawn(): a context that will start green_main() on g's stack. Below
 * the stack, a guard page: an overflow faults at once instead of silently
 * writing over the next green thread's stack. */
static void spawn(struct green *g, size_t page)
{
    if (mprotect(g->stack - page, page, PROT_NONE) == -1)
        wb_die("mprotect");
    if (getcontext(&g->ctx) == -1)
        wb_die("getcontext");
    g->ctx.uc_stack.ss_sp = g->stack;
    g->ctx.uc_stack.ss_size = STACK_SIZE;
    g->ctx.uc_link = NULL; /* green_main() never returns */
    makecontext(&g->ctx, green_main, 0);
}

int main(int argc, char **argv)
{
    int n = 3;
    int steps = 3;
    parse_options(argc, argv, &n, &steps);

    /* all the stacks in one mapping: slot i is a guard page, then stack i */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t slot = page + STACK_SIZE;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE;
    char *stacks = mmap(NULL, slot * (size_t)n, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (stacks == MAP_FAILED)
        wb_die("mmap");
    struct green *greens = calloc((size_t)n, sizeof *greens);
    if (greens == NULL)
        wb_die("calloc");

    /* spawn them all; none runs yet */
    struct hub h = {.steps = steps};
    the_hub = &h;
    for (int i = 0; i < n; i++) {
        greens[i].i = i;
        greens[i].stack = stacks + (size_t)i * slot + page;
        spawn(&greens[i], page);
    }

    /* the hub: resume each green thread in turn, until every one is done */
    for (int live = n; live > 0;) {
        for (int i = 0; i < n; i++) {
            if (greens[i].done)
                continue;
            resume(&h, &greens[i]);
            if (greens[i].done)
                live--;
        }
    }
    printf("hub: %d green threads took %d turns, all on OS thread %d\n", n, h.turns,
           (int)gettid());

    if (munmap(stacks, slot * (size_t)n) == -1)
        wb_die("munmap");
    free(greens);
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
    if (optind != argc)
        usage(2);
}
