/*
 * inbound_attr.h - attribution of an inbound report: which message of ours
 * it is about, whether that is proven, and which IP, pool, sender domain
 * and provider it is charged to.
 *
 * DESCRIPTION
 *	In order (docs/bounce-proc.md, "Attribution"):
 *	  1. the trace header of the returned original (trace.h) is verified
 *	     with the configured keys: only a verified trace makes the report
 *	     "verified" (a forged bounce cannot carry one);
 *	  2. its queue id (or, unverified, the one read from the returned
 *	     headers) looks up the attribution record pf:q:{qid} written by
 *	     policyd-warmup: ip, pool, provider, sender domain;
 *	  3. the VERP address (the envelope recipient in pipe mode, or the
 *	     returned Return-Path) names the recipient when the report has none;
 *	     the record's `rcpt` (the message's one recipient) is kept apart in
 *	     record_rcpt: the driver names a redacted complainer with it only
 *	     under a verified trace;
 *	  4. the provider of a recipient is the record's, unless it is missing
 *	     or "mixed": then the recipient's own domain decides (provider.h).
 *
 * USERS
 *	inbound_driver.c.
 *
 * OWNERSHIP
 *	struct inbound_attr_result holds its strings in its own buffers; its
 *	`view` points into them (valid as long as the result).
 */
#ifndef POSTFLOW_INBOUND_ATTR_H
#define POSTFLOW_INBOUND_ATTR_H

#include <stdbool.h>
#include <time.h>

#include "inbound_report.h"
#include "provider.h"
#include "redis.h"
#include "redis_keys.h"
#include "trace.h"
#include "verp.h"

struct inbound_attr_ctx {
    const struct trace_key *keys; /* accepted trace keys (may be 0 of them) */
    size_t nkeys;
    long long max_age;        /* trace max age, seconds (0: none) */
    struct redis_conn *redis; /* NULL: no lookup (dry run) */
    const struct rkeys *rkeys;
    const struct provider_map *providers;
    char verp_delim1, verp_delim2;
    const char *verp_prefix;        /* or NULL */
    const char *envelope_recipient; /* pipe mode: the VERP address the report came to, or NULL */
};

struct inbound_attr_result {
    char ip[64], pool[64], provider[PROVIDER_NAME_MAX], sender_domain[256], queue_id[TRACE_QID_MAX + 1];
    char verp_recipient[VERP_ADDR_MAX]; /* "" when no VERP address decoded */
    bool trace_present;
    enum trace_result trace;              /* when trace_present */
    char record_rcpt[RKEY_VALUE_MAX + 1]; /* pf:q: rcpt, "" when absent (trust it only when view.verified) */
    bool record_found;                    /* pf:q: had the queue id */
    struct inbound_attribution view;      /* for inbound_report_json */
};

/* Returns 0, or -1 when Redis could not be asked (the caller exits 75). */
int inbound_attr_resolve(const struct inbound_attr_ctx *ctx, const struct inbound_report *r, time_t now,
                         struct inbound_attr_result *out);

/* Provider a recipient is charged to (see 4. above); never NULL. */
const char *inbound_attr_provider(const struct inbound_attr_ctx *ctx, const struct inbound_attr_result *a,
                                  const char *recipient);

#endif
