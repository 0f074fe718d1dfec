/*
 * fbl_json.c - a minimal, bounded JSON reader (see fbl_json.h).
 *
 * DESCRIPTION
 *	Recursive descent over RFC 8259 §2-7; the recursion is bounded by
 *	FBL_JSON_DEPTH_MAX, so hostile nesting ends in an error, not a stack
 *	overflow.  Numbers are only delimited (their text is handed over), as
 *	no field we read is numeric.
 */
#include "fbl_json.h"

#include <string.h>

#include "buf.h"

struct jp {
    const char *s;
    size_t n, i;
    size_t values, max_values;
    struct mail_view path[FBL_JSON_DEPTH_MAX];
    size_t depth;
    size_t serial, object;
    fbl_json_fn *fn;
    void *arg;
};

static int parse_value(struct jp *p);

static void skip_ws(struct jp *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\r' || p->s[p->i] == '\n'))
        p->i++;
}

static int emit(struct jp *p, enum fbl_json_type type, const char *ptr, size_t len)
{
    if (++p->values > p->max_values)
        return -1;
    struct fbl_json_value v = {
        .path = p->path,
        .depth = p->depth,
        .object = p->object,
        .type = type,
        .raw = mail_view_make(ptr, len),
    };
    if (p->fn != NULL)
        p->fn(&v, p->arg);
    return 0;
}

/* A string at p->i (which is '"'); *out = its raw contents. */
static int parse_string(struct jp *p, struct mail_view *out)
{
    size_t start = ++p->i;
    while (p->i < p->n) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') {
            *out = mail_view_make(p->s + start, p->i - start);
            p->i++;
            return 0;
        }
        if (c < 0x20)
            return -1;
        p->i += c == '\\' ? 2 : 1;
    }
    return -1;
}

static int parse_literal(struct jp *p, const char *word, enum fbl_json_type type)
{
    size_t len = strlen(word);
    if (p->n - p->i < len || memcmp(p->s + p->i, word, len) != 0)
        return -1;
    p->i += len;
    return emit(p, type, word, len);
}

static int parse_number(struct jp *p)
{
    size_t start = p->i;
    while (p->i < p->n && strchr("+-.0123456789eE", p->s[p->i]) != NULL && p->s[p->i] != '\0')
        p->i++;
    if (p->i == start)
        return -1;
    return emit(p, FBL_JSON_NUMBER, p->s + start, p->i - start);
}

/* The members of an object or the elements of an array, p->i past the opener. */
static int parse_container(struct jp *p, bool object)
{
    char close = object ? '}' : ']';
    size_t saved_object = p->object;
    if (p->depth >= FBL_JSON_DEPTH_MAX)
        return -1;
    if (object)
        p->object = ++p->serial;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        p->object = saved_object;
        return 0;
    }
    for (;;) {
        struct mail_view name = mail_view_make(NULL, 0);
        skip_ws(p);
        if (object) {
            if (p->i >= p->n || p->s[p->i] != '"' || parse_string(p, &name) != 0)
                return -1;
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':')
                return -1;
            p->i++;
        }
        p->path[p->depth++] = name;
        int rc = parse_value(p);
        p->depth--;
        if (rc != 0)
            return -1;
        skip_ws(p);
        if (p->i >= p->n)
            return -1;
        if (p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->s[p->i] != close)
            return -1;
        p->i++;
        p->object = saved_object;
        return 0;
    }
}

static int parse_value(struct jp *p)
{
    skip_ws(p);
    if (p->i >= p->n)
        return -1;
    switch (p->s[p->i]) {
    case '{': p->i++; return parse_container(p, true);
    case '[': p->i++; return parse_container(p, false);
    case '"': {
        struct mail_view v;
        if (parse_string(p, &v) != 0)
            return -1;
        return emit(p, FBL_JSON_STRING, v.ptr, v.len);
    }
    case 't': return parse_literal(p, "true", FBL_JSON_TRUE);
    case 'f': return parse_literal(p, "false", FBL_JSON_FALSE);
    case 'n': return parse_literal(p, "null", FBL_JSON_NULL);
    default: return parse_number(p);
    }
}

long fbl_json_walk(const char *s, size_t n, size_t max_values, fbl_json_fn *fn, void *arg)
{
    struct jp p;
    memset(&p, 0, sizeof(p));
    p.s = s;
    p.n = n;
    p.max_values = max_values;
    p.fn = fn;
    p.arg = arg;
    if (parse_value(&p) != 0)
        return -1;
    return (long)p.i;
}

bool fbl_json_path_is(const struct fbl_json_value *v, const char *pattern)
{
    size_t k = 0;
    const char *seg = pattern;
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t len = end != NULL ? (size_t)(end - seg) : strlen(seg);
        if (k >= v->depth)
            return false;
        const struct mail_view *name = &v->path[k];
        if (len == 1 && seg[0] == '*') {
            if (name->ptr != NULL)
                return false;
        } else if (name->ptr == NULL || name->len != len || memcmp(name->ptr, seg, len) != 0) {
            return false;
        }
        k++;
        if (end == NULL)
            return k == v->depth;
        seg = end + 1;
    }
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static int put_utf8(struct buf *out, unsigned cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_append(out, b, n) == BUF_OK ? 0 : -1;
}

/* The \u escape at s[i] ('u' at s[i]); advances *i past it (and its pair). */
static int unescape_u(const char *s, size_t n, size_t *i, struct buf *out)
{
    unsigned hi, lo;
    if (n - *i < 5 || hex4(s + *i + 1, &hi) != 0)
        return -1;
    *i += 5;
    if (hi >= 0xD800 && hi < 0xDC00 && n - *i >= 6 && s[*i] == '\\' && s[*i + 1] == 'u' && hex4(s + *i + 2, &lo) == 0 &&
        lo >= 0xDC00 && lo < 0xE000) {
        *i += 6;
        return put_utf8(out, 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
    }
    if (hi >= 0xD800 && hi < 0xE000)
        hi = 0xFFFD;
    return put_utf8(out, hi);
}

int fbl_json_unescape(struct mail_view raw, struct buf *out)
{
    const char *s = raw.ptr;
    size_t n = raw.len, i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && s[run] != '\\')
            run++;
        if (run > i && buf_append(out, s + i, run - i) != BUF_OK)
            return -1;
        i = run;
        if (i >= n)
            break;
        if (++i >= n)
            return -1;
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *k = strchr(from, s[i]);
        if (s[i] == 'u') {
            if (unescape_u(s, n, &i, out) != 0)
                return -1;
        } else if (k != NULL && s[i] != '\0') {
            if (buf_append_char(out, to[k - from]) != BUF_OK)
                return -1;
            i++;
        } else {
            return -1;
        }
    }
    return 0;
}
