/* timeline.h - the timeline every fetch program draws after its results
 *
 * Part of workbook.h, which includes it: one row per task, a bar from the
 * moment it started to the moment it ended, so that sequential, concurrent
 * and parallel runs look different at a glance. Linux, C17.
 */
#ifndef WORKBOOK_TIMELINE_H
#define WORKBOOK_TIMELINE_H
#ifndef WORKBOOK_H
#error "include workbook.h, which includes this file after the helpers it uses"
#endif
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The timeline: task i owns slot i, so threads record without a lock (the
 * join that follows orders their writes before the drawing); forked children
 * send their two wb_now() values to the parent, which calls wb_span_set(). */
struct wb_span {
    double start, end; /* 0: not yet */
    int failed;
};
struct wb_timeline {
    int n;
    struct wb_span *span;
};

static inline void wb_timeline_init(struct wb_timeline *t, int n)
{
    t->n = n;
    t->span = calloc((size_t)n, sizeof *t->span);
    if (t->span == NULL)
        wb_die("calloc");
}

static inline void wb_task_begin(struct wb_timeline *t, int i)
{
    t->span[i].start = wb_now();
}

static inline void wb_task_end(struct wb_timeline *t, int i)
{
    t->span[i].end = wb_now();
}

/* A task that ended in failure: drawn with its own mark. */
static inline void wb_task_failed(struct wb_timeline *t, int i)
{
    t->span[i].failed = 1;
}

static inline void wb_span_set(struct wb_timeline *t, int i, double start, double end)
{
    t->span[i].start = start;
    t->span[i].end = end;
}

static inline double wb_task_seconds(const struct wb_timeline *t, int i)
{
    return t->span[i].end - t->span[i].start;
}

/* The terminal's width, else $COLUMNS, else 80. */
static inline int wb_columns(void)
{
    struct winsize ws;
    long width = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        width = ws.ws_col;
    else if (getenv("COLUMNS") != NULL)
        wb_parse_long(getenv("COLUMNS"), 20, 1000, &width);
    return (int)width;
}

/* Draw one row per task (the first WB_ROWS of them): a bar from its start to
 * its end, scaled to the terminal's width, under an axis in seconds. A task
 * that never ran draws no bar; a run in which every task failed, no timeline. */
#define WB_ROWS 40
static inline void wb_timeline_print(const struct wb_timeline *t, FILE *out)
{
    /* the time range: from the first start to the last end */
    double t0 = 0, t1 = 0;
    int ran = 0, failed = 0;
    for (int i = 0; i < t->n; i++) {
        const struct wb_span *s = &t->span[i];
        if (s->end <= 0)
            continue;
        if (ran == 0 || s->start < t0)
            t0 = s->start;
        if (ran == 0 || s->end > t1)
            t1 = s->end;
        ran++;
        failed += s->failed;
    }
    if (ran == 0 || failed == ran)
        return;

    /* the marks: UTF-8 blocks where the terminal takes them, else ASCII */
    setlocale(LC_CTYPE, "");
    int utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    const char *ok_mark = utf8 ? "\u2588" : "#";
    const char *fail_mark = utf8 ? "\u2591" : "x";
    const char *idle_mark = utf8 ? "\u00b7" : ".";

    int bar = wb_columns() - 8;
    bar = bar > 100 ? 100 : bar;
    bar = bar < 20 ? 20 : bar;
    double len = t1 - t0;
    len = len > 1e-9 ? len : 1e-9;

    fprintf(out, "timeline: %d task%s, one column = %.1f ms", t->n,
            t->n == 1 ? "" : "s", len * 1e3 / bar);
    if (failed > 0)
        fprintf(out, "; %s ran, %s failed (%d)", ok_mark, fail_mark, failed);
    fputc('\n', out);

    /* one row a task: every task that ran gets at least one column */
    for (int i = 0; i < t->n && i < WB_ROWS; i++) {
        const struct wb_span *s = &t->span[i];
        const char *mark = s->failed ? fail_mark : ok_mark;

        /* its columns, from..to; a task that never ran has none */
        int from = -1;
        int to = -1;
        if (s->end > 0) {
            from = (int)((s->start - t0) / len * bar);
            to = (int)((s->end - t0) / len * bar);
        }

        /* one that starts as the run ends still gets the last column */
        if (from > bar - 1)
            from = bar - 1;

        fprintf(out, "%5d ", i);
        for (int c = 0; c < bar; c++) {
            int inside = from >= 0 && c >= from && (c < to || c == from);
            fputs(inside ? mark : idle_mark, out);
        }
        fputc('\n', out);
    }
    if (t->n > WB_ROWS)
        fprintf(out, "%5s (%d more rows not drawn)\n", "...", t->n - WB_ROWS);

    /* the axis, as wide as the bars: 0 s at the left, the run's length at the right */
    char end_label[32];
    int label_len = snprintf(end_label, sizeof end_label, "%.3f s|", len);
    fprintf(out, "%6s|0 s%*s%s\n", "", bar - 4 - label_len, "", end_label);
}

static inline void wb_timeline_free(struct wb_timeline *t)
{
    free(t->span);
}

#endif
