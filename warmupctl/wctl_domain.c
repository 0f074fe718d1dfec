/*
 * NAME
 *   wctl_domain.c - 24 h complaint rates per sender domain x provider (see
 *   wctl_domain.h).
 *
 * DESCRIPTION
 *   Round trips: the SCAN pages over pf:dh:{*, plus one Lua call per
 *   WCTL_EVAL_MAX keys of the last 24 hours found on a page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "warmup_decide.h"
#include "wctl_domain.h"
#include "wctl_prom.h"
#include "wctl_table.h"
#include "xalloc.h"

/* Per key: sent, complaint, hard, soft (0 when absent). */
static struct redis_script DOMAIN_READ = { "warmupctl_domain_read",
                                           "local out = {}\n"
                                           "for _, k in ipairs(KEYS) do\n"
                                           "  local v = redis.call('HMGET', k, 'sent', 'complaint', 'hard', 'soft')\n"
                                           "  for i = 1, 4 do out[#out + 1] = tonumber(v[i]) or 0 end\n"
                                           "end\n"
                                           "return out\n",
                                           "" };

int wctl_domain_parse_key(const struct rkeys *k, const char *key, size_t len, struct wdom_row *out)
{
    char pat[RKEY_MAX], again[RKEY_MAX];
    int plen = rkey_domain_health_pattern(k, pat); /* "<prefix>dh:{*" */
    if (plen < 2 || len >= RKEY_MAX || memchr(key, '\0', len) != NULL)
        return -1;
    size_t head = (size_t)plen - 1;
    if (len <= head || memcmp(key, pat, head) != 0)
        return -1;
    const char *s = key + head, *end = key + len;
    const char *colon = end; /* the last ':' -> hour */
    while (colon > s && colon[-1] != ':')
        colon--;
    if (colon == s || colon == end)
        return -1;
    const char *pcolon = colon - 1; /* the ':' before the provider */
    while (pcolon > s && pcolon[-1] != ':')
        pcolon--;
    if (pcolon <= s + 1 || pcolon[-2] != '}')
        return -1;
    size_t dlen = (size_t)(pcolon - 2 - s), plen2 = (size_t)(colon - 1 - pcolon);
    if (dlen == 0 || dlen >= sizeof out->domain || plen2 == 0 || plen2 >= sizeof out->provider)
        return -1;
    long long hour = 0;
    for (const char *p = colon; p < end; p++) {
        if (*p < '0' || *p > '9' || hour > 100000000000LL)
            return -1;
        hour = hour * 10 + (*p - '0');
    }
    memset(out, 0, sizeof *out);
    memcpy(out->domain, s, dlen);
    memcpy(out->provider, pcolon, plen2);
    out->hour = hour;
    int n = rkey_domain_health(k, again, out->domain, out->provider, hour);
    if (n < 0 || (size_t)n != len || memcmp(again, key, len) != 0)
        return -1;
    return 0;
}

enum wdom_level wctl_domain_level(long long complaints, long long sent)
{
    if (sent <= 0)
        return WDOM_NO_SENT;
    if (complaints < 0)
        complaints = 0;
    /* complaints / sent >= t / 10000, in integers (counts stay far below 2^63 / 10^4) */
    if (complaints * 10000 >= sent * WDOM_OVER_PER_10000)
        return WDOM_OVER;
    if (complaints * 10000 >= sent * WDOM_WARN_PER_10000)
        return WDOM_WARN;
    return WDOM_OK;
}

const char *wctl_domain_level_name(enum wdom_level level)
{
    switch (level) {
    case WDOM_OK: return "ok";
    case WDOM_WARN: return "warn";
    case WDOM_OVER: return "over";
    default: return "-";
    }
}

void wctl_domain_add(struct wdom_list *l, const struct wdom_row *r)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->rows = xrealloc(l->rows, l->cap * sizeof *l->rows);
    }
    l->rows[l->n++] = *r;
}

static int cmp_row(const void *a, const void *b)
{
    const struct wdom_row *x = a, *y = b;
    int c = strcmp(x->domain, y->domain);
    if (c == 0)
        c = strcmp(x->provider, y->provider);
    if (c == 0)
        c = x->hour < y->hour ? -1 : x->hour > y->hour;
    return c;
}

void wctl_domain_merge(struct wdom_list *l)
{
    if (l->n == 0)
        return;
    qsort(l->rows, l->n, sizeof *l->rows, cmp_row);
    size_t out = 0;
    for (size_t i = 0; i < l->n; i++) {
        struct wdom_row *r = &l->rows[i];
        if (i > 0 && cmp_row(r, &l->rows[i - 1]) == 0)
            continue; /* the same key twice */
        struct wdom_row *o = out > 0 ? &l->rows[out - 1] : NULL;
        if (o != NULL && strcmp(o->domain, r->domain) == 0 && strcmp(o->provider, r->provider) == 0) {
            o->sent += r->sent;
            o->complaint += r->complaint;
            o->hard += r->hard;
            o->soft += r->soft;
            o->hour = r->hour;
        } else {
            l->rows[out++] = *r;
        }
    }
    l->n = out;
}

void wctl_domain_free(struct wdom_list *l)
{
    free(l->rows);
    memset(l, 0, sizeof *l);
}

/* ---- reading --------------------------------------------------------------- */

struct domain_scan {
    struct wdom_list *l;
    long long first, last; /* hours kept */
};

