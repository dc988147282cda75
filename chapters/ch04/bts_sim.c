/* bts_sim.c - a simulated base station that sends its syslog over UDP
 *
 * Talk: practice / capture a base station's syslog (完成btslog 抓syslog的功能)
 * Usage: bts_sim [-r RATE] [-c COUNT] [-v] [--name HOST] [HOST:PORT]
 * Shows: what a syslog sender does: one datagram per message in the old BSD
 *        format (RFC 3164) `<PRI>Mmm dd hh:mm:ss host tag[pid]: text`, sent
 *        and forgotten. Each text starts with `seq=N`, so a capture tool can
 *        count what it lost. Messages are paced on an absolute schedule, so a
 *        late wake-up sends a burst instead of slowing the rate down.
 * Compare: exercises/ch04/syslog.c (the capture tool it feeds)
 */
#include "workbook.h"

#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>

static const char usage[] =
    "Usage: bts_sim [-r RATE] [-c COUNT] [-v] [--name HOST] [HOST:PORT]\n";

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

/* What a base station talks about, with its syslog severity (3 error,
 * 4 warning, 5 notice, 6 info). The facility is local0 (16), so the
 * priority in front of the message is 16 * 8 + severity. */
static const struct {
    int severity;
    const char *text;
} events[] = {
    {6, "cell %d: RRC connection setup complete, ue %d"},
    {6, "cell %d: handover to cell %d done"},
    {5, "cell %d: S1 link up, mme %d"},
    {4, "cell %d: VSWR alarm on antenna %d"},
    {6, "cell %d: ue %d released, inactivity"},
    {3, "cell %d: handover to cell %d failed, timer T304 expired"},
};

/* Open a UDP socket connected to HOST:PORT. connect() on a datagram socket
 * only fixes the destination; it also lets the kernel report an ICMP "port
 * unreachable" as ECONNREFUSED on a later send, which is the only sign a UDP
 * sender ever gets that nobody is listening. */
static int open_sender(const char *dest)
{
    char host[256];
    const char *colon = strrchr(dest, ':');
    long port;
    if (!colon || colon == dest || (size_t)(colon - dest) >= sizeof host ||
        wb_parse_long(colon + 1, 1, 65535, &port) != 0) {
        fprintf(stderr, "bts_sim: '%s' is not HOST:PORT\n%s", dest, usage);
        exit(2);
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - dest), dest);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *res;
    int rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "bts_sim: %s: %s\n", host, gai_strerror(rc));
        exit(1);
    }
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd == -1)
        wb_die("socket");
    if (connect(fd, res->ai_addr, res->ai_addrlen) == -1)
        wb_die("connect");
    freeaddrinfo(res);
    return fd;
}

/* Format message number seq (counting from 1) into buf; returns its length. */
static int format_message(char *buf, size_t size, long seq, const char *name)
{
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    /* RFC 3164's timestamp: English month, day padded with a space, local time. */
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    localtime_r(&now, &tm);
    snprintf(stamp, sizeof stamp, "%s %2d %02d:%02d:%02d", months[tm.tm_mon], tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    int e = (int)(seq % (long)(sizeof events / sizeof events[0]));
    char text[128];
    snprintf(text, sizeof text, events[e].text, (int)(seq % 3) + 1, (int)(seq * 7 % 500));
    return snprintf(buf, size, "<%d>%s %s bts[%d]: seq=%ld %s", 16 * 8 + events[e].severity,
                    stamp, name, (int)getpid(), seq, text);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'}, {"name", required_argument, NULL, 'N'}, {0}};
    long rate = 10, count = 0;
    int verbose = 0, c;
    const char *name = "bts-01";
    while ((c = getopt_long(argc, argv, "r:c:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': rate = wb_opt_long("-r", optarg, 0, 10000000); break;
        case 'c': count = wb_opt_long("-c", optarg, 0, 1000000000); break;
        case 'v': verbose = 1; break;
        case 'N': name = optarg; break;
        case 'h':
            printf("%s\nSends syslog messages over UDP to HOST:PORT (default 127.0.0.1:5140),\n"
                   "as a base station would, numbered seq=1, seq=2, ...\n"
                   "  -r RATE    messages per second (default 10; 0 = as fast as possible)\n"
                   "  -c COUNT   stop after COUNT messages (default 0 = until Ctrl-C)\n"
                   "  -v         print each message as it is sent\n"
                   "  --name H   the host name inside the messages (default bts-01)\n",
                   usage);
            return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (argc - optind > 1) {
        fputs(usage, stderr);
        return 2;
    }
    const char *dest = optind < argc ? argv[optind] : "127.0.0.1:5140";
    int fd = open_sender(dest);

    /* No SA_RESTART: Ctrl-C must cut a sleep short, not wait for it to end. */
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1)
        wb_die("sigaction");

    long sent = 0, refused = 0;
    double t0 = wb_now();
    while (!stop_requested && (count == 0 || sent + refused < count)) {
        /* Message k is due at t0 + k / RATE: send everything due by now. */
        long done = sent + refused;
        double due_at = rate ? t0 + (double)done / (double)rate : 0;
        double wait = due_at - wb_now();
        if (wait > 0) {
            struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
            nanosleep(&ts, NULL); /* EINTR: the loop checks stop_requested */
            continue;
        }
        char msg[512];
        int len = format_message(msg, sizeof msg, done + 1, name);
        /* A datagram goes out whole or not at all: no short writes here. */
        if (send(fd, msg, (size_t)len, 0) == -1) {
            if (errno == EINTR)
                continue; /* interrupted before sending: the loop decides */
            if (errno != ECONNREFUSED)
                wb_die("send");
            if (refused++ == 0)
                fprintf(stderr, "bts_sim: nobody is listening on udp://%s (connection "
                                "refused); still sending\n", dest);
            continue;
        }
        sent++;
        if (verbose)
            printf("%s\n", msg);
    }
    double secs = wb_now() - t0;
    printf("sent %ld messages to udp://%s in %.3f s", sent, dest, secs);
    if (refused)
        printf(" (%ld refused: nobody was listening)", refused);
    printf("\n");
    close(fd);
    return 0;
}
