/*
 * NAME
 *   mdkim_msg.c - the per-message signing engine (see mdkim_msg.h)
 *
 * DESCRIPTION
 *   Header fields are kept as raw text (the signature needs them at the
 *   end, and simple canonicalization needs them exactly).  The signer's
 *   h= list is the configured names present in the message, each as many
 *   times as present, plus one more for oversigned names (RFC 6376
 *   section 8.15), so a field added later breaks the signature.
 */
#include "mdkim_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

static const char *const skip_names[MDKIM_SKIP__COUNT] = {
    "none", "untrusted", "no_from", "multiple_from", "from_syntax", "no_rule", "no_key", "header_limit",
};

const char *mdkim_skip_name(enum mdkim_skip s)
{
    return (unsigned)s < MDKIM_SKIP__COUNT ? skip_names[s] : "?";
}

void mdkim_msg_init(struct mdkim_msg *m, const struct mdkim_snap *snap)
{
    memset(m, 0, sizeof *m);
    m->snap = snap;
    buf_init(&m->hbuf, (size_t)snap->max_header_bytes);
}

void mdkim_msg_free(struct mdkim_msg *m)
{
    buf_free(&m->hbuf);
    free(m->hoff);
    free(m->hlen);
    for (int i = 0; i < 2; i++)
        dkim_bodyhash_free(&m->bh[i]);
    m->hoff = m->hlen = NULL;
}

void mdkim_out_init(struct mdkim_out *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i <= MDKIM_MAX_SIGS; i++)
        buf_init(&out->fields[i], 64 * 1024);
}

void mdkim_out_describe(const struct mdkim_out *out, char *text, size_t size)
{
    size_t off = 0;
    text[0] = '\0';
    for (size_t i = 0; i < out->nsigs && off < size; i++) {
        int n = snprintf(text + off, size - off, "%sd=%s s=%s a=%s", i ? ", " : "", out->sigs[i].domain,
                         out->sigs[i].selector, dkim_alg_name(out->sigs[i].alg));
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

void mdkim_out_free(struct mdkim_out *out)
{
    for (size_t i = 0; i <= MDKIM_MAX_SIGS; i++)
        buf_free(&out->fields[i]);
}

/* Appends bytes turning every bare LF into CRLF (milter and Exim give LF folds). */
static int append_crlf(struct buf *b, const char *s, size_t len)
{
    int rc = 0;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) {
            rc |= buf_append(b, s + start, i - start);
            rc |= buf_append(b, "\r\n", 2);
            start = i + 1;
        }
    }
    rc |= buf_append(b, s + start, len - start);
    return rc;
}

static void header_limit(struct mdkim_msg *m)
{
    if (m->skip == MDKIM_SKIP_NONE)
        m->skip = MDKIM_SKIP_HEADER_LIMIT;
}

static int header_begin(struct mdkim_msg *m)
{
    if (m->skip == MDKIM_SKIP_HEADER_LIMIT)
        return -1;
    if (m->nh >= (size_t)m->snap->max_headers) {
        header_limit(m);
        return -1;
    }
    if (m->nh == m->caph) {
        m->caph = m->caph ? m->caph * 2 : 32;
        m->hoff = xrealloc(m->hoff, m->caph * sizeof *m->hoff);
        m->hlen = xrealloc(m->hlen, m->caph * sizeof *m->hlen);
    }
    m->hoff[m->nh] = m->hbuf.len;
    return 0;
}

static void header_end(struct mdkim_msg *m, int rc, size_t start)
{
    if (rc != 0) {
        m->hbuf.len = start; /* drop the partial field; the message goes unsigned */
        header_limit(m);
        return;
    }
    m->hlen[m->nh] = m->hbuf.len - start;
    m->nh++;
}

void mdkim_msg_header(struct mdkim_msg *m, const char *name, const char *value)
{
    size_t start = m->hbuf.len;
    if (header_begin(m) != 0)
        return;
    int rc = buf_append_str(&m->hbuf, name);
    rc |= buf_append_char(&m->hbuf, ':');
    rc |= append_crlf(&m->hbuf, value, strlen(value));
    header_end(m, rc, start);
}

void mdkim_msg_header_raw(struct mdkim_msg *m, const char *raw, size_t len)
{
    size_t start = m->hbuf.len;
    if (header_begin(m) != 0)
        return;
    header_end(m, append_crlf(&m->hbuf, raw, len), start);
}

static struct dkim_hdr hdr_at(const struct mdkim_msg *m, size_t i)
{
    struct dkim_hdr h = { m->hbuf.data + m->hoff[i], m->hlen[i] };
    return h;
}