static int read_chunk(struct wctl *w, struct wdom_row *rows, const char **keys, int n, struct wdom_list *l)
{
    redisReply *r = wctl_eval(w, &DOMAIN_READ, n, keys, 0, NULL);
    if (r == NULL)
        return -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)n * 4)
        for (int i = 0; i < n; i++) {
            long long v[4];
            for (int j = 0; j < 4; j++) {
                const redisReply *e = r->element[i * 4 + j];
                v[j] = e->type == REDIS_REPLY_INTEGER && e->integer > 0 ? e->integer : 0;
            }
            rows[i].sent = v[0];
            rows[i].complaint = v[1];
            rows[i].hard = v[2];
            rows[i].soft = v[3];
            wctl_domain_add(l, &rows[i]);
        }
    redis_reply_free(r);
    return 0;
}

static int domain_page(struct wctl *w, redisReply **keys, size_t nkeys, void *arg)
{
    struct domain_scan *s = arg;
    struct wdom_row rows[WCTL_EVAL_MAX];
    const char *kv[WCTL_EVAL_MAX];
    int n = 0;
    for (size_t i = 0; i < nkeys; i++) {
        if (wctl_domain_parse_key(&w->keys, keys[i]->str, keys[i]->len, &rows[n]) != 0 || rows[n].hour < s->first ||
            rows[n].hour > s->last)
            continue;
        kv[n] = keys[i]->str;
        if (++n == WCTL_EVAL_MAX) {
            if (read_chunk(w, rows, kv, n, s->l) < 0)
                return -1;
            n = 0;
        }
    }
    return n > 0 ? read_chunk(w, rows, kv, n, s->l) : 0;
}

int wctl_domain_collect(struct wctl *w, struct wdom_list *out)
{
    char pat[RKEY_MAX];
    memset(out, 0, sizeof *out);
    if (rkey_domain_health_pattern(&w->keys, pat) < 0)
        return 0;
    long long hour = warmup_hour(w->now);
    struct domain_scan s = { out, hour - 23, hour };
    if (wctl_scan(w, pat, domain_page, &s) < 0) {
        wctl_domain_free(out);
        return -1;
    }
    wctl_domain_merge(out);
    return 0;
}

/* ---- rendering ------------------------------------------------------------- */

static void percent(long long part, long long whole, char out[32])
{
    if (whole > 0)
        snprintf(out, 32, "%.2f", (double)part * 100.0 / (double)whole);
    else
        snprintf(out, 32, "-");
}

void wctl_domain_render_table(const struct wdom_list *l, struct buf *b)
{
    static const char *const heads[] = { "DOMAIN", "PROVIDER", "SENT24H", "COMPLAINTS", "COMPL%", "LEVEL" };
    struct wtable t;
    if (l->n == 0)
        return;
    wctl_table_init(&t, 6, heads, 0x1Cu);
    for (size_t i = 0; i < l->n; i++) {
        const struct wdom_row *r = &l->rows[i];
        char sent[32], compl [32], rate[32];
        snprintf(sent, sizeof sent, "%lld", r->sent);
        snprintf(compl, sizeof compl, "%lld", r->complaint);
        percent(r->complaint, r->sent, rate);
        const char *cols[6] = {
            r->domain, r->provider, sent, compl, rate, wctl_domain_level_name(wctl_domain_level(r->complaint, r->sent))
        };
        wctl_table_add(&t, cols);
    }
    buf_append_str(b, "\nsender domains, last 24 h (complaint rate: warn at 0.1 %, over at 0.3 %)\n");
    wctl_table_render(&t, b);
    wctl_table_free(&t);
}

void wctl_domain_render_json(const struct wdom_list *l, struct buf *b)
{
    buf_append_str(b, "\"domains\":[");
    for (size_t i = 0; i < l->n; i++) {
        const struct wdom_row *r = &l->rows[i];
        if (i > 0)
            buf_append_char(b, ',');
        buf_append_char(b, '{');
        json_key(b, "domain", 1);
        json_cstr(b, r->domain);
        json_key(b, "provider", 0);
        json_cstr(b, r->provider);
        buf_printf(b, ",\"sent_24h\":%lld,\"complaints_24h\":%lld,\"hard_24h\":%lld,\"soft_24h\":%lld", r->sent,
                   r->complaint, r->hard, r->soft);
        json_key(b, "complaint_rate", 0);
        if (r->sent > 0)
            buf_printf(b, "%.6f", (double)r->complaint / (double)r->sent);
        else
            buf_append_str(b, "null");
        json_key(b, "level", 0);
        enum wdom_level lv = wctl_domain_level(r->complaint, r->sent);
        json_cstr(b, lv == WDOM_NO_SENT ? NULL : wctl_domain_level_name(lv));
        buf_append_char(b, '}');
    }
    buf_append_char(b, ']');
}

void wctl_domain_render_prom(const struct wdom_list *l, struct buf *b)
{
    static const struct {
        const char *name, *help;
    } fam[] = {
        { "postflow_domain_sent_24h", "recipients sent for the sender domain in the last 24 hours (policyd-warmup)" },
        { "postflow_domain_complaints_24h", "complaints about the sender domain's mail in the last 24 hours "
                                            "(fbl-proc; keep below 0.1 % of sent, never 0.3 %)" },
    };
    if (l->n == 0)
        return;
    for (size_t f = 0; f < 2; f++) {
        wctl_prom_family(b, fam[f].name, "gauge", fam[f].help);
        for (size_t i = 0; i < l->n; i++) {
            const struct wdom_row *r = &l->rows[i];
            struct wprom_label lab[2] = { { "domain", r->domain }, { "provider", r->provider } };
            wctl_prom_sample_ll(b, fam[f].name, lab, 2, f == 0 ? r->sent : r->complaint);
        }
    }
}
