/* lab.h - where the lab server is, and the URLs the fetch programs fetch
 *
 * Included by workbook.h, after the error exits and the options it uses:
 * $LAB_URL, splitting "http://host:port/path" for the raw-socket programs,
 * a check that a lab server answers before a run, and the list of URLs.
 */
#ifndef WORKBOOK_LAB_H
#define WORKBOOK_LAB_H

/* Where the lab server is: $LAB_URL, else the port `make serve` uses. A
 * slash at the end is dropped, since the programs add "/path" after it. */
static inline const char *wb_lab_url(void)
{
    static char url[256];
    const char *env = getenv("LAB_URL");
    if (env == NULL || *env == '\0')
        return "http://127.0.0.1:8000";

    size_t len = strlen(env);
    while (len > 1 && env[len - 1] == '/')
        len--;
    if (len >= sizeof url) {
        fprintf(stderr, "%s: LAB_URL is longer than %zu characters\n",
                program_invocation_short_name, sizeof url - 1);
        exit(1);
    }
    memcpy(url, env, len);
    url[len] = '\0';
    return url;
}

/* Split "http://host:port/path", "host:port/path" or "host" (port 80, path /)
 * for the programs that speak HTTP over raw sockets. 0 ok, -1 malformed. */
static inline int wb_split_url(const char *url, char *host, size_t hostlen, char *port,
                               size_t portlen, const char **path)
{
    if (strncmp(url, "http://", 7) == 0)
        url += 7;
    size_t host_len = strcspn(url, ":/?");
    const char *after_host = url + host_len;
    if (host_len == 0 || host_len >= hostlen || *after_host == '?')
        return -1;
    snprintf(host, hostlen, "%.*s", (int)host_len, url);

    /* the port: a number from 1 to 65535 between ':' and the path, else 80 */
    const char *port_text = "80";
    size_t port_len = 2;
    if (*after_host == ':') {
        port_text = after_host + 1;
        port_len = strcspn(port_text, "/");
    }
    if (port_len >= portlen)
        return -1;
    snprintf(port, portlen, "%.*s", (int)port_len, port_text);
    long number;
    if (wb_parse_long(port, 1, 65535, &number) != 0)
        return -1;

    const char *slash = strchr(after_host, '/');
    *path = slash ? slash : "/";
    return 0;
}

/* What answers at address a, asked for the lab's /stats: 0 nothing listens,
 * 1 a lab server, 2 something else (another server, or one that is silent). */
static inline int wb_lab_at(const struct addrinfo *a)
{
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return 0;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == -1) {
        close(fd);
        return 0;
    }

    /* ask, and read the answer to its end; three seconds of silence is no lab */
    static const char ask[] = "GET /stats HTTP/1.0\r\n\r\n";
    struct timeval three_seconds = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &three_seconds, sizeof three_seconds);
    char answer[512];
    size_t got = 0;
    ssize_t n;
    if (send(fd, ask, sizeof ask - 1, MSG_NOSIGNAL) == (ssize_t)sizeof ask - 1)
        while (got < sizeof answer - 1 &&
               (n = read(fd, answer + got, sizeof answer - 1 - got)) > 0)
            got += (size_t)n;
    close(fd);
    answer[got] = '\0';

    /* the lab's /stats is a 200 with its counters, barrier_rounds among them */
    int ok = strncmp(answer, "HTTP/1.1 200 ", 13) == 0;
    if (ok && strstr(answer, "\"barrier_rounds\": ") != NULL)
        return 1;
    return 2;
}

/* Before fetching: when every URL is on the lab server and no lab server
 * answers at its address, say what to do in one line and exit 1. */
static inline void wb_require_lab(char **urls, int n)
{
    /* a URL elsewhere reports its own failure: check only when all are here */
    const char *lab = wb_lab_url();
    for (int i = 0; i < n; i++)
        if (strncmp(urls[i], lab, strlen(lab)) != 0)
            return;

    char host[256], port[16];
    const char *path;
    struct addrinfo *ai;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (wb_split_url(lab, host, sizeof host, port, sizeof port, &path) != 0)
        return;
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return;

    /* each address in turn, until one has a lab server */
    int found = 0;
    for (struct addrinfo *a = ai; a != NULL && found != 1; a = a->ai_next) {
        int here = wb_lab_at(a);
        if (here > found)
            found = here;
    }
    freeaddrinfo(ai);
    if (found == 1)
        return;

    const char *who =
        found == 0 ? "no lab server" : "something other than a lab server";
    fprintf(stderr,
            "%s: %s answers at %s: start one with 'make serve' in another terminal "
            "(or set LAB_URL to where one runs)\n",
            program_invocation_short_name, who, lab);
    exit(1);
}

/* The URLs to fetch: the arguments if any, else N lab URLs that differ only
 * in their query string ($LAB_URL/delay/MS?i=K). Free with wb_urls_free(). */
static inline char **wb_urls(int argc, char **argv, const struct wb_opts *o, int *count)
{
    int n = o->n;
    if (argc > 0)
        n = argc;
    char **urls = calloc((size_t)n, sizeof *urls);
    if (urls == NULL)
        wb_die("calloc");

    for (int i = 0; i < n; i++) {
        if (argc > 0) {
            urls[i] = strdup(argv[i]);
        } else {
            const char *lab = wb_lab_url();
            int len = asprintf(&urls[i], "%s/delay/%d?i=%d", lab, o->delay_ms, i);
            if (len < 0)
                urls[i] = NULL; /* asprintf leaves it undefined */
        }
        if (urls[i] == NULL)
            wb_die("url");
    }
    *count = n;
    return urls;
}

static inline void wb_urls_free(char **urls, int n)
{
    for (int i = 0; i < n; i++)
        free(urls[i]);
    free(urls);
}

#endif
