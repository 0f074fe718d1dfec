/*
 * NAME
 *   wctl_suppress.c - `warmupctl suppress add|remove|check|list|export`.
 *
 * DESCRIPTION
 *   Suppression entries are the HASHes pf:sup:{address} of
 *   docs/redis-keys.md.  add replaces an entry atomically (one Lua call:
 *   DEL + HSET, so an old queue_id or detail never sticks to a new manual
 *   entry); add and remove log a change line with the old and new reason
 *   (wctl_audit.c; a remove of an absent entry changes nothing, logs
 *   nothing); check looks at the address and then at its @domain entry, in
 *   the order policyd-warmup does at RCPT; list and export walk the
 *   keyspace with SCAN (never KEYS: it would block a production Redis) and
 *   fetch each SCAN page's entries with one Lua call.
 *
 * EXIT STATUS
 *   check: 0 suppressed, 1 not suppressed; all: 64 bad address/usage, 75
 *   Redis unreachable, 1 other failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcodes.h"
#include "text_safe.h"
#include "wctl_addr.h"
#include "wctl_audit.h"
#include "wctl_cmds.h"
#include "wctl_fmt.h"
#include "wctl_import_fmt.h"
#include "wctl_table.h"
#include "wctl_suppress.h"

static struct redis_script SUP_REPLACE = {
    "warmupctl_sup_replace",
    "local existed = redis.call('EXISTS', KEYS[1])\n"
    "local old = redis.call('HGET', KEYS[1], 'reason') or ''\n"
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('HSET', KEYS[1], 'reason', ARGV[1], 'source', ARGV[2], 'time', ARGV[3], 'detail', ARGV[4])\n"
    "return {existed, old}\n",
    ""
};

/* Deletes an entry; returns {1 if it existed, its reason}. */
static struct redis_script SUP_REMOVE = { "warmupctl_sup_remove",
                                          "local old = redis.call('HGET', KEYS[1], 'reason') or ''\n"
                                          "if old == 'complaint' and ARGV[1] ~= '1' then return {-1, old} end\n"
                                          "return {redis.call('DEL', KEYS[1]), old}\n",
                                          "" };

/* {existed, reason} (or a bare integer) -> existed, with the old reason made printable into old. */
static int existed_and_old(const redisReply *r, char *old, size_t oldsize)
{
    if (old != NULL && oldsize > 0)
        old[0] = '\0';
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer != 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 || r->element[0]->type != REDIS_REPLY_INTEGER)
        return 0;
    if (old != NULL && oldsize > 0 && r->element[1]->type == REDIS_REPLY_STRING)
        log_printable(old, oldsize, r->element[1]->str, r->element[1]->len);
    return r->element[0]->integer != 0;
}

static struct redis_script SUP_FETCH = {
    "warmupctl_sup_fetch",
    "local out = {}\n"
    "for i, k in ipairs(KEYS) do\n"
    "  out[i] = redis.call('HMGET', k, 'reason', 'source', 'time', 'detail', 'queue_id')\n"
    "end\n"
    "return out\n",
    ""
};

int wctl_suppress_address_arg(const char *arg, char addr[WCTL_ADDR_MAX + 1])
{
    const char *why;

    if (wctl_addr_normalize(arg, strlen(arg), addr, &why) < 0) {
        char shown[WCTL_SAFE_MAX];
        text_safe(shown, sizeof shown, arg, strlen(arg));
        wctl_err("bad address \"%s\": %s", shown, why);
        return -1;
    }
    return 0;
}

int wctl_suppress_key(struct wctl *w, const char *addr, char key[RKEY_MAX])
{
    if (rkey_suppression(&w->keys, key, addr, strlen(addr)) < 0) {
        wctl_err("address \"%s\" cannot be a key", addr);
        return -1;
    }
    return 0;
}

