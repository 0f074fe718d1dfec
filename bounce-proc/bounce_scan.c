/*
 * bounce_scan.c - status codes, reply codes and addresses in bounce text
 * (see bounce_scan.h).
 */
#include "bounce_scan.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Digits from s[i]; at most max of them; returns how many (0 if none). */
static size_t digits(const char *s, size_t n, size_t i, size_t max)
{
    size_t k = 0;
    while (i + k < n && is_digit(s[i + k]) && k <= max)
        k++;
    return k > max ? 0 : k;
}

long bounce_scan_status(const char *s, size_t n, char out[BOUNCE_STATUS_MAX])
{
    for (size_t i = 0; i + 5 <= n; i++) {
        char c = s[i];
        if (c != '2' && c != '4' && c != '5')
            continue;
        if (i > 0 && (is_digit(s[i - 1]) || s[i - 1] == '.'))
            continue;
        if (s[i + 1] != '.')
            continue;
        size_t a = digits(s, n, i + 2, 3);
        if (a == 0 || i + 2 + a >= n || s[i + 2 + a] != '.')
            continue;
        size_t b = digits(s, n, i + 3 + a, 3);
        if (b == 0)
            continue;
        size_t end = i + 3 + a + b;
        if (end < n && (is_digit(s[end]) || (s[end] == '.' && end + 1 < n && is_digit(s[end + 1]))))
            continue;
        size_t len = end - i;
        memcpy(out, s + i, len);
        out[len] = '\0';
        return (long)i;
    }
    return -1;
}

int bounce_scan_smtp_code(const char *s, size_t n)
{
    for (size_t i = 0; i + 3 <= n; i++) {
        if ((s[i] != '2' && s[i] != '4' && s[i] != '5') || !is_digit(s[i + 1]) || !is_digit(s[i + 2]))
            continue;
        if (i > 0 && !(s[i - 1] == ' ' || s[i - 1] == '\t' || s[i - 1] == ';' || s[i - 1] == '(' || s[i - 1] == '\n' ||
                       s[i - 1] == ':' || s[i - 1] == '#'))
            continue;
        if (i + 3 < n &&
            !(s[i + 3] == ' ' || s[i + 3] == '-' || s[i + 3] == '\r' || s[i + 3] == '\n' || s[i + 3] == ')'))
            continue;
        int code = (s[i] - '0') * 100 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
        if (code % 100 > 59)
            continue;
        return code;
    }
    return 0;
}

static bool local_char(unsigned char c)
{
    return isalnum(c) ||
           (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL); /* strchr finds the NUL terminator too */
}

static bool domain_char(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.';
}

size_t bounce_scan_address(const char *s, size_t n, size_t *pos, char out[BOUNCE_ADDR_MAX])
{
    for (size_t i = *pos; i < n; i++) {
        if (s[i] != '@' || i == 0)
            continue;
        size_t start = i;
        if (s[i - 1] == '"') {
            /* quoted local part (RFC 5321 §4.1.2): keep the quotes, they are part of it */
            size_t q = i - 1; /* printable bytes only (RFC 5321 qtextSMTP), never before *pos */
            while (q > *pos && s[q - 1] != '"' && (unsigned char)s[q - 1] >= 0x20 && s[q - 1] != 0x7f &&
                   s[q - 1] != '<' && i - q < 64)
                q--;
            if (q > *pos && s[q - 1] == '"' && q < i - 1)
                start = q - 1;
        }
        bool quoted = start != i;
        /* a local part never reaches back into the token before it */
        while (!quoted && start > *pos && local_char((unsigned char)s[start - 1]) && i - start < 64)
            start--;
        size_t end = i + 1;
        while (end < n && domain_char((unsigned char)s[end]) && end - i < 254)
            end++;
        while (end > i + 1 && (s[end - 1] == '.' || s[end - 1] == '-'))
            end--;
        while (!quoted && start < i && s[start] == '.')
            start++;
        if (start == i || end <= i + 1) {
            continue;
        }
        const char *dot = memchr(s + i + 1, '.', end - i - 1);
        if (dot == NULL || end - start >= BOUNCE_ADDR_MAX) {
            *pos = end;
            continue;
        }
        size_t len = end - start;
        for (size_t k = 0; k < len; k++)
            out[k] = (char)tolower((unsigned char)s[start + k]);
        out[len] = '\0';
        *pos = end;
        return len;
    }
    *pos = n;
    return 0;
}

bool bounce_scan_clean_address(const char *s, size_t n, char out[BOUNCE_ADDR_MAX])
{
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    const char *semi = memchr(s, ';', n);
    if (semi != NULL && (size_t)(semi - s) < 16) { /* address-type ";" (RFC 3464 §2.3.2) */
        n -= (size_t)(semi + 1 - s);
        s = semi + 1;
    }
    size_t pos = 0;
    char tmp[BOUNCE_ADDR_MAX];
    size_t len = bounce_scan_address(s, n, &pos, tmp);
    if (len == 0)
        return false;
    memcpy(out, tmp, len + 1);
    return true;
}

long bounce_scan_find(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (m == 0 || m > n)
        return m == 0 ? 0 : -1;
    /* candidates by the first byte in either case (memchr is vectorised),
     * then the rest compared case-insensitively */
    unsigned char lo = (unsigned char)tolower((unsigned char)needle[0]);
    unsigned char up = (unsigned char)toupper((unsigned char)needle[0]);
    const char *end = s + n - m + 1; /* one past the last possible start */
    int n1 = m > 1 ? tolower((unsigned char)needle[1]) : 0;
    const char *pl = memchr(s, lo, (size_t)(end - s));
    const char *pu = lo == up ? NULL : memchr(s, up, (size_t)(end - s));
    while (pl != NULL || pu != NULL) {
        const char *p = pl == NULL ? pu : pu == NULL ? pl : pl < pu ? pl : pu;
        /* the second byte first: most candidates end there, without a call */
        if ((m == 1 || tolower((unsigned char)p[1]) == n1) && strncasecmp(p + 1, needle + 1, m - 1) == 0)
            return (long)(p - s);
        if (p == pl)
            pl = p + 1 < end ? memchr(p + 1, lo, (size_t)(end - p - 1)) : NULL;
        else
            pu = p + 1 < end ? memchr(p + 1, up, (size_t)(end - p - 1)) : NULL;
    }
    return -1;
}
