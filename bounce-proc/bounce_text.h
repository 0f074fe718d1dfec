/*
 * bounce_text.h - the failed recipients of a bounce written for people
 * (no message/delivery-status part): Exim, qmail and its clones, Sendmail
 * and Postfix without DSN, Exchange/Office 365 NDRs, Domino, webmail
 * providers' own formats.
 *
 * DESCRIPTION
 *	These formats differ in wording but share a structure: a notice
 *	paragraph, then for each failed recipient its address (on a line of
 *	its own, in <...>, or after "to"/"recipient") followed by the
 *	receiving server's answer (an SMTP reply, often with an enhanced
 *	code), then the returned original (a marker line such as "copy of the
 *	message", or a header block starting with Received:/Return-Path:).
 *	The reader cuts the text at the returned original, takes each
 *	address in the notice that is not the bounce's own sender, a
 *	postmaster/daemon address or the original's sender, and reads the
 *	answer that follows it up to the next address or the end of its
 *	paragraph.
 *
 * USERS
 *	bounce_parse.c.
 */
#ifndef POSTFLOW_BOUNCE_TEXT_H
#define POSTFLOW_BOUNCE_TEXT_H

#include <stddef.h>

#include "inbound_report.h"

/* Offset where the returned original starts in text[0..n) (n when none). */
size_t bounce_text_original_start(const char *text, size_t n);

/* What the reader knows besides the text.  Both lists end at the first
 * NULL entry; either list may be NULL. */
struct bounce_text_lists {
    const char *const *skip; /* never recipients: the bounce's own sender and receivers, the original's sender */
    const char *const *only; /* when non-empty, the failed recipients (X-Failed-Recipients): no others are taken */
};

/* Adds the failed recipients found in the notice text[0..n) (already cut at
 * the original), each with the answer that follows it; recipients of
 * lists->only the text does not name are added without one.  An address
 * inside an SMTP command or a "from" phrase ("after MAIL FROM:<a@b>") is
 * part of an answer, never a recipient.  Returns how many were added
 * (0 also when out of memory). */
size_t bounce_text_read(const char *text, size_t n, const struct bounce_text_lists *lists, struct inbound_report *r);

#endif
