/*
 * mime.h - depth-first walker over the MIME structure of an in-memory message.
 *
 * NAME
 *	mime - visit every part of a message, bounded
 *
 * SYNOPSIS
 *	struct mime_walker *w = mime_walker_new(msg, len, NULL);
 *	const struct mime_part *p;
 *	while ((st = mime_next(w, &p)) == MIME_PART) {
 *	    if (p->kind == MIME_KIND_FIELD_BLOCKS)          // DSN / ARF report
 *	        mail_field_blocks_parse(p->body.ptr, p->body.len, ...);
 *	        // (if p->cte is base64 or QP, mime_part_decode() it first)
 *	}
 *	if (st == MIME_ERROR) log mail_error_str(mime_error(w)->code);
 *	mime_walker_free(w);
 *
 * DESCRIPTION
 *	Parts are visited in pre-order (a container before its children), the
 *	top-level message first with depth 0.  The walker recurses into:
 *	    multipart (any subtype)          (children delimited by the boundary)
 *	    message/rfc822, message/global  (one child: the enclosed message)
 *	    text/rfc822-headers, message/global-headers
 *	                                    (one child with the header fields
 *	                                     of the returned message; that child
 *	                                     is never recursed into: it has no
 *	                                     real body)
 *	and marks message/delivery-status, message/global-delivery-status
 *	and message/feedback-report as MIME_KIND_FIELD_BLOCKS: their body is
 *	to be read with mail_field_blocks_parse() (mail_header.h).
 *
 *	Boundaries (RFC 2046 §5.1.1): a delimiter is a line that starts with
 *	"--" boundary, optionally followed by "--" (the close delimiter) and
 *	whitespace only (whitespace before the "--" is tolerated with a
 *	warning).  So a boundary that is a prefix of another one does
 *	not match the longer one's lines.  The line ending before a delimiter
 *	belongs to the delimiter, not to the part.  A part's range is fixed by
 *	its parent before the part is parsed, so nested multiparts with
 *	colliding boundaries cannot leak out of their parent.  Preamble and
 *	epilogue are skipped.  CRLF and LF both work.
 *
 *	Tolerated, with a warning bit (mime_warnings()):
 *	    MIME_WARN_NO_CLOSE_DELIMITER  multipart without its close delimiter:
 *	                                  the last part runs to the end;
 *	    MIME_WARN_NO_BOUNDARY         multipart without boundary parameter,
 *	                                  or with no delimiter line: a leaf;
 *	    MIME_WARN_BAD_CONTENT_TYPE    unparseable Content-Type: text/plain
 *	                                  assumed (RFC 2045 §5.2);
 *	    MIME_WARN_BAD_PART_HEADER     a body part's header has a line that
 *	                                  is not a field: the fields before it
 *	                                  are kept and the rest is the body
 *	                                  (MIME_F_HEADER_CUT: a part may have
 *	                                  no header at all); in an enclosed
 *	                                  message or rfc822-headers block such
 *	                                  lines are skipped and counted instead
 *	                                  (MIME_F_HEADER_SKIPPED), as returned
 *	                                  headers are often mangled but the
 *	                                  fields after the damage still count;
 *	    MIME_WARN_INDENTED_DELIMITER  a delimiter line indented by whitespace
 *	                                  (seen in real DSNs; RFC 2046 has none):
 *	                                  accepted as a delimiter;
 *	    MIME_WARN_ENCODED_MESSAGE     message/rfc822 with base64 or
 *	                                  quoted-printable encoding (RFC 2046
 *	                                  §5.2.1 forbids it): decoded into walker
 *	                                  memory and walked.
 *	A broken top-level header is an error (the caller cannot trust any of
 *	the message), as is any exceeded limit: max_mime_depth, max_mime_parts,
 *	max_boundary_len and the header limits.  Work is linear in the message
 *	size times the nesting depth; memory is one frame per open level plus
 *	decoded containers (at most the message size in total).
 *
 * LIFETIME
 *	The walker does not copy the message: msg must outlive the walker.
 *	The mime_part returned by mime_next(), with its headers.fields array,
 *	belongs to the walker and is valid until the next mime_next() or
 *	mime_walker_free().  A struct mail_view copied out of it points into
 *	msg and stays valid as long as msg does - unless the part lies inside
 *	a decoded container (MIME_F_IN_DECODED), whose bytes live until
 *	mime_walker_free().
 */
#ifndef POSTFLOW_MIME_H
#define POSTFLOW_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "mail_header.h"
#include "mail_limits.h"

struct buf;

#define MIME_TOKEN_MAX 127 /* longest type or subtype name kept (RFC 6838 §4.2) */

