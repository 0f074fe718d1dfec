/*
 * NAME
 *   dkim_canon.h - DKIM canonicalization (RFC 6376 section 3.4)
 *
 * DESCRIPTION
 *   Pure functions, no I/O: canonical bytes are handed to a sink callback
 *   (a digest update in production, a buffer in tests).
 *
 *   Headers: dkim_canon_header() canonicalizes one header field given as
 *   its raw text "Name:value" (folding CRLFs inside, no final CRLF) and
 *   emits it followed by CRLF (or without, for the DKIM-Signature field
 *   being signed, RFC 6376 section 3.7).
 *
 *   Body: struct dkim_body_canon is a streaming canonicalizer with constant
 *   memory: a few flags and a counter of pending empty lines, however long
 *   the body.  Lines end at CRLF; a lone CR or LF is an ordinary byte, as it
 *   is for the MTA that transmits the message.
 */
#ifndef POSTFLOW_DKIM_CANON_H
#define POSTFLOW_DKIM_CANON_H

#include <stddef.h>
#include <stdint.h>

enum dkim_canon { DKIM_CANON_SIMPLE = 0, DKIM_CANON_RELAXED = 1 };

/* Receives canonical bytes; called with small chunks (<= DKIM_CANON_CHUNK). */
typedef void (*dkim_sink_fn)(void *arg, const void *data, size_t len);

#define DKIM_CANON_CHUNK 4096

/* "simple" / "relaxed" -> enum; -1 when unknown. */
int dkim_canon_from_name(const char *name);
const char *dkim_canon_name(enum dkim_canon c);

/*
 * Canonicalizes the header field `raw` (rawlen bytes: "Name:value" as it
 * appears in the message, without its final CRLF).  with_crlf adds the
 * terminating CRLF.  Returns 0, or -1 if raw has no colon.
 */
int dkim_canon_header(enum dkim_canon mode, const char *raw, size_t rawlen, int with_crlf, dkim_sink_fn sink,
                      void *arg);

struct dkim_body_canon {
    enum dkim_canon mode;
    dkim_sink_fn sink;
    void *arg;
    uint64_t pending_crlf; /* line ends seen but not yet emitted */
    int cr;                /* a CR was seen, waiting for LF */
    int wsp;               /* relaxed: white space seen, not yet emitted */
    int content;           /* some non-empty line has been emitted */
    uint64_t bytes_in;     /* raw body bytes fed */
    uint64_t bytes_out;    /* canonical bytes emitted */
    size_t outlen;
    unsigned char out[DKIM_CANON_CHUNK];
};

void dkim_body_canon_init(struct dkim_body_canon *bc, enum dkim_canon mode, dkim_sink_fn sink, void *arg);
void dkim_body_canon_update(struct dkim_body_canon *bc, const void *data, size_t len);
/* Emits what the end of the body implies and flushes the sink. */
void dkim_body_canon_final(struct dkim_body_canon *bc);

#endif
