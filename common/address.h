/*
 * address.h - RFC 5322 / RFC 5321 address parsing.
 *
 * NAME
 *	address - find the addr-spec(s) in From:, To:, Final-Recipient, paths
 *
 * DESCRIPTION
 *	address_list_parse() reads an RFC 5322 address-list (From:, To:, Cc:,
 *	Reply-To:, ...) and returns one struct mail_address per mailbox:
 *	    "Name" <a@b>          display name + angle-addr
 *	    a@b (comment)         bare addr-spec, comments skipped (CFWS)
 *	    <"quoted local"@b>    quoted local part, kept with its quotes
 *	    <@r1,@r2:a@b>         obs-route, the route is dropped
 *	    Group: a@b, c@d;      group syntax: members returned (group view
 *	                          set), "undisclosed-recipients:;" gives none
 *	    a@b, c@d              lists
 *	Tolerated: missing final ';' of a group, empty list elements
 *	(",,"), unquoted dots and 8-bit bytes in display names (obs-phrase,
 *	RFC 6532), whitespace and comments around '@' and '.' (obs-local-part,
 *	obs-domain), mailboxes without '@' (flag ADDRESS_F_NO_DOMAIN; RFC 5321
 *	allows <postmaster>; so is a bare phrase like "John Smith", whose
 *	words become the local part with ADDRESS_F_CFWS_INSIDE), display names
 *	that look like addresses ("a@b <a@b>").  Rejected
 *	(MAIL_ERR_ADDRESS_SYNTAX, with the offset): unbalanced quotes,
 *	comments or brackets, '<' without '>', "<>" in a header, more than
 *	one '@' outside quotes, '@' without a domain or local part, junk
 *	after '>', nested groups, control bytes.
 *
 *	address_path_parse() reads one RFC 5321 path or mailbox: "<a@b>",
 *	"<>" (the null reverse-path: ADDRESS_F_NULL), "a@b", with optional
 *	surrounding whitespace; used for envelope senders, DSN
 *	Final-Recipient / Original-Recipient after "rfc822;", Return-Path.
 *
 *	Views (display, local, domain, group) point into the caller's input
 *	and are valid as long as it is.  The local part is kept exactly as
 *	written (case, quotes); address_normalize() builds "local@domain" with
 *	the domain lower-cased (ASCII only; U-labels are left as they are),
 *	a trailing dot of the domain removed, and CFWS inside the addr-spec
 *	removed.
 */
#ifndef POSTFLOW_ADDRESS_H
#define POSTFLOW_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "mail_limits.h"

struct buf;

#define ADDRESS_F_QUOTED_LOCAL   0x01u /* local part is (or contains) a quoted-string */
#define ADDRESS_F_ROUTE          0x02u /* had an obs-route, dropped */
#define ADDRESS_F_NO_DOMAIN      0x04u /* no '@domain' */
#define ADDRESS_F_NULL           0x08u /* "<>" (address_path_parse only) */
#define ADDRESS_F_CFWS_INSIDE    0x10u /* comments/whitespace inside the addr-spec */
#define ADDRESS_F_DOMAIN_LITERAL 0x20u /* domain is [literal] */

struct mail_address {
    struct mail_view display; /* display name as written (quotes, encoded words kept); may be empty */
    struct mail_view local;   /* local part as written: first to last byte, may hold CFWS (see flags) */
    struct mail_view domain;  /* domain as written (case kept); empty with ADDRESS_F_NO_DOMAIN */
    struct mail_view group;   /* name of the enclosing group, or empty */
    unsigned flags;           /* ADDRESS_F_* */
};

struct address_list {
    struct mail_address *v; /* owned array */
    size_t n;
};

/*
 * Parses text[0..len) (an unfolded or folded header value).  On MAIL_OK the
 * list holds n >= 0 mailboxes; on error *err_offset (if not NULL) is where
 * parsing stopped and the list holds the mailboxes before it.  Either way
 * free with address_list_free().  limits NULL = defaults (max_addresses).
 */
enum mail_error address_list_parse(const char *text, size_t len, const struct mail_limits *limits,
                                   struct address_list *out, size_t *err_offset);
void address_list_free(struct address_list *l);

/* One RFC 5321 path / mailbox; MAIL_OK or MAIL_ERR_ADDRESS_SYNTAX. */
enum mail_error address_path_parse(const char *text, size_t len, struct mail_address *out);

/* Appends "local@domain" (domain lower-cased, see above) to out.
 * Returns 0, or -1 when out's limit is reached. */
int address_normalize(const struct mail_address *a, struct buf *out);

/*
 * Domain of an address string: the part after the last '@' outside
 * quotes, angle brackets and trailing whitespace stripped ("<a@B.com> "
 * -> "B.com").  Returns false if there is none.  *domain is a view into
 * addr.
 */
bool address_domain(const char *addr, size_t len, struct mail_view *domain);

#endif
