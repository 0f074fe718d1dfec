/*
 * NAME
 *   from_domain.h - count the mailboxes of a From: field and get its domain
 *
 * DESCRIPTION
 *   The signing key is chosen by the RFC 5322 From domain (so DMARC
 *   aligns), and a From with several mailboxes, or none, is not signed.
 *   Parsing is common/address.c's (quoted strings, comments, groups,
 *   obsolete forms); this file only counts and checks the domain.
 */
#ifndef POSTFLOW_FROM_DOMAIN_H
#define POSTFLOW_FROM_DOMAIN_H

#include <stddef.h>

#define FROM_DOMAIN_MAX 253

/*
 * Scans the From value v[0..len).  Returns the number of mailboxes (0, 1,
 * 2, ...) or -1 on a syntax error (unbalanced quote, comment or bracket).
 * When it returns 1, domain holds the mailbox's domain lower-cased (""
 * when it has none or it is not a valid domain).  dsize >= FROM_DOMAIN_MAX+1.
 */
int from_domain_parse(const char *v, size_t len, char *domain, size_t dsize);

#endif
