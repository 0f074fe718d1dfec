/*
 * NAME
 *   wctl_shaping_cmd.c - `warmupctl shaping list|show|cancel|extend`: the
 *   traffic-shaping effects maillog-tap wrote from receivers' replies.
 *
 * DESCRIPTION
 *     list [--json]                 every active effect, a table (or a JSON
 *                                   array of objects)
 *     show NAME [--json]            one effect in full, the reply text too
 *     cancel NAME [--reason TEXT]   removes the detail key and the index
 *                                   field in one script (shaping_cancel_lua)
 *     extend NAME DURATION [--reason TEXT]
 *                                   the effect now lasts DURATION from now
 *                                   (30m, 2h, 1d; shaping_extend_lua): a
 *                                   slow-down's ramp back up starts then
 *   NAME is what `list` prints (wctl_shaping.h).  An unknown NAME is exit
 *   status 1; a malformed NAME or DURATION is 64.  cancel and extend are
 *   operator changes: one change line each (wctl_audit.h) with the effect
 *   before and after.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "exitcodes.h"
#include "shaping.h"
#include "text_safe.h"
#include "wctl_audit.h"
#include "wctl_cmds.h"
#include "wctl_fmt.h"
#include "wctl_shaping.h"
#include "wctl_table.h"

#define REASON_MAX 200
#define EXTEND_MAX (366LL * 86400) /* a year: beyond that it is not shaping any more */
#define SAFE_MAX   4096

static struct redis_script CANCEL = { "warmupctl_shaping_cancel", shaping_cancel_lua, "" };
static struct redis_script EXTEND = { "warmupctl_shaping_extend", shaping_extend_lua, "" };

static int failed(const struct wctl *w)
{
    return w->status ? w->status : PF_EXIT_FAILURE;
}

/* ---- list --------------------------------------------------------------------- */

static void list_row(struct wtable *t, const struct wfx *e, long long now)
{
    char since[32], until[96], lim[32];
    long long l = wctl_shaping_limit(e, now);
    const char *cols[7] = { e->name, e->rule, since, until, lim, e->origin, e->evidence };

    wctl_fmt_time(e->since, since);
    wctl_shaping_until_text(e, now, until, sizeof until);
    if (l >= 0)
        snprintf(lim, sizeof lim, "%lld", l);
    else
        snprintf(lim, sizeof lim, "-");
    wctl_table_add(t, cols);
}

int wctl_shaping_list_cmd(struct wctl *w, const struct wctl_args *a)
{
    static const char *const heads[] = {
        "EFFECT", "RULE", "SINCE (UTC)", "UNTIL (UTC)", "LIMIT/H", "ORIGIN", "EVIDENCE"
    };
    struct wfx_list l;
    struct wtable t;

    (void)a;
    if (wctl_shaping_collect(w, &l) < 0)
        return failed(w);
    if (w->json) {
        buf_append_char(&w->out, '[');
        for (size_t i = 0; i < l.n; i++) {
            if (i > 0)
                buf_append_char(&w->out, ',');
            wctl_shaping_json(&l.fx[i], w->now, &w->out);
        }
        buf_append_str(&w->out, "]\n");
    } else if (l.n == 0) {
        buf_append_str(&w->out, "no shaping effects\n");
    } else {
        wctl_table_init(&t, 7, heads, 1u << 4);
        for (size_t i = 0; i < l.n; i++)
            list_row(&t, &l.fx[i], w->now);
        wctl_table_render(&t, &w->out);
        wctl_table_free(&t);
    }
    wctl_shaping_free(&l);
    return PF_EXIT_OK;
}

/* ---- one effect by name ----------------------------------------------------- */

struct target {
    struct wfx_name n;
    char detail[RKEY_MAX], index[RKEY_MAX], field[SHAPING_FIELD_MAX];
    char shown[LOG_PRINTABLE_MAX]; /* the name, printable */
};

/* Parses NAME into t; PF_EXIT_OK or PF_EXIT_USAGE (reported). */
static int target_parse(const struct wctl *w, const char *arg, struct target *t)
{
    memset(t, 0, sizeof *t);
    if (wctl_shaping_name_parse(arg, &t->n) < 0 ||
        wctl_shaping_name_keys(w, &t->n, t->detail, t->index, t->field, sizeof t->field) < 0)
        return PF_EXIT_USAGE;
    log_printable(t->shown, sizeof t->shown, arg, strlen(arg));
    return PF_EXIT_OK;
}

