/* fib_line.c - fuzz the Fibonacci server's answer to one line, fib_answer()
 *
 * Usage: make fuzz (or tests/fuzz/run SECONDS fib_line)
 * Links: solutions/ch04/fib_protocol.c solutions/ch04/fib.c
 * Checks: whatever the line, the answer is one line: the exact decimal F(n)
 *         for a line of digits n up to FIB_DECIMAL_MAX, else the one ERR line
 *         the protocol names for that kind of line (fib_protocol.h).
 */
#include "workbook.h"
#include "fib_protocol.h"

#include <ctype.h>
#include <stdint.h>

/* F(0) .. F(FIB_DECIMAL_MAX) in decimal, computed once, independently of
 * fib.c: numbers in base 10^9, one limb per nine digits, least first. */
#define LIMBS 240
static char *reference[FIB_DECIMAL_MAX + 1];

static char *to_decimal(const uint32_t *limbs, int used)
{
    /* a may be shorter than b, whose length `used` is */
    while (used > 1 && limbs[used - 1] == 0)
        used--;

    char *text = malloc((size_t)used * 9 + 1);
    if (text == NULL)
        abort();
    int at = sprintf(text, "%u", limbs[used - 1]);
    for (int i = used - 2; i >= 0; i--)
        at += sprintf(text + at, "%09u", limbs[i]);
    return text;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static uint32_t a[LIMBS], b[LIMBS], sum[LIMBS];
    int used = 1;
    b[0] = 1; /* a = F(0) = 0, b = F(1) = 1 */

    for (int n = 0; n <= FIB_DECIMAL_MAX; n++) {
        reference[n] = to_decimal(a, used);

        /* a, b = b, a + b */
        uint32_t carry = 0;
        for (int i = 0; i < used || carry != 0; i++) {
            uint64_t s = (uint64_t)a[i] + b[i] + carry;
            sum[i] = (uint32_t)(s % 1000000000u);
            carry = (uint32_t)(s / 1000000000u);
            if (i >= used)
                used = i + 1;
        }
        memcpy(a, b, sizeof a);
        memcpy(b, sum, sizeof b);
    }
    return 0;
}

/* What the protocol says the answer to this line must be, without '\n'. */
static const char *expected(const char *line, size_t len, char *err, size_t size)
{
    if (len > FIB_LINE_LIMIT)
        return "ERR line too long";

    size_t sign = len > 0 && line[0] == '-';
    size_t digits = 0;
    while (sign + digits < len && isdigit((unsigned char)line[sign + digits]))
        digits++;
    if (digits == 0 || sign + digits != len)
        return "ERR not a number";
    if (sign)
        return "ERR negative";

    /* the value, saturating just past the largest n served */
    long n = 0;
    for (size_t i = 0; i < len; i++) {
        n = n * 10 + (line[i] - '0');
        if (n > FIB_DECIMAL_MAX)
            break;
    }
    if (n > FIB_DECIMAL_MAX) {
        snprintf(err, size, "ERR out of range (max %d)", FIB_DECIMAL_MAX);
        return err;
    }
    return reference[n];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the line as fib_converse() passes it: bytes of the exact size */
    char *line = malloc(size + 1);
    if (line == NULL)
        abort();
    memcpy(line, data, size);

    char out[FIB_ANSWER_MAX];
    size_t got = fib_answer(line, size, out, sizeof out);

    char err[64];
    const char *want = expected(line, size, err, sizeof err);
    size_t want_len = strlen(want);
    if (got != want_len + 1 || memcmp(out, want, want_len) != 0 ||
        out[want_len] != '\n') {
        fprintf(stderr, "line of %zu bytes: got %.*s, wanted %s\n", size, (int)got, out,
                want);
        abort();
    }
    free(line);
    return 0;
}
