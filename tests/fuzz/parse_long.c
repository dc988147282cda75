/* parse_long.c - fuzz wb_parse_long() against a plain reference parser
 *
 * Usage: make fuzz (or tests/fuzz/run SECONDS parse_long)
 * Checks: for every input string and range, wb_parse_long() accepts exactly
 *         when the reference does, and then gives the same number.
 */
#include "workbook.h"
#include <ctype.h>
#include <limits.h>
#include <stdint.h>

/* The reference: what "a whole decimal number in [min, max]" means, written
 * out digit by digit: an optional minus, at least one digit, nothing before
 * or after (no white space, no plus sign). */
static int reference(const char *s, long min, long max, long *out)
{
    int negative = 0;
    if (*s == '-') {
        negative = 1;
        s++;
    }
    if (!isdigit((unsigned char)*s))
        return -1;

    /* accumulate as a negative number: LONG_MIN has no positive twin */
    long v = 0;
    for (; isdigit((unsigned char)*s); s++) {
        int digit = *s - '0';
        if (v < (LONG_MIN + digit) / 10)
            return -1;
        v = v * 10 - digit;
    }
    if (*s != '\0')
        return -1;
    if (!negative) {
        if (v == LONG_MIN)
            return -1;
        v = -v;
    }

    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* The first byte picks the range; the rest is the text. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long ranges[][2] = {
        {LONG_MIN, LONG_MAX}, {0, 100}, {1, 100000}, {-5, 5}, {0, 60000},
    };
    if (size < 1)
        return 0;
    const long *range = ranges[data[0] % (sizeof ranges / sizeof ranges[0])];

    char text[64];
    size_t len = size - 1;
    if (len > sizeof text - 1)
        len = sizeof text - 1;
    memcpy(text, data + 1, len);
    text[len] = '\0';

    long got = 0;
    long want = 0;
    int got_rc = wb_parse_long(text, range[0], range[1], &got);
    int want_rc = reference(text, range[0], range[1], &want);

    if (got_rc != want_rc || (got_rc == 0 && got != want)) {
        fprintf(stderr,
                "wb_parse_long(\"%s\", %ld, %ld): %d (%ld), reference: %d (%ld)\n",
                text, range[0], range[1], got_rc, got, want_rc, want);
        abort();
    }
    return 0;
}
