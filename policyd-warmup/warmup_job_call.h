/*
 * NAME
 *   warmup_job_call.h - the warm-up job's state and its script calls, shared
 *   by its parts (warmup_job.c: timer, registration, daily evaluation;
 *   warmup_watch.c: the complaint watch).  Internal to policyd-warmup.
 *
 * DESCRIPTION
 *   Every script call owns a `struct job_call` (its KEYS/ARGV strings and
 *   what it is about) until its callback.  A generation number tells
 *   callbacks of a previous configuration to do nothing: after a reload
 *   pool and IP indices may mean something else.
 *
 * OWNERSHIP
 *   warmup_call_new()/warmup_call_for_ip() return a call the caller owns
 *   until warmup_call_send() (which frees it on failure) hands it to the
 *   callback, which frees it with warmup_call_free().
 */
#ifndef WARMUP_JOB_CALL_H
#define WARMUP_JOB_CALL_H

#include <stddef.h>

#include "argvec.h"
#include "redis_async.h"
#include "warmup_decide.h"
#include "warmup_job.h"

#define HEALTH_HOURS 24

struct warmup_job {
    struct ev_loop *loop;
    struct policy_runtime *rt;
    struct aredis *redis;
    struct redis_script reg, fetch, apply, watch, pause;
    ev_timer tick;
    unsigned gen;
    long *done_day;      /* per IP (model order): last day known to be evaluated */
    unsigned char *seen; /* per IP: its state was in Redis since start/reload */
    size_t ndone;
};

struct job_call {
    struct warmup_job *job;
    unsigned gen;
    size_t pool, ip;
    long day;             /* evaluated day */
    struct argvec kv, av; /* KEYS and ARGV of the script call */
};

struct job_call *warmup_call_new(struct warmup_job *job, size_t pool, size_t ip);
void warmup_call_free(struct job_call *c);
/* A call about IP `ip` of pool `p` whose KEYS start with the IP's state key, then (with_events) pf:events. */
struct job_call *warmup_call_for_ip(struct warmup_job *job, size_t p, size_t ip, int with_events);
/* The IP's hourly health keys for [first, first + 24), every provider; see warmup_job_call.c. */
void warmup_call_health_keys(struct job_call *c, long long first, int hour_args);
/* Sends the call; -1 (the call freed) when Redis is unavailable. */
int warmup_call_send(struct job_call *c, const struct redis_script *s, aredis_cb cb);
long long warmup_job_now(const struct warmup_job *job);
/* Element i of an array reply as a string ("" when absent or not a string). */
const char *warmup_reply_str(const redisReply *r, size_t i);
long long warmup_reply_ll(const redisReply *r, size_t i);
/* The per-provider counters of a fetch or watch reply (`width` numbers per provider from `first`). */
void warmup_reply_counts(const struct policy_runtime *rt, const redisReply *r, size_t first, size_t width,
                         struct wm_ip_counts *out);

#endif
