/* fib.h - the Fibonacci module: F(0) = 0, F(1) = 1, F(n) = F(n-1) + F(n-2)
 *
 * Talk: practice / Fibonacci program (提供 fibonacci 函数 module)
 * Two functions: fib() for every n whose value fits in 64 bits, and
 * fib_decimal() for the exact decimal value of larger n (arbitrary precision).
 * fib_server.c answers its clients with them; the grader calls them directly.
 *
 * This file is given: write the two functions in fib.c and keep these
 * declarations as they are (the grader's tests call them exactly so).
 */
#ifndef FIB_H
#define FIB_H

#include <stddef.h>
#include <stdint.h>

/* F(93) = 12200160415121876738 is the last one below 2^64 = 18446744073709551616;
 * F(94) would need 65 bits. */
#define FIB_MAX 93

/* fib_decimal() goes this far. F(10000) has 2090 decimal digits; a buffer of
 * FIB_DECIMAL_SIZE bytes holds any answer and its terminating NUL. */
#define FIB_DECIMAL_MAX 10000
#define FIB_DECIMAL_SIZE 2100

/* F(n) for 0 <= n <= FIB_MAX: store it in *value and return 0. Any other n
 * is out of range: return -1 and leave *value alone. Time linear in n. */
int fib(long n, uint64_t *value);

/* F(n) for 0 <= n <= FIB_DECIMAL_MAX as a NUL-terminated decimal string in
 * buf (size bytes): return its length (without the NUL). Return -1 if n is
 * out of range or the answer and its NUL do not fit in size bytes; buf is
 * then left unchanged. */
int fib_decimal(long n, char *buf, size_t size);

#endif
