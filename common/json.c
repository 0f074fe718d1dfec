/*
 * json.c - JSON string escaping (see json.h).
 */
#include "json.h"

#include <string.h>

/* Length of a valid UTF-8 sequence at s[0..n), or 0 when invalid (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t need;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        need = 2;
        cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        need = 3;
        cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        need = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

void json_str(struct buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;

    buf_append_char(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        size_t k;
        if (c == '"' || c == '\\') {
            buf_append_char(b, '\\');
            buf_append_char(b, (char)c);
            i++;
        } else if (c == '\n') {
            buf_append_str(b, "\\n");
            i++;
        } else if (c == '\r') {
            buf_append_str(b, "\\r");
            i++;
        } else if (c == '\t') {
            buf_append_str(b, "\\t");
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            buf_printf(b, "\\u%04x", c);
            i++;
        } else if ((k = utf8_seq(u + i, n - i)) == 0) {
            buf_append_str(b, "\\ufffd");
            i++;
        } else {
            buf_append(b, s + i, k);
            i += k;
        }
    }
    buf_append_char(b, '"');
}

void json_cstr(struct buf *b, const char *s)
{
    if (s == NULL)
        buf_append_str(b, "null");
    else
        json_str(b, s, strlen(s));
}

void json_key(struct buf *b, const char *key, int first)
{
    if (!first)
        buf_append_char(b, ',');
    json_cstr(b, key);
    buf_append_char(b, ':');
}

void json_kstr(struct buf *b, const char *key, const char *s)
{
    json_key(b, key, 0);
    json_cstr(b, s);
}

void json_kll(struct buf *b, const char *key, long long v)
{
    json_key(b, key, 0);
    buf_printf(b, "%lld", v);
}
