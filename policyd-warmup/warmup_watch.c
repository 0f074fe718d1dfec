/*
 * NAME
 *   warmup_watch.c - the rolling complaint watch (see warmup_watch.h).
 */
#include "warmup_watch.h"

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
#include "warmup_job_scripts.h"

/* ---- the rolling complaint watch ------------------------------------------ */

static void on_paused(void *priv, const redisReply *reply)
{
    struct job_call *c = priv;
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
        log_error("redis: pausing an IP failed: %s", reply->str);
    warmup_call_free(c);
}

/* Pauses the IP at once when the watched hours have complaints over the limit. */
static void watch_ip(struct job_call *c, const redisReply *r)
{
    struct warmup_job *job = c->job;
    const struct policy_runtime *rt = job->rt;
    const struct wm_pool *pool = &rt->model.pools[c->pool];
    const struct wm_ip *ip = &pool->ips[c->ip];
    struct wm_ip_counts counts;
    warmup_reply_counts(rt, r, 1, 2, &counts);
    char reason[240], why[200];
    if (!warmup_complaints_over(&rt->model.health, &counts, why, sizeof why))
        return;
    snprintf(reason, sizeof reason, "%s in the last 24 h", why);
    long long now = warmup_job_now(job);
    struct job_call *a = warmup_call_for_ip(job, c->pool, c->ip, 1);
    argvec_add_str(&a->av, reason);
    argvec_add_ll(&a->av, now);
    argvec_add_str(&a->av, rt->node);
    argvec_add_str(&a->av, pool->name);
    argvec_add_str(&a->av, ip->address);
    argvec_add_str(&a->av, warmup_reply_str(r, 0));
    log_notice("warm-up %s/%s: pause (%s)", pool->name, ip->address, reason);
    warmup_call_send(a, &job->pause, on_paused);
}

static void on_watched(void *priv, const redisReply *reply)
{
    struct job_call *c = priv;
    if (c->gen == c->job->gen && reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
        reply->elements == 1 + 2 * provider_count(c->job->rt->model.providers))
        watch_ip(c, reply);
    else if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
        log_error("redis: reading warm-up complaints failed: %s", reply->str);
    warmup_call_free(c);
}

/*
 * Between daily evaluations: the complaints of the last 24 hours of every IP
 * that is not paused (one script call per IP).  Complaints are what ruins an
 * IP's reputation fastest, so they stop it the same hour, not the next day.
 */
void warmup_watch_run(struct warmup_job *job)
{
    const struct policy_runtime *rt = job->rt;
    long long now_hour = warmup_hour(warmup_job_now(job));
    for (size_t p = 0; p < rt->model.npools; p++) {
        const struct wm_pool *pool = &rt->model.pools[p];
        for (size_t i = 0; i < pool->nips; i++) {
            struct job_call *c = warmup_call_for_ip(job, p, i, 0);
            warmup_call_health_keys(c, now_hour - (HEALTH_HOURS - 1), 1);
            if (warmup_call_send(c, &job->watch, on_watched) < 0)
                return; /* Redis unavailable: next tick */
        }
    }
}
