/*
 * address.c - RFC 5322 address-list and RFC 5321 path parsing (see address.h).
 *
 * NAME
 *	address_list_parse, address_path_parse, address_normalize,
 *	address_domain
 *
 * DESCRIPTION
 *	Two passes.  A lexer (RFC 5322 §3.2) turns the value into tokens:
 *	words (atoms, quoted strings), domain literals and the specials
 *	< > @ , : ; . - dropping whitespace and comments but remembering
 *	where they were.  The parser then reads address after address
 *	(§3.4): a ':' before any '<' or '@' opens a group, a '<' makes the
 *	words before it a display name, otherwise the element is a bare
 *	addr-spec.  Views span from the first to the last token of each
 *	piece, so the local part is kept exactly as written.
 *
 *	Work is linear in the input; the token array is bounded by its length.
 */
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "buf.h"
#include "xalloc.h"

enum tok_type { TOK_WORD, TOK_QUOTED, TOK_LITERAL, TOK_SPECIAL };

struct tok {
    enum tok_type type;
    char ch;           /* TOK_SPECIAL: the character */
    size_t start, end; /* [start, end) in the input */
    bool cfws_before;
};

struct lexer {
    struct tok *v;
    size_t n, cap;
};

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
    return c != '\0' && strchr("<>@,:;.", c) != NULL;
}

/* atext (RFC 5322 §3.2.3) plus 8-bit bytes (RFC 6532) */
static bool is_atext(char ch)
{
    unsigned char c = (unsigned char)ch;

    if (c >= 0x80)
        return true;
    return c > 32 && c < 127 && strchr("()<>[]:;@\\,.\"", c) == NULL;
}

static void lex_add(struct lexer *lx, enum tok_type t, char ch, size_t s, size_t e, bool cfws)
{
    if (lx->n == lx->cap) {
        lx->cap = lx->cap ? lx->cap * 2 : 16;
        lx->v = xrealloc(lx->v, lx->cap * sizeof(*lx->v));
    }
    lx->v[lx->n++] = (struct tok){ t, ch, s, e, cfws };
}

/* Skips a comment starting at s[i] == '('; returns the offset after it
 * or (size_t)-1 if unbalanced. */
static size_t skip_comment(const char *s, size_t len, size_t i)
{
    size_t depth = 0;

    for (; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '(')
            depth++;
        else if (s[i] == ')' && --depth == 0)
            return i + 1;
    }
    return (size_t)-1;
}

/* Returns MAIL_OK or MAIL_ERR_ADDRESS_SYNTAX with *err_at set. */
static enum mail_error lex(const char *s, size_t len, struct lexer *lx, size_t *err_at)
{
    size_t i = 0;
    bool cfws = false;

    while (i < len) {
        char c = s[i];
        size_t j;

        if (is_wsp(c)) {
            cfws = true;
            i++;
            continue;
        }
        if (c == '(') {
            if ((j = skip_comment(s, len, i)) == (size_t)-1)
                goto bad;
            cfws = true;
            i = j;
            continue;
        }
        if (c == '"') {
            for (j = i + 1; j < len && s[j] != '"'; j++)
                if (s[j] == '\\')
                    j++;
            if (j >= len)
                goto bad;
            lex_add(lx, TOK_QUOTED, 0, i, j + 1, cfws);
            i = j + 1;
        } else if (c == '[') {
            for (j = i + 1; j < len && s[j] != ']' && s[j] != '['; j++)
                if (s[j] == '\\')
                    j++;
            if (j >= len || s[j] != ']')
                goto bad;
            lex_add(lx, TOK_LITERAL, 0, i, j + 1, cfws);
            i = j + 1;
        } else if (is_special(c)) {
            lex_add(lx, TOK_SPECIAL, c, i, i + 1, cfws);
            i++;
        } else if (is_atext(c)) {
            for (j = i; j < len && is_atext(s[j]); j++)
                ;
            lex_add(lx, TOK_WORD, 0, i, j, cfws);
            i = j;
        } else { /* ')', ']', '\\', control bytes */
            goto bad;
        }
        cfws = false;
    }
    return MAIL_OK;
bad:
    *err_at = i;
    return MAIL_ERR_ADDRESS_SYNTAX;
}