/* Finds the From field(s) and its domain; sets m->skip when unusable. */
static void check_from(struct mdkim_msg *m)
{
    long from = -1;
    for (size_t i = 0; i < m->nh; i++) {
        struct dkim_hdr h = hdr_at(m, i);
        if (dkim_hdr_is(&h, "From")) {
            if (from >= 0) {
                m->skip = MDKIM_SKIP_MULTI_FROM;
                return;
            }
            from = (long)i;
        }
    }
    if (from < 0) {
        m->skip = MDKIM_SKIP_NO_FROM;
        return;
    }
    struct dkim_hdr h = hdr_at(m, (size_t)from);
    const char *colon = memchr(h.raw, ':', h.len);
    int n = from_domain_parse(colon + 1, h.len - (size_t)(colon + 1 - h.raw), m->from_domain, sizeof m->from_domain);
    if (n == 0)
        m->skip = MDKIM_SKIP_NO_FROM;
    else if (n > 1)
        m->skip = MDKIM_SKIP_MULTI_FROM;
    else if (n < 0 || m->from_domain[0] == '\0')
        m->skip = MDKIM_SKIP_FROM_SYNTAX;
}

/*
 * The rule's keys usable now.  Returns -1 (m->err set) when a key the
 * message needs is broken and the message must get the on_error verdict:
 * always with on_error = tempfail, and with accept when no other key is
 * left to sign with (with accept and another key, m->note says which key
 * was missing and the message is signed with the others).
 */
static int choose_keys(struct mdkim_msg *m, time_t now)
{
    const struct mdkim_key *broken = NULL;
    const struct mdkim_rule *r = mdkim_snap_lookup(m->snap, m->from_domain);
    if (r == NULL) {
        m->skip = MDKIM_SKIP_NO_RULE;
        return 0;
    }
    for (size_t i = 0; i < r->nkeys; i++) {
        const struct mdkim_key *k = &m->snap->keys[r->keys[i]];
        if ((k->not_before && now < k->not_before) || (k->not_after && now > k->not_after))
            continue;
        if (!k->unaligned && !mdkim_domain_aligned(m->from_domain, k->domain))
            continue;
        if (k->error != NULL) {
            broken = k;
            continue;
        }
        m->sel[m->nsel++] = r->keys[i];
    }
    if (broken != NULL && (m->nsel == 0 || m->snap->on_error == MDKIM_ON_ERROR_TEMPFAIL)) {
        dkim_err_set(&m->err, "%s", broken->error);
        return -1;
    }
    if (broken != NULL)
        snprintf(m->note, sizeof m->note, "not signed with %s", broken->error);
    if (m->nsel == 0)
        m->skip = MDKIM_SKIP_NO_KEY;
    return 0;
}

int mdkim_msg_eoh(struct mdkim_msg *m, int trusted, time_t now)
{
    m->deciding_done = 1;
    if (m->skip != MDKIM_SKIP_NONE)
        return 0;
    if (!trusted) {
        m->skip = MDKIM_SKIP_UNTRUSTED;
        return 0;
    }
    check_from(m);
    if (m->skip == MDKIM_SKIP_NONE && choose_keys(m, now) != 0) {
        m->failed = 1;
        return -1;
    }
    if (m->skip != MDKIM_SKIP_NONE)
        return 0;
    for (size_t i = 0; i < m->nsel; i++) {
        enum dkim_canon c = m->snap->keys[m->sel[i]].bcanon;
        if (!m->bh_on[c]) {
            if (dkim_bodyhash_init(&m->bh[c], c, &m->err) != 0) {
                m->failed = 1;
                return -1;
            }
            m->bh_on[c] = 1;
        }
    }
    return 1;
}

void mdkim_msg_body(struct mdkim_msg *m, const void *data, size_t len)
{
    m->body_bytes += len;
    for (int c = 0; c < 2; c++)
        if (m->bh_on[c])
            dkim_bodyhash_update(&m->bh[c], data, len);
}

static size_t count_named(const struct dkim_hdr *h, size_t n, const char *name)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += dkim_hdr_is(&h[i], name);
    return c;
}

static int in_list(char *const *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v[i], name) == 0)
            return 1;
    return 0;
}

