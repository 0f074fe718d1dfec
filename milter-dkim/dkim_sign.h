/*
 * NAME
 *   dkim_sign.h - compute a DKIM-Signature (RFC 6376 section 5, RFC 8463)
 *
 * DESCRIPTION
 *   Pure signing core over headers held in memory and a body fed in
 *   chunks.  No libmilter, no logging: errors come back as text in
 *   struct dkim_err (with the OpenSSL error queue drained into it).
 *
 *   Flow for one signature:
 *     dkim_bodyhash_init(&bh, canon)      once per body canonicalization
 *     dkim_bodyhash_update(&bh, chunk)    as the body arrives
 *     dkim_bodyhash_final(&bh, digest)
 *     dkim_sig_format(...)                builds "DKIM-Signature: ...; b="
 *     dkim_sign_compute(...)              hashes the selected headers and
 *                                         that field, signs, gives b=
 *     dkim_sig_append_b(...)              appends the folded b= value
 *
 *   Algorithms: rsa-sha256 (RSA PKCS#1 v1.5 over SHA-256) and
 *   ed25519-sha256 (RFC 8463: PureEdDSA over the SHA-256 of the canonical
 *   header data).  rsa-sha1 is never produced (RFC 8301).
 */
#ifndef POSTFLOW_DKIM_SIGN_H
#define POSTFLOW_DKIM_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>

#include "buf.h"
#include "dkim_canon.h"

enum dkim_alg { DKIM_ALG_RSA_SHA256 = 0, DKIM_ALG_ED25519_SHA256 = 1 };

#define DKIM_HASH_LEN  32   /* SHA-256 */
#define DKIM_SIG_MAX   1024 /* RSA-8192: 1024 bytes */
#define DKIM_ERR_MAX   256
#define DKIM_NAMES_MAX 128 /* most h= entries in one signature */

struct dkim_err {
    char text[DKIM_ERR_MAX];
};

/* A header field as it appears in the message: "Name:value", folds as CRLF, no final CRLF. View, not owned. */
struct dkim_hdr {
    const char *raw;
    size_t len;
};

const char *dkim_alg_name(enum dkim_alg alg); /* "rsa-sha256" / "ed25519-sha256" */
int dkim_alg_from_name(const char *name);     /* also accepts "rsa", "ed25519"; -1 when unknown */

/* ---- body hash --------------------------------------------------------- */
struct dkim_bodyhash {
    EVP_MD_CTX *md; /* owned */
    struct dkim_body_canon canon;
};

/* Returns 0 or -1 (OpenSSL failure, err set). */
int dkim_bodyhash_init(struct dkim_bodyhash *bh, enum dkim_canon canon, struct dkim_err *err);
void dkim_bodyhash_update(struct dkim_bodyhash *bh, const void *data, size_t len);
/* Finishes the canonical stream and writes the SHA-256 into out. Returns 0 or -1. */
int dkim_bodyhash_final(struct dkim_bodyhash *bh, unsigned char out[DKIM_HASH_LEN], struct dkim_err *err);
/* Frees the digest context (safe after final, and on a never-initialized zeroed struct). */
void dkim_bodyhash_free(struct dkim_bodyhash *bh);

/* ---- header selection (RFC 6376 section 5.4.2) -------------------------- */
/*
 * For each name in names[0..nnames) chooses the last header of that name
 * not chosen yet, scanning from the bottom; idx[i] is its index in hdrs or
 * -1 when none is left (an oversigned or absent header, signed as a null
 * string).  Names compare case-insensitively.
 */
void dkim_select_headers(const struct dkim_hdr *hdrs, size_t nhdrs, const char *const *names, size_t nnames, long *idx);

/* Header name of a raw field: returns its length (up to the colon, trailing WSP excluded). */
size_t dkim_hdr_name_len(const struct dkim_hdr *h);
/* 1 if the field's name equals name (case-insensitive). */
int dkim_hdr_is(const struct dkim_hdr *h, const char *name);

/* ---- the signature header --------------------------------------------- */
struct dkim_sig_params {
    enum dkim_alg alg;
    enum dkim_canon hcanon, bcanon;
    const char *domain;       /* d= */
    const char *selector;     /* s= */
    const char *identity;     /* i= or NULL */
    time_t timestamp;         /* t= */
    time_t expire;            /* x= or 0 */
    const char *const *names; /* h= */
    size_t nnames;
    unsigned char bodyhash[DKIM_HASH_LEN];
};

/*
 * Appends "DKIM-Signature: v=1; a=...; ...; bh=...;\r\n\tb=" to out, folded
 * at 78 columns with CRLF TAB.  Returns 0 or BUF_ERR_LIMIT.
 */
int dkim_sig_format(const struct dkim_sig_params *p, struct buf *out);

/* Appends the base64 of sig to out, folded with CRLF TAB. Returns 0 or BUF_ERR_LIMIT. */
int dkim_sig_append_b(struct buf *out, const unsigned char *sig, size_t siglen);

/*
 * Hashes the canonical selected headers and the DKIM-Signature field
 * `sigfield` (its b= empty, no final CRLF; RFC 6376 section 3.7) and signs
 * with key.  sig receives up to DKIM_SIG_MAX bytes, *siglen its length.
 * nnames <= DKIM_NAMES_MAX.  Returns 0 or -1 with err set.
 */
int dkim_sign_compute(EVP_PKEY *key, enum dkim_alg alg, enum dkim_canon hcanon, const struct dkim_hdr *hdrs,
                      size_t nhdrs, const char *const *names, size_t nnames, const char *sigfield, size_t sigfieldlen,
                      unsigned char *sig, size_t *siglen, struct dkim_err *err);

/* Drains the OpenSSL error queue into err (prefix first). */
void dkim_err_openssl(struct dkim_err *err, const char *prefix);
void dkim_err_set(struct dkim_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
