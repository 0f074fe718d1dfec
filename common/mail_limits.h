/*
 * mail_limits.h - limits, views and error codes shared by the mail parsers.
 *
 * NAME
 *	mail_limits - the bounds every mail parser in common/ enforces
 *
 * DESCRIPTION
 *	Mail is untrusted input.  Every dimension the parsers accept is bounded
 *	by one field of struct mail_limits; exceeding a bound is an error with a
 *	code from enum mail_error, never a silent truncation.
 *
 *	MAIL_LIMITS_DEFAULT holds sane defaults; a program copies it and
 *	changes what its configuration says.  Every parser accepts a NULL
 *	limits pointer, meaning the defaults.
 *
 *	struct mail_view is the (pointer, length) pair all parsers return: a
 *	view into a buffer someone else owns.  Views are NOT NUL-terminated
 *	and may contain any byte; each API says how long they stay valid.
 *
 * DIAGNOSTICS
 *	mail_error_str() returns a static English text for an error code.
 *	mail_error_format() adds the position (line and byte offset) and, for
 *	limit errors, the limit in force.  Parsers never log: the caller logs
 *	once, with its queue id.
 */
#ifndef POSTFLOW_MAIL_LIMITS_H
#define POSTFLOW_MAIL_LIMITS_H

#include <stdbool.h>
#include <stddef.h>

struct mail_view {
    const char *ptr; /* not NUL-terminated; NULL only when len == 0 */
    size_t len;
};

struct mail_limits {
    /* One physical line, without its CRLF/LF.  RFC 5322 §2.1.1 says 998,
     * but real mail (long To: lists, DKIM-Signature, base64 without line
     * breaks) exceeds it, so the default is 64 KiB. */
    size_t max_line;
    /* Header fields in one header section (and fields in one DSN/ARF
     * field-block body, all blocks together). */
    size_t max_fields;
    /* One header field, name + value + all its folded lines. */
    size_t max_field_size;
    /* One header section, up to and including the empty line. */
    size_t max_header_size;
    /* MIME nesting: the top-level message has depth 0; a part deeper
     * than max_mime_depth is an error. */
    unsigned max_mime_depth;
    /* Parts visited by one MIME walk, the top-level message included. */
    size_t max_mime_parts;
    /* RFC 2046 §5.1.1 says 1 to 70 characters, but real MTAs send 71+
     * (the Sisimai corpus has several), so the default is 256. */
    size_t max_boundary_len;
    /* Mailboxes in one address list (address_list_parse). */
    size_t max_addresses;
};

#define MAIL_LIMITS_INIT \
    { \
        .max_line = 64 * 1024, .max_fields = 1000, .max_field_size = 256 * 1024, .max_header_size = 1024 * 1024, \
        .max_mime_depth = 20, .max_mime_parts = 1000, .max_boundary_len = 256, .max_addresses = 1000, \
    }

extern const struct mail_limits MAIL_LIMITS_DEFAULT;

enum mail_error {
    MAIL_OK = 0,
    MAIL_ERR_LINE_TOO_LONG,      /* max_line */
    MAIL_ERR_TOO_MANY_FIELDS,    /* max_fields */
    MAIL_ERR_FIELD_TOO_LARGE,    /* max_field_size */
    MAIL_ERR_HEADER_TOO_LARGE,   /* max_header_size */
    MAIL_ERR_FIELD_NAME,         /* byte not allowed in a field name (RFC 5322 §3.6.8 ftext), or empty name */
    MAIL_ERR_MISSING_COLON,      /* header line without ':' after the field name */
    MAIL_ERR_NUL_BYTE,           /* NUL byte in a header section */
    MAIL_ERR_CONTINUATION_FIRST, /* header section starts with a folded (whitespace) line */
    MAIL_ERR_STATE,              /* API misuse: push after the end or after an error */
    MAIL_ERR_MIME_DEPTH,         /* max_mime_depth */
    MAIL_ERR_MIME_PARTS,         /* max_mime_parts */
    MAIL_ERR_BOUNDARY_TOO_LONG,  /* max_boundary_len */
    MAIL_ERR_TOO_MANY_ADDRESSES, /* max_addresses */
    MAIL_ERR_ADDRESS_SYNTAX,     /* address list that cannot be parsed */
    MAIL_ERR__COUNT
};

/* Position and code of the first error a parser met. */
struct mail_error_info {
    enum mail_error code;
    size_t offset; /* byte offset in the parsed input where the error was detected */
    size_t line;   /* 1-based line number in the parsed input (0 if unknown) */
};

/* Static text, e.g. "header line too long"; never NULL. */
const char *mail_error_str(enum mail_error code);

/*
 * Writes "header line too long (max_line 65536) at line 3, offset 812"
 * into out (always NUL-terminated when outsz > 0; cut at outsz - 1 bytes).
 * limits may be NULL (defaults).  Returns out.
 */
char *mail_error_format(const struct mail_error_info *err, const struct mail_limits *limits, char *out, size_t outsz);

/* View helpers. */
static inline struct mail_view mail_view_make(const char *p, size_t n)
{
    struct mail_view v = { p, n };
    return v;
}
/* ASCII case-insensitive comparison of a view with a C string. */
bool mail_view_eq_ci(struct mail_view v, const char *s);

#endif
