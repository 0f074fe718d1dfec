/*
 * mime.c - depth-first MIME walker over an in-memory message (see mime.h).
 *
 * NAME
 *	mime_walker_new, mime_next, mime_error, mime_warnings,
 *	mime_walker_free, mime_part_decode
 *
 * DESCRIPTION
 *	An explicit stack of frames, one per open container, replaces
 *	recursion: hostile nesting cannot overflow the C stack, and the
 *	depth limit is checked before a frame is opened.  A multipart frame
 *	finds its delimiters lazily, scanning each line of its body once, so
 *	a walk costs O(message size x nesting depth) and stops at
 *	max_mime_parts.
 *
 *	Container bodies that are transfer-encoded (text/rfc822-headers in
 *	quoted-printable, or message/rfc822 in base64 against RFC 2046) are
 *	decoded into walker-owned memory and walked there; the total decoded
 *	size is capped at the message size, beyond which they stay leaves.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "mail_scan.h"
#include "mime.h"
#include "xalloc.h"

/* internal flag: the part is an enclosed message (parse its header leniently) */
#define MIME_F_ENCLOSED 0x8000u

struct mime_frame {
    size_t index; /* the container part */
    unsigned depth;
    enum mime_kind kind;
    bool digest;   /* multipart/digest: children default to message/rfc822 */
    bool decoded;  /* body lies in walker-owned memory */
    size_t origin; /* message offset of the body (or of its encoded form) */
    const char *body;
    size_t len;
    char *boundary; /* owned; multipart only */
    size_t blen;
    size_t pos; /* next line to scan for a delimiter */
    bool started, done;
};

struct mime_walker {
    const char *msg;
    size_t len;
    struct mail_limits lim;
    struct mime_frame *stack;
    size_t nstack, capstack;
    struct mime_frame pending; /* container just emitted, opened at the next call */
    bool has_pending;
    struct mime_part cur;
    size_t nparts;
    bool started;
    enum mime_status final; /* DONE or ERROR once finished */
    bool finished;
    struct mail_error_info err;
    unsigned warnings;
    char **decoded; /* owned decoded container bodies */
    size_t ndecoded;
    size_t decoded_total;
};

struct mime_walker *mime_walker_new(const char *msg, size_t len, const struct mail_limits *limits)
{
    struct mime_walker *w = xcalloc(1, sizeof(*w));

    w->msg = msg != NULL ? msg : ""; /* no pointer arithmetic on NULL */
    w->len = len;
    w->lim = limits != NULL ? *limits : MAIL_LIMITS_DEFAULT;
    return w;
}

void mime_walker_free(struct mime_walker *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->nstack; i++)
        free(w->stack[i].boundary);
    if (w->has_pending)
        free(w->pending.boundary);
    free(w->stack);
    mail_headers_free(&w->cur.headers);
    for (size_t i = 0; i < w->ndecoded; i++)
        free(w->decoded[i]);
    free(w->decoded);
    free(w);
}

const struct mail_error_info *mime_error(const struct mime_walker *w)
{
    return &w->err;
}

unsigned mime_warnings(const struct mime_walker *w)
{
    return w->warnings;
}

static enum mime_status walk_fail(struct mime_walker *w, enum mail_error code, size_t offset, size_t line)
{
    w->err.code = code;
    w->err.offset = offset;
    w->err.line = line;
    w->finished = true;
    w->final = MIME_ERROR;
    return MIME_ERROR;
}

/* Message offset of p, or `origin` when p lies in decoded memory. */
static size_t walk_offset(const struct mime_walker *w, const char *p, size_t origin)
{
    if (p >= w->msg && p <= w->msg + w->len)
        return (size_t)(p - w->msg);
    return origin;
}

/* ---- delimiters (RFC 2046 §5.1.1) ------------------------------------------ */

/*
 * Finds the first delimiter line at or after line start `from`.  A match
 * is "--" boundary ["--"] *(SP/HTAB) followed by CRLF, LF or the end.
 * Whitespace before the "--" is tolerated (*indented set): some MTAs
 * indent a delimiter, and losing a DSN part to that loses its recipients.
 */
