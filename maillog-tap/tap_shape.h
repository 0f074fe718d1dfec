/*
 * tap_shape.h - triggers and effects: which receiver answers start a
 * shaping effect, on what key, until when.
 *
 * DESCRIPTION
 *	A pure state machine over outcomes, with the clock passed in (the
 *	log line's time in a replay, the wall clock live), so a replay of a
 *	day's log decides exactly what the live follower decided.  Each
 *	outcome (sent, deferred, bounced) of a key x provider counts in the
 *	denominators of the rate triggers; each reply a rule won counts in
 *	that rule's window for its key value x provider.  When the trigger
 *	fires, an effect starts:
 *	    suspend, hold  until now + duration; re-firing while active only
 *	                   extends nothing (the running effect stands)
 *	    slow           one more step down (rate x factor^step, not below
 *	                   floor/h) each time the trigger fires again within
 *	                   `clean`; after `clean` without a firing the next
 *	                   firing starts again at step 1 (the ramp back up is
 *	                   the policy daemon's, from the effect's expiry)
 *	    alert          once per max(window, 1h) per key x provider
 *	A count trigger starts counting afresh after it fired.
 *
 *	Keys: ip = the sending IP the log names (per-IP syslog_name or Exim
 *	I=), else the transport label; netblock = the IP's /24 (IPv4) or /64
 *	(IPv6); dkim_domain / spf_domain = the domain the reply names (Gmail
 *	4.7.28 "your DKIM domain d.example"), else "?" until the attribution
 *	record supplies it; url_domain = "?" (no receiver names it); limited =
 *	the classifier's `limited`, else ip.  Rate denominators are counted
 *	per transport x provider: a log line does not say which DKIM domain
 *	signed the mail.
 *
 *	State is bounded (TAP_SHAPE_STATES entries); past it new keys are not
 *	tracked and `untracked` counts them.
 *
 * USERS
 *	tap_replay.c (dry run); the live follower next.
 *
 * OWNERSHIP
 *	tap_shape_new() returns state the caller frees with tap_shape_free();
 *	it borrows the rule set, which must outlive it.
 */
#ifndef MAILLOG_TAP_SHAPE_H
#define MAILLOG_TAP_SHAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "tap_classify.h"
#include "tap_event.h"
#include "tap_rules.h"

#define TAP_SHAPE_STATES  16384
#define TAP_KEY_VALUE_MAX 128

struct tap_shape_effect {
    const struct tap_rule *rule;
    enum tap_effect_kind kind; /* after the our-fault demotion */
    enum tap_key_kind key;     /* never TAP_KEY_LIMITED: resolved */
    char value[TAP_KEY_VALUE_MAX];
    const char *provider;
    long long start;
    long long until; /* suspend/hold: end; slow: end of the clean period; alert: dedup end */
    int step;        /* slow: 1, 2, ... */
    double factor;   /* slow: factor^step */
    long long floor; /* slow */
    long long count; /* matching replies in the window when it fired */
    long long total; /* rate: outcomes in the window */
    bool demoted;    /* the rule's effect was not alert, the reply is our fault */
};

struct tap_shape;

struct tap_shape *tap_shape_new(const struct tap_rules *rules);
void tap_shape_free(struct tap_shape *sh);

/* The key value of kind for an event (see DESCRIPTION); out is NUL-terminated. */
void tap_shape_key_value(enum tap_key_kind kind, const struct tap_event *ev, char *out, size_t outsize);

/*
 * One outcome at time now.  rule is the winning rule of its reply or NULL.
 * Returns true and fills *eff when an effect starts.
 */
bool tap_shape_observe(struct tap_shape *sh, const struct tap_event *ev, const struct tap_verdict *v,
                       const struct tap_rule *rule, long long now, struct tap_shape_effect *eff);

size_t tap_shape_untracked(const struct tap_shape *sh);

#endif