int wctl_suppress_write(struct wctl *w, const char *addr, const char *reason, const char *source, long long when,
                        const char *detail, struct redis_script *script, char *old, size_t oldsize)
{
    char key[RKEY_MAX], ts[32];
    const char *keys[1] = { key };
    const char *args[4];
    redisReply *r;
    int existed;

    if (wctl_suppress_key(w, addr, key) < 0)
        return -1;
    snprintf(ts, sizeof ts, "%lld", when > 0 ? when : w->now);
    args[0] = reason;
    args[1] = source;
    args[2] = ts;
    args[3] = detail != NULL ? detail : "";
    r = wctl_eval(w, script != NULL ? script : &SUP_REPLACE, 1, keys, 4, args);
    if (r == NULL)
        return -1;
    existed = existed_and_old(r, old, oldsize);
    redis_reply_free(r);
    return existed;
}

int wctl_suppress_add_cmd(struct wctl *w, const struct wctl_args *a)
{
    char addr[WCTL_ADDR_MAX + 1], old[64];
    const char *reason = "manual";
    int existed;

    if (wctl_suppress_address_arg(a->pos[2], addr) < 0)
        return PF_EXIT_USAGE;
    if (a->reason != NULL && (reason = wctl_import_fmt_reason_canonical(a->reason, strlen(a->reason))) == NULL) {
        wctl_err("unknown reason \"%s\" (want hard, complaint, manual, unsubscribe or import)", a->reason);
        return PF_EXIT_USAGE;
    }
    if (a->detail != NULL) {
        size_t n = strlen(a->detail);
        if (n > WIMP_DETAIL_MAX) {
            wctl_err("--detail is longer than %d bytes", WIMP_DETAIL_MAX);
            return PF_EXIT_USAGE;
        }
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)a->detail[i] < 0x20 || a->detail[i] == 0x7f) {
                wctl_err("--detail contains a control byte");
                return PF_EXIT_USAGE;
            }
    }
    if ((existed = wctl_suppress_write(w, addr, reason, "warmupctl", 0, a->detail, NULL, old, sizeof old)) < 0)
        return w->status ? w->status : PF_EXIT_FAILURE;
    wctl_audit(w, "suppress add %s: %s -> %s", addr, existed ? (old[0] ? old : "?") : "none", reason);
    if (w->json) {
        buf_append_str(&w->out, "{\"address\":");
        json_cstr(&w->out, addr);
        buf_printf(&w->out, ",\"reason\":\"%s\",\"replaced\":%s}\n", reason, existed ? "true" : "false");
    } else {
        buf_printf(&w->out, "%s %s (%s)\n", existed ? "replaced" : "suppressed", addr, reason);
    }
    return PF_EXIT_OK;
}

int wctl_suppress_remove_cmd(struct wctl *w, const struct wctl_args *a)
{
    char addr[WCTL_ADDR_MAX + 1], key[RKEY_MAX], old[64];
    const char *keys[1] = { key };
    redisReply *r;
    int removed;

    if (wctl_suppress_address_arg(a->pos[2], addr) < 0)
        return PF_EXIT_USAGE;
    if (wctl_suppress_key(w, addr, key) < 0)
        return PF_EXIT_USAGE;
    const char *force[] = { a->force ? "1" : "0" };
    if ((r = wctl_eval(w, &SUP_REMOVE, 1, keys, 1, force)) == NULL)
        return w->status ? w->status : PF_EXIT_FAILURE;
    /* a complaint is the recipient's own word: removing it takes --force */
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_INTEGER &&
        r->element[0]->integer == -1) {
        redis_reply_free(r);
        wctl_err("%s is suppressed by a complaint: removing it needs --force (the recipient asked us to stop)", addr);
        return PF_EXIT_FAILURE;
    }
    removed = existed_and_old(r, old, sizeof old);
    redis_reply_free(r);
    if (removed)
        wctl_audit(w, "suppress remove %s: %s -> none", addr, old[0] ? old : "?");
    if (w->json) {
        buf_append_str(&w->out, "{\"address\":");
        json_cstr(&w->out, addr);
        buf_printf(&w->out, ",\"removed\":%s}\n", removed ? "true" : "false");
    } else {
        buf_printf(&w->out, removed ? "removed %s\n" : "%s was not suppressed\n", addr);
    }
    return PF_EXIT_OK;
}

