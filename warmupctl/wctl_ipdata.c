/*
 * NAME
 *   wctl_ipdata.c - reads the IP warm-up data of status/metrics from Redis
 *   (see wctl_ipdata.h).
 *
 * DESCRIPTION
 *   Round trips: 1 (pools) + 1 per pool + per IP (1 state + 1 day + 1 per
 *   provider).  The hourly health hashes are summed in Lua so that 24 keys
 *   cost one round trip.  Hours and day are those of w->now (UTC).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "provider.h"
#include "warmup_decide.h"
#include "warmup_model.h"
#include "wctl_ipdata.h"
#include "xalloc.h"

static struct redis_script HEALTH_SUM = { "warmupctl_health_sum",
                                          "local sums = {}\n"
                                          "for i = 1, #ARGV do sums[i] = 0 end\n"
                                          "for _, k in ipairs(KEYS) do\n"
                                          "  local v = redis.call('HMGET', k, unpack(ARGV))\n"
                                          "  for i = 1, #ARGV do sums[i] = sums[i] + (tonumber(v[i]) or 0) end\n"
                                          "end\n"
                                          "return sums\n",
                                          "" };

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_row(const void *a, const void *b)
{
    const struct wip_row *x = a, *y = b;
    int c = strcmp(x->pool, y->pool);
    return c != 0 ? c : strcmp(x->ip, y->ip);
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? xstrdup(s) : NULL;
}

static int read_state(struct wctl *w, struct wip_row *r)
{
    char key[RKEY_MAX];
    const char *argv[] = { "HGETALL", key };
    redisReply *h;

    if (rkey_ip_state(&w->keys, key, r->pool, r->ip) < 0)
        return 0; /* a name the schema refuses: show as new */
    if ((h = wctl_cmd(w, 2, argv, NULL)) == NULL)
        return -1;
    r->has_state = h->type == REDIS_REPLY_ARRAY && h->elements > 0;
    r->stage = wctl_hash_ll(h, "stage", 0);
    r->paused = wctl_hash_ll(h, "paused", 0) == 1;
    r->paused_reason = dup_or_null(wctl_hash_get(h, "paused_reason"));
    r->paused_at = wctl_hash_ll(h, "paused_at", 0);
    r->schedule = dup_or_null(wctl_hash_get(h, "schedule"));
    r->start = (long)wctl_hash_ll(h, "start", 0);
    r->stage_since = (long)wctl_hash_ll(h, "stage_since", 0);
    r->last_eval = (long)wctl_hash_ll(h, "last_eval", 0);
    redis_reply_free(h);
    return 0;
}

static int read_day(struct wctl *w, struct wip_row *r, long day)
{
    char key[RKEY_MAX];
    const char *argv[] = { "HMGET", key, "all", "msgs" };
    redisReply *h;

    if (rkey_ip_day(&w->keys, key, r->pool, r->ip, day) < 0)
        return 0;
    if ((h = wctl_cmd(w, 4, argv, NULL)) == NULL)
        return -1;
    if (h->type == REDIS_REPLY_ARRAY && h->elements == 2) {
        if (h->element[0]->type == REDIS_REPLY_STRING)
            r->used = strtoll(h->element[0]->str, NULL, 10);
        if (h->element[1]->type == REDIS_REPLY_STRING)
            r->msgs = strtoll(h->element[1]->str, NULL, 10);
    }
    redis_reply_free(h);
    return 0;
}

static int read_health(struct wctl *w, struct wip_row *r)
{
    static const char *fields[] = { "sent", "hard", "soft", "complaint", "delivered", "deferred", "rejected" };
    long long hour = warmup_hour(w->now);
    const struct provider_map *pm = w->model->providers;
    size_t np = provider_count(pm);

    for (size_t p = 0; p < np && r->nprov < WCTL_MAX_PROVIDERS; p++) {
        const char *pname = provider_name(pm, p);
        char keys[24][RKEY_MAX];
        const char *kv[24];
        struct wip_health *hp;
        redisReply *s;
        int nk = 0;

        for (int i = 0; i < 24; i++)
            if (rkey_health(&w->keys, keys[nk], r->pool, r->ip, pname, hour - i) >= 0) {
                kv[nk] = keys[nk];
                nk++;
            }
        if (nk == 0)
            continue;
        if ((s = wctl_eval(w, &HEALTH_SUM, nk, kv, 7, fields)) == NULL)
            return -1;
        hp = &r->prov[r->nprov++];
        memset(hp, 0, sizeof *hp);
        snprintf(hp->provider, sizeof hp->provider, "%s", pname);
        if (s->type == REDIS_REPLY_ARRAY && s->elements == 7) {
            long long v[7];
            for (int i = 0; i < 7; i++)
                v[i] = s->element[i]->type == REDIS_REPLY_INTEGER ? s->element[i]->integer : 0;
            hp->sent = v[0];
            hp->hard = v[1];
            hp->soft = v[2];
            hp->complaint = v[3];
            hp->delivered = v[4];
            hp->deferred = v[5];
            hp->rejected = v[6];
        }
        redis_reply_free(s);
        r->sent24 += hp->sent;
        r->hard24 += hp->hard;
        r->soft24 += hp->soft;
        r->complaint24 += hp->complaint;
        r->delivered24 += hp->delivered;
        r->deferred24 += hp->deferred;
        r->rejected24 += hp->rejected;
    }
    return 0;
}

