/* fib_requests.h - what fib_client asks a Fibonacci server, and what it must answer
 *
 * Part of fib_client.c, kept apart because it is not about being a client:
 * the request lines (the arguments, else the numbers 0 to 93, else the lines
 * of stdin) and, for --check, the answers a correct server gives to each:
 * the exact F(n), worked out here with decimal addition by hand past 64
 * bits, or the ERR line for a line that asks for nothing (the rules are in
 * solutions/ch04/fib_protocol.h); and the first three wrong answers of the
 * run, shown on stderr. Linux, C17.
 */
#ifndef FIB_REQUESTS_H
#define FIB_REQUESTS_H
#include "workbook.h"

#include <stdatomic.h>
#include <stdbool.h>

/* F(10000), the most a server may answer, has 2090 digits */
#define BIG_DIGITS 2100

/* A request line and, with --check, what the server may answer: the exact
 * value, a line starting with err, or (past F(93), where a server without
 * the stretch part says "out of range") either of them. */
struct req {
    char *line;

    /* the line as sent, with its '\n' */
    char *wire;
    char *value;
    const char *err;

    /* the n whose value is expected, or -1 */
    long n;
};

struct requests {
    struct req *req;
    int count;
};

/* One request line: up to the first '\r' or '\n', whether it came from stdin
 * or from the command line ("$(printf '5\r')" asks for F(5) too). */
static inline void requests_add(struct requests *rs, const char *text)
{
    rs->req = realloc(rs->req, (size_t)(rs->count + 1) * sizeof *rs->req);
    if (rs->req == NULL)
        wb_die("realloc");

    struct req *r = &rs->req[rs->count];
    rs->count++;

    *r = (struct req){.line = strndup(text, strcspn(text, "\r\n"))};
    if (r->line == NULL)
        wb_die("strndup");
    if (asprintf(&r->wire, "%s\n", r->line) < 0)
        wb_die("asprintf");
}

/* The arguments; else, for a load test, every n that fits in 64 bits; else
 * the lines of stdin. */
static inline void requests_read(struct requests *rs, int argc, char **argv,
                                 bool load_test)
{
    for (int i = 0; i < argc; i++)
        requests_add(rs, argv[i]);
    if (rs->count > 0)
        return;

    if (load_test) {
        for (int n = 0; n <= 93; n++) {
            char num[12];
            snprintf(num, sizeof num, "%d", n);
            requests_add(rs, num);
        }
        return;
    }

    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0)
        requests_add(rs, line);
    free(line);
}

/* The ERR each line must get, read as the server reads it. Returns the
 * largest n whose value some line asks for (-1: none). */
static inline long requests_expect_errors(struct requests *rs)
{
    long top = -1;
    for (int i = 0; i < rs->count; i++) {
        struct req *r = &rs->req[i];
        size_t len = strlen(r->line);
        size_t sign = r->line[0] == '-';
        size_t digits = strspn(r->line + sign, "0123456789");

        /* wb_parse_long() leaves n at -1 unless n is 0..10000 */
        r->n = -1;
        if (len > 64)
            r->err = "ERR line too long";
        else if (digits == 0 || sign + digits != len)
            r->err = "ERR not a number";
        else if (sign)
            r->err = "ERR negative";
        else if (wb_parse_long(r->line, 0, 10000, &r->n) < 0 || r->n > 93)
            r->err = "ERR out of range";

        if (r->n > top)
            top = r->n;
    }
    return top;
}

/* One walk from F(0) up to F(top), saving each F(k) some line asks for.
 * The numbers are decimal text, right-aligned in their buffers, added from
 * the right column by column, as on paper. */
static inline void requests_expect_values(struct requests *rs, long top)
{
    char x[BIG_DIGITS + 1] = {0};
    char y[BIG_DIGITS + 1] = {0};
    memset(x, '0', BIG_DIGITS);
    memset(y, '0', BIG_DIGITS);

    /* f = F(k) and g = F(k+1), starting at k = 0 */
    y[BIG_DIGITS - 1] = '1';
    char *f = x;
    char *g = y;
    for (long k = 0; k <= top; k++) {
        /* F(k) without its leading zeros; F(0) keeps one */
        const char *digits = f + strspn(f, "0");
        if (*digits == '\0')
            digits--;

        for (int i = 0; i < rs->count; i++) {
            if (rs->req[i].n != k)
                continue;
            rs->req[i].value = strdup(digits);
            if (rs->req[i].value == NULL)
                wb_die("strdup");
        }

        /* f += g, then swap: f = F(k+1), g = F(k+2) */
        int carry = 0;
        for (int d = BIG_DIGITS - 1; d >= 0; d--) {
            int sum = (f[d] - '0') + (g[d] - '0') + carry;
            f[d] = (char)('0' + sum % 10);
            carry = sum / 10;
        }

        char *t = f;
        f = g;
        g = t;
    }
}

static inline void requests_expect(struct requests *rs)
{
    long top = requests_expect_errors(rs);
    requests_expect_values(rs, top);
}

/* Is reply (without its '\n') a right answer to r? */
static inline bool requests_right(const struct req *r, const char *reply)
{
    if (r->value != NULL && strcmp(reply, r->value) == 0)
        return true;
    return r->err != NULL && strncmp(reply, r->err, strlen(r->err)) == 0;
}

/* --check's wrong answers shown so far, by all the clients together */
static _Atomic long requests_wrong_shown;

/* Is reply right? If not, and it is one of the first three wrong answers of
 * the run, say so on stderr. Every client thread calls it: the count is atomic. */
static inline bool requests_check(const struct req *r, const char *reply)
{
    if (requests_right(r, reply))
        return true;
    if (atomic_fetch_add(&requests_wrong_shown, 1) < 3)
        fprintf(stderr, "%s: wrong answer to '%s': '%.80s'\n",
                program_invocation_short_name, r->line, reply);
    return false;
}

static inline void requests_free(struct requests *rs)
{
    for (int i = 0; i < rs->count; i++) {
        free(rs->req[i].line);
        free(rs->req[i].wire);
        free(rs->req[i].value);
    }
    free(rs->req);
}

#endif