static bool find_delimiter(const struct mime_frame *f, size_t from, size_t *dstart, size_t *dafter, bool *close,
                           bool *indented)
{
    const char *b = f->body;
    size_t len = f->len, p = from;

    while (p < len) {
        size_t d = p;
        while (d < len && (b[d] == ' ' || b[d] == '\t'))
            d++;
        if (len - d >= 2 + f->blen && b[d] == '-' && b[d + 1] == '-' && memcmp(b + d + 2, f->boundary, f->blen) == 0) {
            size_t q = d + 2 + f->blen;
            bool cl = false;
            if (len - q >= 2 && b[q] == '-' && b[q + 1] == '-') {
                q += 2;
                cl = true;
            }
            while (q < len && (b[q] == ' ' || b[q] == '\t'))
                q++;
            if (q < len && b[q] == '\r' && q + 1 < len && b[q + 1] == '\n')
                q += 2;
            else if (q < len && b[q] == '\n')
                q += 1;
            else if (q < len)
                goto next_line;
            *dstart = p;
            *dafter = q;
            *close = cl;
            *indented = d > p;
            return true;
        }
    next_line:;
        const char *nl = memchr(b + d, '\n', len - d);
        if (nl == NULL)
            break;
        p = (size_t)(nl - b) + 1;
    }
    return false;
}

/* Next child range of a multipart frame; false when there is none. */
static bool multipart_next(struct mime_walker *w, struct mime_frame *f, size_t *start, size_t *clen, unsigned *flags)
{
    size_t ds, da, end;
    bool cl, ind = false;

    if (f->done)
        return false;
    if (!f->started) {
        f->started = true;
        if (!find_delimiter(f, 0, &ds, &da, &cl, &ind)) {
            w->warnings |= MIME_WARN_NO_BOUNDARY;
            f->done = true;
            return false;
        }
        if (ind)
            w->warnings |= MIME_WARN_INDENTED_DELIMITER;
        if (cl) {
            f->done = true;
            return false;
        }
        f->pos = da;
    }
    *start = f->pos;
    if (find_delimiter(f, f->pos, &ds, &da, &cl, &ind)) {
        /* The line ending before the delimiter belongs to the delimiter. */
        end = ds;
        if (end > *start && f->body[end - 1] == '\n')
            end--;
        if (end > *start && f->body[end - 1] == '\r')
            end--;
        if (cl)
            f->done = true;
        else
            f->pos = da;
    } else {
        end = f->len;
        f->done = true;
        w->warnings |= MIME_WARN_NO_CLOSE_DELIMITER;
        *flags |= MIME_F_LAST_UNCLOSED;
    }
    if (ind)
        w->warnings |= MIME_WARN_INDENTED_DELIMITER;
    *clen = end - *start;
    return true;
}

/* ---- parts ------------------------------------------------------------------ */

static bool type_is(const struct mime_part *p, const char *type, const char *subtype)
{
    return strcmp(p->type, type) == 0 && (subtype == NULL || strcmp(p->subtype, subtype) == 0);
}

/*
 * Decodes a transfer-encoded container body into walker memory.  Returns
 * false (the part stays a leaf) if the decoded-size budget is spent.
 */
static bool decode_container(struct mime_walker *w, struct mime_part *p, const char **body, size_t *len)
{
    struct buf b;
    int rc;

    if (p->body.len > w->len - w->decoded_total)
        return false;
    buf_init(&b, p->body.len + 1);
    rc = p->cte == MIME_CTE_BASE64 ? codec_base64_decode(p->body.ptr, p->body.len, &b, NULL)
                                   : codec_qp_decode(p->body.ptr, p->body.len, &b);
    (void)rc; /* invalid base64: walk what decoded cleanly */
    w->decoded = xrealloc(w->decoded, (w->ndecoded + 1) * sizeof(*w->decoded));
    *len = b.len;
    *body = w->decoded[w->ndecoded++] = b.data != NULL ? buf_detach(&b, NULL) : xcalloc(1, 1);
    w->decoded_total += p->body.len;
    return true;
}

/* Classifies the part just parsed; may prepare a container frame. */
static enum mime_status classify(struct mime_walker *w, struct mime_part *p, size_t origin, bool in_decoded)
{
    struct mime_frame *f = &w->pending;
    const char *body = p->body.ptr;
    size_t len = p->body.len;
    bool decoded = in_decoded;

