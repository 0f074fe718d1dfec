/*
 * NAME
 *   policy_proto.h - the Postfix SMTPD access policy protocol, parsed.
 *
 * DESCRIPTION
 *   A request is a block of "name=value" lines ended by an empty line
 *   (Postfix SMTPD_POLICY_README).  Postfix keeps the connection open and
 *   sends many requests; Exim's ${readsocket} sends one request and then
 *   half-closes its side.  policy_parse() is a pure, bounded scanner over the
 *   bytes received so far: it never allocates, logs or blocks, and it can be
 *   called again as more bytes arrive (incremental, with a resume hint so a
 *   slow sender does not cost quadratic time).
 *
 *   Parsed attributes are views (pointer + length) into the caller's buffer:
 *   they stay valid until the caller consumes or changes those bytes.
 *   Lines may end in LF or CRLF.  Unknown attributes are skipped (Postfix
 *   adds new ones over time); a known attribute given twice, a line without
 *   '=', an empty name, a NUL byte, or any limit exceeded makes the request
 *   malformed: the caller logs it and closes the connection without a reply,
 *   as the README asks.
 */
#ifndef POLICY_PROTO_H
#define POLICY_PROTO_H

#include <stddef.h>

#include "mail_limits.h"

/* The attributes the daemon uses; everything else is skipped. */
enum policy_attr {
    PA_REQUEST = 0,
    PA_PROTOCOL_STATE,
    PA_PROTOCOL_NAME,
    PA_QUEUE_ID,
    PA_INSTANCE,
    PA_SENDER,
    PA_RECIPIENT,
    PA_RECIPIENT_COUNT,
    PA_CLIENT_ADDRESS,
    PA_CLIENT_NAME,
    PA_SASL_USERNAME,
    PA_SIZE,
    PA_HELO_NAME,
    PA_MTA,
    PA_COUNT
};

/*
 * Each attribute is a struct mail_view (common/mail_limits.h, the one
 * pointer + length view of the tree) into the caller's buffer: ptr is NULL
 * when the attribute is absent, non-NULL (len 0) when it is given empty.
 */
struct policy_request {
    struct mail_view attr[PA_COUNT];
    size_t nattrs; /* lines seen, known or not */
    size_t size;   /* bytes of the request, terminating empty line included */
};

struct policy_limits {
    size_t max_request; /* bytes of one request, empty line included */
    size_t max_attrs;   /* lines per request */
    size_t max_name;    /* bytes of an attribute name */
    size_t max_value;   /* bytes of an attribute value */
};

enum policy_parse_status {
    POLICY_NEED_MORE = 0,     /* no complete request yet, limits not exceeded */
    POLICY_OK = 1,            /* *req filled; req->size bytes make up the request */
    POLICY_ERR_SIZE = -1,     /* request longer than max_request */
    POLICY_ERR_ATTRS = -2,    /* more than max_attrs lines */
    POLICY_ERR_NAME = -3,     /* empty or too long name, or bad byte in a name */
    POLICY_ERR_VALUE = -4,    /* value too long */
    POLICY_ERR_SYNTAX = -5,   /* a line without '=', or a NUL byte */
    POLICY_ERR_DUP = -6,      /* a known attribute given twice */
    POLICY_ERR_REQUEST = -7,  /* request= missing or not smtpd_access_policy */
    POLICY_ERR_TRUNCATED = -8 /* end of input (half-close) inside a request */
};

/* Fills the defaults: 16 KiB request, 128 lines, 64-byte names, 2 KiB values. */
void policy_limits_default(struct policy_limits *lim);

/*
 * Looks for one complete request at the start of buf[0..len).
 * *resume is a scan hint owned by the caller: set it to 0 for a new request
 * and pass it back unchanged while the same bytes grow; policy_parse()
 * updates it.  `eof` = 1 when the peer has half-closed: a request that ends
 * with a complete line but lacks the empty line is then accepted (Exim
 * readsocket strings written without the final "\n"), anything else
 * returns POLICY_ERR_TRUNCATED (or POLICY_NEED_MORE for no bytes at all).
 */
enum policy_parse_status policy_parse(const char *buf, size_t len, int eof, const struct policy_limits *lim,
                                      size_t *resume, struct policy_request *req);

/* A short English text for a status, for logs. */
const char *policy_parse_strerror(enum policy_parse_status st);

/* 1 if the view equals the C string (case-sensitive / ASCII case-insensitive); an absent one never does. */
int policy_view_eq(const struct mail_view *v, const char *s);
int policy_view_ieq(const struct mail_view *v, const char *s);
/*
 * Parses a non-negative decimal view; returns 0 and *out, or -1 when absent,
 * empty, not digits or above max.
 */
int policy_view_ulong(const struct mail_view *v, unsigned long long max, unsigned long long *out);

#endif
