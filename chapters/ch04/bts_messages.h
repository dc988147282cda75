/* bts_messages.h - what bts_sim's base station says, in the syslog format
 *
 * Part of bts_sim.c, kept apart because it is not about sending: the events
 * a base station reports, each with its syslog severity, and the old BSD
 * format (RFC 3164) they are sent in, `<PRI>Mmm dd hh:mm:ss host tag[pid]:
 * text`, the text starting with `seq=N`. Linux, C17.
 */
#ifndef BTS_MESSAGES_H
#define BTS_MESSAGES_H
#include "workbook.h"

#include <time.h>

/* What a base station talks about, with its syslog severity (3 error,
 * 4 warning, 5 notice, 6 info). The facility is local0 (16), so the
 * priority in front of the message is 16 * 8 + severity. */
struct event {
    int severity;
    const char *text;
};

static const struct event events[] = {
    {6, "cell %d: RRC connection setup complete, ue %d"},
    {6, "cell %d: handover to cell %d done"},
    {5, "cell %d: S1 link up, mme %d"},
    {4, "cell %d: VSWR alarm on antenna %d"},
    {6, "cell %d: ue %d released, inactivity"},
    {3, "cell %d: handover to cell %d failed, timer T304 expired"},
};

#define EVENT_KINDS ((long)(sizeof events / sizeof events[0]))

/* A message fits in MSG_SIZE bytes when the host name inside it is no longer
 * than a host name can be: NAME_MAX_LEN bytes. */
#define NAME_MAX_LEN 255
#define MSG_SIZE 512

/* Format message number seq (counting from 1) into buf; returns its length,
 * never more than fits. */
static inline int format_message(char *buf, size_t size, long seq, const char *name)
{
    /* RFC 3164's timestamp: English month, day padded with a space, local time */
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];

    localtime_r(&now, &tm);
    snprintf(stamp, sizeof stamp, "%s %2d %02d:%02d:%02d", months[tm.tm_mon],
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);

    /* the events go round; the numbers in them vary with seq */
    const int e = (int)(seq % EVENT_KINDS);
    const int cell = (int)(seq % 3) + 1;
    const int other = (int)(seq * 7 % 500);
    char text[128];
    snprintf(text, sizeof text, events[e].text, cell, other);

    int priority = 16 * 8 + events[e].severity;
    int len = snprintf(buf, size, "<%d>%s %s bts[%d]: seq=%ld %s", priority, stamp,
                       name, (int)getpid(), seq, text);

    /* snprintf returns the length it would have written: cut to what it did */
    if (len >= (int)size)
        len = (int)size - 1;
    return len;
}

#endif
