/*
 * codec_rfc2047.c - decode RFC 2047 encoded words in unstructured header text
 * (see codec.h).
 *
 * NAME
 *	codec_rfc2047_decode
 *
 * DESCRIPTION
 *	Used to show a returned message's Subject or a display name in logs
 *	and JSON, so the output is UTF-8 where the charset is known.  Only
 *	charsets that map without tables of more than 32 entries are
 *	converted (UTF-8, US-ASCII, ISO-8859-1, Windows-1252); any other
 *	word is left encoded, which is honest and still readable.  A word
 *	whose payload does not decode is left as it is as well.
 */
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "codec.h"

/* RFC 2047 §2 says 75 bytes per word; real mail exceeds it, but an
 * unbounded look-ahead would make hostile input quadratic. */
#define RFC2047_WORD_MAX 4096

enum charset { CS_UNKNOWN, CS_UTF8, CS_LATIN1, CS_CP1252 };

static bool ci_eq(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != b[i])
            return false;
    }
    return true;
}

static enum charset charset_of(const char *s, size_t n)
{
    const char *star = memchr(s, '*', n); /* RFC 2231 language suffix */

    if (star != NULL)
        n = (size_t)(star - s);
    if (ci_eq(s, n, "utf-8") || ci_eq(s, n, "utf8") || ci_eq(s, n, "us-ascii"))
        return CS_UTF8;
    if (ci_eq(s, n, "iso-8859-1") || ci_eq(s, n, "latin1") || ci_eq(s, n, "iso8859-1"))
        return CS_LATIN1;
    if (ci_eq(s, n, "windows-1252") || ci_eq(s, n, "cp1252"))
        return CS_CP1252;
    return CS_UNKNOWN;
}

/* Windows-1252 0x80..0x9F; 0 where undefined (kept as U+FFFD). */
static const unsigned short cp1252_high[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

static int put_utf8(struct buf *out, unsigned int cp)
{
    char u[3];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    }
    return buf_append(out, u, n) == BUF_OK ? CODEC_OK : CODEC_ERR_SPACE;
}

static int convert(enum charset cs, const unsigned char *p, size_t n, struct buf *out)
{
    if (cs == CS_UTF8)
        return buf_append(out, p, n) == BUF_OK ? CODEC_OK : CODEC_ERR_SPACE;
    for (size_t i = 0; i < n; i++) {
        unsigned int cp = p[i];
        if (cs == CS_CP1252 && cp >= 0x80 && cp < 0xA0)
            cp = cp1252_high[cp - 0x80] ? cp1252_high[cp - 0x80] : 0xFFFD;
        if (put_utf8(out, cp) != CODEC_OK)
            return CODEC_ERR_SPACE;
    }
    return CODEC_OK;
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* RFC 2047 §4.2 "Q": '_' is a space, =XX a byte; anything else literal. */
static bool q_decode(const char *s, size_t n, struct buf *raw)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '_') {
            c = ' ';
        } else if (c == '=') {
            int hi = i + 2 < n ? hexv(s[i + 1]) : -1;
            int lo = hi >= 0 ? hexv(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (buf_append_char(raw, c) != BUF_OK)
            return false;
    }
    return true;
}

/*
 * If in[i..] is a decodable encoded word, appends its UTF-8 form to out and
 * returns the offset after it; returns 0 otherwise (out unchanged unless
 * it ran out of space, which sets *rc).
 */
static size_t try_word(const char *in, size_t len, size_t i, struct buf *out, int *rc)
{
    size_t cs0, cs1, enc, t0, t1;
    enum charset cs;
    struct buf raw;
    bool ok;

    if (len - i < 8 || in[i] != '=' || in[i + 1] != '?')
        return 0;
    cs0 = i + 2;
    for (cs1 = cs0; cs1 < len && in[cs1] != '?' && cs1 - cs0 < 76; cs1++)
        if (in[cs1] == ' ' || in[cs1] == '\t' || in[cs1] == '\r' || in[cs1] == '\n')
            return 0;
    if (cs1 + 3 >= len || in[cs1] != '?' || in[cs1 + 2] != '?' || cs1 == cs0)
        return 0;
    enc = cs1 + 1;
    t0 = cs1 + 3;
    for (t1 = t0; t1 + 1 < len && !(in[t1] == '?' && in[t1 + 1] == '='); t1++)
        if (in[t1] == ' ' || in[t1] == '\t' || in[t1] == '\r' || in[t1] == '\n' || t1 - t0 > RFC2047_WORD_MAX)
            return 0;
    if (t1 + 1 >= len)
        return 0;
    if ((cs = charset_of(in + cs0, cs1 - cs0)) == CS_UNKNOWN)
        return 0;
    buf_init(&raw, t1 - t0 + 1);
    if (in[enc] == 'B' || in[enc] == 'b')
        ok = codec_base64_decode(in + t0, t1 - t0, &raw, NULL) == CODEC_OK;
    else if (in[enc] == 'Q' || in[enc] == 'q')
        ok = q_decode(in + t0, t1 - t0, &raw);
    else
        ok = false;
    if (ok && (*rc = convert(cs, (const unsigned char *)(raw.data ? raw.data : ""), raw.len, out)) != CODEC_OK)
        ok = false;
    buf_free(&raw);
    return ok ? t1 + 2 : 0;
}

static bool is_lwsp(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int codec_rfc2047_decode(const char *in, size_t len, struct buf *out)
{
    size_t i = 0;
    bool after_word = false;
    int rc = CODEC_OK;

    while (i < len) {
        if (is_lwsp(in[i])) {
            size_t ws = i, end;
            while (i < len && is_lwsp(in[i]))
                i++;
            /* §6.2: whitespace between two encoded words is not displayed */
            if (after_word && (end = try_word(in, len, i, out, &rc)) != 0) {
                i = end;
                continue;
            }
            if (rc != CODEC_OK)
                return rc;
            for (size_t k = ws; k < i; k++) /* unfold: drop CR and LF */
                if (in[k] != '\r' && in[k] != '\n' && buf_append_char(out, in[k]) != BUF_OK)
                    return CODEC_ERR_SPACE;
            after_word = false;
            continue;
        }
        size_t end = try_word(in, len, i, out, &rc);
        if (rc != CODEC_OK)
            return rc;
        if (end != 0) {
            i = end;
            after_word = true;
            continue;
        }
        if (buf_append_char(out, in[i]) != BUF_OK)
            return CODEC_ERR_SPACE;
        after_word = false;
        i++;
    }
    return CODEC_OK;
}
