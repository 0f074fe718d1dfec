/*
 * NAME
 *   wctl_addr.c - address validation and lowercasing (see wctl_addr.h).
 *
 * DESCRIPTION
 *   The checks are deliberately those of a key component (redis_keys.c:
 *   no byte <= 0x20, no DEL, bounded length) plus the shape of an address,
 *   so that warmupctl refuses what policyd-warmup could never match instead
 *   of storing an entry nobody will ever hit.  Quoted local parts with
 *   spaces ("john doe"@example.com) are refused for the same reason: the
 *   key schema cannot hold them.
 */
#include "wctl_addr.h"

#include <string.h>

#define LOCAL_MAX  64
#define DOMAIN_MAX 255

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int domain_ok(const char *d, size_t n)
{
    size_t label = 0;

    if (n == 0 || n > DOMAIN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else {
            label++;
        }
    }
    return label > 0;
}

int wctl_addr_normalize(const char *in, size_t len, char out[WCTL_ADDR_MAX + 1], const char **why)
{
    const char *at = NULL;

    out[0] = '\0';
    while (len > 0 && is_blank(in[0])) {
        in++;
        len--;
    }
    while (len > 0 && is_blank(in[len - 1]))
        len--;
    if (len >= 2 && in[0] == '<' && in[len - 1] == '>') {
        in++;
        len -= 2;
    }
    if (len == 0) {
        *why = "empty address";
        return -1;
    }
    if (len > WCTL_ADDR_MAX) {
        *why = "address longer than 320 bytes";
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= 0x20 || c == 0x7f) {
            *why = "address contains a space, NUL, CR, LF or other control byte";
            return -1;
        }
        if (c == '@') {
            if (at != NULL) {
                *why = "address contains more than one '@'";
                return -1;
            }
            at = in + i;
        }
    }
    if (at == NULL) {
        *why = "address has no '@' (use local@domain or @domain)";
        return -1;
    }
    if ((size_t)(at - in) > LOCAL_MAX) {
        *why = "local part longer than 64 bytes";
        return -1;
    }
    if (!domain_ok(at + 1, len - (size_t)(at - in) - 1)) {
        *why = "missing or malformed domain";
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[len] = '\0';
    return (int)len;
}