enum mime_cte {
    MIME_CTE_7BIT = 0, /* also the default when the field is absent */
    MIME_CTE_8BIT,
    MIME_CTE_BINARY,
    MIME_CTE_BASE64,
    MIME_CTE_QP,
    MIME_CTE_UNKNOWN /* present but unrecognised: treat the body as opaque */
};

enum mime_kind {
    MIME_KIND_LEAF = 0,    /* a body to read or decode */
    MIME_KIND_MULTIPART,   /* children follow */
    MIME_KIND_MESSAGE,     /* message/rfc822 or message/global: one child follows */
    MIME_KIND_HEADERS,     /* text/rfc822-headers: one headers-only child follows */
    MIME_KIND_FIELD_BLOCKS /* message/delivery-status, message/feedback-report */
};

/* part flags */
#define MIME_F_DEFAULT_TYPE   0x01u /* no Content-Type: default applied */
#define MIME_F_HEADERS_ONLY   0x02u /* child of text/rfc822-headers: headers, no body */
#define MIME_F_IN_DECODED     0x04u /* views point into walker-owned decoded bytes */
#define MIME_F_LAST_UNCLOSED  0x08u /* last child of a multipart missing its close delimiter */
#define MIME_F_HEADER_CUT     0x10u /* body part: header stopped at a line that is not a field */
#define MIME_F_HEADER_SKIPPED 0x20u /* enclosed message: lines that are not fields skipped */

/* walker warnings (bitmask, accumulated over the walk) */
#define MIME_WARN_NO_CLOSE_DELIMITER 0x01u
#define MIME_WARN_NO_BOUNDARY        0x02u
#define MIME_WARN_BAD_CONTENT_TYPE   0x04u
#define MIME_WARN_BAD_PART_HEADER    0x08u
#define MIME_WARN_ENCODED_MESSAGE    0x10u
#define MIME_WARN_INDENTED_DELIMITER 0x20u

struct mime_part {
    size_t index;   /* 0 for the top-level message, then visit order */
    size_t parent;  /* index of the container; (size_t)-1 for the top */
    unsigned depth; /* 0 for the top-level message */
    unsigned flags; /* MIME_F_* */
    enum mime_kind kind;
    /* Content-Type, lower-cased, NUL-terminated ("text", "plain"). */
    char type[MIME_TOKEN_MAX + 1];
    char subtype[MIME_TOKEN_MAX + 1];
    struct mail_view params; /* raw text after the subtype (";charset=..."): see mime_param_get() */
    enum mime_cte cte;
    struct mail_headers headers; /* the part's header fields (owned by the walker) */
    size_t header_skipped;       /* lines skipped in an enclosed message's header */
    struct mail_view header_raw; /* the header section bytes, empty line included */
    struct mail_view body;       /* raw, still transfer-encoded */
};

struct mime_walker;

enum mime_status {
    MIME_DONE = 0, /* every part was visited */
    MIME_PART,     /* *part is the next part */
    MIME_ERROR     /* see mime_error(); the walk stops */
};

/* msg is borrowed (must outlive the walker); limits NULL = defaults. */
struct mime_walker *mime_walker_new(const char *msg, size_t len, const struct mail_limits *limits);
void mime_walker_free(struct mime_walker *w);
enum mime_status mime_next(struct mime_walker *w, const struct mime_part **part);
const struct mail_error_info *mime_error(const struct mime_walker *w);
unsigned mime_warnings(const struct mime_walker *w);

/*
 * Content-Type / Content-Disposition parameter lookup (RFC 2045 §5.1):
 * params is the text after "type/subtype" (mime_part.params) or after the
 * disposition.  The name is matched case-insensitively, quoted strings
 * are unquoted (backslash escapes removed), comments skipped.  RFC 2231
 * continuations and charsets (name*0=, name*=) are not decoded.
 * Appends the value to out and returns 1; returns 0 if absent, -1 if the
 * value does not fit out's limit.
 */
int mime_param_get(struct mail_view params, const char *name, struct buf *out);

/*
 * Parses a Content-Type value: lower-cased type and subtype into the
 * given arrays (MIME_TOKEN_MAX + 1 bytes each), parameters view into
 * *params.  Returns false (and leaves text/plain) if it is not
 * "token/token" or a token is longer than MIME_TOKEN_MAX.
 */
bool mime_content_type_parse(struct mail_view value, char type[MIME_TOKEN_MAX + 1], char subtype[MIME_TOKEN_MAX + 1],
                             struct mail_view *params);

enum mime_cte mime_cte_parse(struct mail_view value);

/*
 * Appends the part's body, transfer-decoded (base64, quoted-printable;
 * 7bit/8bit/binary/unknown copied as is), to out.  Returns 0, -1 if out's
 * limit was reached, -2 if the encoding is invalid (out then holds what
 * decoded cleanly before the bad byte).
 */
int mime_part_decode(const struct mime_part *part, struct buf *out);

#endif
