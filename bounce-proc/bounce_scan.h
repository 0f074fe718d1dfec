/*
 * bounce_scan.h - small scanners over bounce text: enhanced status codes,
 * basic SMTP reply codes, e-mail addresses.
 *
 * DESCRIPTION
 *	Bounces state their facts in free text ("550 5.1.1 <a@b>: user
 *	unknown", "SMTP error from remote mail server after RCPT TO:<a@b>:").
 *	These functions find those tokens by their syntax (RFC 3463 codes,
 *	RFC 5321 reply codes, addr-spec shapes), bounded by the input length,
 *	never reading past it.  They are shared by the DSN reader (to refine a
 *	vague Status from Diagnostic-Code) and the non-standard recognisers.
 *
 * USERS
 *	bounce_dsn.c, bounce_text.c, bounce_parse.c.
 */
#ifndef POSTFLOW_BOUNCE_SCAN_H
#define POSTFLOW_BOUNCE_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#define BOUNCE_STATUS_MAX 16 /* "5.123.456" + NUL, with room */
#define BOUNCE_ADDR_MAX   320

/* First enhanced status code "c.sss.ddd" (c in 2,4,5) in s[0..n), written to
 * out (BOUNCE_STATUS_MAX bytes).  Returns its offset, or -1. */
long bounce_scan_status(const char *s, size_t n, char out[BOUNCE_STATUS_MAX]);

/* First basic reply code 2xx/4xx/5xx standing alone (start of text or after
 * space, followed by space, '-' or end), or 0. */
int bounce_scan_smtp_code(const char *s, size_t n);

/* Next addr-spec-looking token at or after *pos: local@domain with a dotted
 * domain, outer <> stripped (a quoted local part keeps its quotes:
 * "a..b"@c is not a@c), lowercased into out.  Advances *pos
 * past it.  Returns its length, or 0 when there is none. */
size_t bounce_scan_address(const char *s, size_t n, size_t *pos, char out[BOUNCE_ADDR_MAX]);

/* Lowercases an address in place after trimming "rfc822;", <>, spaces.
 * Returns false when what remains is not local@domain. */
bool bounce_scan_clean_address(const char *s, size_t n, char out[BOUNCE_ADDR_MAX]);

/* Case-insensitive substring search, bounded; returns offset or -1. */
long bounce_scan_find(const char *s, size_t n, const char *needle);

#endif
