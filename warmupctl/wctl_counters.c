/*
 * NAME
 *   wctl_counters.c - `warmupctl counters [PATTERN] [--limit N] [--json]`:
 *   raw keys and values under the postflow prefix.
 *
 * DESCRIPTION
 *   PATTERN is a Redis glob matched after the prefix (default "*"), e.g.
 *   `warmupctl counters 'day:*'` or `'rl:{*'`.  Without a PATTERN the
 *   suppression entries are left out (there may be millions; `suppress
 *   list` shows them).  Each SCAN page is read with one Lua call that
 *   returns, per key, its type, TTL and value: hash fields, string, set
 *   members, list items, sorted-set members with scores, or a stream's
 *   length.  Keys are printed sorted within the output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "text_safe.h"
#include "wctl_cmds.h"
#include "wctl_table.h"
#include "wctl_suppress.h"
#include "xalloc.h"

#define PATTERN_MAX 256

static struct redis_script DUMP = { "warmupctl_dump",
                                    "local out = {}\n"
                                    "for i, k in ipairs(KEYS) do\n"
                                    "  local t = redis.call('TYPE', k)['ok']\n"
                                    "  local v\n"
                                    "  if t == 'hash' then v = redis.call('HGETALL', k)\n"
                                    "  elseif t == 'string' then v = {redis.call('GET', k)}\n"
                                    "  elseif t == 'set' then v = redis.call('SMEMBERS', k)\n"
                                    "  elseif t == 'list' then v = redis.call('LRANGE', k, 0, -1)\n"
                                    "  elseif t == 'zset' then v = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')\n"
                                    "  elseif t == 'stream' then v = {tostring(redis.call('XLEN', k))}\n"
                                    "  else v = {} end\n"
                                    "  out[i] = {k, t, redis.call('TTL', k), v}\n"
                                    "end\n"
                                    "return out\n",
                                    "" };

struct dumped {
    char *key, *type; /* owned */
    long long ttl;
    size_t n;
    char **v; /* owned: n strings */
};

struct dump_ctx {
    struct dumped *d;
    size_t n, cap;
    long long limit;
    int all; /* no pattern: skip suppression entries */
};

/* Dumps up to WCTL_EVAL_MAX keys of a page. */
static int dump_chunk(struct wctl *w, const char **kv, size_t nk, struct dump_ctx *c)
{
    redisReply *r = wctl_eval(w, &DUMP, (int)nk, kv, 0, NULL);

    if (r == NULL)
        return -1;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        struct dumped *d;
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 4 || e->element[1]->type != REDIS_REPLY_STRING ||
            strcmp(e->element[1]->str, "none") == 0)
            continue; /* expired since SCAN */
        if (c->limit > 0 && (long long)c->n >= c->limit)
            break;
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 64;
            c->d = xrealloc(c->d, c->cap * sizeof *c->d);
        }
        d = &c->d[c->n++];
        d->key = xstrndup(e->element[0]->str, e->element[0]->len);
        d->type = xstrdup(e->element[1]->str);
        d->ttl = e->element[2]->type == REDIS_REPLY_INTEGER ? e->element[2]->integer : -1;
        d->n = e->element[3]->type == REDIS_REPLY_ARRAY ? e->element[3]->elements : 0;
        d->v = xcalloc(d->n + 1, sizeof(char *));
        for (size_t j = 0; j < d->n; j++) {
            const redisReply *x = e->element[3]->element[j];
            d->v[j] = x->type == REDIS_REPLY_STRING ? xstrndup(x->str, x->len) : xstrdup("");
        }
    }
    redis_reply_free(r);
    return c->limit > 0 && (long long)c->n >= c->limit ? 1 : 0;
}

static int dump_page(struct wctl *w, redisReply **keys, size_t nkeys, void *arg)
{
    struct dump_ctx *c = arg;
    const char *kv[WCTL_EVAL_MAX];
    size_t nk = 0;
    int rc = 0;

    for (size_t i = 0; i < nkeys && rc == 0; i++) {
        char addr[WCTL_ADDR_MAX + 1];
        if (c->all && wctl_suppress_addr_from_key(w, keys[i]->str, keys[i]->len, addr) == 0)
            continue;
        kv[nk++] = keys[i]->str;
        if (nk == WCTL_EVAL_MAX) {
            rc = dump_chunk(w, kv, nk, c);
            nk = 0;
        }
    }
    if (rc == 0 && nk > 0)
        rc = dump_chunk(w, kv, nk, c);
    return rc;
}

static int cmp_dumped(const void *a, const void *b)
{
    return strcmp(((const struct dumped *)a)->key, ((const struct dumped *)b)->key);
}

