/*
 * NAME
 *   warmup_job_call.c - the warm-up job's script calls (see warmup_job_call.h).
 */
#include "warmup_job_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "argvec.h"
#include "log.h"
#include "policy_runtime.h"
#include "redis_async.h"
#include "warmup_decide.h"
#include "xalloc.h"

struct job_call *warmup_call_new(struct warmup_job *job, size_t pool, size_t ip)
{
    struct job_call *c = xcalloc(1, sizeof *c);
    c->job = job;
    c->gen = job->gen;
    c->pool = pool;
    c->ip = ip;
    return c;
}

void warmup_call_free(struct job_call *c)
{
    argvec_free(&c->kv);
    argvec_free(&c->av);
    free(c);
}

/*
 * A call about IP `ip` of pool `p` whose KEYS start with the IP's state key,
 * then (with_events) pf:events.  Owned by the caller until warmup_call_send().
 */
struct job_call *warmup_call_for_ip(struct warmup_job *job, size_t p, size_t ip, int with_events)
{
    const struct policy_runtime *rt = job->rt;
    const struct wm_pool *pool = &rt->model.pools[p];
    char key[RKEY_MAX];
    struct job_call *c = warmup_call_new(job, p, ip);
    rkey_ip_state(&rt->keys, key, pool->name, pool->ips[ip].address);
    argvec_add_str(&c->kv, key);
    if (with_events) {
        rkey_events(&rt->keys, key);
        argvec_add_str(&c->kv, key);
    }
    return c;
}

/*
 * Appends the IP's hourly health keys for hours [first, first + 24), every
 * provider (provider after provider, in map order), to c's KEYS, and the
 * number of keys per provider (24) to its ARGV; with hour_args, each key's
 * hour to its ARGV too.
 */
void warmup_call_health_keys(struct job_call *c, long long first, int hour_args)
{
    const struct policy_runtime *rt = c->job->rt;
    const struct wm_pool *pool = &rt->model.pools[c->pool];
    char key[RKEY_MAX];
    argvec_add_ll(&c->av, HEALTH_HOURS);
    for (size_t pr = 0; pr < provider_count(rt->model.providers); pr++)
        for (long long h = first; h < first + HEALTH_HOURS; h++) {
            rkey_health(&rt->keys, key, pool->name, pool->ips[c->ip].address, provider_name(rt->model.providers, pr),
                        h);
            argvec_add_str(&c->kv, key);
            if (hour_args)
                argvec_add_ll(&c->av, h);
        }
}

int warmup_call_send(struct job_call *c, const struct redis_script *s, aredis_cb cb)
{
    char *const *keys = argvec_seal(&c->kv), *const *args = argvec_seal(&c->av);
    if (aredis_eval(c->job->redis, s, c->kv.n, keys, c->kv.len, c->av.n, args, c->av.len, cb, c) < 0) {
        warmup_call_free(c);
        return -1;
    }
    return 0;
}

long long warmup_job_now(const struct warmup_job *job)
{
    return policy_runtime_now(job->rt, (long long)time(NULL));
}

const char *warmup_reply_str(const redisReply *r, size_t i)
{
    return i < r->elements && r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "";
}

long long warmup_reply_ll(const redisReply *r, size_t i)
{
    return strtoll(warmup_reply_str(r, i), NULL, 10);
}

/*
 * The per-provider counters of a fetch or watch reply: `width` numbers per
 * provider from element `first` (4: sent, hard, soft, complaint; 2: sent,
 * complaint).  The reply was checked to have them all.
 */
void warmup_reply_counts(const struct policy_runtime *rt, const redisReply *r, size_t first, size_t width,
                         struct wm_ip_counts *out)
{
    memset(out, 0, sizeof *out);
    out->nproviders = provider_count(rt->model.providers);
    for (size_t p = 0; p < out->nproviders && p < PROVIDER_MAX; p++) {
        size_t at = first + p * width;
        struct wm_day_counts *d = &out->provider[p];
        out->name[p] = provider_name(rt->model.providers, p);
        d->sent = warmup_reply_ll(r, at);
        if (width == 4) {
            d->hard = warmup_reply_ll(r, at + 1);
            d->soft = warmup_reply_ll(r, at + 2);
            d->complaint = warmup_reply_ll(r, at + 3);
        } else {
            d->complaint = warmup_reply_ll(r, at + 1);
        }
    }
}
