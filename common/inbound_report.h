/*
 * inbound_report.h - what a parser found in one inbound report (a bounce,
 * a complaint, an auth-failure report), and its JSON lines.
 *
 * DESCRIPTION
 *	The model between the parsers (bounce-proc's DSN and non-standard
 *	recognisers, fbl-proc's ARF and provider formats) and what acts on
 *	them (classification, attribution, Redis actions, JSON output).  A
 *	parser fills one struct inbound_report per message: the report's own
 *	fields, what it says of the original message (for attribution), and one
 *	struct inbound_rcpt per affected recipient.
 *
 *	Every string is a NUL-terminated, owned copy cut to INBOUND_FIELD_MAX
 *	bytes (diagnostics to INBOUND_TEXT_MAX); inbound_set() makes them, so no
 *	parser needs its own bounded copy.  Recipients are capped at
 *	rcpt_limit (default INBOUND_RCPT_MAX); past it, `rcpts_dropped` counts.
 *
 *	inbound_report_json() writes the contract of ../docs (DESIGN.md
 *	"bounce-proc / fbl-proc output"): one object per recipient, or one
 *	{"type":"unrecognized"} line when there is none.
 *
 * USERS
 *	bounce-proc, fbl-proc, the shared inbound runtime (inbound_*.c).
 *
 * OWNERSHIP
 *	The caller owns the struct (stack or heap); inbound_report_free()
 *	releases everything inside it and leaves it re-initialised.
 */
#ifndef POSTFLOW_INBOUND_REPORT_H
#define POSTFLOW_INBOUND_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "reply_class.h"

struct buf;

#define INBOUND_FIELD_MAX 998   /* one header line's worth (RFC 5322 §2.1.1) */
#define INBOUND_TEXT_MAX  2048  /* diagnostic text kept per recipient */
#define INBOUND_RCPT_MAX  10000 /* recipients kept per report */

enum inbound_kind {
    INBOUND_UNRECOGNIZED = 0, /* not a report we read (quarantined in pipe mode) */
    INBOUND_BOUNCE,           /* DSN or non-standard bounce; delay warnings too (per-rcpt action) */
    INBOUND_AUTOREPLY,        /* RFC 3834 auto-reply / vacation: never a bounce */
    INBOUND_COMPLAINT,        /* ARF feedback-report, JMRP, SES complaint, one-click unsubscribe */
    INBOUND_AUTHFAIL,         /* RFC 6591 auth-failure report: never a complaint */
};

struct inbound_rcpt {
    char *recipient;           /* final recipient, bare addr-spec, lowercased domain; may be NULL (redacted) */
    char *original_recipient;  /* Original-Recipient, or NULL */
    char *action;              /* failed|delayed|delivered|relayed|expanded, or NULL */
    char *status;              /* enhanced status "X.Y.Z", or NULL */
    int smtp_code;             /* basic code from the diagnostic, or 0 */
    char *diagnostic;          /* Diagnostic-Code text or the MTA's words, or NULL */
    bool diagnostic_is_notice; /* diagnostic is the notice's own words, no answer of the receiver's */
    bool local_mailer;         /* Diagnostic-Code type X-Unix: a local delivery program answered */
    char *remote_mta;          /* Remote-MTA host, or NULL */
    char *feedback_type;       /* complaints: abuse|fraud|not-spam|virus|other|unsubscribe|auth-failure */
    const char *command;       /* static: the SMTP command the answer was to ("DATA", "RCPT"), or NULL */
    bool classified;           /* verdict below is set */
    struct reply_verdict verdict;
};

struct inbound_original { /* what the report tells of the message it is about */
    char *message_id;     /* with the angle brackets, as written */
    char *trace;          /* our trace header's value (docs/trace-header.md), unverified */
    char *queue_id;       /* queue id, from the trace or the returned Received: */
    char *from;           /* From: address */
    char *return_path;    /* envelope sender as returned (VERP decoding works on this) */
    char *subject;
    char *dkim_domain; /* d= of the returned DKIM-Signature */
};

struct inbound_report {
    enum inbound_kind kind;
    const char *format; /* static: "rfc3464", "rfc6533", "exim", "qmail", "arf", "jmrp", ... */
    char *reporting_mta;
    char *arrival_date;
    /* ARF (RFC 5965) fields; NULL when absent */
    char *feedback_type;
    char *user_agent;
    char *source_ip;
    char *reported_domain;
    char *original_mail_from;
    char *auth_results;
    unsigned long incidents; /* ARF Incidents (RFC 5965 §3.2): reports this one stands for; 0 = absent */
    struct inbound_original original;
    struct inbound_rcpt *rcpts; /* owned array */
    size_t nrcpts, cap;
    size_t rcpt_limit;
    size_t rcpts_dropped;
};

/* Attribution the runtime adds to the JSON (all may be NULL / false). */
struct inbound_attribution {
    const char *sending_ip;
    const char *pool;
    const char *sender_domain;
    const char *provider;
    bool verified;           /* trace HMAC or signed VERP checked */
    const char *verified_by; /* "trace", "verp", "attribution", or NULL */
};

void inbound_report_init(struct inbound_report *r);
void inbound_report_free(struct inbound_report *r);

/* Replaces *field by an owned copy of s[0..n), cut to max bytes (0: INBOUND_FIELD_MAX),
 * outer whitespace trimmed, control bytes replaced by spaces. n == 0 sets NULL. */
void inbound_set(char **field, const char *s, size_t n, size_t max);

/* Appends an empty recipient; NULL when rcpt_limit is reached (rcpts_dropped counts). */
struct inbound_rcpt *inbound_rcpt_add(struct inbound_report *r);
/* Recipient already present (case-insensitive); NULL otherwise. */
struct inbound_rcpt *inbound_rcpt_find(struct inbound_report *r, const char *addr);

/* Appends the JSON lines (each ending in '\n') for the report.  `attr` may be NULL.
 * Returns 0, or -1 when out hit its limit. */
int inbound_report_json(const struct inbound_report *r, const struct inbound_attribution *attr, struct buf *out);

const char *inbound_kind_name(enum inbound_kind kind); /* "bounce", "autoreply", "complaint", ... */

#endif
