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

struct inbound_conf {
    int        accept_unverified;      /* act on reports whose trace could not be verified */
    char      *quarantine_dir;         /* unrecognized messages are kept here (pipe mode); NULL: logged only */
    char      *rules_file;             /* extra classifier rules (conf/bounce-rules.conf format) */
    char      *verp_delimiters;        /* two characters: prefix end, local/domain split ("+=") */
    char      *verp_prefix;            /* required VERP prefix ("bounces"), or NULL: any */
    long long  soft_escalate_count;    /* soft bounces of one address that suppress it (0: never) */
    long long  soft_escalate_span;     /* ... spread over at least this long */
    long long  soft_escalate_window;   /* ... counted over this window */
    long long  soft_suppress_ttl;      /* how long an escalated soft-bounce suppression lasts */
    long long  seen_ttl;               /* a report (by content digest) is acted on once within this */
    long long  stream_maxlen;          /* pf:bounces / pf:complaints capped at about this many entries */
    long long  max_message_size;       /* bytes read per message; the rest is ignored */
    int        suppress_unsubscribe;   /* fbl: one-click unsubscribe reports suppress (reason unsubscribe) */
};

extern const struct cfg_option inbound_conf_options[];

#endif
