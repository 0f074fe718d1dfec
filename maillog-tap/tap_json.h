/*
 * tap_json.h - the JSON lines of --dry-run --json (DESIGN.md "Delivery-log
 * follower output", contract): one "delivery" object per receiver outcome,
 * one "effect" object per shaping effect the rules start.
 *
 * USERS
 *	tap_replay.c.
 *
 * OWNERSHIP
 *	Appends to the caller's buffer; borrows everything else.
 */
#ifndef MAILLOG_TAP_JSON_H
#define MAILLOG_TAP_JSON_H

#include <stdbool.h>

#include "buf.h"
#include "tap_classify.h"
#include "tap_event.h"
#include "tap_rules.h"
#include "tap_shape.h"

/* {"type":"delivery",...}\n; rule may be NULL; first = first attempt of qid x rcpt. */
void tap_json_delivery(struct buf *b, const struct tap_event *ev, const struct tap_verdict *v,
                       const struct tap_rule *rule, bool first);
/* {"type":"effect",...}\n */
void tap_json_effect(struct buf *b, const struct tap_event *ev, const struct tap_shape_effect *eff);

#endif
