/* split_url.c - fuzz wb_split_url(), the header's URL splitter
 *
 * Usage: make fuzz (or tests/fuzz/run SECONDS split_url)
 * Checks: no read or write past any buffer, whatever the sizes; and when it
 *         accepts a URL, the parts put back together give the URL again, and
 *         the port is from 1 to 65535.
 */
#include "workbook.h"
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the first two bytes choose the buffer sizes, the rest is the URL */
    if (size < 2)
        return 0;
    size_t hostlen = 1 + data[0] % 64;
    size_t portlen = 1 + data[1] % 16;
    char *url = strndup((const char *)data + 2, size - 2);
    char *host = malloc(hostlen);
    char *port = malloc(portlen);
    if (url == NULL || host == NULL || port == NULL)
        abort();

    const char *path = NULL;
    if (wb_split_url(url, host, hostlen, port, portlen, &path) == 0) {
        /* host and port are whole, and path points into the URL */
        const char *rest = url;
        if (strncmp(rest, "http://", 7) == 0)
            rest += 7;
        size_t h = strlen(host);
        if (h == 0 || strncmp(rest, host, h) != 0 || strcspn(host, ":/?") != h)
            abort();
        /* and the port is a number a socket can have */
        long number;
        if (wb_parse_long(port, 1, 65535, &number) != 0)
            abort();
        rest += h;
        if (*rest == ':') {
            size_t p = strlen(port);
            if (p == 0 || strncmp(rest + 1, port, p) != 0)
                abort();
            rest += 1 + p;
        } else if (strcmp(port, "80") != 0) {
            abort();
        }
        if (*rest == '\0' && strcmp(path, "/") != 0)
            abort();
        if (*rest != '\0' && path != rest)
            abort();
    }

    free(port);
    free(host);
    free(url);
    return 0;
}
