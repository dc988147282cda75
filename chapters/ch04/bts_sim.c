/* bts_sim.c - a simulated base station that sends its syslog over UDP
 *
 * Talk: practice / capture a base station's syslog (完成btslog 抓syslog的功能)
 * Usage: bts_sim [-r RATE] [-c COUNT] [-v] [--name HOST] [HOST:PORT]
 * Shows: what a syslog sender does: one datagram per message in the old BSD
 *        format (RFC 3164) `<PRI>Mmm dd hh:mm:ss host tag[pid]: text`, sent
 *        and forgotten. Each text starts with `seq=N`, so a capture tool can
 *        count what it lost. Messages are paced on an absolute schedule, so a
 *        late wake-up sends a burst instead of slowing the rate down.
 * Compare: exercises/ch04/syslog.c (the capture tool it feeds); bts_messages.h
 *          (the events and their format)
 */
#include "workbook.h"

/* what the messages say, in the syslog format */
#include "bts_messages.h"

#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>

struct options {
    /* messages per second (0: no pauses), and how many (0: until Ctrl-C) */
    long rate;
    long count;
    int verbose;

    /* the host name inside the messages */
    const char *name;
    const char *dest; /* HOST:PORT */
};

static struct options parse_options(int argc, char **argv);
static _Noreturn void usage(int status);

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Open a UDP socket connected to HOST:PORT. connect() on a datagram socket
 * only fixes the destination; it also lets the kernel report an ICMP "port
 * unreachable" as ECONNREFUSED on a later send, which is the only sign a UDP
 * sender ever gets that nobody is listening. */
static int open_sender(const char *dest)
{
    /* split HOST:PORT at its last colon */
    const char *colon = strrchr(dest, ':');
    long port;
    char host[256];

    int bad = colon == NULL || colon == dest;
    if (!bad)
        bad = (size_t)(colon - dest) >= sizeof host;
    if (!bad)
        bad = wb_parse_long(colon + 1, 1, 65535, &port) != 0;
    if (bad) {
        fprintf(stderr, "%s: '%s' is not HOST:PORT\n", program_invocation_short_name,
                dest);
        usage(2);
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - dest), dest);

    /* look the host up */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
    struct addrinfo *res;
    int rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, host,
                gai_strerror(rc));
        exit(1);
    }

    /* a datagram socket with a fixed destination */
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd == -1)
        wb_die("socket");
    if (connect(fd, res->ai_addr, res->ai_addrlen) == -1)
        wb_die("connect");
    freeaddrinfo(res);
    return fd;
}

/* Sleep until the monotonic clock reads `when`; a signal cuts it short. */
static void sleep_until(double when)
{
    double wait = when - wb_now();
    if (wait <= 0)
        return;

    time_t whole = (time_t)wait;
    struct timespec ts = {whole, (long)((wait - (double)whole) * 1e9)};

    /* EINTR: the caller's loop checks stop_requested */
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    struct options o = parse_options(argc, argv);
    int fd = open_sender(o.dest);

    /* No SA_RESTART: Ctrl-C must cut a sleep short, not wait for it to end. */
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1)
        wb_die("sigaction");
    if (sigaction(SIGTERM, &sa, NULL) == -1)
        wb_die("sigaction");

    /* send on schedule until COUNT messages or a signal */
    long sent = 0;
    long refused = 0;
    double t0 = wb_now();
    while (!stop_requested && (o.count == 0 || sent + refused < o.count)) {
        /* message k is due at t0 + k / RATE: send everything due by now */
        long done = sent + refused;
        if (o.rate > 0) {
            double due_at = t0 + (double)done / (double)o.rate;
            if (due_at > wb_now()) {
                sleep_until(due_at);
                continue;
            }
        }

        /* A datagram goes out whole or not at all: no short writes here. */
        char msg[MSG_SIZE];
        int len = format_message(msg, sizeof msg, done + 1, o.name);
        ssize_t rc = send(fd, msg, (size_t)len, 0);

        /* interrupted before sending: the loop decides what next */
        if (rc == -1 && errno == EINTR)
            continue;
        if (rc == -1 && errno != ECONNREFUSED)
            wb_die("send");

        /* ICMP said nobody listens; this message is not sent either */
        if (rc == -1) {
            if (refused == 0)
                fprintf(stderr,
                        "%s: nobody is listening on udp://%s (connection refused); "
                        "still sending\n",
                        program_invocation_short_name, o.dest);
            refused++;
            continue;
        }

        sent++;
        if (o.verbose)
            printf("%s\n", msg);
    }

    /* the closing line */
    double secs = wb_now() - t0;
    printf("sent %ld messages to udp://%s in %.3f s", sent, o.dest, secs);
    if (refused > 0)
        printf(" (%ld refused: nobody was listening)", refused);
    printf("\n");
    close(fd);
    return 0;
}

/* --- the command line ------------------------------------------------------ */

/* --help: all of this on stdout, exit 0; a mistake: the first line on
 * stderr, exit 2. */
static _Noreturn void usage(int status)
{
    fputs("Usage: bts_sim [-r RATE] [-c COUNT] [-v] [--name HOST] [HOST:PORT]\n",
          status == 0 ? stdout : stderr);
    if (status == 0)
        printf(
            "\nSends syslog messages over UDP to HOST:PORT (default 127.0.0.1:5140),\n"
            "as a base station would, numbered seq=1, seq=2, ...\n"
            "  -r RATE    messages per second (default 10; 0 = as fast as possible)\n"
            "  -c COUNT   stop after COUNT messages (default 0 = until Ctrl-C)\n"
            "  -v         print each message as it is sent\n"
            "  --name H   the host name inside the messages (default bts-01),\n"
            "             at most 255 bytes\n");
    exit(status);
}

/* --name: a host name is at most 255 bytes; a longer one is a mistake. */
static const char *name_option(const char *name)
{
    size_t len = strlen(name);
    if (len <= NAME_MAX_LEN)
        return name;
    fprintf(stderr, "%s: --name: %zu bytes is too long (a host name has at most %d)\n",
            program_invocation_short_name, len, NAME_MAX_LEN);
    usage(2);
}

static struct options parse_options(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"name", required_argument, NULL, 'N'},
        {NULL, 0, NULL, 0},
    };
    struct options o = {.rate = 10, .name = "bts-01", .dest = "127.0.0.1:5140"};
    int c;

    while ((c = getopt_long(argc, argv, "r:c:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': o.rate = wb_opt_long("-r", optarg, 0, 10000000); break;
        case 'c': o.count = wb_opt_long("-c", optarg, 0, 1000000000); break;
        case 'v': o.verbose = 1; break;
        case 'N': o.name = name_option(optarg); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }

    /* one argument at most: where to send */
    if (optind < argc) {
        o.dest = argv[optind];
        optind++;
    }
    if (wb_extra_argument(argc, argv))
        usage(2);
    return o;
}
