/*
 * NAME
 *   wctl_shaping.c - reading, naming and rendering shaping effects for
 *   warmupctl (see wctl_shaping.h).
 */
#include "wctl_shaping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "shaping.h"
#include "text_safe.h"
#include "wctl_fmt.h"
#include "xalloc.h"

#define WFX_STEP_MAX 64 /* a factor^s loop never runs longer than this */

/* ---- names ------------------------------------------------------------------ */

static void lower(char *s)
{
    for (; *s != '\0'; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static int name_bad(const char *arg, const char *why)
{
    char safe[WFX_NAME_MAX * 4];
    text_safe(safe, sizeof safe, arg, strlen(arg));
    wctl_err("\"%s\" is not an effect name (%s): want POOL/SUBJECT/PROVIDER/ACTION or "
             "@DOMAIN/KIND/PROVIDER/ACTION, as `warmupctl shaping list` prints them",
             safe, why);
    return -1;
}

int wctl_shaping_name_parse(const char *arg, struct wfx_name *n)
{
    size_t len = strlen(arg);
    char *s, *first, *prev, *last;

    memset(n, 0, sizeof *n);
    if (len == 0 || len >= sizeof n->text)
        return name_bad(arg, len == 0 ? "empty" : "too long");
    memcpy(n->text, arg, len + 1);
    s = n->text;
    if (*s == '@') {
        n->domain = 1;
        s++;
    }
    first = strchr(s, '/');
    last = strrchr(s, '/');
    if (first == NULL || first == last || first == s || last[1] == '\0')
        return name_bad(arg, "four parts separated by '/'");
    *last = '\0';
    prev = strrchr(s, '/');
    if (prev == first || prev == first + 1 || prev[-1] == '/' || prev[1] == '\0')
        return name_bad(arg, "four parts separated by '/'");
    *first = *prev = '\0';
    n->scope = s;
    n->subject = first + 1;
    n->provider = prev + 1;
    n->action = last + 1;
    if (n->domain)
        lower(s); /* a pool name keeps its case, as in the key */
    lower(first + 1);
    lower(prev + 1);
    lower(last + 1);
    if (strcmp(n->action, "suspend") != 0 && strcmp(n->action, "slow") != 0 && strcmp(n->action, "hold") != 0)
        return name_bad(arg, "the action is suspend, slow or hold");
    return 0;
}

int wctl_shaping_name_keys(const struct wctl *w, const struct wfx_name *n, char detail[RKEY_MAX], char index[RKEY_MAX],
                           char *field, size_t fieldsize)
{
    int ok;

    if (n->domain)
        ok = rkey_shaping_domain(&w->keys, detail, n->scope, n->subject, n->provider, n->action) > 0 &&
             rkey_shaping_domain_index(&w->keys, index, n->scope) > 0;
    else
        ok = rkey_shaping(&w->keys, detail, n->scope, n->subject, n->provider, n->action) > 0 &&
             rkey_shaping_index(&w->keys, index, n->scope) > 0;
    if (!ok || shaping_index_field(field, fieldsize, n->action, n->subject, n->provider) < 0) {
        wctl_err("an effect name part cannot be part of a Redis key (no spaces or control bytes)");
        return -1;
    }
    return 0;
}

/* ---- reading ---------------------------------------------------------------- */

/* The part of key between "<prefix>fx:{" / "<prefix>fxd:{" and '}' into e->scope; -1 when not such a key. */
static int key_scope(const struct wctl *w, const char *key, struct wfx *e)
{
    const char *p = key + w->keys.prefix_len, *end;

    if (strncmp(key, w->keys.prefix, w->keys.prefix_len) != 0)
        return -1;
    if (strncmp(p, "fx:{", 4) == 0)
        p += 4;
    else if (strncmp(p, "fxd:{", 5) == 0) {
        e->domain = 1;
        p += 5;
    } else
        return -1;
    if ((end = strchr(p, '}')) == NULL || end == p || (size_t)(end - p) > RKEY_VALUE_MAX)
        return -1;
    memcpy(e->scope, p, (size_t)(end - p));
    e->scope[end - p] = '\0';
    return 0;
}

/* Fields of e->h into e; -1 when the hash is not the effect of `key`. */
static int fx_fill(const struct wctl *w, const char *key, struct wfx *e)
{
    char again[RKEY_MAX];
    const redisReply *h = e->h;

    if (key_scope(w, key, e) < 0)
        return -1;
    e->subject = wctl_hash_get(h, "subject");
    e->kind = wctl_hash_get(h, "kind");
    e->provider = wctl_hash_get(h, "provider");
    e->action = wctl_hash_get(h, "action");
    if (e->subject == NULL || e->kind == NULL || e->provider == NULL || e->action == NULL)
        return -1;
    if ((e->domain ? rkey_shaping_domain(&w->keys, again, e->scope, e->kind, e->provider, e->action)
                   : rkey_shaping(&w->keys, again, e->scope, e->subject, e->provider, e->action)) < 0 ||
        strcmp(again, key) != 0)
        return -1;
    snprintf(e->key, sizeof e->key, "%s", key);
    snprintf(e->name, sizeof e->name, "%s%s/%s/%s/%s", e->domain ? "@" : "", e->scope, e->domain ? e->kind : e->subject,
             e->provider, e->action);
    e->rule = wctl_hash_get(h, "rule");
    e->reason = wctl_hash_get(h, "reason");
    e->evidence = wctl_hash_get(h, "evidence");
    e->origin = wctl_hash_get(h, "origin");
    e->queue_id = wctl_hash_get(h, "queue_id");
    e->factor = wctl_hash_get(h, "factor");
    e->extended_by = wctl_hash_get(h, "extended_by");
    e->since = wctl_hash_ll(h, "since", 0);
    e->until = wctl_hash_ll(h, "until", 0);
    e->ends = wctl_hash_ll(h, "ends", e->until);
    e->step = wctl_hash_ll(h, "step", 1);
    e->floor = wctl_hash_ll(h, "floor", 0);
    e->clean = wctl_hash_ll(h, "clean", 0);
    e->base = wctl_hash_ll(h, "base", 0);
    return 0;
}

int wctl_shaping_read(struct wctl *w, const char *key, struct wfx *e)
{
    const char *argv[] = { "HGETALL", key };
    redisReply *h;

    memset(e, 0, sizeof *e);
    if ((h = wctl_cmd(w, 2, argv, NULL)) == NULL)
        return -1;
    e->h = h;
    if (h->type != REDIS_REPLY_ARRAY || h->elements < 2 || fx_fill(w, key, e) < 0) {
        wctl_shaping_fx_free(e);
        return 0;
    }
    return 1;
}

void wctl_shaping_fx_free(struct wfx *e)
{
    redis_reply_free(e->h);
    memset(e, 0, sizeof *e);
}

static int collect_page(struct wctl *w, redisReply **keys, size_t nkeys, void *arg)
{
    struct wfx_list *l = arg;

    for (size_t i = 0; i < nkeys; i++) {
        struct wfx e;
        int dup = 0, rc = wctl_shaping_read(w, keys[i]->str, &e);
        if (rc < 0)
            return -1;
        for (size_t j = 0; rc == 1 && j < l->n && !dup; j++)
            dup = strcmp(l->fx[j].key, e.key) == 0; /* SCAN may repeat a key */
        if (rc == 0 || dup || e.ends <= w->now) {
            wctl_shaping_fx_free(&e);
            continue;
        }
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 8;
            l->fx = xrealloc(l->fx, l->cap * sizeof *l->fx);
        }
        l->fx[l->n++] = e;
    }
    return 0;
}

static int cmp_fx(const void *a, const void *b)
{
    return strcmp(((const struct wfx *)a)->name, ((const struct wfx *)b)->name);
}

int wctl_shaping_collect(struct wctl *w, struct wfx_list *out)
{
    char pat[RKEY_MAX];

    memset(out, 0, sizeof *out);
    for (int domains = 0; domains < 2; domains++) {
        if (rkey_shaping_pattern(&w->keys, pat, domains) < 0 || wctl_scan(w, pat, collect_page, out) < 0) {
            wctl_shaping_free(out);
            return -1;
        }
    }
    if (out->n > 1)
        qsort(out->fx, out->n, sizeof *out->fx, cmp_fx);
    return 0;
}

void wctl_shaping_free(struct wfx_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        wctl_shaping_fx_free(&l->fx[i]);
    free(l->fx);
    memset(l, 0, sizeof *l);
}

/* ---- values ----------------------------------------------------------------- */

/* The stored per-step factor; -1 when it is not a number in (0, 1]. */
static double fx_factor(const struct wfx *e)
{
    char *end;
    double f;

    if (e->factor == NULL || e->factor[0] == '\0')
        return -1;
    f = strtod(e->factor, &end);
    return *end == '\0' && f > 0 && f <= 1 ? f : -1;
}

long long wctl_shaping_limit(const struct wfx *e, long long now)
{
    long long s = e->step;
    double f = fx_factor(e), v = (double)e->base;

    if (strcmp(e->action, "slow") != 0 || f < 0 || now >= e->ends)
        return -1;
    if (now >= e->until) {
        if (e->clean <= 0)
            return -1;
        s = e->step - (now - e->until) / e->clean - 1;
    }
    if (s < 1)
        return -1;
    for (long long i = 0; i < s && i < WFX_STEP_MAX; i++)
        v *= f;
    return (long long)v < e->floor ? e->floor : (long long)v;
}

void wctl_shaping_until_text(const struct wfx *e, long long now, char *out, size_t outsize)
{
    char t[32];
    long long lim = wctl_shaping_limit(e, now);

    wctl_fmt_time(e->until, t);
    if (now >= e->until && lim >= 0)
        snprintf(out, outsize, "%s, ramping, %lld/h now", t, lim);
    else
        snprintf(out, outsize, "%s", t);
}

void wctl_shaping_json(const struct wfx *e, long long now, struct buf *b)
{
    long long lim = wctl_shaping_limit(e, now);
    double f = fx_factor(e);

    buf_append_char(b, '{');
    json_key(b, "name", 1);
    json_cstr(b, e->name);
    json_kstr(b, e->domain ? "domain" : "pool", e->scope);
    json_kstr(b, "subject", e->subject);
    json_kstr(b, "kind", e->kind);
    json_kstr(b, "provider", e->provider);
    json_kstr(b, "action", e->action);
    json_kstr(b, "rule", e->rule);
    json_kll(b, "since", e->since);
    json_kll(b, "until", e->until);
    json_kll(b, "ends", e->ends);
    json_key(b, "ramping", 0);
    buf_append_str(b, now >= e->until && lim >= 0 ? "true" : "false");
    json_key(b, "limit_per_hour", 0);
    if (lim >= 0)
        buf_printf(b, "%lld", lim);
    else
        buf_append_str(b, "null");
    json_key(b, "factor", 0);
    if (f > 0)
        buf_printf(b, "%.6g", f);
    else
        buf_append_str(b, "null");
    json_kll(b, "step", e->step);
    json_kll(b, "floor", e->floor);
    json_kll(b, "clean", e->clean);
    json_kll(b, "base", e->base);
    json_kstr(b, "origin", e->origin);
    json_kstr(b, "evidence", e->evidence);
    json_kstr(b, "queue_id", e->queue_id);
    json_kstr(b, "extended_by", e->extended_by);
    json_kstr(b, "reason", e->reason);
    json_kstr(b, "key", e->key);
    buf_append_char(b, '}');
}