    memset(f, 0, sizeof(*f));
    if (strcmp(p->type, "multipart") == 0) {
        struct buf bnd;
        int rc;
        buf_init(&bnd, w->lim.max_boundary_len);
        rc = mime_param_get(p->params, "boundary", &bnd);
        if (rc < 0) {
            buf_free(&bnd);
            return walk_fail(w, MAIL_ERR_BOUNDARY_TOO_LONG, walk_offset(w, p->header_raw.ptr, origin), 0);
        }
        if (rc == 0 || bnd.len == 0) {
            buf_free(&bnd);
            w->warnings |= MIME_WARN_NO_BOUNDARY;
            p->kind = MIME_KIND_LEAF;
            return MIME_PART;
        }
        p->kind = MIME_KIND_MULTIPART;
        f->digest = strcmp(p->subtype, "digest") == 0;
        f->boundary = buf_detach(&bnd, &f->blen);
    } else if (type_is(p, "message", "rfc822") || type_is(p, "message", "global")) {
        p->kind = MIME_KIND_MESSAGE;
    } else if (type_is(p, "text", "rfc822-headers") || type_is(p, "message", "global-headers")) {
        p->kind = MIME_KIND_HEADERS;
    } else if (type_is(p, "message", "delivery-status") || type_is(p, "message", "global-delivery-status") ||
               type_is(p, "message", "feedback-report")) {
        p->kind = MIME_KIND_FIELD_BLOCKS;
        return MIME_PART;
    } else {
        p->kind = MIME_KIND_LEAF;
        return MIME_PART;
    }
    if (p->kind != MIME_KIND_MULTIPART && (p->cte == MIME_CTE_BASE64 || p->cte == MIME_CTE_QP)) {
        if (!decode_container(w, p, &body, &len)) {
            p->kind = MIME_KIND_LEAF;
            return MIME_PART;
        }
        if (p->kind == MIME_KIND_MESSAGE)
            w->warnings |= MIME_WARN_ENCODED_MESSAGE;
        decoded = true;
    }
    f->index = p->index;
    f->depth = p->depth;
    f->kind = p->kind;
    f->decoded = decoded;
    f->origin = walk_offset(w, p->body.ptr, origin);
    f->body = body;
    f->len = len;
    w->has_pending = true;
    return MIME_PART;
}

/*
 * Parses the header of part p at base[0..len) and sets its header_raw and
 * body.  Enclosed messages are parsed leniently, body parts may lose their
 * header at a non-field line, the top-level message may not.
 */
static enum mime_status part_parse_header(struct mime_walker *w, struct mime_part *p, const char *base, size_t len,
                                          size_t origin)
{
    struct mail_error_info herr;
    enum mail_error rc;

    if (p->flags & (MIME_F_HEADERS_ONLY | MIME_F_ENCLOSED)) {
        rc = mail_headers_parse_lenient(base, len, &w->lim, &p->headers, &p->header_skipped, &herr);
        if (p->header_skipped > 0) {
            w->warnings |= MIME_WARN_BAD_PART_HEADER;
            p->flags |= MIME_F_HEADER_SKIPPED;
        }
    } else {
        rc = mail_headers_parse(base, len, &w->lim, &p->headers, &herr);
    }
    p->flags &= ~MIME_F_ENCLOSED;
    if (rc != MAIL_OK) {
        if (p->depth == 0 || !mail_scan_error_is_syntax(rc)) {
            size_t at = walk_offset(w, base, origin);
            bool in_decoded = (p->flags & MIME_F_IN_DECODED) != 0;
            return walk_fail(w, rc, in_decoded ? at : at + herr.offset, p->depth == 0 ? herr.line : 0);
        }
        w->warnings |= MIME_WARN_BAD_PART_HEADER;
        p->flags |= MIME_F_HEADER_CUT;
    }
    p->header_raw = mail_view_make(base, p->headers.body_offset);
    p->body = mail_view_make(base + p->headers.body_offset, len - p->headers.body_offset);
    return MIME_PART;
}

/* Content-Type (or its default) and Content-Transfer-Encoding of p. */
static void part_set_types(struct mime_walker *w, struct mime_part *p, bool parent_digest)
{
    const struct mail_field *f;

    if ((f = mail_headers_find(&p->headers, "Content-Type", NULL)) != NULL) {
        if (!mime_content_type_parse(f->value, p->type, p->subtype, &p->params))
            w->warnings |= MIME_WARN_BAD_CONTENT_TYPE;
    } else {
        p->flags |= MIME_F_DEFAULT_TYPE;
        /* RFC 2046 §5.1.5: in a digest the default is message/rfc822. */
        if (parent_digest) {
            memcpy(p->type, "message", sizeof("message"));
            memcpy(p->subtype, "rfc822", sizeof("rfc822"));
        } else {
            memcpy(p->type, "text", sizeof("text"));
            memcpy(p->subtype, "plain", sizeof("plain"));
        }
    }
    if ((f = mail_headers_find(&p->headers, "Content-Transfer-Encoding", NULL)) != NULL)
        p->cte = mime_cte_parse(f->value);
}

