/* fib.c - the Fibonacci module: exact F(n), in 64 bits and beyond
 *
 * Talk: practice / Fibonacci program (f(0)=0, f(1)=1, f(2)=1, f(3)=2, f(4)=3)
 * Usage: #include "fib.h", link fib.c (fib_server.c does)
 * Shows: a loop instead of the textbook recursion (n additions instead of
 *        about F(n) calls); an overflow refused before it happens; numbers
 *        wider than any C type, kept as arrays of base-10^9 "digits".
 * Compare: fib_server.c (the server that answers with it)
 */
#include "fib.h"

#include <inttypes.h>
#include <stdio.h>

int fib(long n, uint64_t *value)
{
    /* F(94) would wrap around modulo 2^64 and come out as a wrong but
     * plausible number: refuse instead. */
    if (n < 0 || n > FIB_MAX)
        return -1;

    if (n == 0) {
        *value = 0;
        return 0;
    }

    /* f(n-1) + f(n-2) written as a recursion computes the same values again
     * and again: about 2^64 calls for F(93). Walking up from the bottom and
     * keeping only the last two values takes n-1 additions. prev and cur
     * are F(i-1) and F(i), starting at i = 1. */
    uint64_t prev = 0;
    uint64_t cur = 1;
    for (long i = 1; i < n; i++) {
        uint64_t next = prev + cur;
        prev = cur;
        cur = next;
    }

    *value = cur;
    return 0;
}

/* Past 64 bits: a number is an array of "limbs" in base 10^9, the least
 * significant first, so 10^9 + 5 is {5, 1}. Base 10^9 instead of 2^32
 * costs a little space and makes printing easy: each limb is exactly nine
 * decimal digits. The sum of two limbs and a carry (< 2 * 10^9 + 1) still
 * fits in a uint32_t. */
#define LIMB_BASE 1000000000u

/* room for FIB_DECIMAL_SIZE digits */
#define LIMBS ((FIB_DECIMAL_SIZE + 8) / 9)

struct big {
    uint32_t limb[LIMBS];

    /* limbs in use; limb[used-1] is nonzero unless the number is 0 */
    int used;
};

/* x += y, for y >= x (true of consecutive Fibonacci numbers): column by
 * column as on paper, carrying into the next limb. */
static void big_add(struct big *x, const struct big *y)
{
    uint32_t carry = 0;
    for (int i = 0; i < y->used; i++) {
        uint32_t sum = (i < x->used ? x->limb[i] : 0) + y->limb[i] + carry;
        carry = sum >= LIMB_BASE;
        x->limb[i] = carry ? sum - LIMB_BASE : sum;
    }

    /* a carry out of the top limb makes a new one; F(FIB_DECIMAL_MAX)
     * needs 233 limbs, so limb[LIMBS-1] is never passed */
    x->used = y->used;
    if (carry) {
        x->limb[x->used] = carry;
        x->used++;
    }
}

int fib_decimal(long n, char *buf, size_t size)
{
    if (n < 0 || n > FIB_DECIMAL_MAX)
        return -1;

    /* The same walk as fib(), with a = F(i) and b = F(i+1): a += b makes a
     * F(i+2), and swapping the two pointers moves the pair one step up. */
    struct big pair[2] = {{{0}, 1}, {{1}, 1}};
    struct big *a = &pair[0];
    struct big *b = &pair[1];
    for (long i = 0; i < n; i++) {
        big_add(a, b);
        struct big *t = a;
        a = b;
        b = t;
    }

    /* The most significant limb as it is, every other one as nine digits
     * with its leading zeros: {5, 1} is "1" "000000005". */
    int top = a->used - 1;
    int len = snprintf(NULL, 0, "%" PRIu32, a->limb[top]) + 9 * top;

    /* no room for the answer and its NUL: write nothing */
    if (len < 0 || (size_t)len >= size)
        return -1;

    char *p = buf + sprintf(buf, "%" PRIu32, a->limb[top]);
    for (int i = top - 1; i >= 0; i--)
        p += sprintf(p, "%09" PRIu32, a->limb[i]);
    return len;
}
