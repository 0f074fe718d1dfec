/*
 * fbl_addr.c - recipient addresses in feedback reports (see fbl_addr.h).
 */
#include "fbl_addr.h"

#include <string.h>
#include <strings.h>

#include "address.h"
#include "buf.h"
#include "mail_header.h"

/* "rfc822; a@b" -> "a@b": a typed value whose type is a plain token. */
static struct mail_view untype(const char *s, size_t n)
{
    struct mail_view v = mail_view_make(s, n), type, rest;
    if (!mail_field_typed(v, &type, &rest) || type.len == 0 || type.len > 16)
        return v;
    for (size_t i = 0; i < type.len; i++) {
        char c = type.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            return v;
    }
    return rest;
}

bool fbl_addr_clean(const char *s, size_t n, char out[FBL_ADDR_MAX])
{
    out[0] = '\0';
    if (s == NULL || n == 0)
        return false;
    struct mail_view v = untype(s, n);
    struct address_list l;
    struct mail_limits lim = MAIL_LIMITS_INIT;
    lim.max_addresses = 2;
    bool ok = false;
    if (address_list_parse(v.ptr, v.len, &lim, &l, NULL) == MAIL_OK && l.n == 1 &&
        !(l.v[0].flags & ADDRESS_F_NO_DOMAIN) && l.v[0].local.len > 0 && l.v[0].domain.len > 0) {
        struct buf b;
        buf_init(&b, FBL_ADDR_MAX - 1);
        if (address_normalize(&l.v[0], &b) == 0 && b.len > 0 && memchr(b.data, ' ', b.len) == NULL) {
            memcpy(out, b.data, b.len);
            out[b.len] = '\0';
            ok = true;
        }
        buf_free(&b);
    }
    address_list_free(&l);
    return ok;
}

void fbl_addr_redaction_add(struct fbl_redaction *red, const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t' || *s == '<'))
        s++, n--;
    const char *at = memchr(s, '@', n);
    if (at != NULL)
        n = (size_t)(at - s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    if (n == 0 || n >= FBL_REDACT_LEN || red->n >= FBL_REDACT_MAX)
        return;
    memcpy(red->mark[red->n], s, n);
    red->mark[red->n][n] = '\0';
    red->n++;
}

static bool contains_ci(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i + w <= n; i++)
        if (strncasecmp(s + i, word, w) == 0)
            return true;
    return false;
}

bool fbl_addr_redacted(const char *addr, const struct fbl_redaction *red)
{
    const char *at = strrchr(addr, '@');
    size_t local = at != NULL ? (size_t)(at - addr) : strlen(addr);
    if (contains_ci(addr, strlen(addr), "redacted"))
        return true;
    size_t masked = 0;
    for (size_t i = 0; i < local; i++)
        if (strchr("xX*#._-", addr[i]) != NULL)
            masked++;
    if (local >= 3 && masked == local) /* "xxxx@", "***@": a mask, not a mailbox */
        return true;
    for (size_t i = 0; red != NULL && i < red->n; i++) {
        size_t m = strlen(red->mark[i]);
        if (m > 0 && m == local && strncasecmp(addr, red->mark[i], m) == 0)
            return true;
    }
    return false;
}
