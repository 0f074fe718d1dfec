/*
 * verp.h - decode VERP return paths (variable envelope return path).
 *
 * DESCRIPTION
 *	A sender that puts each recipient into the envelope sender learns from
 *	the bounce address alone who bounced:
 *	    bounces+user=example.com@bounce.example.net  ->  user@example.com
 *	The local part is PREFIX DELIM1 LOCAL DELIM2 DOMAIN.  The first DELIM1
 *	ends the prefix; the LAST DELIM2 splits local part from domain, so a
 *	recipient whose local part holds DELIM2 ("a=b@example.com" ->
 *	"bounces+a=b=example.com@...") survives.  Delimiters are configurable
 *	(Postfix's recipient_delimiter "+", and "="; Exim setups often use "-").
 *
 * USERS
 *	the inbound driver (bounce-proc, fbl-proc): the envelope recipient of
 *	a bounce, or the returned original's Return-Path.
 */
#ifndef POSTFLOW_VERP_H
#define POSTFLOW_VERP_H

#include <stdbool.h>
#include <stddef.h>

#define VERP_ADDR_MAX 320

/* Decodes addr[0..n) with delimiters delim1 (prefix end) and delim2
 * (local/domain split) into out (VERP_ADDR_MAX bytes, lowercased domain).
 * `prefix`, when not NULL and not empty, must equal the part before delim1.
 * Returns false when addr is not a VERP address of that shape (out = ""). */
bool verp_decode(const char *addr, size_t n, char delim1, char delim2, const char *prefix, char out[VERP_ADDR_MAX]);

#endif
