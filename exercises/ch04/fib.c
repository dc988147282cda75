/* fib.c - the Fibonacci module: exact F(n), in 64 bits and beyond (exercise)
 *
 * Talk: practice / Fibonacci program (f(0)=0, f(1)=1, f(2)=1, f(3)=2, f(4)=3)
 * Usage: #include "fib.h", link fib.c (fib_server.c does)
 * Your task: write fib() (graded), then, as a stretch, fib_decimal() (graded
 *        separately). fib.h says exactly what each must do.
 * Check: make exercises && make grade (tests/exercises/ch04_fib.bats)
 */
#include "fib.h"

int fib(long n, uint64_t *value)
{
    /* TODO(student): store F(n) in *value and return 0, for 0 <= n <= FIB_MAX. */

    /* Hints:
     * - Any other n (negative, or 94 and up) is out of range: return -1 and
     *   leave *value alone. F(94) needs 65 bits; unsigned arithmetic would
     *   wrap around without a word and hand back a wrong number.
     * - F(n) = F(n-1) + F(n-2) written as a recursion calls itself about
     *   F(n) times: F(93) would run for centuries. Walk up from F(0) and
     *   F(1) instead, keeping only the last two values: n steps.
     * - Check yourself: F(10) = 55, F(50) = 12586269025,
     *   F(93) = 12200160415121876738. */

    /* a placeholder: 42 is no Fibonacci number, so wrong for every n */
    (void)n;
    *value = 42;
    return 0;
}

int fib_decimal(long n, char *buf, size_t size)
{
    /* TODO(student): the stretch part. Write F(n) for 0 <= n <= FIB_DECIMAL_MAX
     * into buf as decimal digits and a NUL; return the number of digits. */

    /* Hints:
     * - No C type holds F(10000) (2090 digits): keep a number as an array
     *   of digits, least significant first, and add two numbers column by
     *   column with a carry, as on paper. A "digit" may be bigger than
     *   0..9: in base 1000000000 each uint32_t holds nine decimal digits,
     *   and the sum of two plus a carry still fits in a uint32_t.
     * - The same walk as in fib(): two numbers, F(i) and F(i+1), moved up
     *   one step at a time. Two arrays of FIB_DECIMAL_SIZE digits are enough.
     * - Print the most significant digit first. In base 10^9 every limb but
     *   the top one needs its leading zeros: printf("%09u").
     * - Return -1, writing nothing, if n is out of range or the digits and
     *   the NUL do not fit in size bytes.
     * - Check yourself: F(100) = 354224848179261915075. */

    /* a placeholder: "out of range" for every n */
    (void)n;
    (void)buf;
    (void)size;
    return -1;
}
