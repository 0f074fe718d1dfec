/*
 * fbl_parse.h - read one inbound message as a feedback-loop report: ARF
 * (RFC 5965) and RFC 6591 auth-failure reports, Microsoft JMRP / Hotmail,
 * Amazon SES complaint notifications, unsubscribe requests.
 *
 * DESCRIPTION
 *	A pure function over the message bytes (no I/O, no logging): it fills
 *	an inbound report with kind INBOUND_COMPLAINT (format "arf", "jmrp",
 *	"ses" or "unsubscribe"), INBOUND_AUTHFAIL (Feedback-Type auth-failure,
 *	never a complaint) or INBOUND_UNRECOGNIZED (anything else, DSNs
 *	included: they are bounce-proc's).  A complaint or auth-failure report
 *	always has at least one recipient, whose address is NULL when the
 *	report does not name one we may believe (redacted, absent): a
 *	recipient is never invented.  Each recipient carries the normalised
 *	feedback type (abuse, fraud, virus, other, not-spam, auth-failure,
 *	unsubscribe); the report keeps the Feedback-Type as written.  See
 *	docs/fbl-proc.md for the decisions per format and type.
 *
 * USERS
 *	fbl_proc_main.c (through inbound_main, inbound_driver.h), tests/unit/fbl-proc, tests/fuzz.
 *
 * OWNERSHIP
 *	msg is borrowed for the call; everything kept in out is an owned copy
 *	(out is the caller's: inbound_report_init() before, inbound_report_free() after).
 */
#ifndef POSTFLOW_FBL_PARSE_H
#define POSTFLOW_FBL_PARSE_H

#include "inbound_driver.h"

/* An inbound_parse_fn (see inbound_driver.h): returns 0 whatever the message
 * turned out to be, -1 only when it could not be read for lack of memory. */
int fbl_parse(const char *msg, size_t len, const struct inbound_parse_ctx *ctx, struct inbound_report *out);

#endif
