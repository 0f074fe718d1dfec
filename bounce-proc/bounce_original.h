/*
 * bounce_original.h - what the returned original message tells of itself:
 * Message-ID, our trace header, queue id, From, Return-Path, Subject,
 * DKIM d=, and its To: (a last resort for the failed recipient).
 *
 * USERS
 *	bounce_parse.c (message/rfc822 and text/rfc822-headers parts, and the
 *	original quoted inline by non-standard bounces).
 */
#ifndef POSTFLOW_BOUNCE_ORIGINAL_H
#define POSTFLOW_BOUNCE_ORIGINAL_H

#include "bounce_scan.h"
#include "inbound_report.h"
#include "mail_header.h"

/* Fills the unset fields of r->original from h (views into the message).
 * to_out (BOUNCE_ADDR_MAX) receives the first To: address, or "". */
void bounce_original_read(const struct mail_headers *h, struct inbound_report *r, char to_out[BOUNCE_ADDR_MAX]);

/* Same for a header block quoted inside text (non-standard bounces): parses
 * text[0..n) leniently as a header section first. */
void bounce_original_read_text(const char *text, size_t n, const struct mail_limits *limits, struct inbound_report *r,
                               char to_out[BOUNCE_ADDR_MAX]);

#endif
