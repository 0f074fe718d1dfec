/*
 * reply_status.c - the status-code table (see reply_status.h).
 *
 * DESCRIPTION
 *	Categories follow the meaning of each IANA registry entry (RFC 3463,
 *	3886, 4468, 4865, 4954, 5248, 6710, 7293, 7372, 7504, 7505, 8098,
 *	8617, 8689); tests/data/iana-enhanced-status-codes.txt is walked by the
 *	unit test.  Authentication codes X.7.20 ... X.7.27 and the provider
 *	codes above the registry mean that our own setup is broken (RFC 7372;
 *	Gmail's sender guidelines).
 *
 * USERS
 *	reply_class.c.
 *
 * OWNERSHIP
 *	Static tables only.
 */
#include "reply_status.h"

#include <stddef.h>

struct status_row {
    short subject, detail;
    const char *category;
    bool vague, our_fault;
};

static const struct status_row STATUS[] = {
    { 0, 0, "undefined", true, false },
    { 1, 0, "userunknown", true, false }, /* other address status */
    { 1, 1, "userunknown", false, false },
    { 1, 2, "hostunknown", false, false },
    { 1, 3, "userunknown", false, false }, /* bad mailbox syntax: never deliverable */
    { 1, 4, "userunknown", false, false }, /* ambiguous: never deliverable as written */
    { 1, 5, "undefined", false, false },   /* "address valid" says nothing about a failure */
    { 1, 6, "hasmoved", false, false },
    { 1, 7, "rejected", false, false },    /* our sender address syntax */
    { 1, 8, "rejected", false, false },    /* our sender domain */
    { 1, 9, "mailererror", false, false }, /* relayed to non-compliant mailer */
    { 1, 10, "notaccept", false, false },  /* RFC 7505 null MX */
    { 2, 0, "filtered", true, false },
    { 2, 1, "suspend", false, false },
    { 2, 2, "mailboxfull", false, false },
    { 2, 3, "emailtoolarge", false, false },
    { 2, 4, "systemerror", false, false }, /* list expansion problem */
    { 3, 0, "systemerror", true, false },
    { 3, 1, "systemfull", false, false },
    { 3, 2, "notaccept", false, false },
    { 3, 3, "contenterror", false, false }, /* feature unsupported */
    { 3, 4, "emailtoolarge", false, false },
    { 3, 5, "systemerror", true, false },
    { 3, 6, "systemerror", false, false }, /* RFC 6710 priority changed */
    { 4, 0, "networkerror", true, false },
    { 4, 1, "networkerror", false, false },
    { 4, 2, "networkerror", false, false },
    { 4, 3, "networkerror", false, false }, /* directory (DNS) failure */
    { 4, 4, "hostunknown", false, false },  /* unable to route */
    { 4, 5, "systemfull", false, false },   /* congestion */
    { 4, 6, "networkerror", false, false }, /* routing loop */
    { 4, 7, "expired", false, false },
    { 5, 0, "syntaxerror", true, false },
    { 5, 1, "syntaxerror", false, false },
    { 5, 2, "syntaxerror", false, false },
    { 5, 3, "ratelimited", false, false }, /* too many recipients */
    { 5, 4, "syntaxerror", false, false },
    { 5, 5, "syntaxerror", false, false },
    { 5, 6, "syntaxerror", false, false }, /* RFC 4954 */
    { 6, 0, "contenterror", true, false },
    { 6, 1, "contenterror", false, false },
    { 6, 2, "contenterror", false, false },
    { 6, 3, "contenterror", false, false },
    { 6, 4, "contenterror", false, false },
    { 6, 5, "contenterror", false, false },
    { 6, 6, "contenterror", false, false }, /* RFC 4468 */
    { 6, 7, "contenterror", false, false }, /* RFC 6531 non-ASCII address */
    { 6, 8, "contenterror", false, false },
    { 6, 9, "contenterror", false, false },
    { 6, 10, "contenterror", false, false },
    { 7, 0, "securityerror", true, false },
    { 7, 1, "rejected", true, false },
    { 7, 2, "policyviolation", false, false },
    { 7, 3, "securityerror", false, false },
    { 7, 4, "securityerror", false, false },
    { 7, 5, "securityerror", false, false },
    { 7, 6, "securityerror", false, false },
    { 7, 7, "securityerror", false, false },
    { 7, 8, "securityerror", false, false }, /* RFC 4954 credentials */
    { 7, 9, "securityerror", false, false },
    { 7, 10, "securityerror", false, false },
    { 7, 11, "securityerror", false, false },
    { 7, 12, "securityerror", false, false },
    { 7, 13, "suspend", false, false }, /* user account disabled */
    { 7, 14, "securityerror", false, false },
    { 7, 15, "policyviolation", false, false }, /* RFC 6710 priority too low */
    { 7, 16, "emailtoolarge", false, false },   /* too large for priority */
    { 7, 17, "userunknown", false, false },     /* RFC 7293: the mailbox changed owner */
    { 7, 18, "hostunknown", false, false },     /* RFC 7293: the domain changed owner */
    { 7, 19, "systemerror", false, false },     /* RRVS test cannot be completed */
    { 7, 20, "authfailure", false, true },      /* RFC 7372 DKIM */
    { 7, 21, "authfailure", false, true },
    { 7, 22, "authfailure", false, true },
    { 7, 23, "authfailure", false, true }, /* SPF */
    { 7, 24, "authfailure", false, true },
    { 7, 25, "requireptr", false, true }, /* reverse DNS */
    { 7, 26, "authfailure", false, true },
    { 7, 27, "rejected", false, true },       /* RFC 7505: our sender has null MX */
    { 7, 28, "ratelimited", false, false },   /* mail flood (Gmail: rate limit) */
    { 7, 29, "authfailure", false, false },   /* RFC 8617 ARC (an intermediary's) */
    { 7, 30, "securityerror", false, false }, /* RFC 8689 REQUIRETLS */
    /* Above the registry: Gmail's sender-requirement codes. */
    { 7, 31, "authfailure", false, true }, /* Gmail DMARC */
    { 7, 32, "authfailure", false, true }, /* Gmail From alignment */
    { 7, 40, "authfailure", false, true }, /* Gmail DMARC (bulk) */
    /* Microsoft (Exchange Online / Outlook.com NDR codes). */
    { 7, 509, "authfailure", false, true }, /* DMARC reject */
    { 7, 515, "authfailure", false, true }, /* below the required authentication level */
};
#define STATUS_N (sizeof(STATUS) / sizeof(STATUS[0]))

