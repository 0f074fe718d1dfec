/*
 * text_safe.c - untrusted bytes as printable, capped ASCII (see text_safe.h).
 */
#include <stddef.h>
#include <string.h>

#include "text_safe.h"

#define TEXT_SAFE_MORE "..."

/* Output bytes one input byte takes. */
static size_t text_safe_width(unsigned char c)
{
    if (c == '\\')
        return 2;
    if (c >= 0x20 && c < 0x7f)
        return 1;
    return 4;
}

char *text_safe(char *out, size_t outsize, const char *in, size_t inlen)
{
    static const char hex[] = "0123456789abcdef";
    const size_t more = sizeof TEXT_SAFE_MORE - 1;
    size_t o = 0, mark = 0, i;

    if (outsize == 0)
        return out;
    for (i = 0; i < inlen; i++) {
        unsigned char c = (unsigned char)in[i];
        size_t need = text_safe_width(c);

        if (o + more + 1 <= outsize)
            mark = o; /* the last boundary where "..." would still fit */
        if (o + need + 1 > outsize)
            break;
        if (need == 1) {
            out[o++] = (char)c;
        } else if (need == 2) {
            out[o++] = '\\';
            out[o++] = '\\';
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (i < inlen && outsize >= more + 1) {
        memcpy(out + mark, TEXT_SAFE_MORE, more);
        o = mark + more;
    }
    out[o] = '\0';
    return out;
}