/* HGETALL of one entry into *e (strings point into *reply); 1 found, 0 not, -1 error. */
static int sup_get(struct wctl *w, const char *addr, redisReply **reply, struct wsup_entry *e)
{
    char key[RKEY_MAX];
    const char *argv[] = { "HGETALL", key };

    if (wctl_suppress_key(w, addr, key) < 0)
        return -1;
    if ((*reply = wctl_cmd(w, 2, argv, NULL)) == NULL)
        return -1;
    if ((*reply)->type != REDIS_REPLY_ARRAY || (*reply)->elements == 0)
        return 0;
    e->address = addr;
    e->reason = wctl_hash_get(*reply, "reason");
    e->source = wctl_hash_get(*reply, "source");
    e->detail = wctl_hash_get(*reply, "detail");
    e->queue_id = wctl_hash_get(*reply, "queue_id");
    e->time = wctl_hash_ll(*reply, "time", 0);
    e->category = wctl_hash_get(*reply, "category");
    e->status = wctl_hash_get(*reply, "status");
    e->why = wctl_hash_get(*reply, "why");
    return 1;
}

int wctl_suppress_check_cmd(struct wctl *w, const struct wctl_args *a)
{
    char addr[WCTL_ADDR_MAX + 1];
    const char *at;
    redisReply *r = NULL;
    struct wsup_entry e;
    int found;

    if (wctl_suppress_address_arg(a->pos[2], addr) < 0)
        return PF_EXIT_USAGE;
    memset(&e, 0, sizeof e);
    found = sup_get(w, addr, &r, &e);
    at = strchr(addr, '@');
    if (found == 0 && at != addr) { /* then the whole domain, as at RCPT */
        redis_reply_free(r);
        r = NULL;
        found = sup_get(w, at, &r, &e);
    }
    if (found < 0) {
        redis_reply_free(r);
        return w->status ? w->status : PF_EXIT_USAGE;
    }
    if (w->json) {
        buf_append_str(&w->out, "{\"address\":");
        json_cstr(&w->out, addr);
        buf_printf(&w->out, ",\"suppressed\":%s", found ? "true" : "false");
        if (found) {
            buf_append_str(&w->out, ",\"entry\":");
            wctl_fmt_sup_json(&w->out, &e);
        }
        buf_append_str(&w->out, "}\n");
    } else if (found) {
        char ts[32], safe[WCTL_SAFE_MAX];
        wctl_fmt_time(e.time, ts);
        text_safe(safe, sizeof safe, e.detail != NULL ? e.detail : "", e.detail != NULL ? strlen(e.detail) : 0);
        buf_printf(&w->out, "%s is suppressed%s%s: reason %s, since %s UTC, by %s%s%s\n", addr,
                   e.address != addr ? " via " : "", e.address != addr ? e.address : "", e.reason ? e.reason : "?", ts,
                   e.source ? e.source : "?", safe[0] ? ": " : "", safe);
        if (e.why != NULL && e.why[0] != '\0') {
            text_safe(safe, sizeof safe, e.why, strlen(e.why));
            buf_printf(&w->out, "  why: %s\n", safe);
        }
    } else {
        buf_printf(&w->out, "%s is not suppressed\n", addr);
    }
    redis_reply_free(r);
    return found ? PF_EXIT_OK : PF_EXIT_FAILURE;
}

