/*
 * NAME
 *   mdkim_msg.h - sign one message: the engine shared by the milter and --sign
 *
 * DESCRIPTION
 *   Fed by an adapter (milter_cb.c or sign_stdin.c), in message order:
 *     mdkim_msg_init()       with a snapshot reference (kept, not owned)
 *     mdkim_msg_header()     per header field
 *     mdkim_msg_eoh()        decides: sign (which keys) or skip (why)
 *     mdkim_msg_body()       per body chunk: canonicalized and hashed now
 *     mdkim_msg_eom()        produces the header fields to add on top
 *     mdkim_msg_free()
 *   Memory per message: the header block (bounded by max_header_bytes and
 *   max_headers) plus two hash states; the body is never stored.
 *   No libmilter, no logging: outcomes and reasons are returned.
 */
#ifndef POSTFLOW_MDKIM_MSG_H
#define POSTFLOW_MDKIM_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "dkim_sign.h"
#include "from_domain.h"
#include "mdkim_snap.h"

enum mdkim_skip {
    MDKIM_SKIP_NONE = 0,
    MDKIM_SKIP_UNTRUSTED,    /* client not trusted */
    MDKIM_SKIP_NO_FROM,      /* no From field, or a From without mailbox */
    MDKIM_SKIP_MULTI_FROM,   /* several From fields or several mailboxes */
    MDKIM_SKIP_FROM_SYNTAX,  /* unparseable From, or no domain */
    MDKIM_SKIP_NO_RULE,      /* no signing_table rule for the From domain */
    MDKIM_SKIP_NO_KEY,       /* rule found, but no key usable now (dates, alignment) */
    MDKIM_SKIP_HEADER_LIMIT, /* header block over max_header_bytes / max_headers */
    MDKIM_SKIP__COUNT
};

const char *mdkim_skip_name(enum mdkim_skip s);

struct mdkim_sigref { /* what was signed, for the log line */
    const char *domain, *selector;
    enum dkim_alg alg;
};

struct mdkim_msg {
    const struct mdkim_snap *snap;
    struct buf hbuf;     /* header fields "Name:value", CRLF folds, back to back */
    size_t *hoff, *hlen; /* owned arrays */
    size_t nh, caph;
    enum mdkim_skip skip;
    int deciding_done;
    int failed; /* an internal error happened */
    char from_domain[FROM_DOMAIN_MAX + 1];
    size_t sel[MDKIM_MAX_SIGS]; /* key indexes in snap->keys */
    size_t nsel;
    struct dkim_bodyhash bh[2]; /* by enum dkim_canon */
    int bh_on[2];
    uint64_t body_bytes;
    struct dkim_err err;
    char note[DKIM_ERR_MAX + 32]; /* a remark for the log ("" when none), e.g. a broken extra key */
};

struct mdkim_out {
    struct buf fields[MDKIM_MAX_SIGS + 1]; /* "Name: value" with CRLF folds, top-down order */
    size_t nfields;
    struct mdkim_sigref sigs[MDKIM_MAX_SIGS];
    size_t nsigs;
    size_t drop_existing_trace; /* forged trace headers to remove (count) */
};

void mdkim_msg_init(struct mdkim_msg *m, const struct mdkim_snap *snap);
void mdkim_msg_free(struct mdkim_msg *m);

/*
 * A header field from the milter: name and value as libmilter gives them
 * (value with its leading space, SMFIP_HDR_LEADSPC; folds as LF or CRLF).
 */
void mdkim_msg_header(struct mdkim_msg *m, const char *name, const char *value);
/* A raw field "Name: value" (folds as CRLF or LF), without its line end. */
void mdkim_msg_header_raw(struct mdkim_msg *m, const char *raw, size_t len);

/*
 * End of headers.  trusted: the client may have mail signed (networks,
 * SASL, local submission), decided by the adapter.  now selects keys by
 * not_before/not_after.  Returns 1 if the message will be signed, 0 if it
 * is skipped (m->skip says why), -1 when it must get the on_error verdict
 * (a key it needs is broken, or an internal error; m->err says which).
 */
int mdkim_msg_eoh(struct mdkim_msg *m, int trusted, time_t now);

void mdkim_msg_body(struct mdkim_msg *m, const void *data, size_t len);

/*
 * End of message: fills out (init with mdkim_out_init, free with
 * mdkim_out_free).  qid feeds the trace header (skipped when NULL or not
 * a token).  Returns 0, or -1 on an internal error (m->err).
 */
int mdkim_msg_eom(struct mdkim_msg *m, time_t now, const char *qid, struct mdkim_out *out);

/* "d=D s=S a=A, d=D s=S a=A" for the log line; always NUL-terminated. */
void mdkim_out_describe(const struct mdkim_out *out, char *text, size_t size);

void mdkim_out_init(struct mdkim_out *out);
void mdkim_out_free(struct mdkim_out *out);

#endif
