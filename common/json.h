/*
 * json.h - JSON output building blocks (RFC 8259), appended to a struct buf.
 *
 * DESCRIPTION
 *	Strings come from mail and Redis, so from strangers: json_str() escapes
 *	quotes, backslashes and every control byte, and replaces invalid UTF-8
 *	(RFC 3629: overlong forms, surrogates, truncated sequences) by U+FFFD,
 *	so no JSON parser downstream can be confused by hostile bytes.
 *
 * USERS
 *	warmupctl (--json), bounce-proc and fbl-proc (JSON lines, inbound_report.c),
 *	maillog-tap (--dry-run --json).
 */
#ifndef POSTFLOW_JSON_H
#define POSTFLOW_JSON_H

#include <stddef.h>

#include "buf.h"

/* Appends s[0..n) as a quoted JSON string. */
void json_str(struct buf *b, const char *s, size_t n);
/* Same for a NUL-terminated string; NULL appends null. */
void json_cstr(struct buf *b, const char *s);
/* "key": prefix (with a leading comma unless first). */
void json_key(struct buf *b, const char *key, int first);
/* ,"key":"value" and ,"key":number: the members after the first one of an object. */
void json_kstr(struct buf *b, const char *key, const char *s);
void json_kll(struct buf *b, const char *key, long long v);

#endif