static void row_add(struct wip_list *l, size_t *cap, const char *pool, const char *ip, const char *transport)
{
    struct wip_row *r;

    if (l->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        l->rows = xrealloc(l->rows, *cap * sizeof *l->rows);
    }
    r = &l->rows[l->n++];
    memset(r, 0, sizeof *r);
    r->pool = xstrdup(pool);
    r->ip = xstrdup(ip);
    r->transport = transport != NULL ? xstrdup(transport) : NULL;
}

static int add_pool(struct wctl *w, struct wip_list *l, size_t *cap, const char *pool)
{
    char key[RKEY_MAX];
    const char *argv[] = { "HGETALL", key };
    redisReply *h;

    if (rkey_pool(&w->keys, key, pool) < 0)
        return 0;
    if ((h = wctl_cmd(w, 2, argv, NULL)) == NULL)
        return -1;
    for (size_t i = 0; h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2) {
        if (h->element[i]->type != REDIS_REPLY_STRING)
            continue;
        row_add(l, cap, pool, h->element[i]->str,
                h->element[i + 1]->type == REDIS_REPLY_STRING ? h->element[i + 1]->str : NULL);
    }
    redis_reply_free(h);
    return 0;
}

int wctl_ipdata_collect(struct wctl *w, struct wip_list *l)
{
    char key[RKEY_MAX];
    const char *argv[] = { "SMEMBERS", key };
    redisReply *pools;
    const char **names;
    size_t cap = 0, np;

    memset(l, 0, sizeof *l);
    l->now = w->now;
    l->day = wctl_day(w->now);
    rkey_pools(&w->keys, key);
    if ((pools = wctl_cmd(w, 2, argv, NULL)) == NULL)
        return -1;
    np = pools->type == REDIS_REPLY_ARRAY ? pools->elements : 0;
    names = xcalloc(np + 1, sizeof *names);
    for (size_t i = 0; i < np; i++)
        names[i] = pools->element[i]->type == REDIS_REPLY_STRING ? pools->element[i]->str : "";
    qsort(names, np, sizeof *names, cmp_str);
    for (size_t i = 0; i < np; i++)
        if (names[i][0] != '\0' && add_pool(w, l, &cap, names[i]) < 0)
            goto fail;
    free(names);
    names = NULL;
    redis_reply_free(pools);
    pools = NULL;
    wctl_plan_add_configured(w, l, &cap, row_add);
    if (l->n > 1)
        qsort(l->rows, l->n, sizeof *l->rows, cmp_row);
    for (size_t i = 0; i < l->n; i++) {
        struct wip_row *r = &l->rows[i];
        if (read_state(w, r) < 0 || read_day(w, r, l->day) < 0 || read_health(w, r) < 0)
            goto fail;
        wctl_plan_cap(w, r);
    }
    return 0;
fail:
    free(names);
    redis_reply_free(pools);
    wctl_ipdata_free(l);
    return -1;
}

void wctl_ipdata_free(struct wip_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->rows[i].pool);
        free(l->rows[i].ip);
        free(l->rows[i].transport);
        free(l->rows[i].paused_reason);
        free(l->rows[i].schedule);
    }
    free(l->rows);
    memset(l, 0, sizeof *l);
}

const char *wctl_ipdata_state(const struct wip_row *r)
{
    if (r->paused)
        return "paused";
    if (r->cap == WIP_CAP_UNLIMITED)
        return "warm";
    if (!r->has_state)
        return "new";
    return "warming";
}