static bool tok_is(const struct tok *t, char ch)
{
    return t->type == TOK_SPECIAL && t->ch == ch;
}

struct parser {
    const char *s;
    const struct tok *t;
    size_t n;
    size_t max;
    struct address_list *out;
    size_t cap;
    struct mail_view group;
    size_t err_at;
};

static struct mail_view span(const struct parser *p, size_t a, size_t b)
{
    /* tokens [a, b), b > a */
    return mail_view_make(p->s + p->t[a].start, p->t[b - 1].end - p->t[a].start);
}

/* addr-spec in tokens [a, b): local ['@' domain]. */
static enum mail_error parse_addr_spec(struct parser *p, size_t a, size_t b, struct mail_address *m)
{
    size_t at = b;

    for (size_t i = a; i < b; i++) {
        if (tok_is(&p->t[i], '@')) {
            if (at != b)
                goto bad_at; /* a second '@' */
            at = i;
        } else if (p->t[i].type == TOK_SPECIAL && !tok_is(&p->t[i], '.')) {
            p->err_at = p->t[i].start;
            return MAIL_ERR_ADDRESS_SYNTAX;
        }
    }
    if (at == a) { /* no local part */
        p->err_at = p->t[a].start;
        return MAIL_ERR_ADDRESS_SYNTAX;
    }
    for (size_t i = a; i < at; i++) {
        if (p->t[i].type == TOK_QUOTED)
            m->flags |= ADDRESS_F_QUOTED_LOCAL;
        else if (p->t[i].type == TOK_LITERAL) {
            p->err_at = p->t[i].start;
            return MAIL_ERR_ADDRESS_SYNTAX;
        }
        if (i > a && p->t[i].cfws_before)
            m->flags |= ADDRESS_F_CFWS_INSIDE;
    }
    m->local = span(p, a, at);
    if (at == b) {
        m->flags |= ADDRESS_F_NO_DOMAIN;
        return MAIL_OK;
    }
    if (at + 1 == b) { /* '@' with nothing after it */
        p->err_at = p->t[at].end;
        return MAIL_ERR_ADDRESS_SYNTAX;
    }
    for (size_t i = at + 1; i < b; i++) {
        if (p->t[i].type == TOK_QUOTED || (p->t[i].type == TOK_LITERAL && b - at != 2)) {
            p->err_at = p->t[i].start;
            return MAIL_ERR_ADDRESS_SYNTAX;
        }
        if (p->t[i].type == TOK_LITERAL)
            m->flags |= ADDRESS_F_DOMAIN_LITERAL;
        if (p->t[i].cfws_before)
            m->flags |= ADDRESS_F_CFWS_INSIDE;
    }
    m->domain = span(p, at + 1, b);
    return MAIL_OK;
bad_at:
    for (size_t i = a; i < b; i++)
        if (tok_is(&p->t[i], '@') && i > at) {
            p->err_at = p->t[i].start;
            break;
        }
    return MAIL_ERR_ADDRESS_SYNTAX;
}

static enum mail_error add_mailbox(struct parser *p, const struct mail_address *m, size_t at)
{
    if (p->out->n >= p->max) {
        p->err_at = at;
        return MAIL_ERR_TOO_MANY_ADDRESSES;
    }
    if (p->out->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 4;
        p->out->v = xrealloc(p->out->v, p->cap * sizeof(*p->out->v));
    }
    p->out->v[p->out->n++] = *m;
    return MAIL_OK;
}

/*
 * name-addr from token i (the first phrase token or '<') with '<' at lt:
 * parses up to and including '>' and returns the index after it in *next.
 */
static enum mail_error parse_name_addr(struct parser *p, size_t i, size_t lt, size_t *next)
{
    struct mail_address m = { 0 };
    size_t a = lt + 1, gt;
    enum mail_error rc;

