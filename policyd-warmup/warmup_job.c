/*
 * NAME
 *   warmup_job.c - the timer, pool registration and the daily health
 *   evaluation (the complaint watch is warmup_watch.c, the script calls
 *   warmup_job_call.c).
 *
 * DESCRIPTION
 *   See warmup_job.h.  Every script call owns a `struct job_call` (its
 *   KEYS/ARGV strings and what it is about) until its callback.  A
 *   generation number tells callbacks of a previous configuration to do
 *   nothing: after a reload pool and IP indices may mean something else.
 */
#include "warmup_job.h"

#include "shaping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "argvec.h"
#include "log.h"
#include "policy_runtime.h"
#include "redis_async.h"
#include "warmup_decide.h"
#include "warmup_job_call.h"
#include "warmup_job_scripts.h"
#include "warmup_watch.h"
#include "xalloc.h"

/*
 * Appends the shaping indexes a hold may sit in (the pool's, then one per
 * sender domain of the pool) to c's KEYS; their count, now, the IP and its
 * netblock to its ARGV (after the health keys' count: the fetch layout).
 */
static void push_shaping_keys(struct job_call *c, long long now)
{
    const struct policy_runtime *rt = c->job->rt;
    const struct wm_pool *pool = &rt->model.pools[c->pool];
    char key[RKEY_MAX], netblock[SHAPING_NETBLOCK_MAX];
    long long n = 0;
    if (rkey_shaping_index(&rt->keys, key, pool->name) > 0) {
        argvec_add_str(&c->kv, key);
        n++;
        for (size_t d = 0; d < pool->ndomains; d++)
            if (rkey_shaping_domain_index(&rt->keys, key, pool->domains[d]) > 0) {
                argvec_add_str(&c->kv, key);
                n++;
            }
    }
    const char *ip = pool->ips[c->ip].address;
    shaping_netblock(ip, strlen(ip), netblock, sizeof netblock);
    argvec_add_ll(&c->av, n);
    argvec_add_ll(&c->av, now);
    argvec_add_str(&c->av, ip);
    argvec_add_str(&c->av, netblock);
}

/* Index of (pool, ip) in done_day. */
static size_t ip_slot(const struct warmup_job *job, size_t pool, size_t ip)
{
    size_t n = 0;
    for (size_t p = 0; p < pool; p++)
        n += job->rt->model.pools[p].nips;
    return n + ip;
}

/* ---- registration -------------------------------------------------------- */

/*
 * One registration answer: "kept", "new" or "lost:EVIDENCE" per IP of the
 * pool.  A lost state is the sign of a Redis that lost data (no persistence,
 * eviction, FLUSHALL, failover to an empty replica): the IP starts over at
 * stage 0, unpaused, so the operator must hear about it.
 */
static void registered_pool(struct warmup_job *job, size_t p, const redisReply *reply)
{
    const struct wm_pool *pool = &job->rt->model.pools[p];
    long long fresh = 0;
    for (size_t i = 0; i < pool->nips && i < reply->elements; i++) {
        const char *what = warmup_reply_str(reply, i);
        size_t slot = ip_slot(job, p, i);
        if (slot < job->ndone)
            job->seen[slot] = 1;
        if (strcmp(what, "new") == 0)
            fresh++;
        else if (strncmp(what, "lost:", 5) == 0)
            log_warning("pool %s: IP %s had warm-up state (known from %s) but Redis has none now: re-created at "
                        "stage 0, not paused; Redis lost data? (see Redis persistence in docs/policyd-warmup.md)",
                        pool->name, pool->ips[i].address, what + 5);
    }
    if (fresh > 0)
        log_notice("pool %s: %lld new IP(s) start warming up at stage 0", pool->name, fresh);
}

static void on_registered(void *priv, const redisReply *reply)
{
    struct job_call *c = priv;
    struct warmup_job *job = c->job;
    if (c->gen == job->gen) {
        if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
            if (reply != NULL) /* tried again at the next tick */
                log_error("redis: registering pool %s failed: %s", job->rt->model.pools[c->pool].name, reply->str);
        } else if (reply->type == REDIS_REPLY_ARRAY) {
            registered_pool(job, c->pool, reply);
        }
    }
    warmup_call_free(c);
}

/* "100,500,2000" for a schedule, "" for none. */
static void caps_text(const struct wm_schedule *s, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; s != NULL && i < s->ncaps && len < n; i++) {
        int w = snprintf(out + len, n - len, "%s%lld", i ? "," : "", s->caps[i]);
        if (w < 0 || (size_t)w >= n - len)
            break;
        len += (size_t)w;
    }
}

