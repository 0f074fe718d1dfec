/*
 * NAME
 *   wctl_events.c - `warmupctl events [--limit N] [--json]`: the latest
 *   warm-up events, newest first.
 *
 * DESCRIPTION
 *   Reads the pf:events stream (XREVRANGE + - COUNT N, default 20) that
 *   policyd-warmup's daily evaluation (create, advance, hold, stepback,
 *   pause) and warmupctl's ip commands (pause, resume, set-stage, reset)
 *   append to.  Table columns: time (UTC), node, pool, IP, event, from,
 *   to, reason; --json prints an array of objects with every field of the
 *   entry plus its stream id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "wctl_cmds.h"
#include "wctl_fmt.h"
#include "wctl_table.h"

#define EVENTS_DEFAULT 20

static const char *field(const redisReply *fields, const char *name)
{
    const char *v = wctl_hash_get(fields, name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static void event_json(struct buf *b, const redisReply *id, const redisReply *fields)
{
    buf_append_str(b, "{\"id\":");
    json_str(b, id->str, id->len);
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        if (fields->element[i]->type != REDIS_REPLY_STRING || fields->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        buf_append_char(b, ',');
        json_str(b, fields->element[i]->str, fields->element[i]->len);
        buf_append_char(b, ':');
        json_str(b, fields->element[i + 1]->str, fields->element[i + 1]->len);
    }
    buf_append_char(b, '}');
}

int wctl_events_cmd(struct wctl *w, const struct wctl_args *a)
{
    static const char *const heads[] = { "TIME (UTC)", "NODE", "POOL", "IP", "EVENT", "FROM", "TO", "REASON" };
    char key[RKEY_MAX], count[32];
    const char *argv[] = { "XREVRANGE", key, "+", "-", "COUNT", count };
    struct wtable t;
    redisReply *r;
    int first = 1;

    rkey_events(&w->keys, key);
    snprintf(count, sizeof count, "%lld", a->limit > 0 ? a->limit : EVENTS_DEFAULT);
    if ((r = wctl_cmd(w, 6, argv, NULL)) == NULL)
        return w->status ? w->status : PF_EXIT_FAILURE;
    wctl_table_init(&t, 8, heads, 0x60u);
    if (w->json)
        buf_append_char(&w->out, '[');
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *e = r->element[i];
        char ts[32];
        const char *t_s, *cols[8];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING ||
            e->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        if (w->json) {
            if (!first)
                buf_append_char(&w->out, ',');
            first = 0;
            event_json(&w->out, e->element[0], e->element[1]);
            continue;
        }
        t_s = field(e->element[1], "time");
        wctl_fmt_time(t_s != NULL ? strtoll(t_s, NULL, 10) : 0, ts);
        cols[0] = ts;
        cols[1] = field(e->element[1], "node");
        cols[2] = field(e->element[1], "pool");
        cols[3] = field(e->element[1], "ip");
        cols[4] = field(e->element[1], "event");
        cols[5] = field(e->element[1], "from");
        cols[6] = field(e->element[1], "to");
        cols[7] = field(e->element[1], "reason");
        wctl_table_add(&t, cols);
    }
    if (w->json)
        buf_append_str(&w->out, "]\n");
    else if (t.nrows == 0)
        buf_append_str(&w->out, "no events\n");
    else
        wctl_table_render(&t, &w->out);
    wctl_table_free(&t);
    redis_reply_free(r);
    return PF_EXIT_OK;
}
