/*
 * NAME
 *   sign_stdin.c - the --sign adapter: message stream in, signed stream out
 *
 * DESCRIPTION
 *   See sign_stdin.h.  The header block is read up to max_header_bytes; a
 *   bigger one is passed through unsigned.  Its fields are split by
 *   common/mail_header (RFC 5322 §2.2: folded lines stay in their field,
 *   byte for byte); the separator line and body are copied byte for byte.
 *   A body that does not end with a line end gets one (SMTP will add it
 *   anyway, and the signature covers it).
 */
#include "sign_stdin.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "exitcodes.h"
#include "log.h"
#include "mail_header.h"
#include "mdkim_msg.h"
#include "xalloc.h"

#define CHUNK 65536

struct reader {
    struct buf hdr;        /* header block as read */
    struct mail_headers h; /* its fields: views into hdr (common/mail_header) */
    int crlf;              /* line end style of the input */
    int has_sep;           /* an empty line ended the header */
    size_t sep_len;        /* its bytes as read ("\n", "\r\n", ...), at the end of hdr */
    int overflow;          /* header bigger than the limit */
    int no_header;         /* the block is not a sequence of header fields */
};

/* Reads the header block, one line at a time, into r->hdr. */
static void read_header(struct reader *r, FILE *in)
{
    int c, line_start_empty = 1;
    size_t line_start = 0;
    while ((c = getc(in)) != EOF) {
        if (buf_append_char(&r->hdr, (char)c) != BUF_OK) {
            r->overflow = 1;
            ungetc(c, in);
            return;
        }
        if (c != '\n') {
            if (c != '\r')
                line_start_empty = 0;
            continue;
        }
        if (line_start == 0)
            r->crlf = r->hdr.len >= 2 && r->hdr.data[r->hdr.len - 2] == '\r';
        if (line_start_empty) {
            r->has_sep = 1;
            r->sep_len = r->hdr.len - line_start;
            return;
        }
        line_start = r->hdr.len;
        line_start_empty = 1;
    }
}

/*
 * Splits the fields of r->hdr (the separator excluded) with the shared
 * header parser; sets no_header if the block is not made of fields.  The
 * block is already bounded by max_header_bytes, so the parser's own limits
 * are set past its size: they cannot cut it differently.  A NUL byte in
 * the block makes it no header (RFC 5322 §2.2 has none; libmilter cannot
 * carry one to the milter either).
 */
static void split_fields(struct reader *r)
{
    struct mail_limits lim = MAIL_LIMITS_DEFAULT;
    size_t len = r->hdr.len - r->sep_len;
    lim.max_line = lim.max_fields = lim.max_field_size = lim.max_header_size = len + 1;
    if (mail_headers_parse(r->hdr.data, len, &lim, &r->h, NULL) != MAIL_OK || r->h.nfields == 0) {
        r->no_header = 1;
        return;
    }
    /* Every byte must belong to a field (a stray CR at the very end does not, so
     * write_signed would lose it): such a block is passed through unsigned. */
    const struct mail_view last = r->h.fields[r->h.nfields - 1].raw;
    if ((size_t)(last.ptr + last.len - r->hdr.data) != len)
        r->no_header = 1;
    /* WSP before the colon (RFC 5322 §4.5 obs-optional) parses, but verifiers
     * refuse the message (dkimpy: "Unexpected characters in RFC822 header"):
     * a signature nobody can check is worse than none, so it goes unsigned. */
    for (size_t i = 0; i < r->h.nfields && !r->no_header; i++)
        if (r->h.fields[i].raw.ptr[r->h.fields[i].name.len] != ':')
            r->no_header = 1;
}

/* The field without its final line end: what the engine takes. */
static size_t field_len(const struct mail_field *f)
{
    return (size_t)(f->value.ptr + f->value.len - f->raw.ptr);
}

/* Writes s with CRLF turned into LF when the input used LF. */
static void put_field(FILE *out, const struct buf *b, int crlf)
{
    for (size_t i = 0; i < b->len; i++)
        if (crlf || b->data[i] != '\r')
            putc(b->data[i], out);
    fputs(crlf ? "\r\n" : "\n", out);
}

/*
 * Feeds the body to the engine as CRLF lines while spooling the original bytes.  Every bare LF
 * is a line end, whatever the header used: SMTP carries each as CRLF, which is what a verifier sees.
 */
static int spool_body(struct mdkim_msg *m, FILE *in, FILE *spool, int *last_nl)
{
    char *chunk = xmalloc(CHUNK), *conv = xmalloc(2 * CHUNK);
    size_t n;
    int rc = 0;
    char prev = '\n';
    *last_nl = 1;
    while ((n = fread(chunk, 1, CHUNK, in)) > 0) {
        if (fwrite(chunk, 1, n, spool) != n) {
            rc = -1;
            break;
        }
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            if (chunk[i] == '\n' && prev != '\r')
                conv[o++] = '\r';
            conv[o++] = chunk[i];
            prev = chunk[i];
        }
        mdkim_msg_body(m, conv, o);
        *last_nl = chunk[n - 1] == '\n';
    }
    free(chunk);
    free(conv);
    return rc != 0 || ferror(in) ? -1 : 0;
}

