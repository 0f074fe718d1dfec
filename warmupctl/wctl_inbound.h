/*
 * NAME
 *   wctl_inbound.h - the event counters of bounce-proc and fbl-proc
 *   (pf:inbound:{<program>}) for `warmupctl metrics`:
 *
 *     postflow_inbound_events_total{program,type,class,category,verified}   counter
 *
 *   type is bounce, autoreply, complaint or authfail; category the
 *   classifier's (the feedback type for complaints); verified "verified" or
 *   "unverified" (docs/redis-keys.md).
 */
#ifndef WCTL_INBOUND_H
#define WCTL_INBOUND_H

#include "buf.h"
#include "wctl.h"
#include "wctl_metrics.h"

/* Reads the counters of both programs (numeric fields only) into out, one
 * wnode per program that has any.  0 or -1 (reported). */
int wctl_inbound_collect(struct wctl *w, struct wnode_list *out);
/* The Prometheus family (nothing when there are no counters). */
void wctl_inbound_render_prom(const struct wnode_list *l, struct buf *b);
/* ,"inbound":{"bounce-proc":{"bounce|hard|userunknown|verified":N,...},...} */
void wctl_inbound_render_json(const struct wnode_list *l, struct buf *b);

#endif
