/*
 * NAME
 *   dkim_sign.c - body hash, header selection, DKIM-Signature text, signing
 *
 * DESCRIPTION
 *   See dkim_sign.h.  OpenSSL 3 EVP only.  The SHA-256 implementation is
 *   fetched once per process (EVP_MD_fetch) rather than looked up for every
 *   message.  An EVP_PKEY is only read here, so one key may sign in many
 *   threads at once, each with its own EVP_MD_CTX.
 */
#include "dkim_sign.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>

#include "codec.h"

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *dkim_sha256(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_md;
}

void dkim_err_set(struct dkim_err *err, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
}

void dkim_err_openssl(struct dkim_err *err, const char *prefix)
{
    char line[160];
    size_t off;
    unsigned long e;

    if (err == NULL) {
        ERR_clear_error();
        return;
    }
    off = (size_t)snprintf(err->text, sizeof err->text, "%s", prefix);
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, line, sizeof line);
        if (off < sizeof err->text - 1)
            off += (size_t)snprintf(err->text + off, sizeof err->text - off, ": %s", line);
    }
    if (off >= sizeof err->text)
        off = sizeof err->text - 1;
    err->text[off] = '\0';
}

const char *dkim_alg_name(enum dkim_alg alg)
{
    return alg == DKIM_ALG_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

int dkim_alg_from_name(const char *name)
{
    if (strcasecmp(name, "rsa-sha256") == 0 || strcasecmp(name, "rsa") == 0)
        return DKIM_ALG_RSA_SHA256;
    if (strcasecmp(name, "ed25519-sha256") == 0 || strcasecmp(name, "ed25519") == 0)
        return DKIM_ALG_ED25519_SHA256;
    return -1;
}

/* ---- body hash --------------------------------------------------------- */

static void digest_sink(void *arg, const void *data, size_t len)
{
    EVP_DigestUpdate((EVP_MD_CTX *)arg, data, len);
}

int dkim_bodyhash_init(struct dkim_bodyhash *bh, enum dkim_canon canon, struct dkim_err *err)
{
    bh->md = EVP_MD_CTX_new();
    if (bh->md == NULL || dkim_sha256() == NULL || EVP_DigestInit_ex(bh->md, dkim_sha256(), NULL) != 1) {
        dkim_err_openssl(err, "body hash init");
        EVP_MD_CTX_free(bh->md);
        bh->md = NULL;
        return -1;
    }
    dkim_body_canon_init(&bh->canon, canon, digest_sink, bh->md);
    return 0;
}

void dkim_bodyhash_update(struct dkim_bodyhash *bh, const void *data, size_t len)
{
    dkim_body_canon_update(&bh->canon, data, len);
}

int dkim_bodyhash_final(struct dkim_bodyhash *bh, unsigned char out[DKIM_HASH_LEN], struct dkim_err *err)
{
    unsigned int n = 0;
    dkim_body_canon_final(&bh->canon);
    if (EVP_DigestFinal_ex(bh->md, out, &n) != 1 || n != DKIM_HASH_LEN) {
        dkim_err_openssl(err, "body hash final");
        return -1;
    }
    return 0;
}

void dkim_bodyhash_free(struct dkim_bodyhash *bh)
{
    EVP_MD_CTX_free(bh->md);
    bh->md = NULL;
}

/* ---- header selection -------------------------------------------------- */

size_t dkim_hdr_name_len(const struct dkim_hdr *h)
{
    const char *colon = memchr(h->raw, ':', h->len);
    size_t n = colon ? (size_t)(colon - h->raw) : h->len;
    while (n > 0 && (h->raw[n - 1] == ' ' || h->raw[n - 1] == '\t'))
        n--;
    return n;
}

int dkim_hdr_is(const struct dkim_hdr *h, const char *name)
{
    size_t n = dkim_hdr_name_len(h);
    return strlen(name) == n && strncasecmp(h->raw, name, n) == 0;
}

void dkim_select_headers(const struct dkim_hdr *hdrs, size_t nhdrs, const char *const *names, size_t nnames, long *idx)
{
    for (size_t i = 0; i < nnames; i++) {
        /* The k-th mention of a name takes the k-th instance from the bottom. */
        size_t k = 0;
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(names[j], names[i]) == 0)
                k++;
        idx[i] = -1;
        for (size_t h = nhdrs; h-- > 0;) {
            if (dkim_hdr_is(&hdrs[h], names[i])) {
                if (k == 0) {
                    idx[i] = (long)h;
                    break;
                }
                k--;
            }
        }
    }
}

/* ---- signature text ---------------------------------------------------- */

#define FOLD_COLUMN 78

struct folder {
    struct buf *out;
    size_t col;
    int rc;
};

static void fold_put(struct folder *f, const char *s, size_t len, int space)
{
    if (f->col + len + (space ? 1 : 0) > FOLD_COLUMN && f->col > 1) {
        f->rc |= buf_append(f->out, "\r\n\t", 3);
        f->col = 8;
    } else if (space) {
        f->rc |= buf_append_char(f->out, ' ');
        f->col++;
    }
    f->rc |= buf_append(f->out, s, len);
    f->col += len;
}

static void fold_tag(struct folder *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fold_tag(struct folder *f, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        f->rc |= BUF_ERR_LIMIT;
        return;
    }
    fold_put(f, tmp, (size_t)n, 1);
}

