/*
 * mail_header.c - incremental and whole-buffer RFC 5322 header parsing
 * (see mail_header.h; the state machine itself is in mail_scan.c).
 *
 * NAME
 *	mhp_new, mhp_push, mhp_next, mhp_finish, mhp_free,
 *	mail_headers_parse, mail_headers_find, mail_headers_count,
 *	mail_field_unfold, mail_skip_mbox_from, mail_fix_bare_cr
 *
 * DESCRIPTION
 *	The incremental parser copies pushed bytes into one struct buf.  Bytes
 *	of fields already returned are dropped at the next push (never while
 *	views handed out may still be used), so the buffer holds at most the
 *	pending field plus what was pushed since.
 *
 * SECURITY
 *	Input is untrusted: every size is bounded by struct mail_limits and
 *	checked in mail_scan.c before the byte is accepted.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mail_header.h"
#include "mail_scan.h"
#include "xalloc.h"

struct mail_header_parser {
    struct mail_scan scan;
    struct buf in; /* pushed bytes not yet dropped */
    bool finished; /* mhp_finish() was called */
};

struct mail_header_parser *mhp_new(const struct mail_limits *limits)
{
    struct mail_header_parser *p = xcalloc(1, sizeof(*p));

    mail_scan_init(&p->scan, limits);
    buf_init(&p->in, 0);
    return p;
}

void mhp_free(struct mail_header_parser *p)
{
    if (p == NULL)
        return;
    buf_free(&p->in);
    free(p);
}

enum mail_error mhp_push(struct mail_header_parser *p, const void *data, size_t len)
{
    size_t drop;

    if (p->finished || p->scan.st == MAIL_SCAN_END || p->scan.st == MAIL_SCAN_ERROR)
        return MAIL_ERR_STATE;
    drop = mail_scan_keep_from(&p->scan);
    if (drop > 0) {
        buf_consume(&p->in, drop);
        mail_scan_shift(&p->scan, drop);
    }
    if (buf_append(&p->in, data, len) != BUF_OK)
        return MAIL_ERR_HEADER_TOO_LARGE; /* only at SIZE_MAX/2 bytes */
    return MAIL_OK;
}

void mhp_finish(struct mail_header_parser *p)
{
    p->finished = true;
}

enum mhp_event mhp_next(struct mail_header_parser *p, struct mhp_result *r)
{
    struct mail_scan *s = &p->scan;
    const char *data = p->in.data != NULL ? p->in.data : "";

    memset(r, 0, sizeof(*r));
    switch (mail_scan_step(s, data, p->in.len, p->finished, &r->field)) {
    case MAIL_SCAN_FIELD: r->nfields = s->nfields; return MHP_FIELD;
    case MAIL_SCAN_DONE:
        r->nfields = s->nfields;
        r->body_offset = s->base_off + s->body_offset;
        r->body_pending = mail_view_make(data + s->body_offset, p->in.len - s->body_offset);
        r->has_separator = s->has_separator;
        return MHP_END;
    case MAIL_SCAN_FAIL:
        r->nfields = s->nfields;
        r->error = s->err;
        return MHP_ERROR;
    default: r->nfields = s->nfields; return MHP_NEED_MORE;
    }
}

/* ---- whole buffer --------------------------------------------------------- */

enum mail_error mail_headers_parse(const char *buf, size_t len, const struct mail_limits *limits,
                                   struct mail_headers *out, struct mail_error_info *err)
{
    struct mail_scan s;
    struct mail_field f;
    size_t cap = 0;

    memset(out, 0, sizeof(*out));
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (buf == NULL)
        buf = ""; /* len is 0: no pointer arithmetic on NULL */
    mail_scan_init(&s, limits);
    for (;;) {
        switch (mail_scan_step(&s, buf, len, true, &f)) {
        case MAIL_SCAN_FIELD:
            if (out->nfields == cap) {
                cap = cap ? cap * 2 : 16;
                out->fields = xrealloc(out->fields, cap * sizeof(*out->fields));
            }
            out->fields[out->nfields++] = f;
            break;
        case MAIL_SCAN_DONE:
            out->body_offset = s.body_offset;
            out->has_separator = s.has_separator;
            return MAIL_OK;
        default: /* FAIL; NEED_MORE cannot happen with eof */
            if (err != NULL)
                *err = s.err;
            /* The body (for lenient callers) starts at the failed field. */
            out->body_offset = s.fail_start <= len ? s.fail_start : len;
            return s.err.code != MAIL_OK ? s.err.code : MAIL_ERR_STATE;
        }
    }
}

void mail_headers_free(struct mail_headers *h)
{
    free(h->fields);
    memset(h, 0, sizeof(*h));
}

const struct mail_field *mail_headers_find(const struct mail_headers *h, const char *name, size_t *iter)
{
    for (size_t i = iter != NULL ? *iter : 0; i < h->nfields; i++) {
        if (mail_view_eq_ci(h->fields[i].name, name)) {
            if (iter != NULL)
                *iter = i + 1;
            return &h->fields[i];
        }
    }
    if (iter != NULL)
        *iter = h->nfields;
    return NULL;
}

size_t mail_headers_count(const struct mail_headers *h, const char *name)
{
    size_t n = 0;

    for (size_t i = 0; i < h->nfields; i++)
        if (mail_view_eq_ci(h->fields[i].name, name))
            n++;
    return n;
}

/* ---- helpers -------------------------------------------------------------- */

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

int mail_field_unfold(struct mail_view value, struct buf *out)
{
    const char *p = value.ptr, *end = value.ptr + value.len;

    while (p < end && (is_wsp(*p) || *p == '\r' || *p == '\n'))
        p++;
    while (end > p && (is_wsp(end[-1]) || end[-1] == '\r' || end[-1] == '\n'))
        end--;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl != NULL ? nl : end;

        /* Copy up to the line break; a CR right before LF goes with it. */
        size_t n = (size_t)(stop - p);
        if (nl != NULL && n > 0 && stop[-1] == '\r')
            n--;
        if (buf_append(out, p, n) != BUF_OK)
            return -1;
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return 0;
}

size_t mail_skip_mbox_from(const char *buf, size_t len)
{
    const char *nl;

    if (len < 5 || memcmp(buf, "From ", 5) != 0)
        return 0;
    nl = memchr(buf, '\n', len);
    return nl != NULL ? (size_t)(nl - buf) + 1 : len;
}

int mail_fix_bare_cr(const char *in, size_t len, struct buf *out)
{
    size_t i = 0;

    while (i < len) {
        const char *cr = memchr(in + i, '\r', len - i);
        size_t n = cr != NULL ? (size_t)(cr - in) - i : len - i;

        if (buf_append(out, in + i, n) != BUF_OK)
            return -1;
        i += n;
        if (cr == NULL)
            break;
        /* in[i] == '\r' */
        bool crlf = i + 1 < len && in[i + 1] == '\n';
        if (buf_append_char(out, crlf ? '\r' : '\n') != BUF_OK)
            return -1;
        i++;
    }
    return 0;
}
