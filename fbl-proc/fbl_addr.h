/*
 * fbl_addr.h - recipient addresses as feedback reports write them:
 * cleaning to a bare addr-spec, and telling a redaction placeholder from
 * an address.
 *
 * DESCRIPTION
 *	Reports name the complainer in many shapes: "a@b", "<a@b>",
 *	"rfc822; a@b" (DSN-style typed value), "Name <a@b>", "a@b (comment)".
 *	fbl_addr_clean() accepts exactly one mailbox with a domain and writes
 *	it as local@domain, domain lower-cased (address_normalize()).
 *
 *	Feedback loops redact the recipient (RFC 6590; Yahoo, Microsoft,
 *	Rackspace): the placeholder must never become a suppression.  An
 *	address is a placeholder when its local part or domain contains the
 *	word "redacted", or its local part is made only of masking characters
 *	('x', '*', '#', '.', '_', '-'; three or more), or its local part is a
 *	placeholder the report itself declares (a Redacted-Address field's
 *	value up to '@').
 *
 * USERS
 *	fbl_arf.c, fbl_original.c, fbl_provider.c, fbl_ses.c, fbl_parse.c.
 */
#ifndef POSTFLOW_FBL_ADDR_H
#define POSTFLOW_FBL_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define FBL_ADDR_MAX   320 /* 64 + 1 + 253, with room: RFC 5321 §4.5.3.1 */
#define FBL_REDACT_MAX 4   /* declared placeholders kept per report */
#define FBL_REDACT_LEN 64

struct fbl_redaction { /* placeholders a report declares (Redacted-Address) */
    char mark[FBL_REDACT_MAX][FBL_REDACT_LEN];
    size_t n;
};

/* Writes the one address in s[0..n) into out as local@domain.  Returns
 * false (out = "") when there is none, more than one, or no domain. */
bool fbl_addr_clean(const char *s, size_t n, char out[FBL_ADDR_MAX]);

/* Records a declared placeholder (the text before '@', trimmed). */
void fbl_addr_redaction_add(struct fbl_redaction *red, const char *s, size_t n);

/* True when addr (cleaned) is a redaction placeholder; red may be NULL. */
bool fbl_addr_redacted(const char *addr, const struct fbl_redaction *red);

#endif
