/*
 * NAME
 *   redis_keys.h - the one place in postflow that names Redis keys.
 *
 * DESCRIPTION
 *   Every Redis key any postflow program reads or writes is built by a
 *   function below; docs/redis-keys.md documents each key (type, fields,
 *   TTL, writers, readers).  A key is
 *
 *       <prefix><family>:{<tag>}<rest>
 *
 *   where <prefix> comes from redis.key_prefix (default "pf:") and the part
 *   in braces is a Redis Cluster hash tag.  Keys that one Lua script call
 *   touches together share a tag: every key of one warm-up pool (IP state,
 *   daily cap counters, health counters, the pool's IP registry) is tagged
 *   {<pool>}, so the END-OF-MESSAGE script that picks an IP and counts the
 *   message works on one slot.  Suppression entries, rate-limit buckets and
 *   attribution records are tagged by their own subject so they spread over
 *   the cluster.
 *
 *   Values that come from mail (addresses, queue ids, domains) are checked
 *   before they become part of a key: no NUL, CR, LF, space or other control
 *   bytes, at most RKEY_VALUE_MAX bytes.  Addresses and domains are
 *   lowercased (rkey_* do it) so "User@Example.COM" and "user@example.com"
 *   name one suppression entry.
 *
 *   The functions write into a caller-provided buffer of RKEY_MAX bytes,
 *   always NUL-terminated, and return the key length, or -1 when a component
 *   is invalid or the key would not fit (nothing is truncated).  They never
 *   allocate, log or touch the network.
 */
#ifndef POSTFLOW_REDIS_KEYS_H
#define POSTFLOW_REDIS_KEYS_H

#include <stddef.h>

#define RKEY_PREFIX_MAX 64
#define RKEY_VALUE_MAX  320 /* an address: 64 local + @ + 255 domain */
#define RKEY_MAX        1024

/* The prefix, validated once (rkeys_init). */
struct rkeys {
    char prefix[RKEY_PREFIX_MAX + 1];
    size_t prefix_len;
};

/*
 * Checks and copies the prefix (NULL means "pf:").  A prefix may not contain
 * braces, whitespace or control bytes.  Returns 0, or -1 for an invalid one.
 */
int rkeys_init(struct rkeys *k, const char *prefix);

/* 1 when the bytes may appear in a key (see above), else 0. */
int rkey_value_ok(const char *value, size_t len);

/*
 * Suppression entry of one recipient (HASH reason, source, time, detail,
 * queue_id).  `address` is "local@domain" or "@domain" for a whole domain;
 * it is lowercased.  pf:sup:{user@example.com}
 */
int rkey_suppression(const struct rkeys *k, char *out, const char *address, size_t len);
/* SCAN MATCH pattern over every suppression entry: pf:sup:{* */
int rkey_suppression_pattern(const struct rkeys *k, char *out);

/*
 * Sliding-window rate-limit bucket of one rule and one value (HASH
 * sub-window start -> count).  pf:rl:{<rule>:<value>}
 * The rule name comes from config; the value (sender, domain, SASL user,
 * client address, provider) from the request and is lowercased.
 */
int rkey_ratelimit(const struct rkeys *k, char *out, const char *rule, const char *value, size_t len);

/* Warm-up state of one IP (HASH stage, paused, ...).  pf:ip:{<pool>}:<ip> */
int rkey_ip_state(const struct rkeys *k, char *out, const char *pool, const char *ip);

/*
 * Daily cap counters of one IP on one day (HASH all, msgs, <provider>...),
 * day = yyyymmdd (UTC of the policy clock).  pf:day:{<pool>}:<ip>:<yyyymmdd>
 */
int rkey_ip_day(const struct rkeys *k, char *out, const char *pool, const char *ip, long day);

/*
 * Health counters of one IP x provider in one hour (HASH sent, hard, soft,
 * complaint), hour = unix time / 3600.  pf:hl:{<pool>}:<ip>:<provider>:<hour>
 */
int rkey_health(const struct rkeys *k, char *out, const char *pool, const char *ip, const char *provider,
                long long hour);

/* The IPs of one pool (HASH ip -> transport).  pf:pool:{<pool>} */
int rkey_pool(const struct rkeys *k, char *out, const char *pool);
/* Names of all pools (SET).  pf:pools */
int rkey_pools(const struct rkeys *k, char *out);