static int copy_file(FILE *from, FILE *to)
{
    char tmp[CHUNK];
    size_t n;
    rewind(from);
    while ((n = fread(tmp, 1, sizeof tmp, from)) > 0)
        if (fwrite(tmp, 1, n, to) != n)
            return -1;
    return ferror(from) ? -1 : 0;
}

static void passthrough_rest(FILE *in, FILE *out)
{
    char tmp[CHUNK];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, in)) > 0)
        fwrite(tmp, 1, n, out);
}

/* Writes the new fields, the original header (minus stale trace fields), the separator and the body. */
static int write_signed(FILE *out, const struct reader *r, const struct mdkim_out *res, const struct mdkim_snap *snap,
                        FILE *spool)
{
    const char *eol = r->crlf ? "\r\n" : "\n";
    for (size_t i = 0; i < res->nfields; i++)
        put_field(out, &res->fields[i], r->crlf);
    for (size_t i = 0; i < r->h.nfields; i++) {
        const struct mail_field *f = &r->h.fields[i];
        struct dkim_hdr h = { f->raw.ptr, field_len(f) };
        if (res->drop_existing_trace && dkim_hdr_is(&h, snap->trace_header))
            continue;
        fwrite(f->raw.ptr, 1, f->raw.len, out);
    }
    const struct mail_view last = r->h.fields[r->h.nfields - 1].raw;
    if (last.ptr[last.len - 1] != '\n')
        fputs(eol, out); /* the header ended at EOF without a line end */
    if (r->has_sep)      /* as read: the line ends of the input may be mixed */
        fwrite(r->hdr.data + r->hdr.len - r->sep_len, 1, r->sep_len, out);
    return copy_file(spool, out);
}

/* Signs a message whose header block was read into r; the body is still on in. */
static int sign_parsed(const struct mdkim_snap *snap, const struct reader *r, FILE *in, FILE *out, const char *qid,
                       time_t now)
{
    struct mdkim_msg m;
    struct mdkim_out res;
    FILE *spool = NULL;
    int last_nl = 1, rc = PF_EXIT_OK, signing;

    mdkim_msg_init(&m, snap);
    mdkim_out_init(&res);
    for (size_t i = 0; i < r->h.nfields; i++)
        mdkim_msg_header_raw(&m, r->h.fields[i].raw.ptr, field_len(&r->h.fields[i]));
    signing = mdkim_msg_eoh(&m, 1, now);
    spool = tmpfile();
    if (spool == NULL || spool_body(&m, in, spool, &last_nl) != 0) {
        log_qid(LOG_LVL_ERROR, qid, "cannot spool the message body: %m");
        rc = PF_EXIT_TEMPFAIL;
        goto out;
    }
    if (!last_nl) {
        fputs(r->crlf ? "\r\n" : "\n", spool);
        mdkim_msg_body(&m, "\r\n", 2);
    }
    if (signing == 1 && mdkim_msg_eom(&m, now, qid, &res) != 0)
        signing = -1;
    if (signing < 0) {
        int tempfail = snap->on_error == MDKIM_ON_ERROR_TEMPFAIL;
        log_qid(LOG_LVL_ERROR, qid, "not signed: %s; %s", m.err.text,
                tempfail ? "tempfail (exit 75)" : "passed unsigned");
        if (tempfail) {
            rc = PF_EXIT_TEMPFAIL;
            goto out;
        }
        res.nfields = res.nsigs = 0;
        res.drop_existing_trace = 0;
    } else if (signing == 0) {
        log_qid(LOG_LVL_INFO, qid, "not signed: %s%s%s", mdkim_skip_name(m.skip),
                m.from_domain[0] ? " from_domain=" : "", m.from_domain);
    }
    if (write_signed(out, r, &res, snap, spool) != 0)
        rc = PF_EXIT_TEMPFAIL;
    if (m.note[0] != '\0')
        log_qid(LOG_LVL_WARNING, qid, "%s", m.note);
    if (res.nsigs > 0) {
        char sigs[MDKIM_MAX_SIGS * 300];
        mdkim_out_describe(&res, sigs, sizeof sigs);
        log_qid(LOG_LVL_INFO, qid, "signed %s body=%llu bytes", sigs, (unsigned long long)m.body_bytes);
    }
out:
    mdkim_out_free(&res);
    mdkim_msg_free(&m);
    if (spool)
        fclose(spool);
    return rc;
}

int sign_stream(const struct mdkim_snap *snap, FILE *in, FILE *out, const char *qid, time_t now)
{
    struct reader r;
    int rc = PF_EXIT_OK;

    memset(&r, 0, sizeof r);
    buf_init(&r.hdr, (size_t)snap->max_header_bytes);
    read_header(&r, in);
    if (!r.overflow)
        split_fields(&r);
    if (r.overflow || r.no_header || r.h.nfields == 0) {
        log_qid(LOG_LVL_NOTICE, qid, "not signed: %s",
                r.overflow ? "header block over max_header_bytes" : "message has no header fields");
        fwrite(r.hdr.data ? r.hdr.data : "", 1, r.hdr.len, out);
        passthrough_rest(in, out);
    } else {
        rc = sign_parsed(snap, &r, in, out, qid, now);
    }
    buf_free(&r.hdr);
    mail_headers_free(&r.h);
    if (fflush(out) != 0 || ferror(out))
        rc = PF_EXIT_TEMPFAIL;
    return rc;
}
