/*
 * tap_counts.h - delivery outcomes counted per sending IP x provider x
 * hour, waiting to be added to Redis.
 *
 * DESCRIPTION
 *	Every delivery outcome the follower reads (sent, deferred, bounced by
 *	the receiver) is one more in its row: the sending IP (or, when the log
 *	names only a transport label, that label), the provider and the hour
 *	of the line.  The store (tap_store.h) adds the rows to the IP's hourly
 *	health key (pf:hl:, fields delivered, deferred, rejected) in one
 *	atomic call and then empties the table: those are the denominators
 *	and numerators of the deferral and rejection rates `warmupctl status`
 *	shows, next to the `sent` policyd-warmup counts at END-OF-MESSAGE.  A
 *	domain row counts the same outcomes per envelope sender's domain x
 *	provider x hour (the sender-domain health key pf:dh:).
 *
 *	Rows are found by hash, so a replay from the start of a large log
 *	(many hours x IPs x providers in one poll) stays linear.
 *
 * USERS
 *	tap_daemon.c, tap_store.c, the unit tests.
 *
 * OWNERSHIP
 *	The table owns its rows (tap_counts_free()); the views passed in are
 *	copied.
 */
#ifndef MAILLOG_TAP_COUNTS_H
#define MAILLOG_TAP_COUNTS_H

#include <stddef.h>

#include "tap_event.h"

enum tap_count_field { TAP_COUNT_DELIVERED, TAP_COUNT_DEFERRED, TAP_COUNT_REJECTED, TAP_COUNT_FIELDS };

struct tap_count_row {
    char domain[256]; /* a sender-domain row (pf:dh:): the domain; "" for an IP row */
    char qid[64];     /* a sender-domain row whose domain is still to be looked up (pf:q:) */
    char ip[64];      /* "" when the log names no IP */
    char transport[64];
    char provider[32];
    long long hour; /* unix time / 3600 */
    long long n[TAP_COUNT_FIELDS];
    size_t next; /* hash chain, index + 1 (0: end) */
};

struct tap_counts {
    struct tap_count_row *rows;
    size_t n, cap;
    size_t *heads; /* TAP_COUNTS_BUCKETS, index + 1 */
    long long outcomes;
};

void tap_counts_init(struct tap_counts *c);
void tap_counts_free(struct tap_counts *c);
void tap_counts_clear(struct tap_counts *c);

/* Removes rows [0, k) (they reached Redis); the others keep their counts. */
void tap_counts_drop_first(struct tap_counts *c, size_t k);

/* One outcome of ev (status sent, deferred or bounced; others are ignored). */
void tap_counts_add(struct tap_counts *c, const struct tap_event *ev, const char *provider);

/* The same outcome once more, for the envelope sender's domain of its message (pf:dh:). */
void tap_counts_add_domain(struct tap_counts *c, const struct tap_event *ev, const char *provider, const char *domain);
/* The same, the domain not known yet: a row for the message's queue id, which the store
 * turns into a domain row (one batched lookup of the attribution records per poll). */
void tap_counts_add_qid(struct tap_counts *c, const struct tap_event *ev, const char *provider);

/* The field name of f in the health key: "delivered" | "deferred" | "rejected". */
const char *tap_counts_field_name(enum tap_count_field f);

#endif