static void render_text(const struct dumped *d, struct buf *b)
{
    char safe[WCTL_SAFE_MAX];
    int pairs = strcmp(d->type, "hash") == 0 || strcmp(d->type, "zset") == 0;

    text_safe(safe, sizeof safe, d->key, strlen(d->key));
    buf_printf(b, "%s  %s", safe, d->type);
    if (d->ttl >= 0)
        buf_printf(b, "  ttl=%lld", d->ttl);
    if (strcmp(d->type, "string") == 0 && d->n == 1) {
        text_safe(safe, sizeof safe, d->v[0], strlen(d->v[0]));
        buf_printf(b, "  %s\n", safe);
        return;
    }
    if (strcmp(d->type, "stream") == 0 && d->n == 1) {
        buf_printf(b, "  %s entries\n", d->v[0]);
        return;
    }
    buf_append_char(b, '\n');
    for (size_t j = 0; j < d->n; j += pairs ? 2 : 1) {
        text_safe(safe, sizeof safe, d->v[j], strlen(d->v[j]));
        buf_printf(b, "    %s", safe);
        if (pairs && j + 1 < d->n) {
            text_safe(safe, sizeof safe, d->v[j + 1], strlen(d->v[j + 1]));
            buf_printf(b, " = %s", safe);
        }
        buf_append_char(b, '\n');
    }
}

static void render_json(const struct dumped *d, struct buf *b)
{
    buf_append_str(b, "{\"key\":");
    json_cstr(b, d->key);
    buf_append_str(b, ",\"type\":");
    json_cstr(b, d->type);
    buf_printf(b, ",\"ttl\":%lld,\"value\":", d->ttl);
    if (strcmp(d->type, "hash") == 0) {
        buf_append_char(b, '{');
        for (size_t j = 0; j + 1 < d->n; j += 2) {
            json_key(b, d->v[j], j == 0);
            json_cstr(b, d->v[j + 1]);
        }
        buf_append_char(b, '}');
    } else if (strcmp(d->type, "string") == 0 && d->n == 1) {
        json_cstr(b, d->v[0]);
    } else if (strcmp(d->type, "stream") == 0 && d->n == 1) {
        buf_printf(b, "{\"length\":%s}", d->v[0]);
    } else {
        buf_append_char(b, '[');
        for (size_t j = 0; j < d->n; j++) {
            if (j > 0)
                buf_append_char(b, ',');
            json_cstr(b, d->v[j]);
        }
        buf_append_char(b, ']');
    }
    buf_append_char(b, '}');
}

int wctl_counters_cmd(struct wctl *w, const struct wctl_args *a)
{
    const char *glob = a->npos > 1 ? a->pos[1] : "*";
    char pat[2 * RKEY_PREFIX_MAX + PATTERN_MAX + 1];
    struct dump_ctx c;
    size_t gl = strlen(glob);
    int rc;

    if (gl == 0 || gl > PATTERN_MAX) {
        wctl_err("PATTERN must be 1 to %d bytes", PATTERN_MAX);
        return PF_EXIT_USAGE;
    }
    for (size_t i = 0; i < gl; i++)
        if ((unsigned char)glob[i] <= 0x20 || glob[i] == 0x7f) {
            wctl_err("PATTERN contains a space or control byte");
            return PF_EXIT_USAGE;
        }
    /* The operator's glob under our prefix, never outside it: the prefix's own glob bytes are escaped. */
    {
        size_t n = 0;
        for (const char *p = w->keys.prefix; *p != '\0'; p++) {
            if (strchr("*?[]\\", *p) != NULL)
                pat[n++] = '\\';
            pat[n++] = *p;
        }
        snprintf(pat + n, sizeof pat - n, "%s", glob);
    }
    memset(&c, 0, sizeof c);
    c.limit = a->limit;
    c.all = a->npos <= 1;
    rc = wctl_scan(w, pat, dump_page, &c);
    if (rc == 0) {
        if (c.n > 1)
            qsort(c.d, c.n, sizeof *c.d, cmp_dumped);
        if (w->json)
            buf_append_char(&w->out, '[');
        for (size_t i = 0; i < c.n; i++) {
            if (w->json) {
                if (i > 0)
                    buf_append_char(&w->out, ',');
                render_json(&c.d[i], &w->out);
            } else {
                render_text(&c.d[i], &w->out);
            }
        }
        if (w->json)
            buf_append_str(&w->out, "]\n");
    }
    for (size_t i = 0; i < c.n; i++) {
        for (size_t j = 0; j < c.d[i].n; j++)
            free(c.d[i].v[j]);
        free(c.d[i].v);
        free(c.d[i].key);
        free(c.d[i].type);
    }
    free(c.d);
    if (rc < 0)
        return w->status ? w->status : PF_EXIT_FAILURE;
    return PF_EXIT_OK;
}
