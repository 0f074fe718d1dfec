/*
 * inbound_reclassify.h - after a rule change: re-judge the stored bounce
 * events of pf:bounces with the current classifier, undo suppressions that no
 * longer hold and make those that now do, and report what changed.
 *
 * DESCRIPTION
 *	Each stream entry keeps what the classifier needs: status, diagnostic
 *	(up to 511 bytes), the DSN action and the SMTP command the answer was
 *	to.  An entry whose class or category differs now is reported (a JSON
 *	line with --json).  Where the old verdict was hard and suppressed the
 *	address, and the entry is still the reason of that suppression (reason
 *	hard, same source, same queue id or status), the suppression is
 *	removed; where the new verdict is hard and the event was verified (or
 *	unverified reports are accepted), the address is suppressed unless a
 *	stronger entry exists.  Re-running is harmless: each action checks the
 *	entry first.  Counters already moved are left as they are.
 *
 * USERS
 *	inbound_driver.c (`bounce-proc reclassify`).
 */
#ifndef POSTFLOW_INBOUND_RECLASSIFY_H
#define POSTFLOW_INBOUND_RECLASSIFY_H

#include <stdbool.h>
#include <stdio.h>

#include "inbound_conf.h"
#include "redis.h"
#include "redis_keys.h"
#include "reply_class.h"

struct inbound_reclassify_ctx {
    struct redis_conn *redis;
    const struct rkeys *rkeys;
    const struct reply_rules *rules;
    const struct inbound_conf *conf;
    const char *program; /* pf:sup: source */
    bool dry_run, json;
    FILE *out; /* JSON lines */
};

struct inbound_reclassify_result {
    size_t events, changed, unsuppressed, suppressed;
};

/* Returns 0, or -1 when Redis failed (logged). */
int inbound_reclassify_stream(const struct inbound_reclassify_ctx *ctx, struct inbound_reclassify_result *res);

#endif
