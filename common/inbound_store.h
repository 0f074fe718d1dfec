/*
 * inbound_store.h - carry out an inbound report's actions in Redis, in one
 * atomic, idempotent script call.
 *
 * DESCRIPTION
 *	One EVALSHA per report (docs/redis-keys.md):
 *	  - pf:seen:{<sha256 of the report>}, checked first and set last with
 *	    bounce.seen_ttl: a report delivered twice (Postfix retry after
 *	    exit 75, a re-run over an archive) acts once; the script returns
 *	    "duplicate" and changes nothing;
 *	  - suppressions pf:sup:{addr}: a stronger entry is never weakened
 *	    (complaint > manual > hard = import > unsubscribe > soft); an
 *	    escalated soft-bounce suppression expires (soft_suppress_ttl), the
 *	    others do not (a hard bounce over an expiring entry PERSISTs it);
 *	  - soft-bounce escalation pf:sb:{addr} (n, first, last): at
 *	    soft_escalate_count bounces spread over soft_escalate_span the
 *	    address is suppressed with reason "soft";
 *	  - health counters pf:hl: (ip x provider x hour) and pf:dh: (sender
 *	    domain x provider x hour), TTL 8 days;
 *	  - every line to the capped stream pf:bounces or pf:complaints (a CRM
 *	    or unsubscribe service reads them), alerts to pf:alerts.
 *	A Redis failure returns -1 and the pipe command exits 75, so the MTA
 *	retries and nothing is lost.
 *
 * USERS
 *	inbound_driver.c.
 */
#ifndef POSTFLOW_INBOUND_STORE_H
#define POSTFLOW_INBOUND_STORE_H

#include <stdbool.h>
#include <time.h>

#include "inbound_attr.h"
#include "inbound_conf.h"
#include "inbound_report.h"
#include "redis.h"
#include "redis_keys.h"

#define INBOUND_DIGEST_HEX 65 /* SHA-256 in hex + NUL */

struct inbound_store_result {
    bool duplicate; /* this report was acted on before */
    long long suppressed, counted, escalated, alerts, streamed;
};

struct inbound_store_ctx {
    struct redis_conn *redis;
    const struct rkeys *rkeys;
    const struct inbound_conf *conf;
    const struct inbound_attr_ctx *attr;
    const char *program; /* "bounce-proc": pf:sup: source, stream field */
    const char *node;    /* host name */
};

/* Hex SHA-256 of data[0..len). */
void inbound_digest(const char *data, size_t len, char out[INBOUND_DIGEST_HEX]);

/* Applies report r (attributed by a).  Returns 0, or -1 when Redis failed
 * (logged here).  The report is marked seen last, so a script stopped
 * half-way (Redis out of memory) is re-applied in full by the MTA's retry:
 * a counter may then count twice, but nothing is lost. */
int inbound_store_apply(const struct inbound_store_ctx *ctx, const struct inbound_report *r,
                        const struct inbound_attr_result *a, const char *digest, time_t now,
                        struct inbound_store_result *res);

#endif
