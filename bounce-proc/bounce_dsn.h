/*
 * bounce_dsn.h - read a message/delivery-status body (RFC 3464 §2, and
 * RFC 6533's message/global-delivery-status) into an inbound report.
 *
 * DESCRIPTION
 *	The body is field blocks separated by empty lines: the first holds the
 *	per-message fields (Reporting-MTA, Arrival-Date), each further block
 *	one recipient (Final-Recipient or Original-Recipient, Action, Status,
 *	Remote-MTA, Diagnostic-Code).  Real DSNs break the rules (no empty line
 *	after the per-message block, recipients without Action, Status "5.0.0"
 *	with the real code in the diagnostic): a block with a recipient field is
 *	a recipient block wherever it sits, a vague Status is refined from the
 *	Diagnostic-Code, and a missing Action is derived from the status class.
 *
 * USERS
 *	bounce_parse.c.
 */
#ifndef POSTFLOW_BOUNCE_DSN_H
#define POSTFLOW_BOUNCE_DSN_H

#include "inbound_report.h"
#include "mail_limits.h"

/* Adds the recipients of body[0..n) to r.  Returns how many were added. */
size_t bounce_dsn_read(const char *body, size_t n, const struct mail_limits *limits, struct inbound_report *r);

#endif
