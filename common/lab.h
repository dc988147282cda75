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
    if (len >= sizeof url)
        wb_die_err(ENAMETOOLONG, "LAB_URL");
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

/* Before fetching: when every URL is on the lab server and nothing listens
 * at its address, say how to start it in one line and exit 1. */
static inline void wb_require_lab(char **urls, int n)
{
    const char *lab = wb_lab_url();
    for (int i = 0; i < n; i++)
        if (strncmp(urls[i], lab, strlen(lab)) != 0)
            return; /* some URL is elsewhere: each reports its own failure */

    char host[256], port[16];
    const char *path;
    struct addrinfo *ai;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (wb_split_url(lab, host, sizeof host, port, sizeof port, &path) != 0)
        return;
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return;

    /* try each address once, then hang up before sending anything */
    int up = 0;
    for (struct addrinfo *a = ai; a != NULL && !up; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd == -1)
            continue;
        up = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
        close(fd);
    }
    freeaddrinfo(ai);
    if (up)
        return;
    fprintf(stderr,
            "%s: no lab server answers at %s: start one with 'make serve' in "
            "another terminal (or set LAB_URL to where one runs)\n",
            program_invocation_short_name, lab);
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
        if (argc > 0)
            urls[i] = strdup(argv[i]);
        else if (asprintf(&urls[i], "%s/delay/%d?i=%d", wb_lab_url(), o->delay_ms, i) <
                 0)
            urls[i] = NULL;
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
