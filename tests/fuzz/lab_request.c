/* lab_request.c - fuzz the lab server's request parser, parse_request()
 *
 * Usage: make fuzz (or tests/fuzz/run SECONDS lab_request)
 * Checks: the parser reads no byte outside what it is given; a request cut
 *         at any point into two reads parses as it does whole (the first
 *         piece says "not yet", or already gives the same answer); and so
 *         does every request after it in the same buffer (pipelining).
 *
 * The harness includes labserver.c itself, with its main() renamed, so it
 * tests the code the lab server runs, not a copy.
 */
#define main labserver_main
#include "labserver.c"
#undef main

#include <stdint.h>

/* Two parses agree when every field of the request agrees. */
static int same_request(const struct request *a, const struct request *b)
{
    return a->used == b->used && strcmp(a->method, b->method) == 0 &&
           strcmp(a->path, b->path) == 0 && a->page == b->page &&
           a->number == b->number && a->head_only == b->head_only &&
           a->keep_alive == b->keep_alive && a->reset == b->reset &&
           strcmp(a->line, b->line) == 0;
}

/* The cut points to try: every one for a short buffer, some for a long one. */
static size_t next_cut(size_t cut, size_t len)
{
    if (len <= 512)
        return cut + 1;
    return cut + 1 + len / 64;
}

/* Parse the requests in buf one after another, as the server does. */
static void check_requests(const char *buf, size_t len)
{
    while (len > 0) {
        struct request whole;
        int status = parse_request(buf, len, &whole);
        if (status == 0)
            return;
        if (whole.used == 0 || whole.used > len)
            abort();

        /* a first read of `cut` bytes, then the rest */
        for (size_t cut = 1; cut < len; cut = next_cut(cut, len)) {
            struct request piece;
            int first = parse_request(buf, cut, &piece);
            if (first == 0)
                continue;
            if (first != status || !same_request(&piece, &whole)) {
                fprintf(stderr, "cut at %zu: %d, whole: %d\n", cut, first, status);
                abort();
            }
        }

        /* after an error the server answers and closes: no next request */
        if (status != 200 || !whole.keep_alive)
            return;
        buf += whole.used;
        len -= whole.used;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly the input's size, so ASan sees any read past it */
    char *buf = malloc(size + 1);
    if (buf == NULL)
        abort();
    memcpy(buf, data, size);
    check_requests(buf, size);
    free(buf);
    return 0;
}