/* Reads the effect of t into e; PF_EXIT_OK, 1 when there is none (reported), or the Redis status. */
static int target_read(struct wctl *w, const struct target *t, struct wfx *e)
{
    int rc = wctl_shaping_read(w, t->detail, e);

    if (rc < 0)
        return failed(w);
    if (rc == 0)
        wctl_err("no shaping effect %s (see `warmupctl shaping list`)", t->shown);
    return rc == 1 ? PF_EXIT_OK : PF_EXIT_FAILURE;
}

static void show_line(struct buf *b, const char *label, const char *value)
{
    char safe[SAFE_MAX];

    if (value == NULL || value[0] == '\0')
        value = "-";
    text_safe(safe, sizeof safe, value, strlen(value));
    buf_printf(b, "%-12s %s\n", label, safe);
}

static void show_time(struct buf *b, const char *label, long long t)
{
    char ts[32], line[64];

    wctl_fmt_time(t, ts);
    snprintf(line, sizeof line, "%s UTC (%lld)", ts, t);
    show_line(b, label, t > 0 ? line : NULL);
}

static void show_text(struct buf *b, const struct wfx *e, long long now, long long ttl)
{
    char v[256];
    long long l = wctl_shaping_limit(e, now);

    show_line(b, "effect", e->name);
    show_line(b, "key", e->key);
    show_line(b, "action", e->action);
    snprintf(v, sizeof v, "%s (%s)", e->subject, e->kind);
    show_line(b, "subject", v);
    show_line(b, "provider", e->provider);
    show_line(b, "rule", e->rule);
    show_time(b, "since", e->since);
    show_time(b, "until", e->until);
    show_time(b, "ends", e->ends);
    if (strcmp(e->action, "slow") == 0) {
        snprintf(v, sizeof v, "%lld/h now%s", l, now >= e->until ? ", ramping up" : "");
        show_line(b, "limit", l >= 0 ? v : "none now");
        snprintf(v, sizeof v,
                 "base %lld/h x %s per step, step %lld, floor %lld/h, one step back per %lld s "
                 "after until",
                 e->base, e->factor ? e->factor : "?", e->step, e->floor, e->clean);
        show_line(b, "slow-down", v);
    }
    show_line(b, "origin", e->origin);
    show_line(b, "evidence", e->evidence);
    show_line(b, "queue id", e->queue_id);
    if (e->extended_by != NULL)
        show_line(b, "extended by", e->extended_by);
    snprintf(v, sizeof v, "%lld s", ttl);
    show_line(b, "ttl", ttl >= 0 ? v : "none");
    show_line(b, "reply", e->reason);
}

static long long key_ttl(struct wctl *w, const char *key)
{
    const char *argv[] = { "TTL", key };
    redisReply *r = wctl_cmd(w, 2, argv, NULL);
    long long ttl = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

    redis_reply_free(r);
    return ttl;
}

int wctl_shaping_show_cmd(struct wctl *w, const struct wctl_args *a)
{
    struct target t;
    struct wfx e;
    int rc;

    if ((rc = target_parse(w, a->pos[2], &t)) != PF_EXIT_OK || (rc = target_read(w, &t, &e)) != PF_EXIT_OK)
        return rc;
    if (w->json) {
        wctl_shaping_json(&e, w->now, &w->out);
        buf_append_char(&w->out, '\n');
    } else {
        show_text(&w->out, &e, w->now, key_ttl(w, t.detail));
    }
    wctl_shaping_fx_free(&e);
    return PF_EXIT_OK;
}

/* ---- changes ---------------------------------------------------------------- */

/* "operator[: TEXT]" into out; -1 (reported) for a bad --reason. */
static int reason_arg(const struct wctl_args *a, char *out, size_t outsize)
{
    if (a->reason == NULL) {
        snprintf(out, outsize, "operator");
        return 0;
    }
    for (const char *p = a->reason; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            wctl_err("--reason contains a control byte");
            return -1;
        }
    if (strlen(a->reason) > REASON_MAX) {
        wctl_err("--reason is longer than %d bytes", REASON_MAX);
        return -1;
    }
    snprintf(out, outsize, "operator: %s", a->reason);
    return 0;
}

/* The script's 0/1 answer; -1 (reported) for anything else. */
static int script_flag(struct wctl *w, redisReply *r)
{
    long long v = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

    if (r != NULL && v != 0 && v != 1) {
        wctl_err("unexpected reply from the shaping script");
        w->status = PF_EXIT_FAILURE;
    }
    redis_reply_free(r);
    return v == 0 || v == 1 ? (int)v : -1;
}

