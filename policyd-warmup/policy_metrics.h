/*
 * NAME
 *   policy_metrics.h - policyd-warmup's counters and their Redis hash
 *
 * DESCRIPTION
 *   The daemon's counters (requests, connections, outcomes, Redis
 *   outages), counted by the connection code and written every 10 s by the
 *   server's timer into this node's metrics hash (redis_keys: rkey_metrics,
 *   kept 24 h), where warmupctl status and metrics read them.  Counting
 *   is plain arithmetic on a struct owned by the server; only the flush
 *   talks to Redis, without waiting for (or reading) its answers.
 *
 * USERS
 *   policy_server.c (owns the struct, flushes it), policy_conn.c (counts).
 *
 * OWNERSHIP
 *   Nothing is allocated; the caller owns the struct.
 */
#ifndef POLICY_METRICS_H
#define POLICY_METRICS_H

#include "policy_plan.h"
#include "policy_runtime.h"
#include "redis_async.h"

struct policy_metrics {
    unsigned long long requests, requests_rcpt, requests_eom, connections, protocol_errors;
    unsigned long long suppressed, rate_limited, warmup_steered, warmup_no_budget, warmup_shaped;
    unsigned long long redis_errors, redis_down_open, redis_down_closed;
    long long started;
};

/* Counts the outcome of one answered request (plan_outcome: suppressed, rate-limited, ...). */
void policy_metrics_count_outcome(struct policy_metrics *m, const struct plan *p);

/*
 * Writes the counters, with the time now as "updated", to the metrics hash
 * of rt's node (HSET, then EXPIRE 86400).  Does nothing while redis is not
 * connected.
 */
void policy_metrics_flush(const struct policy_metrics *m, struct aredis *redis, const struct policy_runtime *rt);

#endif
