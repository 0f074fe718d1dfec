/*
 * fbl_provider.h - the complaint formats that are not ARF: Microsoft JMRP
 * and the older Hotmail layout, and mail-borne unsubscribe requests
 * (Apple Mail's X-Apple-Unsubscribe, RFC 2369 mailto: unsubscribes).
 *
 * DESCRIPTION
 *	JMRP (Microsoft's Junk Mail Reporting Program) and Hotmail's older
 *	feedback loop send the complained-of message as a message/rfc822
 *	attachment of a multipart/mixed mail, with no feedback-report part;
 *	the recipient is redacted from the envelope and usually from the
 *	header, except for Hotmail's X-HmXmrOriginalRecipient field.  Such a
 *	mail is a JMRP report when its returned original carries that field,
 *	or when it comes from a Microsoft consumer domain (provider.h's
 *	built-in "microsoft") and is not a DSN.  The recipient is the
 *	field's address, else the original's To: when it names exactly one
 *	mailbox, unless either is a redaction placeholder; else none.
 *	The feedback type is "abuse": the user pressed "junk".
 *
 *	An unsubscribe request is a mail from the recipient: Apple Mail's
 *	"X-Apple-Unsubscribe: true", or a mail whose Subject is the single
 *	word "unsubscribe" (the RFC 2369 List-Unsubscribe mailto: convention:
 *	mail clients send the subject the URL carries, and ours carries that
 *	word).  The recipient to suppress is its From: address.
 *
 * USERS
 *	fbl_parse.c.
 */
#ifndef POSTFLOW_FBL_PROVIDER_H
#define POSTFLOW_FBL_PROVIDER_H

#include <stdbool.h>

#include "fbl_addr.h"
#include "fbl_original.h"
#include "inbound_report.h"

/* What the top-level header says (fbl_parse.c fills it). */
struct fbl_top {
    char from[FBL_ADDR_MAX]; /* From:'s only address, or "" */
    char subject[256];       /* unfolded, cut */
    bool apple_unsubscribe;  /* X-Apple-Unsubscribe: true */
    bool multipart_report;   /* Content-Type multipart/report (any report-type) */
    bool multipart;          /* any multipart */
};

bool fbl_provider_is_jmrp(const struct fbl_top *top, const struct fbl_original_rcpt *orig);
/* Fills r as a JMRP complaint (kind, format "jmrp", one recipient). */
void fbl_provider_jmrp(struct inbound_report *r, const struct fbl_original_rcpt *orig);

bool fbl_provider_is_unsubscribe(const struct fbl_top *top);
/* Fills r as an unsubscribe request (format "unsubscribe"). */
void fbl_provider_unsubscribe(struct inbound_report *r, const struct fbl_top *top);

#endif
