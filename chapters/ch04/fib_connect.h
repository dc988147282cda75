/* fib_connect.h - where fib_client's server is, and one connection to it
 *
 * Part of fib_client.c, kept apart because it is the set-up, not the protocol:
 * the options that say where the server is and how many clients go there,
 * and connect_to(), which opens one client's TCP connection or says why it
 * could not. A socket() that fails (the process is out of descriptors, one
 * per client) is told apart from a connect() that fails (no server there).
 * Linux, C17.
 */
#ifndef FIB_CONNECT_H
#define FIB_CONNECT_H
#include "workbook.h"

#include <arpa/inet.h>
#include <sys/socket.h>

/* Where the server is, and how many clients go there at once. */
struct options {
    const char *addr;
    struct in_addr ip; /* addr, parsed */
    long port;
    long clients;
};

/* Client i's TCP connection to the server, or -1 after saying why. */
static inline int connect_to(const struct options *o, int i)
{
    const char *me = program_invocation_short_name;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = o->ip};
    sa.sin_port = htons((uint16_t)o->port);

    /* a descriptor, one per client: past the open-file limit, EMFILE */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        fprintf(stderr,
                "%s: socket for client %d of %ld: %s (try a smaller -c, or raise "
                "the open-file limit with ulimit -n)\n",
                me, i + 1, o->clients, strerror(errno));
        return -1;
    }

    /* then the server: refused, most likely, when nothing listens there */
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return fd;
    fprintf(stderr, "%s: connect to %s:%ld: %s (is fib_server running there?)\n", me,
            o->addr, o->port, strerror(errno));
    close(fd);
    return -1;
}

#endif
