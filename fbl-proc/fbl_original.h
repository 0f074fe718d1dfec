/*
 * fbl_original.h - what the message a report is about tells of itself:
 * Message-ID, our trace header (and its queue id), From, Return-Path,
 * Subject, DKIM d=; and the recipient it still names, if any (To: when it
 * holds exactly one mailbox, Hotmail's X-HmXmrOriginalRecipient).
 *
 * DESCRIPTION
 *	Reads the header block of the returned original (the child of a
 *	message/rfc822 or text/rfc822-headers part, or a header block given as
 *	text) into the unset fields of r->original; a field already set is
 *	kept, so the first returned original wins.  Recipients are only
 *	offered in *rc (cleaned, redaction not judged here): whether one may
 *	stand for the complainer is fbl_parse.c's decision.
 *
 * USERS
 *	fbl_parse.c.
 *
 * OWNERSHIP
 *	h and text are borrowed; what is kept is copied (inbound_set()).
 */
#ifndef POSTFLOW_FBL_ORIGINAL_H
#define POSTFLOW_FBL_ORIGINAL_H

#include "fbl_addr.h"
#include "inbound_report.h"
#include "mail_header.h"

struct fbl_original_rcpt {
    char to[FBL_ADDR_MAX];      /* To:'s only mailbox, or "" (none, several, no domain) */
    char hotmail[FBL_ADDR_MAX]; /* X-HmXmrOriginalRecipient's address, or "" */
    bool hotmail_field;         /* X-HmXmrOriginalRecipient present (even redacted) */
    bool seen;                  /* a returned original was read */
};

void fbl_original_read(const struct mail_headers *h, struct inbound_report *r, struct fbl_original_rcpt *rc);

/* Same for a header block given as text: text[0..n) is parsed leniently. */
void fbl_original_read_text(const char *text, size_t n, const struct mail_limits *limits, struct inbound_report *r,
                            struct fbl_original_rcpt *rc);

/* Forgets what was read (r->original freed and emptied, *rc cleared). */
void fbl_original_forget(struct inbound_report *r, struct fbl_original_rcpt *rc);

#endif
