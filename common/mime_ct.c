/*
 * mime_ct.c - Content-Type, parameter and Content-Transfer-Encoding parsing
 * (RFC 2045 §5.1, §6.1; see mime.h).
 *
 * DESCRIPTION
 *	Values may still be folded: CR and LF count as whitespace here.
 *	Comments (RFC 5322 §3.2.2, nested, with quoted pairs) are skipped
 *	wherever whitespace may appear.  Unquoted parameter values are read
 *	up to ';' or whitespace, tolerating the tspecials ('=', '/', ...)
 *	that real boundaries contain.
 */
#include <string.h>

#include "buf.h"
#include "mime.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 2045 token: CHAR except SPACE, CTLs and tspecials. */
static bool is_token(char ch)
{
    unsigned char c = (unsigned char)ch;

    return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Skips whitespace and (nested) comments; an unclosed comment runs to end. */
static size_t skip_cfws(const char *s, size_t len, size_t i)
{
    for (;;) {
        while (i < len && is_space(s[i]))
            i++;
        if (i >= len || s[i] != '(')
            return i;
        size_t depth = 0;
        for (; i < len; i++) {
            if (s[i] == '\\' && i + 1 < len)
                i++;
            else if (s[i] == '(')
                depth++;
            else if (s[i] == ')' && --depth == 0) {
                i++;
                break;
            }
        }
    }
}

static size_t token_end(const char *s, size_t len, size_t i)
{
    while (i < len && is_token(s[i]))
        i++;
    return i;
}

static bool copy_lower(char *dst, const char *src, size_t n)
{
    if (n == 0 || n > MIME_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        dst[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    dst[n] = '\0';
    return true;
}

bool mime_content_type_parse(struct mail_view value, char type[MIME_TOKEN_MAX + 1], char subtype[MIME_TOKEN_MAX + 1],
                             struct mail_view *params)
{
    const char *s = value.ptr;
    size_t len = value.len, i, t0, t1, s0, s1;

    i = t0 = skip_cfws(s, len, 0);
    t1 = token_end(s, len, t0);
    i = skip_cfws(s, len, t1);
    if (i < len && s[i] == '/') {
        s0 = skip_cfws(s, len, i + 1);
        s1 = token_end(s, len, s0);
        if (copy_lower(type, s + t0, t1 - t0) && copy_lower(subtype, s + s0, s1 - s0)) {
            *params = mail_view_make(s + s1, len - s1);
            return true;
        }
    }
    memcpy(type, "text", 5);
    memcpy(subtype, "plain", 6);
    *params = mail_view_make(NULL, 0);
    return false;
}

enum mime_cte mime_cte_parse(struct mail_view value)
{
    size_t i = skip_cfws(value.ptr, value.len, 0);
    size_t e = token_end(value.ptr, value.len, i);
    struct mail_view tok = mail_view_make(value.ptr + i, e - i);

    if (tok.len == 0 || mail_view_eq_ci(tok, "7bit"))
        return MIME_CTE_7BIT;
    if (mail_view_eq_ci(tok, "8bit"))
        return MIME_CTE_8BIT;
    if (mail_view_eq_ci(tok, "binary"))
        return MIME_CTE_BINARY;
    if (mail_view_eq_ci(tok, "base64"))
        return MIME_CTE_BASE64;
    if (mail_view_eq_ci(tok, "quoted-printable"))
        return MIME_CTE_QP;
    return MIME_CTE_UNKNOWN;
}

/* Appends the quoted string starting after the opening quote at s[i];
 * returns the offset after the closing quote (or len if unclosed). */
static size_t unquote(const char *s, size_t len, size_t i, struct buf *out, int *rc)
{
    while (i < len && s[i] != '"') {
        size_t run = i;
        while (run < len && s[run] != '"' && s[run] != '\\' && s[run] != '\r' && s[run] != '\n')
            run++;
        if (run > i && *rc == 1 && out != NULL && buf_append(out, s + i, run - i) != BUF_OK)
            *rc = -1;
        i = run;
        if (i >= len || s[i] == '"')
            break;
        if (s[i] == '\\' && i + 1 < len) {
            if (*rc == 1 && out != NULL && buf_append(out, s + i + 1, 1) != BUF_OK)
                *rc = -1;
            i += 2;
        } else {
            i++; /* folding CR/LF inside quotes: dropped */
        }
    }
    return i < len ? i + 1 : len;
}

int mime_param_get(struct mail_view params, const char *name, struct buf *out)
{
    const char *s = params.ptr;
    size_t len = params.len, i = 0;

    while (i < len) {
        i = skip_cfws(s, len, i);
        if (i < len && s[i] == ';') {
            i++;
            continue;
        }
        size_t a0 = i, a1 = token_end(s, len, i);
        if (a1 == a0) { /* junk: skip one byte and resynchronise */
            i++;
            continue;
        }
        bool match = mail_view_eq_ci(mail_view_make(s + a0, a1 - a0), name);
        i = skip_cfws(s, len, a1);
        if (i >= len || s[i] != '=')
            continue;
        i = skip_cfws(s, len, i + 1);
        int rc = match ? 1 : 0;
        if (i < len && s[i] == '"') {
            i = unquote(s, len, i + 1, match ? out : NULL, &rc);
        } else {
            size_t v = i;
            while (i < len && s[i] != ';' && !is_space(s[i]))
                i++;
            if (match && buf_append(out, s + v, i - v) != BUF_OK)
                rc = -1;
        }
        if (match)
            return rc;
    }
    return 0;
}
