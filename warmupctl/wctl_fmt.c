/*
 * NAME
 *   wctl_fmt.c - rendering of suppression entries, times and rates
 *   (see wctl_fmt.h).
 */
#include "wctl_fmt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wctl_csv.h"
#include "wctl_table.h"

void wctl_fmt_time(long long t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
        snprintf(out, 32, "-");
        return;
    }
    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

void wctl_fmt_percent(long long part, long long whole, char out[32])
{
    if (whole <= 0) {
        snprintf(out, 32, "-");
        return;
    }
    snprintf(out, 32, "%.2f", (double)part * 100.0 / (double)whole);
}

void wctl_fmt_sup_json(struct buf *b, const struct wsup_entry *e)
{
    buf_append_char(b, '{');
    json_key(b, "address", 1);
    json_cstr(b, e->address);
    json_key(b, "reason", 0);
    json_cstr(b, e->reason);
    json_key(b, "source", 0);
    json_cstr(b, e->source);
    json_key(b, "time", 0);
    if (e->time > 0)
        buf_printf(b, "%lld", e->time);
    else
        buf_append_str(b, "null");
    json_key(b, "detail", 0);
    json_cstr(b, e->detail);
    json_key(b, "queue_id", 0);
    json_cstr(b, e->queue_id);
    if (e->category != NULL) {
        json_key(b, "category", 0);
        json_cstr(b, e->category);
    }
    if (e->status != NULL) {
        json_key(b, "status", 0);
        json_cstr(b, e->status);
    }
    if (e->why != NULL) {
        json_key(b, "why", 0);
        json_cstr(b, e->why);
    }
    buf_append_char(b, '}');
}

static void csv_cstr(struct buf *b, const char *s)
{
    if (s != NULL)
        wctl_csv_write_field(b, s, strlen(s));
}

void wctl_fmt_sup_csv(struct buf *b, const struct wsup_entry *e)
{
    csv_cstr(b, e->address);
    buf_append_char(b, ',');
    csv_cstr(b, e->reason);
    buf_append_char(b, ',');
    if (e->time > 0)
        buf_printf(b, "%lld", e->time);
    buf_append_char(b, ',');
    csv_cstr(b, e->detail);
    buf_append_char(b, '\n');
}
