/*
 * fbl_json.h - a minimal, bounded JSON reader (RFC 8259) for the provider
 * notifications that arrive by mail (Amazon SES complaints through SNS).
 *
 * DESCRIPTION
 *	fbl_json_walk() reads the one JSON value at the start of a buffer
 *	(leading whitespace skipped; what follows the value, such as SNS's
 *	mail footer, is ignored) and calls a function for every scalar with its
 *	path: the member names from the outermost object inwards, an empty view
 *	standing for an array element.  Nothing is built and nothing is
 *	allocated; strings are handed over raw (escapes kept) and unescaped on
 *	demand with fbl_json_unescape().
 *
 *	Bounds: nesting deeper than FBL_JSON_DEPTH_MAX and more than
 *	`max_values` scalars are errors, as is anything that is not JSON
 *	(control bytes in strings, missing separators, bad literals).
 *	Recursion depth is therefore bounded and the work linear in the input.
 *
 * USERS
 *	fbl_ses.c; tests/unit/fbl-proc, tests/fuzz/fuzz_fbl_parse.c.
 *
 * OWNERSHIP
 *	Views passed to the callback point into the caller's buffer; the path
 *	array belongs to the walker and is valid during the callback only.
 */
#ifndef POSTFLOW_FBL_JSON_H
#define POSTFLOW_FBL_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "mail_limits.h"

struct buf;

#define FBL_JSON_DEPTH_MAX 16

enum fbl_json_type { FBL_JSON_STRING, FBL_JSON_NUMBER, FBL_JSON_TRUE, FBL_JSON_FALSE, FBL_JSON_NULL };

struct fbl_json_value {
    const struct mail_view *path; /* path[0..depth): member names, raw; empty view = array element */
    size_t depth;
    size_t object; /* serial number of the innermost enclosing object (pairs its members) */
    enum fbl_json_type type;
    struct mail_view raw; /* string: between the quotes, escapes kept; others: the token */
};

typedef void fbl_json_fn(const struct fbl_json_value *v, void *arg);

/* Walks the value at the start of s[0..n).  Returns the bytes consumed, or
 * -1 when it is not well-formed JSON or exceeds a bound (the callbacks made
 * before the error stand). */
long fbl_json_walk(const char *s, size_t n, size_t max_values, fbl_json_fn *fn, void *arg);

/* True when the value's path is `pattern`: member names separated by '/',
 * "*" for an array element ("complaint/complainedRecipients/x/emailAddress"
 * with x = "*").  Names are compared exactly, raw. */
bool fbl_json_path_is(const struct fbl_json_value *v, const char *pattern);

/* Appends the unescaped string (\uXXXX and surrogate pairs to UTF-8; a lone
 * surrogate to U+FFFD) to out.  Returns 0, or -1 on a bad escape or at
 * out's limit. */
int fbl_json_unescape(struct mail_view raw, struct buf *out);

#endif