/* h= for this message (names point into the snapshot). */
static size_t build_names(const struct mdkim_msg *m, const struct dkim_hdr *h, size_t nh, int traced,
                          const char **names, size_t max)
{
    const struct mdkim_snap *s = m->snap;
    size_t n = 0;
    for (size_t i = 0; i < s->nheaders; i++) {
        size_t c = count_named(h, nh, s->headers[i]);
        if (in_list(s->oversign, s->noversign, s->headers[i]))
            c++;
        for (size_t k = 0; k < c && n < max; k++)
            names[n++] = s->headers[i];
    }
    /* Oversigned names not in the signed list still get their one "absent" entry. */
    for (size_t i = 0; i < s->noversign; i++)
        if (!in_list(s->headers, s->nheaders, s->oversign[i]) && n < max)
            for (size_t k = 0; k <= count_named(h, nh, s->oversign[i]) && n < max; k++)
                names[n++] = s->oversign[i];
    if (traced && n + 1 < max) {
        names[n++] = s->trace_header; /* ours, and once more: it cannot be added twice */
        names[n++] = s->trace_header;
    }
    return n;
}

static int add_trace(struct mdkim_msg *m, time_t now, const char *qid, struct mdkim_out *out, struct dkim_hdr *h,
                     size_t *nh)
{
    char value[TRACE_VALUE_MAX];
    if (!m->snap->trace_enabled || qid == NULL)
        return 0;
    if (trace_format(&m->snap->trace_key, qid, now, m->from_domain, value, sizeof value) < 0)
        return 0; /* queue id not a token: no trace header, the message is still signed */
    struct buf *f = &out->fields[MDKIM_MAX_SIGS];
    if (buf_printf(f, "%s: %s", m->snap->trace_header, value) != BUF_OK)
        return -1;
    h[(*nh)++] = (struct dkim_hdr){ f->data, f->len };
    return 1;
}

int mdkim_msg_eom(struct mdkim_msg *m, time_t now, const char *qid, struct mdkim_out *out)
{
    unsigned char bodyhash[2][DKIM_HASH_LEN];
    const char *names[DKIM_NAMES_MAX];
    struct dkim_hdr *h = xcalloc(m->nh + 1, sizeof *h);
    size_t nh = 0;
    int rc = -1;

    if (m->skip != MDKIM_SKIP_NONE || m->nsel == 0) {
        free(h);
        return 0;
    }
    for (int c = 0; c < 2; c++)
        if (m->bh_on[c] && dkim_bodyhash_final(&m->bh[c], bodyhash[c], &m->err) != 0)
            goto out;
    /* Existing fields named like our trace header are forged or stale: they are removed, never signed. */
    for (size_t i = 0; i < m->nh; i++) {
        struct dkim_hdr one = hdr_at(m, i);
        if (m->snap->trace_enabled && dkim_hdr_is(&one, m->snap->trace_header))
            out->drop_existing_trace++;
        else
            h[nh++] = one;
    }
    int traced = add_trace(m, now, qid, out, h, &nh);
    if (traced < 0) {
        dkim_err_set(&m->err, "trace header too long");
        goto out;
    }
    size_t nnames = build_names(m, h, nh, traced, names, DKIM_NAMES_MAX);
    for (size_t i = 0; i < m->nsel; i++) {
        const struct mdkim_key *k = &m->snap->keys[m->sel[i]];
        struct buf *f = &out->fields[out->nfields];
        struct dkim_sig_params p = {
            .alg = k->key.alg,
            .hcanon = k->hcanon,
            .bcanon = k->bcanon,
            .domain = k->domain,
            .selector = k->selector,
            .identity = NULL,
            .timestamp = now,
            .expire = m->snap->signature_ttl ? now + m->snap->signature_ttl : 0,
            .names = names,
            .nnames = nnames,
        };
        unsigned char sig[DKIM_SIG_MAX];
        size_t siglen = 0;
        memcpy(p.bodyhash, bodyhash[k->bcanon], DKIM_HASH_LEN);
        if (dkim_sig_format(&p, f) != BUF_OK) {
            dkim_err_set(&m->err, "signature field too long");
            goto out;
        }
        if (dkim_sign_compute(k->key.pkey, k->key.alg, k->hcanon, h, nh, names, nnames, f->data, f->len, sig, &siglen,
                              &m->err) != 0)
            goto out;
        if (dkim_sig_append_b(f, sig, siglen) != BUF_OK) {
            dkim_err_set(&m->err, "signature field too long");
            goto out;
        }
        out->sigs[out->nsigs++] = (struct mdkim_sigref){ k->domain, k->selector, k->key.alg };
        out->nfields++;
    }
    if (traced) { /* the trace field goes below the signatures */
        struct buf tmp = out->fields[out->nfields];
        out->fields[out->nfields] = out->fields[MDKIM_MAX_SIGS];
        out->fields[MDKIM_MAX_SIGS] = tmp;
        out->nfields++;
    }
    rc = 0;
out:
    if (rc != 0) {
        m->failed = 1;
        out->nfields = out->nsigs = 0;
    }
    free(h);
    return rc;
}
