/*
 * tap_fx.h - an effect waiting for Redis: an owned copy of what a rule
 * started (tap_shape.h) and of the outcome that started it, and the
 * bounded queue of them.
 *
 * DESCRIPTION
 *	The follower reads a line, the rules start an effect, and the effect
 *	must reach Redis before the checkpoint moves past that line.  Redis
 *	may be down: the effect then waits here, copied out of the line (whose
 *	views die with it), until the store (tap_store.h) writes it.  The
 *	queue is bounded (max): once max records wait the follower reads no
 *	more lines (tap_fxq_full()) until the store catches up; the records of
 *	the poll in progress are still taken (tap_fxq_push() never drops), so
 *	no effect is ever lost.
 *
 *	A record is either an effect on a key (suspend, slow, hold: kind ip,
 *	netblock, dkim, spf or url) or an alert (action "alert": our own
 *	setup is broken, or a rule that only reports), which goes to the
 *	pf:alerts stream and never slows anything.
 *
 * USERS
 *	tap_daemon.c, tap_store.c, the unit tests.
 *
 * OWNERSHIP
 *	Records are values; the queue owns its array (tap_fxq_free()).
 */
#ifndef MAILLOG_TAP_FX_H
#define MAILLOG_TAP_FX_H

#include <stdbool.h>
#include <stddef.h>

#include "tap_classify.h"
#include "tap_event.h"
#include "tap_shape.h"

#define TAP_FX_REASON_MAX 512 /* the reply text kept (bytes, with the NUL) */

struct tap_fx {
    char action[8];                  /* suspend | slow | hold | alert */
    char kind[12];                   /* ip | netblock | dkim | spf | url */
    char subject[TAP_KEY_VALUE_MAX]; /* IP, transport label, netblock, domain ("?" unknown) */
    char ip[64];                     /* the sending IP the log names, "" when only a label */
    char transport[64];
    char provider[32];
    long long start, until;
    double factor;   /* slow: the rule's factor per step; else 1 */
    long long floor; /* slow */
    long long clean; /* slow: seconds per step back up */
    int step;        /* slow */
    char rule[TAP_RULE_NAME_MAX];
    char reason[TAP_FX_REASON_MAX]; /* the reply, printable, cut */
    char evidence[128];             /* "count 3 in 600s", "rate 12/40 in 3600s", "immediate" */
    char queue_id[64];
    char recipient[256];
    char status[16]; /* the DSN the MTA logged */
    char category[32];
    char why[160];
    bool demoted;
};

/* Fills *fx from an effect and its outcome (everything copied, bounded). */
void tap_fx_from(struct tap_fx *fx, const struct tap_event *ev, const struct tap_verdict *v,
                 const struct tap_shape_effect *eff);

/* "ip" | "netblock" | "dkim" | "spf" | "url" for a resolved key kind. */
const char *tap_fx_kind_name(enum tap_key_kind k);

struct tap_fxq {
    struct tap_fx *v;
    size_t head, n, cap, max;
};

void tap_fxq_init(struct tap_fxq *q, size_t max);
void tap_fxq_free(struct tap_fxq *q);
/* Appends a copy (growing past max when it must, see above). */
void tap_fxq_push(struct tap_fxq *q, const struct tap_fx *fx);
/* The oldest record, or NULL when empty; tap_fxq_pop() removes it. */
const struct tap_fx *tap_fxq_peek(const struct tap_fxq *q);
void tap_fxq_pop(struct tap_fxq *q);
bool tap_fxq_full(const struct tap_fxq *q);

#endif
