/*
 * shaping.h - the shared vocabulary of traffic-shaping effects
 * (pf:fx: keys): what a netblock is, and what a `hold` does to a daily
 * warm-up verdict.
 *
 * DESCRIPTION
 *	maillog-tap writes effects on an IP or on its netblock; policyd-warmup
 *	reads them for every candidate IP.  Both must compute the same
 *	netblock from the same IP, so the rule lives here: an IPv4 address's
 *	/24 ("192.0.2.0/24"), an IPv6 address's /64 ("2001:db8::/64"), in
 *	the canonical text inet_ntop() gives.
 *
 *	A `hold` effect keeps an IP at its stage: shaping_hold() turns an
 *	"advance" verdict into "hold" and leaves every other verdict (step
 *	back, pause, keep, hold) alone, so a hold never protects an IP from
 *	the health rules.
 *
 *	An effect lives in two places (docs/redis-keys.md): its detail key
 *	(everything a person asks: rule, reply text, evidence, origin, since)
 *	and one field of its pool's (or sender domain's) index, which is what
 *	policyd-warmup reads at END-OF-MESSAGE in one HGETALL:
 *	    field  "<action>|<subject>|<provider>"
 *	    value  "<until> <ends> <step factor> <step> <floor> <clean> <base> <rule>"
 *	A suspend or hold is active while now < until.  A slow-down allows
 *	max(floor, base x factor^s) messages per hour to the provider, with
 *	s = step while now < until, then one step less per `clean` seconds
 *	after until (the gradual ramp back up); it is over at
 *	ends = until + (step - 1) x clean.  base is the hourly volume the key
 *	sent to the provider when the slow-down began (the larger of the
 *	previous and the current hour), so "half the rate" means half of what
 *	was really sent.
 *
 *	The scripts that write, extend and cancel effects live here too
 *	(shaping_lua.c), so the follower and warmupctl keep both places in
 *	step the same way:
 *	    write   KEYS detail, index, then the base counters ('sent'): the
 *	            previous hour's keys, then as many current hour's keys.
 *	            ARGV 1 action 2 until 3 now 4 step factor 5 floor 6 step
 *	            7 rule 8 reason 9 evidence 10 since 11 origin 12 subject
 *	            13 kind 14 provider 15 queue_id 16 clean 17 index field.
 *	            An effect already standing until as long, at a step as
 *	            deep, is kept (returns 0); otherwise the later until and the
 *	            deeper step win, `since` and `base` stay the first ones, the
 *	            expired fields of the index are pruned (returns 1).
 *	    extend  KEYS detail, index.  ARGV 1 now 2 new until 3 index field
 *	            4 who.  Returns 0 when the effect does not exist.
 *	    cancel  KEYS detail, index.  ARGV 1 index field.  Returns 1 when
 *	            something was removed.
 *
 * USERS
 *	maillog-tap (tap_shape.c, tap_store.c), policyd-warmup (policy_plan.c,
 *	policy_script.c, warmup_job.c), warmupctl (wctl_shaping.c), the unit
 *	tests.
 *
 * OWNERSHIP
 *	No allocation; outputs are caller buffers.
 */
#ifndef POSTFLOW_SHAPING_H
#define POSTFLOW_SHAPING_H

#include <stddef.h>

#include "warmup_decide.h"

#define SHAPING_NETBLOCK_MAX 64    /* "ffff:ffff:ffff:ffff::/64" and then some */
#define SHAPING_ALL          "all" /* the provider of an effect on every provider */

#define SHAPING_FIELD_MAX 256

extern const char shaping_write_lua[];
extern const char shaping_extend_lua[];
extern const char shaping_cancel_lua[];

/* The index field "<action>|<subject>|<provider>" into out; -1 when it does not fit. */
int shaping_index_field(char *out, size_t outsize, const char *action, const char *subject, const char *provider);

/* The netblock of ip[0..n) into out (NUL-terminated).  Returns 0, or -1
 * (out = "") when the bytes are not an IPv4 or IPv6 address. */
int shaping_netblock(const char *ip, size_t n, char *out, size_t outsize);

/* A hold effect applies to the verdict ev of an IP at stage (see above);
 * returns 1 when the verdict changed. */
int shaping_hold(struct wm_evaluation *ev, long stage, const char *why);

#endif