static void job_register(struct warmup_job *job)
{
    const struct policy_runtime *rt = job->rt;
    char key[RKEY_MAX], caps[WM_STAGES_MAX * 12];
    long long now = warmup_job_now(job);
    for (size_t p = 0; p < rt->model.npools; p++) {
        const struct wm_pool *pool = &rt->model.pools[p];
        struct job_call *c = warmup_call_new(job, p, 0);
        rkey_pools(&rt->keys, key);
        argvec_add_str(&c->kv, key);
        rkey_pool(&rt->keys, key, pool->name);
        argvec_add_str(&c->kv, key);
        rkey_events(&rt->keys, key);
        argvec_add_str(&c->kv, key);
        argvec_add_str(&c->av, pool->name);
        argvec_add_ll(&c->av, warmup_day(now));
        argvec_add_ll(&c->av, warmup_day(now - 86400));
        argvec_add_ll(&c->av, now);
        argvec_add_str(&c->av, rt->node);
        for (size_t i = 0; i < pool->nips; i++) {
            rkey_ip_state(&rt->keys, key, pool->name, pool->ips[i].address);
            argvec_add_str(&c->kv, key);
            argvec_add_str(&c->av, pool->ips[i].address);
            argvec_add_str(&c->av, pool->ips[i].transport);
            argvec_add_str(&c->av, pool->ips[i].schedule ? pool->ips[i].schedule->name : "");
            caps_text(pool->ips[i].schedule, caps, sizeof caps);
            argvec_add_str(&c->av, caps);
            size_t slot = ip_slot(job, p, i);
            argvec_add_str(&c->av, slot < job->ndone && job->seen[slot] ? "1" : "0");
        }
        if (warmup_call_send(c, &job->reg, on_registered) < 0)
            return; /* Redis unavailable: next tick */
    }
}

/* ---- evaluation ---------------------------------------------------------- */

static void on_applied(void *priv, const redisReply *reply)
{
    struct job_call *c = priv;
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
        log_error("redis: applying a warm-up verdict failed: %s", reply->str);
    warmup_call_free(c);
}

static void evaluate_ip(struct job_call *c, const redisReply *r)
{
    struct warmup_job *job = c->job;
    const struct policy_runtime *rt = job->rt;
    const struct wm_pool *pool = &rt->model.pools[c->pool];
    const struct wm_ip *ip = &pool->ips[c->ip];
    const char *last = warmup_reply_str(r, 0);
    long stage = strtol(warmup_reply_str(r, 1), NULL, 10);
    int paused = strcmp(warmup_reply_str(r, 2), "1") == 0;
    struct wm_ip_counts counts;
    warmup_reply_counts(rt, r, 3, 4, &counts);
    if (last[0] != '\0' && strtol(last, NULL, 10) >= c->day) {
        size_t slot = ip_slot(job, c->pool, c->ip);
        if (slot < job->ndone)
            job->done_day[slot] = c->day; /* no need to ask again today */
        return;
    }
    if (last[0] == '\0' || paused)
        return; /* no state yet (registration pending), or paused: an operator decides */
    struct wm_evaluation ev;
    size_t nstages = ip->schedule ? ip->schedule->ncaps : 0;
    warmup_evaluate(&rt->model.health, stage, nstages, warmup_cap(ip->schedule, stage), &counts, &ev);
    const char *hold = warmup_reply_str(r, 3 + 4 * provider_count(rt->model.providers));
    if (hold[0] != '\0')
        shaping_hold(&ev, stage, hold);
    long long now = warmup_job_now(job);
    struct job_call *a = warmup_call_for_ip(job, c->pool, c->ip, 1);
    argvec_add_str(&a->av, last);
    argvec_add_ll(&a->av, c->day);
    argvec_add_ll(&a->av, stage);
    argvec_add_ll(&a->av, ev.new_stage);
    argvec_add_str(&a->av, ev.verdict == WM_PAUSE ? "1" : "0");
    argvec_add_str(&a->av, warmup_verdict_name(ev.verdict));
    argvec_add_str(&a->av, ev.reason);
    argvec_add_ll(&a->av, now);
    argvec_add_str(&a->av, rt->node);
    argvec_add_str(&a->av, pool->name);
    argvec_add_str(&a->av, ip->address);
    argvec_add_ll(&a->av, warmup_day(now));
    if (ev.verdict != WM_KEEP)
        log_notice("warm-up %s/%s day %ld: %s stage %ld -> %ld (%s)", pool->name, ip->address, c->day,
                   warmup_verdict_name(ev.verdict), stage, ev.new_stage, ev.reason);
    warmup_call_send(a, &job->apply, on_applied);
}

