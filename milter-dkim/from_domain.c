/*
 * NAME
 *   from_domain.c - mailbox count and domain of a From: value (see from_domain.h)
 */
#include "from_domain.h"

#include <string.h>

struct scan {
    int  count;
    char *domain;
    size_t dsize;
};

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Stores the lower-cased domain of addr-spec a[0..n) if it is the first mailbox. */
static void take_mailbox(struct scan *s, const char *a, size_t n)
{
    s->count++;
    if (s->count != 1)
        return;
    s->domain[0] = '\0';
    const char *at = NULL;
    for (size_t i = 0; i < n; i++)
        if (a[i] == '@')
            at = a + i;
    if (at == NULL)
        return;
    const char *d = at + 1, *end = a + n;
    while (d < end && is_ws(*d))
        d++;
    while (end > d && (is_ws(end[-1]) || end[-1] == '.'))
        end--;
    size_t dl = (size_t)(end - d);
    if (dl == 0 || dl > FROM_DOMAIN_MAX || dl >= s->dsize)
        return;
    for (size_t i = 0; i < dl; i++) {
        unsigned char c = (unsigned char)d[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '-' || c == '.' || c >= 0x80)) {
            s->domain[0] = '\0';
            return;
        }
        s->domain[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
    }
    s->domain[dl] = '\0';
}

/* A list element without <...>: a bare addr-spec, possibly with comments around it. */
static void end_bare(struct scan *s, const char *bare, size_t n)
{
    size_t i = 0;
    while (i < n && is_ws(bare[i]))
        i++;
    while (n > i && is_ws(bare[n - 1]))
        n--;
    if (n > i)
        take_mailbox(s, bare + i, n - i);
}

int from_domain_parse(const char *v, size_t len, char *domain, size_t dsize)
{
    struct scan s = { 0, domain, dsize };
    char bare[1024];
    size_t blen = 0;
    int had_angle = 0, overflow = 0;
    size_t angle = 0;
    int in_angle = 0;

    if (dsize > 0)
        domain[0] = '\0';
    for (size_t i = 0; i < len; i++) {
        char c = v[i];
        if (c == '"') {                      /* quoted string */
            size_t start = i;
            for (i++; i < len && v[i] != '"'; i++)
                if (v[i] == '\\')
                    i++;
            if (i >= len)
                return -1;
            if (!in_angle && !had_angle) {   /* may be a quoted local part of a bare address */
                size_t n = i - start + 1;
                if (blen + n < sizeof bare) {
                    memcpy(bare + blen, v + start, n);
                    blen += n;
                } else {
                    overflow = 1;
                }
            }
            continue;
        }
        if (c == '(') {                      /* comment, nested */
            int depth = 1;
            for (i++; i < len && depth > 0; i++) {
                if (v[i] == '\\')
                    i++;
                else if (v[i] == '(')
                    depth++;
                else if (v[i] == ')')
                    depth--;
            }
            if (depth > 0)
                return -1;
            i--;
            continue;
        }
        if (in_angle) {
            if (c == '>') {
                in_angle = 0;
                had_angle = 1;
                take_mailbox(&s, v + angle, i - angle);
            } else if (c == '<') {
                return -1;
            }
            continue;
        }
        switch (c) {
        case '<':
            in_angle = 1;
            angle = i + 1;
            break;
        case '>':
        case ')':
            return -1;
        case ':':                            /* group name ends; members follow */
            blen = 0;
            had_angle = 0;
            break;
        case ',':
        case ';':
            if (!had_angle && !overflow)
                end_bare(&s, bare, blen);
            blen = 0;
            had_angle = 0;
            overflow = 0;
            break;
        default:
            if (!had_angle) {
                if (blen + 1 < sizeof bare)
                    bare[blen++] = c;
                else
                    overflow = 1;
            }
        }
    }
    if (in_angle)
        return -1;
    if (overflow)
        return -1;
    if (!had_angle)
        end_bare(&s, bare, blen);
    if (s.count != 1 && dsize > 0)
        domain[0] = '\0';
    return s.count;
}
