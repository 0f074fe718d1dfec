/*
 * fbl_arf.h - read a message/feedback-report body (RFC 5965 §3; RFC 6591
 * auth-failure reports) into an inbound report; the Feedback-Type
 * vocabulary and what kind of report each type makes.
 *
 * DESCRIPTION
 *	The body is header-like fields (mail_field_blocks_parse(); some
 *	reporters break it into several blocks, all are read).  Kept:
 *	    Feedback-Type        r->feedback_type (as written), and
 *	                         arf->type (normalised, see fbl_arf_type())
 *	    User-Agent           r->user_agent (RFC 5965 requires it and
 *	                         Version; reporters omit both, so neither
 *	                         is required here, and Version is not kept)
 *	    Original-Mail-From   r->original_mail_from (bare address)
 *	    Original-Rcpt-To     one recipient each (repeatable, §3.2)
 *	    Removal-Recipient    a recipient too (the opt-out drafts before
 *	                         RFC 5965 named the address to remove so)
 *	    Arrival-Date         r->arrival_date (Received-Date of the
 *	                         drafts as a fallback)
 *	    Source-IP            r->source_ip, when it is an IP literal
 *	    Reported-Domain      r->reported_domain (the first)
 *	    Reporting-MTA        r->reporting_mta
 *	    Authentication-Results  r->auth_results
 *	    Incidents            r->incidents (§3.2: how many reports this
 *	                         one stands for; absent = 1, stored 0)
 *	    Reported-URI         counted only (arf->reported_uris)
 *	    DKIM-Domain          r->original.dkim_domain if unset (RFC 6591)
 *	    Auth-Failure         each recipient's diagnostic ("auth-failure:
 *	                         dmarc"), RFC 6591 §3.1
 *	    Redacted-Address     declared redaction placeholders (arf->red)
 *	Recipients that are redaction placeholders are not added (counted in
 *	arf->redacted_rcpts): a placeholder is no one to suppress.
 *
 * USERS
 *	fbl_parse.c.
 */
#ifndef POSTFLOW_FBL_ARF_H
#define POSTFLOW_FBL_ARF_H

#include <stdbool.h>
#include <stddef.h>

#include "fbl_addr.h"
#include "inbound_report.h"
#include "mail_limits.h"

struct fbl_arf {
    bool seen;             /* a feedback-report body was read */
    const char *type;      /* normalised Feedback-Type (static), NULL if absent */
    char auth_failure[64]; /* Auth-Failure value (RFC 6591 §3.1), or "" */
    struct fbl_redaction red;
    size_t redacted_rcpts;
    size_t reported_uris;
};

/* Reads body[0..n) into r and arf.  Returns the recipients added. */
size_t fbl_arf_read(const char *body, size_t n, const struct mail_limits *limits, struct inbound_report *r,
                    struct fbl_arf *arf);

/* The normalised type of a Feedback-Type value (case-insensitive, first
 * token): abuse, fraud, virus, other, not-spam, auth-failure as registered
 * (RFC 5965 §7.3, RFC 6591 §6); opt-out, opt-out-list and unsubscribe ->
 * "unsubscribe"; anything else -> "other", as RFC 5965 §7.3 asks of types a
 * reader does not know.  Static strings. */
const char *fbl_arf_type(const char *value, size_t n);

/* INBOUND_AUTHFAIL for "auth-failure", else INBOUND_COMPLAINT. */
enum inbound_kind fbl_arf_kind(const char *type);

/* Adds a recipient (NULL recipient when addr is NULL) with arf->type (or
 * `type` when arf is NULL) and the Auth-Failure diagnostic.  Returns it, or
 * NULL at the report's recipient limit. */
struct inbound_rcpt *fbl_arf_rcpt_add(struct inbound_report *r, const char *addr, const struct fbl_arf *arf,
                                      const char *type);

#endif