/*
 * Attribution of one queued message (HASH ip, pool, sender_domain, provider,
 * sender, time, node).  pf:q:{<queue_id>}
 */
int rkey_attribution(const struct rkeys *k, char *out, const char *queue_id, size_t len);

/* Warm-up event log (STREAM, capped).  pf:events */
int rkey_events(const struct rkeys *k, char *out);

/* Metrics of one daemon instance (HASH counter -> value).  pf:metrics:<node> */
int rkey_metrics(const struct rkeys *k, char *out, const char *node);
/* SCAN MATCH pattern over every instance's metrics: pf:metrics:* */
int rkey_metrics_pattern(const struct rkeys *k, char *out);

/*
 * A report already acted on (STRING "1", TTL bounce.seen_ttl): digest is
 * the hex SHA-256 of the report's bytes.  pf:seen:{<digest>}
 */
int rkey_seen(const struct rkeys *k, char *out, const char *digest);

/*
 * Soft bounces of one address (HASH n, first, last; TTL the escalation
 * window): enough of them over enough days become an expiring suppression.
 * pf:sb:{<address>}
 */
int rkey_soft_bounces(const struct rkeys *k, char *out, const char *address, size_t len);

/*
 * Health counters of one sender domain (DKIM d= or envelope domain) x
 * provider in one hour (HASH hard, soft, complaint): receivers judge the
 * domain as well as the IP.  pf:dh:{<domain>}:<provider>:<hour>
 */
int rkey_domain_health(const struct rkeys *k, char *out, const char *domain, const char *provider, long long hour);
/* SCAN MATCH pattern over every such key: pf:dh:{* */
int rkey_domain_health_pattern(const struct rkeys *k, char *out);

/*
 * Event counters of one inbound program (HASH "type|class|category|verified"
 * -> count, no TTL: monotonic, for metrics).  pf:inbound:{<program>}
 */
int rkey_inbound_counters(const struct rkeys *k, char *out, const char *program);

/* The capped streams of inbound reports (STREAM).  pf:bounces, pf:complaints, pf:alerts */
enum rkey_stream { RKEY_STREAM_BOUNCES, RKEY_STREAM_COMPLAINTS, RKEY_STREAM_ALERTS };
int rkey_inbound_stream(const struct rkeys *k, char *out, enum rkey_stream which);

/*
 * A shaping effect on a sending IP or its netblock for one provider (HASH
 * action, subject, kind, provider, until, factor, floor, step, rule, reason,
 * evidence, since, origin, queue_id; TTL until - now), written by
 * maillog-tap, read at END-OF-MESSAGE by policyd-warmup.  subject is the IP
 * ("192.0.2.10") or its netblock ("192.0.2.0/24", "2001:db8::/64"),
 * provider a provider name or "all", action suspend | slow | hold.
 * pf:fx:{<pool>}:<subject>:<provider>:<action>
 */
int rkey_shaping(const struct rkeys *k, char *out, const char *pool, const char *subject, const char *provider,
                 const char *action);
/*
 * A shaping effect on a sender domain a receiver named (same fields; kind
 * dkim | spf | url): pf:fxd:{<domain>}:<kind>:<provider>:<action>
 */
int rkey_shaping_domain(const struct rkeys *k, char *out, const char *domain, const char *kind, const char *provider,
                        const char *action);
/*
 * The index of one pool's effects, read by policyd-warmup at every
 * END-OF-MESSAGE in one HGETALL (HASH "<action>|<subject>|<provider>" ->
 * "<until> <ends> <step factor> <step> <floor> <clean> <base> <rule>",
 * common/shaping.h): pf:fx:{<pool>}.  A sender domain's: pf:fxd:{<domain>}
 * (subject = the kind: dkim, spf, url).
 */
int rkey_shaping_index(const struct rkeys *k, char *out, const char *pool);
int rkey_shaping_domain_index(const struct rkeys *k, char *out, const char *domain);
/* SCAN MATCH patterns over every effect's detail key: pf:fx:{*}:* and pf:fxd:{*}:* */
int rkey_shaping_pattern(const struct rkeys *k, char *out, int domains);

#endif
