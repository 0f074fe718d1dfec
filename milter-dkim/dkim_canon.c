/*
 * NAME
 *   dkim_canon.c - DKIM header and body canonicalization (RFC 6376 section 3.4)
 *
 * DESCRIPTION
 *   See dkim_canon.h.  The body canonicalizer is a byte-level state machine:
 *   instead of buffering lines it remembers only whether a CR, white space
 *   or empty lines are pending, so memory does not grow with the message.
 *   Empty lines are counted and emitted only when a later non-empty line
 *   shows they are not trailing (RFC 6376 sections 3.4.3 and 3.4.4).
 *   Output is gathered in a fixed buffer and handed to the sink in chunks.
 */
#include "dkim_canon.h"

#include <string.h>
#include <strings.h>

int dkim_canon_from_name(const char *name)
{
    if (strcasecmp(name, "simple") == 0)
        return DKIM_CANON_SIMPLE;
    if (strcasecmp(name, "relaxed") == 0)
        return DKIM_CANON_RELAXED;
    return -1;
}

const char *dkim_canon_name(enum dkim_canon c)
{
    return c == DKIM_CANON_RELAXED ? "relaxed" : "simple";
}

static int is_wsp(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* A small output gatherer for header canonicalization. */
struct hout {
    dkim_sink_fn sink;
    void *arg;
    size_t len;
    unsigned char buf[512];
};

static void hout_put(struct hout *o, unsigned char c)
{
    if (o->len == sizeof o->buf) {
        o->sink(o->arg, o->buf, o->len);
        o->len = 0;
    }
    o->buf[o->len++] = c;
}

static void hout_flush(struct hout *o)
{
    if (o->len > 0)
        o->sink(o->arg, o->buf, o->len);
    o->len = 0;
}

/*
 * RFC 6376 section 3.4.2: lowercase the name, unfold, reduce white space
 * runs to one SP, drop white space at the end of the value and around the
 * colon.
 */
static void canon_header_relaxed(const char *raw, size_t rawlen, size_t colon, struct hout *o)
{
    size_t namelen = colon;
    while (namelen > 0 && is_wsp((unsigned char)raw[namelen - 1]))
        namelen--;
    for (size_t i = 0; i < namelen; i++) {
        unsigned char c = (unsigned char)raw[i];
        hout_put(o, (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c);
    }
    hout_put(o, ':');
    int started = 0, wsp = 0;
    for (size_t i = colon + 1; i < rawlen; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c == '\r' && i + 1 < rawlen && raw[i + 1] == '\n') {
            i++; /* unfold: CRLF is deleted */
            continue;
        }
        if (is_wsp(c)) {
            wsp = started; /* leading white space is dropped */
            continue;
        }
        if (wsp)
            hout_put(o, ' ');
        wsp = 0;
        started = 1;
        hout_put(o, c);
    }
}

int dkim_canon_header(enum dkim_canon mode, const char *raw, size_t rawlen, int with_crlf, dkim_sink_fn sink, void *arg)
{
    const char *colon = memchr(raw, ':', rawlen);
    if (colon == NULL)
        return -1;
    struct hout o;
    o.sink = sink;
    o.arg = arg;
    o.len = 0;
    if (mode == DKIM_CANON_RELAXED) {
        canon_header_relaxed(raw, rawlen, (size_t)(colon - raw), &o);
        hout_flush(&o);
    } else if (rawlen > 0) {
        sink(arg, raw, rawlen); /* simple: byte for byte (section 3.4.1) */
    }
    if (with_crlf)
        sink(arg, "\r\n", 2);
    return 0;
}

void dkim_body_canon_init(struct dkim_body_canon *bc, enum dkim_canon mode, dkim_sink_fn sink, void *arg)
{
    memset(bc, 0, offsetof(struct dkim_body_canon, out));
    bc->mode = mode;
    bc->sink = sink;
    bc->arg = arg;
}

static void body_flush(struct dkim_body_canon *bc)
{
    if (bc->outlen > 0) {
        bc->sink(bc->arg, bc->out, bc->outlen);
        bc->bytes_out += bc->outlen;
        bc->outlen = 0;
    }
}

static inline void body_put(struct dkim_body_canon *bc, unsigned char c)
{
    if (bc->outlen == sizeof bc->out)
        body_flush(bc);
    bc->out[bc->outlen++] = c;
}

/* A byte of a non-empty line: the empty lines and white space before it count. */
static inline void body_content(struct dkim_body_canon *bc, unsigned char c)
{
    for (; bc->pending_crlf > 0; bc->pending_crlf--) {
        body_put(bc, '\r');
        body_put(bc, '\n');
    }
    if (bc->wsp) {
        body_put(bc, ' ');
        bc->wsp = 0;
    }
    body_put(bc, c);
    bc->content = 1;
}

/*
 * Bytes that canonicalization leaves as they are: anything but CR for
 * simple; for relaxed also no TAB and no run of spaces, but a single space
 * followed by an ordinary byte is kept (it is its own canonical form), so
 * ordinary text passes in long runs.
 */
static const unsigned char *span_end(const unsigned char *p, const unsigned char *end, int relaxed)
{
    if (!relaxed) {
        const unsigned char *cr = memchr(p, '\r', (size_t)(end - p));
        return cr ? cr : end;
    }
    while (p < end) {
        unsigned char c = *p;
        if (c == '\r' || c == '\t')
            break;
        if (c == ' ') {
            if (p + 1 >= end || p[1] == ' ' || p[1] == '\t' || p[1] == '\r')
                break;
            p += 2;
            continue;
        }
        p++;
    }
    return p;
}

/* Emits a run of ordinary bytes: small runs are gathered, long ones go to the sink directly. */
static void body_span(struct dkim_body_canon *bc, const unsigned char *p, size_t n)
{
    bc->content = 1;
    if (n <= sizeof bc->out - bc->outlen) {
        memcpy(bc->out + bc->outlen, p, n);
        bc->outlen += n;
        return;
    }
    body_flush(bc);
    if (n < sizeof bc->out) {
        memcpy(bc->out, p, n);
        bc->outlen = n;
        return;
    }
    bc->sink(bc->arg, p, n);
    bc->bytes_out += n;
}

void dkim_body_canon_update(struct dkim_body_canon *bc, const void *data, size_t len)
{
    const unsigned char *p = data, *end = p + len;
    int relaxed = bc->mode == DKIM_CANON_RELAXED;

    bc->bytes_in += len;
    while (p < end) {
        if (!bc->cr && bc->pending_crlf == 0 && !bc->wsp) {
            /* Inside a line with nothing pending: pass ordinary bytes through in bulk. */
            const unsigned char *q = span_end(p, end, relaxed);
            if (q > p) {
                body_span(bc, p, (size_t)(q - p));
                p = q;
                continue;
            }
        }
        unsigned char c = *p++;
        if (bc->cr) {
            bc->cr = 0;
            if (c == '\n') {
                bc->wsp = 0; /* relaxed: white space at end of line goes */
                bc->pending_crlf++;
                continue;
            }
            body_content(bc, '\r'); /* a lone CR is data */
        }
        if (c == '\r')
            bc->cr = 1;
        else if (relaxed && (c == ' ' || c == '\t'))
            bc->wsp = 1;
        else
            body_content(bc, c);
    }
}

void dkim_body_canon_final(struct dkim_body_canon *bc)
{
    if (bc->cr) {
        bc->cr = 0;
        body_content(bc, '\r');
    }
    /*
     * Trailing empty lines are dropped, the last line gets its CRLF.  An
     * empty body is CRLF for simple, nothing for relaxed (section 3.4.3/4).
     */
    if (bc->mode == DKIM_CANON_SIMPLE || bc->content) {
        body_put(bc, '\r');
        body_put(bc, '\n');
    }
    bc->pending_crlf = 0;
    bc->wsp = 0;
    body_flush(bc);
}
