/*
 * verp.c - VERP return-path decoding (see verp.h).
 */
#include "verp.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static bool domain_ok(const char *d, size_t n)
{
    if (n == 0 || n > 253 || memchr(d, '.', n) == NULL || d[0] == '.' || d[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)d[i]) || d[i] == '-' || d[i] == '.'))
            return false;
    return true;
}

bool verp_decode(const char *addr, size_t n, char delim1, char delim2, const char *prefix, char out[VERP_ADDR_MAX])
{
    out[0] = '\0';
    const char *at = n > 0 ? memrchr(addr, '@', n) : NULL;
    if (at == NULL)
        return false;
    size_t local_len = (size_t)(at - addr);
    const char *d1 = memchr(addr, delim1, local_len);
    if (d1 == NULL || d1 == addr)
        return false;
    if (prefix != NULL && prefix[0] != '\0' &&
        (strlen(prefix) != (size_t)(d1 - addr) || strncasecmp(addr, prefix, (size_t)(d1 - addr)) != 0))
        return false;
    const char *enc = d1 + 1;
    size_t enc_len = (size_t)(at - enc);
    const char *d2 = enc_len > 0 ? memrchr(enc, delim2, enc_len) : NULL;
    if (d2 == NULL || d2 == enc)
        return false;
    size_t rl = (size_t)(d2 - enc), dl = (size_t)(at - d2 - 1);
    if (rl > 64 || !domain_ok(d2 + 1, dl) || rl + 1 + dl >= VERP_ADDR_MAX)
        return false;
    for (size_t i = 0; i < rl; i++)
        if ((unsigned char)enc[i] <= 0x20 || enc[i] == 0x7f || enc[i] == '@')
            return false;
    memcpy(out, enc, rl);
    out[rl] = '@';
    for (size_t i = 0; i < dl; i++)
        out[rl + 1 + i] = (char)tolower((unsigned char)d2[1 + i]);
    out[rl + 1 + dl] = '\0';
    return true;
}