    if (lt > i)
        m.display = span(p, i, lt);
    m.group = p->group;
    for (gt = a; gt < p->n && !tok_is(&p->t[gt], '>'); gt++)
        if (tok_is(&p->t[gt], '<')) {
            p->err_at = p->t[gt].start;
            return MAIL_ERR_ADDRESS_SYNTAX;
        }
    if (gt >= p->n) { /* '<' without '>' */
        p->err_at = p->t[lt].start;
        return MAIL_ERR_ADDRESS_SYNTAX;
    }
    /* obs-route: "@a,@b:" before the addr-spec (RFC 5322 §4.4) */
    if (a < gt && tok_is(&p->t[a], '@')) {
        size_t colon = a;
        while (colon < gt && !tok_is(&p->t[colon], ':'))
            colon++;
        if (colon >= gt) {
            p->err_at = p->t[a].start;
            return MAIL_ERR_ADDRESS_SYNTAX;
        }
        m.flags |= ADDRESS_F_ROUTE;
        a = colon + 1;
    }
    if (a >= gt) { /* "<>" in a header: no addr-spec */
        p->err_at = p->t[lt].start;
        return MAIL_ERR_ADDRESS_SYNTAX;
    }
    if ((rc = parse_addr_spec(p, a, gt, &m)) != MAIL_OK)
        return rc;
    *next = gt + 1;
    return add_mailbox(p, &m, p->t[lt].start);
}

/* One list element starting at token i; *next is the ',' or ';' or end after it. */
static enum mail_error parse_element(struct parser *p, size_t i, size_t *next)
{
    size_t j;
    enum mail_error rc;

    bool seen_at = false;

    for (j = i; j < p->n; j++) {
        const struct tok *t = &p->t[j];
        if (tok_is(t, ',') || tok_is(t, ';') || tok_is(t, '<'))
            break;
        if (tok_is(t, '@')) /* "a@b.example <a@b.example>" happens */
            seen_at = true;
        if (tok_is(t, ':') && !seen_at) { /* group start */
            if (p->group.ptr != NULL || j == i) {
                p->err_at = t->start;
                return MAIL_ERR_ADDRESS_SYNTAX;
            }
            p->group = span(p, i, j);
            *next = j + 1;
            return MAIL_OK;
        }
    }
    if (j < p->n && tok_is(&p->t[j], '<')) {
        if ((rc = parse_name_addr(p, i, j, &j)) != MAIL_OK)
            return rc;
        if (j < p->n && !tok_is(&p->t[j], ',') && !tok_is(&p->t[j], ';')) {
            p->err_at = p->t[j].start; /* junk after '>' */
            return MAIL_ERR_ADDRESS_SYNTAX;
        }
        *next = j;
        return MAIL_OK;
    }
    /* bare addr-spec up to the next ',' or ';' */
    for (j = i; j < p->n && !tok_is(&p->t[j], ',') && !tok_is(&p->t[j], ';'); j++)
        ;
    struct mail_address m = { 0 };
    m.group = p->group;
    if ((rc = parse_addr_spec(p, i, j, &m)) != MAIL_OK)
        return rc;
    *next = j;
    return add_mailbox(p, &m, p->t[i].start);
}

enum mail_error address_list_parse(const char *text, size_t len, const struct mail_limits *limits,
                                   struct address_list *out, size_t *err_offset)
{
    struct lexer lx = { 0 };
    struct parser p = { 0 };
    enum mail_error rc;
    size_t i = 0, err_at = 0;

    memset(out, 0, sizeof(*out));
    if ((rc = lex(text, len, &lx, &err_at)) != MAIL_OK)
        goto done;
    p.s = text;
    p.t = lx.v;
    p.n = lx.n;
    p.max = (limits != NULL ? limits : &MAIL_LIMITS_DEFAULT)->max_addresses;
    p.out = out;
    while (i < p.n) {
        if (tok_is(&p.t[i], ',')) { /* empty element */
            i++;
            continue;
        }
        if (tok_is(&p.t[i], ';')) { /* end of group (tolerated outside one) */
            p.group = mail_view_make(NULL, 0);
            i++;
            continue;
        }
        if ((rc = parse_element(&p, i, &i)) != MAIL_OK) {
            err_at = p.err_at;
            goto done;
        }
    }
done:
    free(lx.v);
    if (rc != MAIL_OK && err_offset != NULL)
        *err_offset = err_at;
    return rc;
}

