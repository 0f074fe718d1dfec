/*
 * inbound_summary.c - progress line and summary table of batch runs (see inbound_summary.h).
 */
#include "inbound_summary.h"

#include <string.h>
#include <time.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void inbound_summary_init(struct inbound_summary *s, size_t bytes_total, bool progress)
{
    memset(s, 0, sizeof(*s));
    s->bytes_total = bytes_total;
    s->progress = progress;
    s->started = now_seconds();
}

static void count_row(struct inbound_summary *s, const struct inbound_rcpt *rc)
{
    const char *cat = rc->classified ? rc->verdict.category : "-";
    size_t i = 0;
    while (i < s->nrows && strcmp(s->rows[i].category, cat) != 0)
        i++;
    if (i == s->nrows) {
        if (s->nrows == SUMMARY_ROWS_MAX)
            return;
        s->rows[s->nrows++].category = cat; /* static vocabulary strings */
    }
    enum reply_class cls = rc->classified ? rc->verdict.cls : REPLY_CLASS_UNKNOWN;
    if (cls == REPLY_CLASS_HARD)
        s->rows[i].hard++;
    else if (cls == REPLY_CLASS_SOFT)
        s->rows[i].soft++;
    else
        s->rows[i].unknown++;
}

void inbound_summary_add(struct inbound_summary *s, const struct inbound_report *r)
{
    s->messages++;
    if ((size_t)r->kind < sizeof(s->kinds) / sizeof(s->kinds[0]))
        s->kinds[r->kind]++;
    if (r->kind == INBOUND_BOUNCE)
        for (size_t i = 0; i < r->nrcpts; i++)
            count_row(s, &r->rcpts[i]);
}

void inbound_summary_progress(struct inbound_summary *s, size_t bytes_done)
{
    if (!s->progress)
        return;
    double t = now_seconds();
    if (t - s->last_draw < 0.2)
        return;
    s->last_draw = t;
    double elapsed = t - s->started;
    double rate = elapsed > 0 ? (double)s->messages / elapsed : 0;
    double frac = s->bytes_total ? (double)bytes_done / (double)s->bytes_total : 0;
    double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
    int bar = (int)(frac * 30);
    char bars[31];
    for (int i = 0; i < 30; i++)
        bars[i] = i < bar ? '#' : '.';
    bars[30] = '\0';
    fprintf(stderr, "\r[%s] %3.0f%%  %zu messages  %.0f/s  ETA %d:%02d ", bars, frac * 100, s->messages, rate,
            (int)eta / 60, (int)eta % 60);
    fflush(stderr);
}

void inbound_summary_print(struct inbound_summary *s, FILE *out)
{
    if (s->progress)
        fprintf(stderr, "\r%*s\r", 78, "");
    double elapsed = now_seconds() - s->started;
    fprintf(out,
            "%zu messages in %.1f s (%.0f/s): %zu bounce, %zu auto-reply, %zu complaint, %zu auth-failure, "
            "%zu unrecognized",
            s->messages, elapsed, elapsed > 0 ? (double)s->messages / elapsed : 0.0, s->kinds[INBOUND_BOUNCE],
            s->kinds[INBOUND_AUTOREPLY], s->kinds[INBOUND_COMPLAINT], s->kinds[INBOUND_AUTHFAIL],
            s->kinds[INBOUND_UNRECOGNIZED]);
    if (s->errors)
        fprintf(out, ", %zu unreadable", s->errors);
    if (s->duplicates)
        fprintf(out, ", %zu seen before", s->duplicates);
    fprintf(out, "\n");
    if (s->suppressed || s->escalated)
        fprintf(out, "suppressed %zu (soft-bounce escalations %zu)\n", s->suppressed, s->escalated);
    if (s->nrows == 0)
        return;
    fprintf(out, "%-18s %8s %8s %8s\n", "category", "hard", "soft", "unknown");
    size_t th = 0, ts = 0, tu = 0;
    for (size_t i = 0; i < s->nrows; i++) {
        fprintf(out, "%-18s %8zu %8zu %8zu\n", s->rows[i].category, s->rows[i].hard, s->rows[i].soft,
                s->rows[i].unknown);
        th += s->rows[i].hard;
        ts += s->rows[i].soft;
        tu += s->rows[i].unknown;
    }
    fprintf(out, "%-18s %8zu %8zu %8zu\n", "total", th, ts, tu);
}
