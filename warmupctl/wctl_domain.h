/*
 * NAME
 *   wctl_domain.h - complaint rates per sender domain x provider over the
 *   last 24 hours (pf:dh: keys), for `warmupctl status` and `metrics`.
 *
 * DESCRIPTION
 *   Gmail and Yahoo judge a sending domain as well as its IPs: their
 *   bulk-sender rules ask for a spam complaint rate below 0.1 % and never
 *   reaching 0.3 %.  policyd-warmup counts `sent` per sender domain x
 *   provider x hour, bounce-proc and fbl-proc count `complaint`, `hard` and
 *   `soft` in the same hashes (docs/redis-keys.md, pf:dh:).
 *
 *   wctl_domain_collect() walks the pf:dh: keys with SCAN (never KEYS),
 *   keeps those of the last 24 hours (hour = now/3600 - 23 .. now/3600),
 *   reads their counters (one Lua call per WCTL_EVAL_MAX keys) and sums them
 *   per domain x provider; a key SCAN reports twice is counted once.  The
 *   rest is pure and unit-tested: the key parser, the threshold level, the
 *   merge and the renderers.
 *
 *     status text   DOMAIN PROVIDER SENT24H COMPLAINTS COMPL% LEVEL
 *     status JSON   "domains":[{"domain","provider","sent_24h","complaints_24h",
 *                   "hard_24h","soft_24h","complaint_rate" (null without sent),
 *                   "level"}]
 *     metrics       postflow_domain_sent_24h{domain,provider}        gauge
 *                   postflow_domain_complaints_24h{domain,provider}  gauge
 *
 * USERS
 *   wctl_status.c, wctl_metrics.c; tests/unit/warmupctl/test_wctl_domain.c.
 *
 * OWNERSHIP
 *   struct wdom_list owns its rows; free with wctl_domain_free().
 */
#ifndef WCTL_DOMAIN_H
#define WCTL_DOMAIN_H

#include "buf.h"
#include "redis_keys.h"
#include "wctl.h"

/* The thresholds, as fractions of recipients sent: per mille x 10 (0.1 % = 10, 0.3 % = 30). */
#define WDOM_WARN_PER_10000 10
#define WDOM_OVER_PER_10000 30

enum wdom_level {
    WDOM_NO_SENT = 0, /* nothing sent counted: no rate (complaints may still show) */
    WDOM_OK,          /* below 0.1 % */
    WDOM_WARN,        /* 0.1 % or more, below 0.3 % */
    WDOM_OVER,        /* 0.3 % or more */
};

struct wdom_row {
    char domain[RKEY_VALUE_MAX + 1];
    char provider[64];
    long long hour;                        /* while collecting: the key's hour; after the merge: unused */
    long long sent, complaint, hard, soft; /* last 24 hours */
};

struct wdom_list {
    struct wdom_row *rows; /* owned, sorted by domain then provider after wctl_domain_merge() */
    size_t n, cap;
};

/*
 * Splits a pf:dh: key (the full key, prefix included) into domain, provider
 * and hour; the key must be exactly what rkey_domain_health() builds from
 * them.  Returns 0, or -1 for a key that is not one.
 */
int wctl_domain_parse_key(const struct rkeys *k, const char *key, size_t len, struct wdom_row *out);

/* Level of `complaints` among `sent` recipients against the thresholds above. */
enum wdom_level wctl_domain_level(long long complaints, long long sent);
/* "ok", "warn", "over", or "-" (no sent). */
const char *wctl_domain_level_name(enum wdom_level level);

/* Appends one row (copied). */
void wctl_domain_add(struct wdom_list *l, const struct wdom_row *r);
/*
 * Sorts the per-hour rows, drops exact repeats (the same domain, provider and
 * hour: SCAN may report a key twice) and sums the hours of each domain x
 * provider into one row.
 */
void wctl_domain_merge(struct wdom_list *l);

/* Reads the last 24 hours of pf:dh: keys (see above).  0, or -1 (reported, w->status set). */
int wctl_domain_collect(struct wctl *w, struct wdom_list *out);
void wctl_domain_free(struct wdom_list *l);

/* The text table (nothing when the list is empty). */
void wctl_domain_render_table(const struct wdom_list *l, struct buf *b);
/* "domains":[...] (the key and its array, for an enclosing object). */
void wctl_domain_render_json(const struct wdom_list *l, struct buf *b);
/* The two Prometheus families (nothing when the list is empty). */
void wctl_domain_render_prom(const struct wdom_list *l, struct buf *b);

#endif