/*
 * Parses one part occupying base[0..len) and makes it current.
 * origin: message offset used for errors inside decoded memory.
 */
static enum mime_status emit_part(struct mime_walker *w, const char *base, size_t len, unsigned depth, size_t parent,
                                  unsigned flags, bool parent_digest, size_t origin)
{
    struct mime_part *p = &w->cur;

    if (depth > w->lim.max_mime_depth)
        return walk_fail(w, MAIL_ERR_MIME_DEPTH, walk_offset(w, base, origin), 0);
    if (w->nparts >= w->lim.max_mime_parts)
        return walk_fail(w, MAIL_ERR_MIME_PARTS, walk_offset(w, base, origin), 0);
    memset(p, 0, sizeof(*p));
    p->index = w->nparts++;
    p->parent = parent;
    p->depth = depth;
    p->flags = flags;
    if (part_parse_header(w, p, base, len, origin) != MIME_PART)
        return MIME_ERROR;
    part_set_types(w, p, parent_digest);
    if (p->flags & MIME_F_HEADERS_ONLY) {
        p->kind = MIME_KIND_LEAF; /* the returned headers: no body to walk */
        return MIME_PART;
    }
    return classify(w, p, origin, (p->flags & MIME_F_IN_DECODED) != 0);
}

static void stack_push(struct mime_walker *w, const struct mime_frame *f)
{
    if (w->nstack == w->capstack) {
        w->capstack = w->capstack ? w->capstack * 2 : 8;
        w->stack = xrealloc(w->stack, w->capstack * sizeof(*w->stack));
    }
    w->stack[w->nstack++] = *f;
}

enum mime_status mime_next(struct mime_walker *w, const struct mime_part **part)
{
    enum mime_status st;

    *part = NULL;
    if (w->finished)
        return w->final;
    mail_headers_free(&w->cur.headers);
    if (!w->started) {
        w->started = true;
        st = emit_part(w, w->msg, w->len, 0, (size_t)-1, 0, false, 0);
        if (st == MIME_PART)
            *part = &w->cur;
        return st;
    }
    if (w->has_pending) {
        stack_push(w, &w->pending);
        w->has_pending = false;
    }
    while (w->nstack > 0) {
        struct mime_frame *f = &w->stack[w->nstack - 1];
        size_t start = 0, clen = 0;
        unsigned flags = f->decoded ? MIME_F_IN_DECODED : 0;
        bool have;

        if (f->kind == MIME_KIND_MULTIPART) {
            have = multipart_next(w, f, &start, &clen, &flags);
        } else {
            have = !f->done;
            f->done = true;
            clen = f->len;
            flags |= f->kind == MIME_KIND_HEADERS ? MIME_F_HEADERS_ONLY : MIME_F_ENCLOSED;
        }
        if (!have) {
            free(f->boundary);
            w->nstack--;
            continue;
        }
        st = emit_part(w, f->body + start, clen, f->depth + 1, f->index, flags, f->digest,
                       f->origin + (f->decoded ? 0 : start));
        if (st == MIME_PART)
            *part = &w->cur;
        return st;
    }
    w->finished = true;
    w->final = MIME_DONE;
    return MIME_DONE;
}

int mime_part_decode(const struct mime_part *part, struct buf *out)
{
    int rc;

    switch (part->cte) {
    case MIME_CTE_BASE64: rc = codec_base64_decode(part->body.ptr, part->body.len, out, NULL); break;
    case MIME_CTE_QP: rc = codec_qp_decode(part->body.ptr, part->body.len, out); break;
    default: rc = buf_append(out, part->body.ptr, part->body.len) == BUF_OK ? CODEC_OK : CODEC_ERR_SPACE; break;
    }
    return rc == CODEC_OK ? 0 : rc == CODEC_ERR_SPACE ? -1 : -2;
}