/* Address of a suppression key (its {tag}), checked by rebuilding the key. */
int wctl_suppress_addr_from_key(const struct wctl *w, const char *key, size_t len, char addr[WCTL_ADDR_MAX + 1])
{
    char pat[RKEY_MAX], again[RKEY_MAX];
    int plen = rkey_suppression_pattern(&w->keys, pat);
    size_t n;

    if (plen < 1 || pat[plen - 1] != '*')
        return -1;
    plen--; /* "pf:sup:{" */
    if (len < (size_t)plen + 2 || memcmp(key, pat, (size_t)plen) != 0 || key[len - 1] != '}')
        return -1;
    n = len - (size_t)plen - 1;
    if (n > WCTL_ADDR_MAX)
        return -1;
    memcpy(addr, key + plen, n);
    addr[n] = '\0';
    if (rkey_suppression(&w->keys, again, addr, n) < 0 || strlen(again) != len || memcmp(again, key, len) != 0)
        return -1;
    return 0;
}

static const char *fetched(const redisReply *row, size_t i)
{
    if (row->type != REDIS_REPLY_ARRAY || i >= row->elements || row->element[i]->type != REDIS_REPLY_STRING)
        return NULL;
    return row->element[i]->str;
}

/* One chunk (at most WCTL_EVAL_MAX keys) of a SCAN page. */
static int fetch_chunk(struct wctl *w, redisReply **keys, size_t nkeys,
                       int (*fn)(struct wctl *w, const struct wsup_entry *e, void *arg), void *arg)
{
    const char *kv[WCTL_EVAL_MAX];
    redisReply *r;
    int rc = 0;

    for (size_t i = 0; i < nkeys; i++)
        kv[i] = keys[i]->str;
    r = wctl_eval(w, &SUP_FETCH, (int)nkeys, kv, 0, NULL);
    if (r == NULL)
        return -1;
    for (size_t i = 0; i < nkeys && i < r->elements && rc == 0; i++) {
        char addr[WCTL_ADDR_MAX + 1];
        const redisReply *row = r->element[i];
        struct wsup_entry e;
        const char *t;

        if (wctl_suppress_addr_from_key(w, keys[i]->str, keys[i]->len, addr) < 0)
            continue;            /* not ours (a prefix glob that matched more) */
        memset(&e, 0, sizeof e); /* list/export show the five fields they fetch */
        e.address = addr;
        e.reason = fetched(row, 0);
        e.source = fetched(row, 1);
        t = fetched(row, 2);
        e.time = t != NULL ? strtoll(t, NULL, 10) : 0;
        e.detail = fetched(row, 3);
        e.queue_id = fetched(row, 4);
        if (e.reason == NULL && e.source == NULL && t == NULL)
            continue; /* deleted since SCAN saw it */
        rc = fn(w, &e, arg);
    }
    redis_reply_free(r);
    return rc;
}

