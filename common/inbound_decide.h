/*
 * inbound_decide.h - what one recipient line of an inbound report does:
 * suppress (and why), which health counter it counts in, whether it feeds
 * the soft-bounce escalation, whether it alerts operators.
 *
 * DESCRIPTION
 *	Pure policy, no I/O (inbound_store.c carries it out in one script):
 *	  - nothing acts unless the report is verified (or the configuration
 *	    accepts unverified reports); an unverified line is still streamed;
 *	  - a bounce whose verdict is our_fault (our PTR/SPF/DKIM/DMARC is
 *	    broken) alerts and does nothing else: the recipient is fine;
 *	  - delivered/relayed/expanded lines do nothing; an auto-reply resets
 *	    the address's soft-bounce count (the mailbox answers);
 *	  - a delay warning counts "soft" (a deferral) without escalating;
 *	  - hard: suppress (reason hard) and count "hard";
 *	  - soft: count "soft" and feed the escalation (inbound_conf);
 *	  - unknown: streamed only;
 *	  - complaints (abuse, fraud, or no type): suppress (reason complaint),
 *	    count "complaint"; not-spam: nothing; unsubscribe: suppress (reason
 *	    unsubscribe) when configured, no count; virus/other: count
 *	    "other_report"; auth-failure reports: alert and count "authfail";
 *	  - a line without a recipient (redacted) never suppresses anyone.
 *	Counting needs an attribution (ip and pool) for pf:hl:, a sender
 *	domain for pf:dh:.
 *
 * USERS
 *	inbound_store.c; tests/unit/common/test_inbound_decide.c.
 */
#ifndef POSTFLOW_INBOUND_DECIDE_H
#define POSTFLOW_INBOUND_DECIDE_H

#include <stdbool.h>

#include "inbound_report.h"

enum inbound_soft_track {
    INBOUND_SOFT_NONE = 0,
    INBOUND_SOFT_COUNT, /* one more soft bounce for the address */
    INBOUND_SOFT_RESET, /* the mailbox answered: forget its soft bounces */
};

struct inbound_action {
    bool acts;            /* verified, or unverified accepted */
    const char *suppress; /* "hard" | "complaint" | "unsubscribe" | NULL */
    const char *count;    /* health field: "hard" | "soft" | "complaint" | "other_report" | "authfail" | NULL */
    enum inbound_soft_track soft;
    bool alert;      /* goes to pf:alerts */
    const char *why; /* static: a short reason for logs ("hard bounce", "unverified", ...) */
};

/* Decides for recipient rc of report r; verified: the attribution proved
 * the report is about our mail. */
void inbound_decide(const struct inbound_report *r, const struct inbound_rcpt *rc, bool verified,
                    bool accept_unverified, bool suppress_unsubscribe, struct inbound_action *out);

#endif
