/* green.c - green threads: a stack each, and a hub on main()'s stack that switches
 *
 * Talk: parallel handling / gevent (the greenlets and the hub behind gevent.spawn)
 * Usage: #include "green.h" (the Makefile then links green.c in)
 * Module: no main(); green_switch.c and green_fetch.c share it (green.h), as
 *         every greenlet of a gevent program shares gevent's one hub.
 * Shows: a stack per green thread in one mapping, a guard page below each;
 *        makecontext() to start one, swapcontext() to switch, both ways; the
 *        AddressSanitizer annotations every switch needs. Linux: MAP_STACK.
 */
#include "green.h"

#include "workbook.h"

#include <sys/mman.h>

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

/* makecontext() can pass a new green thread only ints: it finds the hub here. */
static struct hub *the_hub;

/* ---- the two ways to switch stacks ---- */

/* From the hub to green thread g; returns when g switches back. ASan hears
 * which stack runs next, and keeps the hub's fake frames in `fake` meanwhile. */
static void to_green(struct hub *h, struct green *g)
{
    void *fake = NULL;

    __sanitizer_start_switch_fiber(&fake, g->stack, GREEN_STACK_SIZE);
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

/* Every green thread starts here, on its own stack, and never returns. */
static void green_main(void)
{
    struct hub *h = the_hub;
    struct green *g = h->current;

    /* the first switch onto this stack: ASan says where the hub's stack is */
    __sanitizer_finish_switch_fiber(NULL, &h->stack, &h->stack_size);

    /* the program's work: green_switch's steps, green_fetch's fetch */
    h->body(g);

    /* done: back to the hub for good (hub_free() unmaps the stack we stand on) */
    g->done = 1;
    to_hub(h, g, 1);
}

void green_resume(struct hub *h, struct green *g)
{
    h->current = g;
    h->turns++;
    to_green(h, g);
    if (g->done)
        h->live--;
}

void green_yield(void)
{
    struct hub *h = the_hub;

    to_hub(h, h->current, 0);
}

struct hub *green_hub(void)
{
    return the_hub;
}

/* ---- making and unmaking them ---- */

/* The program's own mappings (its code, libraries, heap, a sanitizer's): a
 * few dozen, a few hundred under ASan. Room for them is kept. */
#define OWN_MAPS 1000

/* A guard page splits the stacks' mapping in two for every green thread, and
 * the kernel gives a process at most vm.max_map_count mappings: beyond that,
 * mprotect() fails. Say so before spawning any, rather than halfway. */
static void check_map_count(int n)
{
    /* the limit; with no procfs, say nothing: mprotect() will tell */
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f == NULL)
        return;
    long limit;
    int got = fscanf(f, "%ld", &limit);
    fclose(f);
    if (got != 1 || 2L * n + OWN_MAPS <= limit)
        return;

    fprintf(stderr,
            "%s: %d green threads need %ld memory mappings (a stack and a guard page "
            "each), and vm.max_map_count is %ld: at most %ld green threads\n",
            program_invocation_short_name, n, 2L * n, limit, (limit - OWN_MAPS) / 2);
    exit(1);
}

void hub_init(struct hub *h, int n, void (*body)(struct green *g))
{
    *h = (struct hub){.n = n, .body = body, .ep = -1};
    the_hub = h;

    /* refuse an n whose guard pages the kernel would not allow */
    check_map_count(n);

    /* all the stacks in one mapping: slot i is a guard page, then stack i */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    h->slot = page + GREEN_STACK_SIZE;
    int prot = PROT_READ | PROT_WRITE;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE;
    h->stacks = mmap(NULL, h->slot * (size_t)n, prot, flags, -1, 0);
    if (h->stacks == MAP_FAILED)
        wb_die("mmap");

    h->greens = calloc((size_t)n, sizeof *h->greens);
    if (h->greens == NULL)
        wb_die("calloc");
}

/* Below the stack, a guard page: an overflow faults at once instead of
 * silently writing over the next green thread's stack. */
void green_spawn(struct hub *h, int i, void *arg)
{
    struct green *g = &h->greens[i];
    size_t page = h->slot - GREEN_STACK_SIZE;
    char *guard = h->stacks + (size_t)i * h->slot;

    /* slot i: the guard page, no access at all; then the stack */
    if (mprotect(guard, page, PROT_NONE) == -1)
        wb_die("mprotect");
    g->stack = guard + page;
    g->i = i;
    g->arg = arg;

    /* a context that will start green_main() on g's stack */
    if (getcontext(&g->ctx) == -1)
        wb_die("getcontext");
    g->ctx.uc_stack.ss_sp = g->stack;
    g->ctx.uc_stack.ss_size = GREEN_STACK_SIZE;
    /* nothing to link to: green_main() never returns */
    g->ctx.uc_link = NULL;
    makecontext(&g->ctx, green_main, 0);
    h->live++;
}

void hub_free(struct hub *h)
{
    /* the epoll set, if green_socket.c gave the hub one */
    if (h->ep != -1) {
        if (close(h->ep) == -1)
            wb_die("close");
    }

    /* the stacks and the green threads */
    if (munmap(h->stacks, h->slot * (size_t)h->n) == -1)
        wb_die("munmap");
    free(h->greens);
    the_hub = NULL;
}
