/*
 * inbound_conf.h - the `bounce` and `fbl` configuration sections (one
 * table, two sections: the programs share their options).
 *
 * DESCRIPTION
 *	What bounce-proc and fbl-proc do with a report once it is read: which
 *	reports may act (verified only, by default), how soft bounces escalate
 *	into an expiring suppression, where unreadable messages are kept, how
 *	long a report is remembered (idempotency), and the VERP shape of the
 *	return path.  docs/bounce-proc.md lists every option with its meaning.
 *
 * USERS
 *	inbound_driver.c, inbound_store.c, inbound_attr.c.
 *
 * OWNERSHIP
 *	Strings are owned by the struct after loading (cfg_free releases them).
 */
#ifndef POSTFLOW_INBOUND_CONF_H
#define POSTFLOW_INBOUND_CONF_H

#include "config.h"

/* One soft-bounce escalation rule: `count` soft bounces of one category,
 * the first and the last at least `span` apart, suppress the address. */
struct inbound_escalation {
    char *category;
    long long count;
    long long span;
};

/* Built in when soft_escalate is not configured: mailboxfull 3 events over
 * >= 72 h, suspend 2 events >= 24 h apart. */
extern const struct inbound_escalation inbound_escalation_defaults[];
extern const size_t inbound_escalation_ndefaults;

/* The rule for a category (configured list, else the defaults), or NULL. */
const struct inbound_escalation *inbound_escalation_find(const struct cfg_list *configured, const char *category);

struct inbound_conf {
    int accept_unverified;          /* act on reports whose trace could not be verified */
    char *quarantine_dir;           /* unrecognized messages are kept here (pipe mode); NULL: logged only */
    char *rules_file;               /* extra classifier rules (conf/bounce-rules.conf format) */
    char *verp_delimiters;          /* two characters: prefix end, local/domain split ("+=") */
    char *verp_prefix;              /* required VERP prefix ("bounces"), or NULL: any */
    struct cfg_list soft_escalate;  /* struct inbound_escalation; empty: the defaults */
    long long soft_escalate_window; /* soft bounces are remembered this long */
    long long soft_suppress_ttl;    /* how long an escalated soft-bounce suppression lasts */
    long long seen_ttl;             /* a report (by content digest) is acted on once within this */
    long long stream_maxlen;        /* pf:bounces / pf:complaints capped at about this many entries */
    long long max_message_size;     /* bytes read per message; the rest is ignored */
    int suppress_unsubscribe;       /* fbl: one-click unsubscribe reports suppress (reason unsubscribe) */
};

extern const struct cfg_option inbound_conf_options[];

#endif