int wctl_shaping_cancel_cmd(struct wctl *w, const struct wctl_args *a)
{
    struct target t;
    struct wfx e;
    char why[REASON_MAX + 16], until[32];
    const char *keys[2], *args[1];
    int rc, had;

    if ((rc = target_parse(w, a->pos[2], &t)) != PF_EXIT_OK || reason_arg(a, why, sizeof why) < 0)
        return PF_EXIT_USAGE;
    if ((had = wctl_shaping_read(w, t.detail, &e)) < 0)
        return failed(w);
    keys[0] = t.detail;
    keys[1] = t.index;
    args[0] = t.field;
    rc = script_flag(w, wctl_eval(w, &CANCEL, 2, keys, 1, args));
    if (rc <= 0) {
        if (rc == 0)
            wctl_err("no shaping effect %s (see `warmupctl shaping list`)", t.shown);
        wctl_shaping_fx_free(&e);
        return rc == 0 ? PF_EXIT_FAILURE : failed(w);
    }
    wctl_fmt_time(had ? e.until : 0, until);
    wctl_audit(w, "shaping cancel %s: %s until %s -> none (%s)", t.shown, t.n.action, had ? until : "?", why);
    if (w->json) {
        buf_append_str(&w->out, "{\"effect\":");
        json_cstr(&w->out, had ? e.name : a->pos[2]);
        buf_append_str(&w->out, ",\"cancelled\":true,\"was\":");
        if (had)
            wctl_shaping_json(&e, w->now, &w->out);
        else
            buf_append_str(&w->out, "null");
        buf_append_str(&w->out, "}\n");
    } else {
        buf_printf(&w->out, "%s cancelled\n", t.shown);
    }
    wctl_shaping_fx_free(&e);
    return PF_EXIT_OK;
}

/* DURATION into *secs; -1 (reported) when it is not one. */
static int duration_arg(const char *s, long long *secs)
{
    long long d = cfg_parse_duration(s);

    if (d <= 0 || d > EXTEND_MAX) {
        char safe[256];
        text_safe(safe, sizeof safe, s, strlen(s));
        wctl_err("\"%s\" is not a duration from 1s to 366d (like 30m, 2h, 1d)", safe);
        return -1;
    }
    *secs = d;
    return 0;
}

static void extend_print(struct wctl *w, const struct target *t, const struct wfx *old, long long until)
{
    char from[32], to[32];

    if (w->json) {
        buf_append_str(&w->out, "{\"effect\":");
        json_cstr(&w->out, old->name);
        buf_printf(&w->out, ",\"from\":%lld,\"until\":%lld}\n", old->until, until);
        return;
    }
    wctl_fmt_time(old->until, from);
    wctl_fmt_time(until, to);
    buf_printf(&w->out, "%s until %s -> %s UTC\n", t->shown, from, to);
}

int wctl_shaping_extend_cmd(struct wctl *w, const struct wctl_args *a)
{
    struct target t;
    struct wfx e;
    char why[REASON_MAX + 16], who[sizeof w->who + REASON_MAX + 32], now[32], until[32], from[32], to[32];
    const char *keys[2], *args[4];
    long long secs;
    int rc;

    if ((rc = target_parse(w, a->pos[2], &t)) != PF_EXIT_OK || duration_arg(a->pos[3], &secs) < 0 ||
        reason_arg(a, why, sizeof why) < 0)
        return PF_EXIT_USAGE;
    if ((rc = target_read(w, &t, &e)) != PF_EXIT_OK)
        return rc;
    snprintf(now, sizeof now, "%lld", w->now);
    snprintf(until, sizeof until, "%lld", w->now + secs);
    snprintf(who, sizeof who, "%s (%s)", w->who, why);
    keys[0] = t.detail;
    keys[1] = t.index;
    args[0] = now;
    args[1] = until;
    args[2] = t.field;
    args[3] = who;
    if ((rc = script_flag(w, wctl_eval(w, &EXTEND, 2, keys, 4, args))) <= 0) {
        if (rc == 0)
            wctl_err("no shaping effect %s (it ended meanwhile)", t.shown);
        wctl_shaping_fx_free(&e);
        return rc == 0 ? PF_EXIT_FAILURE : failed(w);
    }
    wctl_fmt_time(e.until, from);
    wctl_fmt_time(w->now + secs, to);
    wctl_audit(w, "shaping extend %s: until %s -> %s (%s)", t.shown, from, to, why);
    extend_print(w, &t, &e, w->now + secs);
    wctl_shaping_fx_free(&e);
    return PF_EXIT_OK;
}
