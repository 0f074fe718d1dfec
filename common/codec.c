/*
 * codec.c - base64 and quoted-printable decoding, base64 encoding
 * (see codec.h; RFC 2047 words are in codec_rfc2047.c).
 *
 * DESCRIPTION
 *	The decoders are written once against a tiny output sink that either
 *	appends to a struct buf or fills a caller array, so both entry points
 *	share the bounds checks.
 */
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "codec.h"

struct sink {
    struct buf *b;      /* either this ... */
    unsigned char *mem; /* ... or this, with: */
    size_t memsz;
    size_t n; /* bytes written */
};

static int sink_put(struct sink *k, const void *p, size_t n)
{
    if (k->b != NULL) {
        if (buf_append(k->b, p, n) != BUF_OK)
            return CODEC_ERR_SPACE;
    } else {
        if (n > k->memsz - k->n)
            return CODEC_ERR_SPACE;
        memcpy(k->mem + k->n, p, n);
    }
    k->n += n;
    return CODEC_OK;
}

size_t codec_decoded_max(size_t len)
{
    return len; /* base64 gives 3/4, QP at most 1 byte per input byte */
}

const char *codec_status_str(int status)
{
    switch (status) {
    case CODEC_OK: return "ok";
    case CODEC_ERR_INVALID: return "invalid encoded data";
    case CODEC_ERR_SPACE: return "decoded data exceeds the output limit";
    default: return "unknown codec status";
    }
}

/* ---- base64 (RFC 2045 §6.8) ----------------------------------------------- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static bool b64_skippable(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int b64_decode(const char *in, size_t len, struct sink *k, size_t *err_offset)
{
    unsigned int acc = 0;
    int nsext = 0, npad = 0, rc;
    unsigned char out[3];

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        int v;

        if (b64_skippable(c))
            continue;
        if (c == '=') {
            /* padding may only complete a quantum of 2 or 3 sextets */
            if (nsext + npad < 2 || nsext + npad >= 4) {
                if (err_offset != NULL)
                    *err_offset = i;
                return CODEC_ERR_INVALID;
            }
            npad++;
            continue;
        }
        if ((v = b64_value(c)) < 0 || npad > 0) {
            if (err_offset != NULL)
                *err_offset = i;
            return CODEC_ERR_INVALID;
        }
        acc = (acc << 6) | (unsigned int)v;
        if (++nsext == 4) {
            out[0] = (unsigned char)(acc >> 16);
            out[1] = (unsigned char)(acc >> 8);
            out[2] = (unsigned char)acc;
            if ((rc = sink_put(k, out, 3)) != CODEC_OK)
                return rc;
            nsext = 0;
            acc = 0;
        }
    }
    /* Final partial quantum, padded or not: 2 sextets = 1 byte, 3 = 2 bytes. */
    if (nsext == 1) {
        if (err_offset != NULL)
            *err_offset = len;
        return CODEC_ERR_INVALID;
    }
    if (nsext == 2) {
        out[0] = (unsigned char)(acc >> 4);
        return sink_put(k, out, 1);
    }
    if (nsext == 3) {
        out[0] = (unsigned char)(acc >> 10);
        out[1] = (unsigned char)(acc >> 2);
        return sink_put(k, out, 2);
    }
    return CODEC_OK;
}

int codec_base64_decode(const char *in, size_t len, struct buf *out, size_t *err_offset)
{
    struct sink k = { .b = out };

    return b64_decode(in, len, &k, err_offset);
}

int codec_base64_decode_mem(const char *in, size_t len, unsigned char *out, size_t outsz, size_t *outlen,
                            size_t *err_offset)
{
    struct sink k = { .mem = out, .memsz = outsz };
    int rc = b64_decode(in, len, &k, err_offset);

    *outlen = k.n;
    return rc;
}

int codec_base64_encode(const void *in, size_t len, struct buf *out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = in;
    char q[4];

    for (size_t i = 0; i < len; i += 3) {
        unsigned int v = (unsigned int)p[i] << 16;
        size_t n = len - i < 3 ? len - i : 3;

        if (n > 1)
            v |= (unsigned int)p[i + 1] << 8;
        if (n > 2)
            v |= p[i + 2];
        q[0] = alphabet[(v >> 18) & 63];
        q[1] = alphabet[(v >> 12) & 63];
        q[2] = n > 1 ? alphabet[(v >> 6) & 63] : '=';
        q[3] = n > 2 ? alphabet[v & 63] : '=';
        if (buf_append(out, q, 4) != BUF_OK)
            return CODEC_ERR_SPACE;
    }
    return CODEC_OK;
}

/* ---- quoted-printable (RFC 2045 §6.7) ------------------------------------- */

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Length of a line ending at in[i] (2 for CRLF, 1 for LF), else 0. */
static size_t eol_at(const char *in, size_t len, size_t i)
{
    if (i < len && in[i] == '\n')
        return 1;
    if (i + 1 < len && in[i] == '\r' && in[i + 1] == '\n')
        return 2;
    return 0;
}

static int qp_decode(const char *in, size_t len, struct sink *k)
{
    size_t i = 0;
    int rc;

    while (i < len) {
        /* One line: [i, e) content, then an optional line ending. */
        size_t e = i, eol, t;
        while (e < len && !eol_at(in, len, e))
            e++;
        eol = eol_at(in, len, e);
        /* Rule 3: trailing whitespace is transport padding, removed. */
        t = e;
        while (t > i && (in[t - 1] == ' ' || in[t - 1] == '\t'))
            t--;
        bool soft = t > i && in[t - 1] == '=';
        size_t content_end = soft ? t - 1 : t;

        for (size_t j = i; j < content_end;) {
            const char *eq = memchr(in + j, '=', content_end - j);
            size_t lit = (eq != NULL ? (size_t)(eq - in) : content_end) - j;
            if (lit > 0 && (rc = sink_put(k, in + j, lit)) != CODEC_OK)
                return rc;
            j += lit;
            if (j >= content_end)
                break;
            /* in[j] == '=' */
            int hi = j + 2 < content_end ? hex_value((unsigned char)in[j + 1]) : -1;
            int lo = hi >= 0 ? hex_value((unsigned char)in[j + 2]) : -1;
            if (hi >= 0 && lo >= 0) {
                unsigned char byte = (unsigned char)(hi << 4 | lo);
                if ((rc = sink_put(k, &byte, 1)) != CODEC_OK)
                    return rc;
                j += 3;
            } else { /* not an escape: keep the '=' literally */
                if ((rc = sink_put(k, "=", 1)) != CODEC_OK)
                    return rc;
                j += 1;
            }
        }
        if (!soft && eol > 0 && (rc = sink_put(k, in + e, eol)) != CODEC_OK)
            return rc;
        i = e + eol;
    }
    return CODEC_OK;
}

int codec_qp_decode(const char *in, size_t len, struct buf *out)
{
    struct sink k = { .b = out };

    return qp_decode(in, len, &k);
}

int codec_qp_decode_mem(const char *in, size_t len, unsigned char *out, size_t outsz, size_t *outlen)
{
    struct sink k = { .mem = out, .memsz = outsz };
    int rc = qp_decode(in, len, &k);

    *outlen = k.n;
    return rc;
}
