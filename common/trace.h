/*
 * NAME
 *   trace.h - the HMAC-signed attribution trace header (docs/trace-header.md)
 *
 * DESCRIPTION
 *   milter-dkim adds a short header to outgoing mail (covered by its DKIM
 *   signature, so receivers keep it intact); bounce-proc and fbl-proc find
 *   it in returned mail and verify it before they charge a bounce or a
 *   complaint to the sender, so a forged bounce cannot suppress anyone.
 *
 *     X-Postflow-Trace: v=1; k=1; q=4F2A1C3B; t=1764324000; d=example.com;
 *             m=Zk3Q0b7n8yTqg5l1u2V0aw
 *
 *   k  key id (several keys may be accepted while one rotates)
 *   q  the MTA queue id of the original message (Postfix or Exim)
 *   t  signing time, seconds since the epoch
 *   d  the RFC 5322 From domain
 *   m  HMAC-SHA256(secret, "v=1; k=K; q=Q; t=T; d=D;") truncated to 16
 *      bytes, base64url without padding (22 characters)
 *
 *   Pure functions (no logging, no exit); the secret file is read by
 *   trace_key_load(), which refuses group/other-readable files.
 */
#ifndef POSTFLOW_TRACE_H
#define POSTFLOW_TRACE_H

#include <stddef.h>
#include <time.h>

#include "config.h"

struct trace_conf {
    char *header_name; /* "X-Postflow-Trace" */
    char *key_id;      /* k= of new headers */
    char *secret_file; /* current secret (>= 16 bytes) */
    char *old_key_id;  /* accepted when verifying, during rotation */
    char *old_secret_file;
    long long max_age; /* verify: refuse older references (seconds) */
};

/* Option table of the `trace` section (bind to a struct trace_conf). */
extern const struct cfg_option trace_conf_options[];

#define TRACE_KEY_ID_MAX 15
#define TRACE_SECRET_MIN 16
#define TRACE_SECRET_MAX 256
#define TRACE_QID_MAX    63
#define TRACE_DOMAIN_MAX 253
#define TRACE_VALUE_MAX  400 /* a formatted value always fits */

struct trace_key {
    char id[TRACE_KEY_ID_MAX + 1];
    unsigned char secret[TRACE_SECRET_MAX];
    size_t len;
};

struct trace_ref {
    char key_id[TRACE_KEY_ID_MAX + 1];
    char qid[TRACE_QID_MAX + 1];
    char domain[TRACE_DOMAIN_MAX + 1];
    time_t t;
};

enum trace_result {
    TRACE_OK = 0,
    TRACE_MALFORMED = -1,   /* not a v=1 trace value, or a field out of its syntax */
    TRACE_UNKNOWN_KEY = -2, /* k= names no key we have */
    TRACE_BAD_MAC = -3,     /* forged or altered */
    TRACE_EXPIRED = -4,     /* older than max_age, or from the future */
};

/* Sets a key from bytes; returns 0, or -1 when id or length is out of range. */
int trace_key_set(struct trace_key *key, const char *id, const void *secret, size_t len);

/*
 * Reads the secret from path (its bytes, trailing newline removed).  The
 * file must not be accessible by group/other.  Returns 0, or -1 with a
 * message in err.
 */
int trace_key_load(struct trace_key *key, const char *id, const char *path, char *err, size_t errsize);

/*
 * Writes the header value for (qid, t, domain) into out.  qid and domain
 * must match their syntax ([A-Za-z0-9._-], domain lower-cased here).
 * Returns the length, or -1 (bad field, or outsize < TRACE_VALUE_MAX).
 */
int trace_format(const struct trace_key *key, const char *qid, time_t t, const char *domain, char *out, size_t outsize);

/*
 * Parses and checks a header value (folding and white space tolerated).
 * keys[0..nkeys) are the accepted keys; max_age 0 = no age limit.  On
 * TRACE_OK, and also on TRACE_BAD_MAC/TRACE_EXPIRED (for logging), ref
 * holds the parsed fields.
 */
enum trace_result trace_verify(const struct trace_key *keys, size_t nkeys, const char *value, size_t len, time_t now,
                               long long max_age, struct trace_ref *ref);

const char *trace_result_name(enum trace_result r);

#endif
