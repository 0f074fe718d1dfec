/*
 * mail_header.h - bounded, incremental RFC 5322 header section parser.
 *
 * NAME
 *	mail_header - split a message into header fields and body
 *
 * SYNOPSIS
 *	Incremental (streams):
 *
 *	    struct mail_header_parser *p = mhp_new(&limits);   // or NULL
 *	    while ((n = read(...)) > 0) {
 *	        mhp_push(p, chunk, n);
 *	        while ((ev = mhp_next(p, &e)) == MHP_FIELD)
 *	            use(e.field);            // views valid until next push/free
 *	        if (ev == MHP_END)  { body starts at e.body_offset; break; }
 *	        if (ev == MHP_ERROR) { log mail_error_str(e.error.code); ... }
 *	    }
 *	    // at EOF: mhp_finish(p) then mhp_next() again until END/ERROR
 *	    mhp_free(p);
 *
 *	Whole buffer (bounce-proc, fbl-proc, the MIME walker, milter-dkim
 *	--sign on the header block it read from stdin):
 *
 *	    struct mail_headers h;
 *	    struct mail_error_info err;
 *	    if (mail_headers_parse(msg, len, NULL, &h, &err) != MAIL_OK) ...
 *	    f = mail_headers_find(&h, "From", NULL);
 *	    body = msg + h.body_offset;
 *	    mail_headers_free(&h);
 *
 * DESCRIPTION
 *	A field is a line "name: value" plus its folded continuation lines
 *	(lines starting with SP or HTAB, RFC 5322 §2.2.3; obs-fold lines made
 *	of whitespace only are continuation lines too).  The header section
 *	ends at the first empty line, or at the end of input (a message
 *	without body, possibly without a final line ending).
 *
 *	Line endings: CRLF and bare LF are both accepted, in any mix.  A bare
 *	CR (CR not followed by LF) is NOT a line ending: inside a value it is
 *	kept as an ordinary byte; at the start of a line it is an invalid
 *	field-name byte (MAIL_ERR_FIELD_NAME).  Callers fed CR-only mail
 *	(old Mac files) must convert it first.
 *
 *	8-bit bytes are accepted in values (RFC 6532 UTF-8 headers and raw
 *	Latin-1 both occur) and passed through untouched.  A field name is
 *	1 or more printable US-ASCII bytes except ':' (RFC 5322 §3.6.8);
 *	whitespace between the name and the colon (obs-optional, RFC 5322
 *	§4.5) is accepted and excluded from the name view.
 *
 *	For each field three views are given:
 *	    name   the field name;
 *	    value  everything after the colon up to, not including, the
 *	           final line ending; folding line breaks are kept, so
 *	           the value is byte-exact (relaxed canonicalisation and
 *	           unfolding are the caller's: see mail_field_unfold());
 *	    raw    the whole field, name to final line ending included:
 *	           exactly the bytes DKIM "simple" canonicalisation hashes.
 *
 * LIMITS
 *	struct mail_limits (mail_limits.h): max_line, max_fields,
 *	max_field_size, max_header_size.  Exceeding one is an MHP_ERROR event
 *	(the incremental parser detects it as soon as the bytes arrive).  A
 *	caller that drains mhp_next() to MHP_NEED_MORE after each push keeps
 *	the parser's buffer at most one pending field (max_field_size) plus
 *	one pushed chunk.
 *
 * DIAGNOSTICS
 *	Errors are reported as enum mail_error with the byte offset and line
 *	number where they were detected.  After an error the parser is dead:
 *	mhp_next() keeps returning the same error.  Nothing is logged.
 */
#ifndef POSTFLOW_MAIL_HEADER_H
#define POSTFLOW_MAIL_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "mail_limits.h"

struct buf;

struct mail_field {
    struct mail_view name;
    struct mail_view value; /* after ':' to before the final CRLF/LF; folding kept */
    struct mail_view raw;   /* the whole field with its final line ending (if any) */
    size_t offset;          /* offset of the field from the start of the input */
};

/* ---- incremental parser -------------------------------------------------- */

struct mail_header_parser;

enum mhp_event {
    MHP_NEED_MORE = 0, /* push more bytes (or call mhp_finish() at end of input) */
    MHP_FIELD,         /* e.field holds a complete field */
    MHP_END,           /* end of the header section: see e.body_* */
    MHP_ERROR          /* e.error says what and where; the parser is dead */
};

struct mhp_result {
    struct mail_field field; /* MHP_FIELD */
    /* MHP_END: offset of the first body byte from the start of the input
     * (== header section size, empty line included), and the body bytes
     * that were already pushed (a view into the parser's buffer). */
    size_t body_offset;
    struct mail_view body_pending;
    bool has_separator;           /* an empty line ended the section (false: input ended) */
    size_t nfields;               /* fields seen so far */
    struct mail_error_info error; /* MHP_ERROR */
};

/*
 * Creates a parser; limits NULL means MAIL_LIMITS_DEFAULT (the struct is
 * copied).  Never returns NULL (xalloc).  Free with mhp_free().
 */
struct mail_header_parser *mhp_new(const struct mail_limits *limits);
void mhp_free(struct mail_header_parser *p);