int wctl_suppress_fetch_page(struct wctl *w, redisReply **keys, size_t nkeys,
                             int (*fn)(struct wctl *w, const struct wsup_entry *e, void *arg), void *arg)
{
    for (size_t off = 0; off < nkeys; off += WCTL_EVAL_MAX) {
        size_t n = nkeys - off < WCTL_EVAL_MAX ? nkeys - off : WCTL_EVAL_MAX;
        int rc = fetch_chunk(w, keys + off, n, fn, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

struct list_ctx {
    const char *reason;
    long long limit, count;
    struct wtable table;
    int first;
};

static int list_one(struct wctl *w, const struct wsup_entry *e, void *arg)
{
    struct list_ctx *c = arg;
    char ts[32];

    if (c->reason != NULL && (e->reason == NULL || strcmp(e->reason, c->reason) != 0))
        return 0;
    if (w->json) {
        if (!c->first)
            buf_append_char(&w->out, ',');
        c->first = 0;
        wctl_fmt_sup_json(&w->out, e);
    } else {
        const char *cols[5];
        wctl_fmt_time(e->time, ts);
        cols[0] = e->address;
        cols[1] = e->reason;
        cols[2] = e->source;
        cols[3] = ts;
        cols[4] = e->detail != NULL && e->detail[0] != '\0' ? e->detail : NULL;
        wctl_table_add(&c->table, cols);
    }
    c->count++;
    return c->limit > 0 && c->count >= c->limit ? 1 : 0;
}

static int list_page(struct wctl *w, redisReply **keys, size_t nkeys, void *arg)
{
    return wctl_suppress_fetch_page(w, keys, nkeys, list_one, arg);
}

int wctl_suppress_list_cmd(struct wctl *w, const struct wctl_args *a)
{
    static const char *const heads[] = { "ADDRESS", "REASON", "SOURCE", "TIME (UTC)", "DETAIL" };
    struct list_ctx c;
    char pat[RKEY_MAX];
    int rc;

    memset(&c, 0, sizeof c);
    c.first = 1;
    c.limit = a->limit;
    if (a->reason != NULL && (c.reason = wctl_import_fmt_reason_canonical(a->reason, strlen(a->reason))) == NULL) {
        wctl_err("unknown reason \"%s\" (want hard, complaint, manual, unsubscribe or import)", a->reason);
        return PF_EXIT_USAGE;
    }
    rkey_suppression_pattern(&w->keys, pat);
    wctl_table_init(&c.table, 5, heads, 0);
    if (w->json)
        buf_append_char(&w->out, '[');
    rc = wctl_scan(w, pat, list_page, &c);
    if (rc == 0) {
        if (w->json)
            buf_append_str(&w->out, "]\n");
        else
            wctl_table_render(&c.table, &w->out);
    }
    wctl_table_free(&c.table);
    if (rc < 0)
        return w->status ? w->status : PF_EXIT_FAILURE;
    if (!w->json)
        fprintf(stderr, "%lld entr%s\n", c.count, c.count == 1 ? "y" : "ies");
    return PF_EXIT_OK;
}

struct export_ctx {
    FILE *fp;
    long long count;
};

static int export_one(struct wctl *w, const struct wsup_entry *e, void *arg)
{
    struct export_ctx *c = arg;

    wctl_fmt_sup_csv(&w->out, e);
    c->count++;
    if (w->out.len >= 65536) { /* stream: the list may be large */
        if (fwrite(w->out.data, 1, w->out.len, c->fp) != w->out.len)
            return -1;
        buf_reset(&w->out);
    }
    return 0;
}

static int export_page(struct wctl *w, redisReply **keys, size_t nkeys, void *arg)
{
    return wctl_suppress_fetch_page(w, keys, nkeys, export_one, arg);
}

int wctl_suppress_export_cmd(struct wctl *w, const struct wctl_args *a)
{
    const char *path = a->npos > 2 ? a->pos[2] : NULL;
    char tmp[4096], pat[RKEY_MAX];
    struct export_ctx c = { stdout, 0 };
    int rc;

    if (path != NULL) {
        /* Write beside the target and rename: a reader never sees half a file. */
        if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
            wctl_err("file name too long");
            return PF_EXIT_USAGE;
        }
        if ((c.fp = fopen(tmp, "w")) == NULL) {
            wctl_err("cannot create %s: %s", tmp, strerror(errno));
            return PF_EXIT_FAILURE;
        }
    }
    buf_append_str(&w->out, WFMT_SUP_CSV_HEADER);
    rkey_suppression_pattern(&w->keys, pat);
    rc = wctl_scan(w, pat, export_page, &c);
    if (rc == 0 && w->out.len > 0 && fwrite(w->out.data, 1, w->out.len, c.fp) != w->out.len)
        rc = -1;
    buf_reset(&w->out);
    if (path == NULL) {
        if (fflush(stdout) != 0 || (rc < 0 && w->status == 0)) {
            if (w->status == 0)
                wctl_err("cannot write to standard output: %s", strerror(errno));
            rc = -1;
        }
    } else if (fclose(c.fp) != 0 || rc < 0 || rename(tmp, path) != 0) {
        if (rc == 0 || w->status == 0)
            wctl_err("cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        rc = -1;
    }
    if (rc < 0)
        return w->status ? w->status : PF_EXIT_FAILURE;
    fprintf(stderr, "exported %lld entr%s\n", c.count, c.count == 1 ? "y" : "ies");
    return PF_EXIT_OK;
}