void address_list_free(struct address_list *l)
{
    free(l->v);
    memset(l, 0, sizeof(*l));
}

enum mail_error address_path_parse(const char *text, size_t len, struct mail_address *out)
{
    struct address_list l;
    struct mail_limits lim = MAIL_LIMITS_INIT;
    size_t a = 0, b = len;
    enum mail_error rc;

    memset(out, 0, sizeof(*out));
    while (a < b && is_wsp(text[a]))
        a++;
    while (b > a && is_wsp(text[b - 1]))
        b--;
    if (b - a == 2 && text[a] == '<' && text[a + 1] == '>') {
        out->flags = ADDRESS_F_NULL;
        return MAIL_OK;
    }
    if (b == a)
        return MAIL_ERR_ADDRESS_SYNTAX;
    lim.max_addresses = 1;
    rc = address_list_parse(text + a, b - a, &lim, &l, NULL);
    if (rc == MAIL_OK && (l.n != 1 || l.v[0].group.ptr != NULL || l.v[0].display.len > 0))
        rc = MAIL_ERR_ADDRESS_SYNTAX;
    if (rc == MAIL_ERR_TOO_MANY_ADDRESSES)
        rc = MAIL_ERR_ADDRESS_SYNTAX;
    if (rc == MAIL_OK)
        *out = l.v[0];
    address_list_free(&l);
    return rc;
}

/* Appends v to out without whitespace and comments (outside quotes). */
static int append_without_cfws(struct mail_view v, bool lower, struct buf *out)
{
    struct lexer lx = { 0 };
    size_t err_at;
    int rc = 0;

    if (lex(v.ptr, v.len, &lx, &err_at) != MAIL_OK) {
        free(lx.v);
        return buf_append(out, v.ptr, v.len) == BUF_OK ? 0 : -1;
    }
    for (size_t i = 0; i < lx.n && rc == 0; i++) {
        for (size_t k = lx.v[i].start; k < lx.v[i].end && rc == 0; k++) {
            char c = v.ptr[k];
            if (lower && c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            rc = buf_append_char(out, c) == BUF_OK ? 0 : -1;
        }
    }
    free(lx.v);
    return rc;
}

/* Undoes a partial append: buf.h has no truncate, so shrink len in place. */
static void truncate_to(struct buf *out, size_t len)
{
    out->len = len;
    if (out->data != NULL)
        out->data[len] = '\0';
}

int address_normalize(const struct mail_address *a, struct buf *out)
{
    struct mail_view d = a->domain;
    size_t before = out->len;

    if (a->flags & ADDRESS_F_NULL)
        return 0;
    if (append_without_cfws(a->local, false, out) != 0)
        goto full;
    if (a->flags & ADDRESS_F_NO_DOMAIN)
        return 0;
    while (d.len > 0 && d.ptr[d.len - 1] == '.') /* "example.com." */
        d.len--;
    if (buf_append_char(out, '@') != BUF_OK || append_without_cfws(d, true, out) != 0)
        goto full;
    return 0;
full:
    truncate_to(out, before);
    return -1;
}

bool address_domain(const char *addr, size_t len, struct mail_view *domain)
{
    size_t end = len, at = (size_t)-1;
    bool quoted = false;

    while (end > 0 && (is_wsp(addr[end - 1]) || addr[end - 1] == '>'))
        end--;
    for (size_t i = 0; i < end; i++) {
        if (addr[i] == '\\' && quoted)
            i++;
        else if (addr[i] == '"')
            quoted = !quoted;
        else if (addr[i] == '@' && !quoted)
            at = i;
    }
    if (at == (size_t)-1 || at + 1 >= end)
        return false;
    *domain = mail_view_make(addr + at + 1, end - at - 1);
    return true;
}
