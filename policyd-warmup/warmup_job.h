/*
 * NAME
 *   warmup_job.h - the periodic warm-up work of policyd-warmup: publishing
 *   the pools to Redis and the once-a-day health evaluation of every IP.
 *
 * DESCRIPTION
 *   At start, after each reload and then at every evaluate_interval the
 *   pools are registered (pf:pools, pf:pool:{p}) and every IP gets a state
 *   hash if it has none (stage 0, start = today; a "create" event), so a
 *   Redis that lost its data is repopulated without a reload.  An IP whose
 *   state is re-created although it was known (in the pool registry, seen
 *   by this daemon since start or reload, or in pf:events) gets a warning:
 *   it restarts at stage 0, unpaused.  Every health.evaluate_interval the
 *   job asks, per IP, for yesterday's health counters per provider
 *   (one script call per IP), lets warmup_evaluate() (pure) judge every
 *   provider and the total, and
 *   applies the verdict with a second script that only acts if the IP's
 *   last_eval and stage are still what was read: several nodes sharing one
 *   Redis evaluate each IP and day exactly once.  Paused IPs are not
 *   evaluated (an operator resumes them with warmupctl).  In between, the
 *   complaints of the last 24 hours are watched per provider and in total
 *   (warmup_complaints_over()); over the limit the IP pauses at once.
 */
#ifndef WARMUP_JOB_H
#define WARMUP_JOB_H

#include <ev.h>

struct policy_runtime;
struct aredis;
struct warmup_job;

struct warmup_job *warmup_job_new(struct ev_loop *loop, struct policy_runtime *rt, struct aredis *redis);
/* After a reload: new runtime and/or Redis connection; re-registers the pools. */
void warmup_job_reset(struct warmup_job *job, struct policy_runtime *rt, struct aredis *redis);
void warmup_job_free(struct warmup_job *job);

#endif
