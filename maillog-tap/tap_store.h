/*
 * tap_store.h - write shaping effects and alerts to Redis.
 *
 * DESCRIPTION
 *	An effect on an IP or its netblock becomes one pf:fx: key per pool
 *	the IP belongs to (docs/redis-keys.md), an effect on a domain a
 *	receiver named one pf:fxd: key, an alert one pf:alerts entry.  The
 *	pools come from the registry policyd-warmup keeps in Redis
 *	(pf:pools, pf:pool:{<pool>}: IP -> transport), read again every 30 s
 *	and when an effect names an IP or transport label not seen yet, so a
 *	`syslog_name` without an address is mapped to its IP here.
 *
 *	A key is written by one script: an effect started while an equal or
 *	longer one of the same action exists extends nothing and shortens
 *	nothing (a slow-down keeps the smaller factor); a longer one extends
 *	it; `since` stays the first start.  The key's TTL is until - now.
 *
 *	tap_store_drain() writes the queue oldest first and stops at the
 *	first Redis failure, leaving the rest queued (the connection's backoff
 *	makes a dead Redis cost nothing per call).  An IP the registry does
 *	not have waits (drain returns 1) until the registry was read again after
 *	that IP was first missed, 2 s at most: a policy
 *	daemon that just started registers its pools on its first tick.  An IP
 *	settled as unpooled is remembered, so its later outcomes cost no wait.
 *	Records Redis can never take are dropped and counted: an IP in no pool
 *	(after that second look), a domain key
 *	whose domain the reply did not name ("?"), an effect already expired.
 *
 * USERS
 *	tap_daemon.c.
 *
 * OWNERSHIP
 *	tap_store_new() copies the Redis configuration and node name; free
 *	with tap_store_free().
 */
#ifndef MAILLOG_TAP_STORE_H
#define MAILLOG_TAP_STORE_H

#include "redis.h"
#include "redis_keys.h"
#include "tap_counts.h"
#include "tap_fx.h"

struct tap_store_stats {
    long long written; /* pf:fx / pf:fxd keys created or extended */
    long long kept;    /* an equal or longer effect existed */
    long long alerts;
    long long dropped;    /* unpooled, unnamed domain, expired */
    long long failures;   /* Redis calls that failed (the record stayed queued) */
    long long counted;    /* outcomes added to pf:hl: health keys */
    long long unpooled;   /* outcomes of an IP in no pool (not counted) */
    long long attributed; /* outcomes whose IP came from the attribution record */
};

struct tap_store;

/* NULL when the key prefix is invalid (err set). */
struct tap_store *tap_store_new(const struct redis_conf *conf, const char *node, char *err, size_t errlen);
void tap_store_free(struct tap_store *s);

/* Writes queued records at wall time now.  Returns 0 when the queue is empty,
 * -1 when Redis failed, 1 when a record waits for the registry (the record and
 * those after it stay queued). */
int tap_store_drain(struct tap_store *s, struct tap_fxq *q, long long now);

/*
 * Adds the counted outcomes to the health keys of their IPs (pf:hl:, one
 * atomic call per 512 keys; the rows written leave the table, so a retry
 * after a failure never adds them twice).  Returns 0 when the table is
 * empty, -1 when Redis failed, 1 when a row waits for the pool registry
 * (the rest stays).
 */
int tap_store_counts(struct tap_store *s, struct tap_counts *c, long long now);

/*
 * The sending IP policyd-warmup recorded for queue id qid[0..n) (pf:q:,
 * field ip) into ip; true when known.  For log lines that name no IP
 * (Exim's deferrals, a transport label without an address).  Answers are
 * cached (the retries of one message ask once); with Redis down: false.
 */
bool tap_store_attributed_ip(struct tap_store *s, const char *qid, size_t n, char *ip, size_t ipsize);

const struct tap_store_stats *tap_store_stats(const struct tap_store *s);

#endif