static const struct status_row *status_find(int subject, int detail)
{
    for (size_t i = 0; i < STATUS_N; i++)
        if (STATUS[i].subject == subject && STATUS[i].detail == detail)
            return &STATUS[i];
    return NULL;
}

void reply_status_lookup(int subject, int detail, struct reply_status_entry *out)
{
    const struct status_row *r = status_find(subject, detail);
    out->exact = r != NULL;
    if (r == NULL)
        r = status_find(subject, 0);
    if (r == NULL) { /* a subject past X.7: nothing known */
        out->category = "undefined";
        out->vague = true;
        out->our_fault = false;
        return;
    }
    out->category = r->category;
    out->vague = r->vague || !out->exact;
    out->our_fault = out->exact && r->our_fault;
}

const char *reply_status_basic(int code)
{
    if (code >= 200 && code < 300)
        return "delivered";
    switch (code) {
    case 421: return "systemerror"; /* service not available */
    case 450: return "systemerror"; /* mailbox unavailable (busy) */
    case 451: return "systemerror"; /* local error in processing */
    case 452: return "systemfull";  /* insufficient system storage */
    case 455: return "syntaxerror";
    case 500:
    case 501:
    case 502:
    case 503:
    case 504:
    case 555: return "syntaxerror";
    case 550: return "userunknown"; /* mailbox unavailable / not found */
    case 551: return "hasmoved";    /* user not local, try forward-path */
    case 552: return "mailboxfull"; /* exceeded storage allocation */
    case 553: return "userunknown"; /* mailbox name not allowed */
    case 554: return "rejected";    /* transaction failed */
    default: break;
    }
    return NULL;
}