/*
 * Appends len bytes of input (copied; any chunking gives the same events).
 * Invalidates every view previously returned.  Returns MAIL_OK, or
 * MAIL_ERR_STATE (bytes ignored) after mhp_finish(), MHP_END or MHP_ERROR.
 * Pushing bytes that go beyond the header section is fine: they are
 * returned as body_pending with MHP_END.
 */
enum mail_error mhp_push(struct mail_header_parser *p, const void *data, size_t len);

/* Declares the end of input: the last field and the end of the header
 * section become available from mhp_next(). */
void mhp_finish(struct mail_header_parser *p);

/*
 * Returns the next event and fills *r (r may not be NULL).  Views in *r
 * point into the parser's buffer and stay valid until the next
 * mhp_push() or mhp_free().  Linear in the input even when bytes are
 * pushed one at a time.  After MHP_END or MHP_ERROR, the same event is
 * returned again.
 */
enum mhp_event mhp_next(struct mail_header_parser *p, struct mhp_result *r);

/* ---- whole-buffer parsing ------------------------------------------------ */

struct mail_headers {
    struct mail_field *fields; /* owned array; views point into the caller's buffer */
    size_t nfields;
    size_t body_offset; /* first body byte; == len when there is no body */
    bool has_separator;
};

/*
 * Parses the header section at the start of buf[0..len).  On MAIL_OK, out
 * holds the fields (views into buf: valid while buf is) and the body offset.
 * On error, *err (if not NULL) says what and where, and out still holds the
 * fields parsed before the error with body_offset = offset of the bad line.
 * Either way the caller frees out with mail_headers_free().
 */
enum mail_error mail_headers_parse(const char *buf, size_t len, const struct mail_limits *limits,
                                   struct mail_headers *out, struct mail_error_info *err);
void mail_headers_free(struct mail_headers *h);

/*
 * As mail_headers_parse(), but a line that is not a field (no colon, bad
 * name, NUL byte, a leading continuation line) is skipped and counted in
 * *nskipped (may be NULL) instead of ending the header section, which
 * ends only at an empty line or the end of input.  Limits are still
 * errors.  For headers that are headers for sure but often mangled: the
 * message returned inside a bounce (whose continuation lines lost their
 * indentation, say), where the fields after the damage still matter.
 */
enum mail_error mail_headers_parse_lenient(const char *buf, size_t len, const struct mail_limits *limits,
                                           struct mail_headers *out, size_t *nskipped, struct mail_error_info *err);

/*
 * Finds a field by name (ASCII case-insensitive).  iter, when not NULL,
 * is the index to start from and is set past the match, so that a loop
 * walks every field of that name:  size_t i = 0; while ((f = find(h, "Received", &i)))
 * Returns NULL when there is no (further) match.
 */
const struct mail_field *mail_headers_find(const struct mail_headers *h, const char *name, size_t *iter);
size_t mail_headers_count(const struct mail_headers *h, const char *name);

/* ---- field blocks (message/delivery-status, message/feedback-report) ----- */

/*
 * A DSN (RFC 3464 §2.1) or ARF (RFC 5965 §3.1) body is a sequence of
 * header-like "field blocks" separated by empty lines: per-message fields,
 * then one block per recipient.  Parsing is tolerant as these reports are
 * often sloppy: empty lines (and lines of only whitespace) at the start,
 * between blocks or repeated are skipped, a line that is neither a field
 * nor a continuation is skipped and counted in nskipped (never silently).
 * Inside a block, a whitespace-only line ends the block rather than
 * continuing a field (DSN writers use it as a separator).  Limits still apply (max_line, max_fields for
 * all blocks together, max_field_size) and are errors.
 */
struct mail_field_blocks {
    struct mail_headers *blocks; /* owned array; fields are views into the caller's buffer */
    size_t nblocks;
    size_t nskipped; /* lines ignored as not being fields */
};

enum mail_error mail_field_blocks_parse(const char *buf, size_t len, const struct mail_limits *limits,
                                        struct mail_field_blocks *out, struct mail_error_info *err);
void mail_field_blocks_free(struct mail_field_blocks *b);

/*
 * Splits a DSN typed value (RFC 3464 §2.1.2: "rfc822; user@example.com",
 * "smtp; 550 5.1.1 ...", "dns; mx.example.com") at its first ';' into the
 * type and the rest, both trimmed of whitespace and line breaks (the rest
 * may still hold folding inside: mail_field_unfold() it if needed).
 * Views into value.  Returns false, views untouched, if there is no ';'.
 */
bool mail_field_typed(struct mail_view value, struct mail_view *type, struct mail_view *rest);

/* ---- helpers ------------------------------------------------------------- */

/*
 * Appends the unfolded value to out: line breaks that precede whitespace
 * are removed (RFC 5322 §2.2.3), leading and trailing whitespace trimmed.
 * Returns 0, or -1 if out's limit is reached (out then holds a prefix).
 */
int mail_field_unfold(struct mail_view value, struct buf *out);

/*
 * If buf starts with an mbox "From " separator line (as Exim's pipe
 * transport adds by default), returns the offset just past that line,
 * else 0.
 */
size_t mail_skip_mbox_from(const char *buf, size_t len);

/*
 * Appends in[0..len) to out with every bare CR (one not followed by LF)
 * turned into LF, so that CR-only mail (old Mac files) can be parsed;
 * CRLF and LF are left alone.  Returns 0, or -1 at out's limit.
 */
int mail_fix_bare_cr(const char *in, size_t len, struct buf *out);

#endif