int dkim_sig_format(const struct dkim_sig_params *p, struct buf *out)
{
    struct folder f = { out, 0, 0 };
    struct buf bh;

    f.rc |= buf_append_str(out, "DKIM-Signature:");
    f.col = 15;
    fold_tag(&f, "v=1;");
    fold_tag(&f, "a=%s;", dkim_alg_name(p->alg));
    fold_tag(&f, "c=%s/%s;", dkim_canon_name(p->hcanon), dkim_canon_name(p->bcanon));
    fold_tag(&f, "d=%s;", p->domain);
    fold_tag(&f, "s=%s;", p->selector);
    if (p->identity != NULL)
        fold_tag(&f, "i=%s;", p->identity);
    fold_tag(&f, "t=%lld;", (long long)p->timestamp);
    if (p->expire > 0)
        fold_tag(&f, "x=%lld;", (long long)p->expire);
    for (size_t i = 0; i < p->nnames; i++) {
        char seg[256];
        int n = snprintf(seg, sizeof seg, "%s%s%s", i == 0 ? "h=" : ":", p->names[i], i + 1 == p->nnames ? ";" : "");
        if (n < 0 || (size_t)n >= sizeof seg) {
            f.rc |= BUF_ERR_LIMIT;
            break;
        }
        fold_put(&f, seg, (size_t)n, i == 0);
    }
    buf_init(&bh, 0);
    if (codec_base64_encode(p->bodyhash, DKIM_HASH_LEN, &bh) != CODEC_OK)
        f.rc |= BUF_ERR_LIMIT;
    else
        fold_tag(&f, "bh=%s;", bh.data);
    buf_free(&bh);
    f.rc |= buf_append_str(out, "\r\n\tb=");
    return f.rc ? BUF_ERR_LIMIT : BUF_OK;
}

int dkim_sig_append_b(struct buf *out, const unsigned char *sig, size_t siglen)
{
    struct buf b64;
    int rc = 0;
    buf_init(&b64, 0); /* no memory until the first append */
    if (siglen == 0)
        return BUF_OK;
    if (codec_base64_encode(sig, siglen, &b64) != CODEC_OK) {
        buf_free(&b64);
        return BUF_ERR_LIMIT;
    }
    size_t n = b64.len;
    /* Lines start with a TAB (8 columns); "\tb=" takes 11 of the first. */
    size_t first = n < 67 ? n : 67;
    rc |= buf_append(out, b64.data, first);
    for (size_t off = first; off < n; off += 70) {
        size_t len = n - off < 70 ? n - off : 70;
        rc |= buf_append(out, "\r\n\t", 3);
        rc |= buf_append(out, b64.data + off, len);
    }
    buf_free(&b64);
    return rc ? BUF_ERR_LIMIT : BUF_OK;
}

/* ---- signing ----------------------------------------------------------- */

struct sign_sink {
    EVP_MD_CTX *ctx;
    int rsa;
    int failed;
};

static void sign_sink_put(void *arg, const void *data, size_t len)
{
    struct sign_sink *s = arg;
    int ok = s->rsa ? EVP_DigestSignUpdate(s->ctx, data, len) : EVP_DigestUpdate(s->ctx, data, len);
    if (ok != 1)
        s->failed = 1;
}

int dkim_sign_compute(EVP_PKEY *key, enum dkim_alg alg, enum dkim_canon hcanon, const struct dkim_hdr *hdrs,
                      size_t nhdrs, const char *const *names, size_t nnames, const char *sigfield, size_t sigfieldlen,
                      unsigned char *sig, size_t *siglen, struct dkim_err *err)
{
    struct sign_sink s = { EVP_MD_CTX_new(), alg == DKIM_ALG_RSA_SHA256, 0 };
    unsigned char hash[DKIM_HASH_LEN];
    unsigned int hashlen = 0;
    long idx[DKIM_NAMES_MAX];
    int rc = -1;

    if (nnames > DKIM_NAMES_MAX) {
        dkim_err_set(err, "too many header names to sign (%zu > %d)", nnames, DKIM_NAMES_MAX);
        goto out;
    }
    if (s.ctx == NULL || dkim_sha256() == NULL) {
        dkim_err_openssl(err, "signing context");
        goto out;
    }
    if (s.rsa ? EVP_DigestSignInit(s.ctx, NULL, dkim_sha256(), NULL, key) != 1
              : EVP_DigestInit_ex(s.ctx, dkim_sha256(), NULL) != 1) {
        dkim_err_openssl(err, "signature init");
        goto out;
    }
    dkim_select_headers(hdrs, nhdrs, names, nnames, idx);
    for (size_t i = 0; i < nnames; i++)
        if (idx[i] >= 0)
            dkim_canon_header(hcanon, hdrs[idx[i]].raw, hdrs[idx[i]].len, 1, sign_sink_put, &s);
    if (dkim_canon_header(hcanon, sigfield, sigfieldlen, 0, sign_sink_put, &s) != 0) {
        dkim_err_set(err, "malformed DKIM-Signature field");
        goto out;
    }
    if (s.failed) {
        dkim_err_openssl(err, "header hash");
        goto out;
    }
    *siglen = DKIM_SIG_MAX;
    if (s.rsa) {
        size_t need = 0;
        if (EVP_DigestSignFinal(s.ctx, NULL, &need) != 1 || need > DKIM_SIG_MAX ||
            EVP_DigestSignFinal(s.ctx, sig, siglen) != 1) {
            dkim_err_openssl(err, "rsa-sha256 signing");
            goto out;
        }
    } else {
        /* RFC 8463 section 3: Ed25519 (pure) over the SHA-256 of the data. */
        if (EVP_DigestFinal_ex(s.ctx, hash, &hashlen) != 1 || EVP_MD_CTX_reset(s.ctx) != 1 ||
            EVP_DigestSignInit(s.ctx, NULL, NULL, NULL, key) != 1 ||
            EVP_DigestSign(s.ctx, sig, siglen, hash, hashlen) != 1) {
            dkim_err_openssl(err, "ed25519-sha256 signing");
            goto out;
        }
    }
    rc = 0;
out:
    EVP_MD_CTX_free(s.ctx);
    return rc;
}