static void on_fetched(void *priv, const redisReply *reply)
{
    struct job_call *c = priv;
    if (c->gen == c->job->gen && reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
        reply->elements == 4 + 4 * provider_count(c->job->rt->model.providers))
        evaluate_ip(c, reply);
    else if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
        log_error("redis: reading warm-up health failed: %s", reply->str);
    warmup_call_free(c);
}

static void job_evaluate(struct warmup_job *job)
{
    const struct policy_runtime *rt = job->rt;
    long long now = warmup_job_now(job);
    long long yday = now - 86400;
    long long first_hour = warmup_hour(yday - ((yday % 86400) + 86400) % 86400);
    for (size_t p = 0; p < rt->model.npools; p++) {
        const struct wm_pool *pool = &rt->model.pools[p];
        for (size_t i = 0; i < pool->nips; i++) {
            size_t slot = ip_slot(job, p, i);
            if (slot < job->ndone && job->done_day[slot] == warmup_day(yday))
                continue;
            struct job_call *c = warmup_call_for_ip(job, p, i, 0);
            c->day = warmup_day(yday);
            warmup_call_health_keys(c, first_hour, 0);
            push_shaping_keys(c, now);
            if (warmup_call_send(c, &job->fetch, on_fetched) < 0)
                return; /* Redis unavailable: next tick */
        }
    }
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct warmup_job *job = w->data;
    double every = (double)job->rt->files.policy.warmup.health.evaluate_interval;
    if (!aredis_connected(job->redis)) {
        w->repeat = every < 1. ? every : 1.; /* look again soon, not a whole interval later */
        ev_timer_again(loop, w);
        return;
    }
    if (w->repeat != every) {
        w->repeat = every;
        ev_timer_again(loop, w);
    }
    /* Registration is idempotent and cheap (one script per pool): repeating it at every tick
     * rebuilds the registry and the IP states after Redis lost its data (restart without
     * persistence, FLUSHALL, failover to an empty replica) without waiting for a reload. */
    job_register(job);
    job_evaluate(job);
    warmup_watch_run(job);
}

static void job_reset_done(struct warmup_job *job)
{
    size_t n = 0;
    for (size_t p = 0; p < job->rt->model.npools; p++)
        n += job->rt->model.pools[p].nips;
    free(job->done_day);
    free(job->seen);
    job->done_day = xcalloc(n ? n : 1, sizeof *job->done_day);
    job->seen = xcalloc(n ? n : 1, sizeof *job->seen);
    job->ndone = n;
}

static void job_arm(struct warmup_job *job)
{
    job_reset_done(job);
    double every = (double)job->rt->files.policy.warmup.health.evaluate_interval;
    ev_timer_stop(job->loop, &job->tick);
    /* First run soon after start (once Redis is connected), then every interval. */
    ev_timer_set(&job->tick, 0.2, every);
    ev_timer_start(job->loop, &job->tick);
}

struct warmup_job *warmup_job_new(struct ev_loop *loop, struct policy_runtime *rt, struct aredis *redis)
{
    struct warmup_job *job = xcalloc(1, sizeof *job);
    job->loop = loop;
    job->rt = rt;
    job->redis = redis;
    job->reg.body = warmup_register_lua;
    job->fetch.body = warmup_fetch_lua;
    job->apply.body = warmup_apply_lua;
    job->watch.body = warmup_watch_lua;
    job->pause.body = warmup_pause_lua;
    redis_script_init(&job->reg);
    redis_script_init(&job->fetch);
    redis_script_init(&job->apply);
    redis_script_init(&job->watch);
    redis_script_init(&job->pause);
    ev_init(&job->tick, on_tick);
    job->tick.data = job;
    job_arm(job);
    return job;
}

void warmup_job_reset(struct warmup_job *job, struct policy_runtime *rt, struct aredis *redis)
{
    job->gen++;
    job->rt = rt;
    job->redis = redis;
    job_arm(job);
}

void warmup_job_free(struct warmup_job *job)
{
    if (job == NULL)
        return;
    ev_timer_stop(job->loop, &job->tick);
    free(job->done_day);
    free(job->seen);
    free(job);
}
