/*
 * NAME
 *   dkim_key.h - DKIM private keys: load once, check, export the DNS record
 *
 * DESCRIPTION
 *   A key is decoded once when the configuration is loaded (never per
 *   message) and then only read, so threads share it.  Loading checks the
 *   file mode (group/other access refused unless allowed), the type (RSA or
 *   Ed25519 only) and the RSA size (under 1024 bits refused, under 2048
 *   warned about: RFC 8301 section 3.2).
 */
#ifndef POSTFLOW_DKIM_KEY_H
#define POSTFLOW_DKIM_KEY_H

#include <stddef.h>
#include <openssl/evp.h>

#include "buf.h"
#include "dkim_sign.h"

#define DKIM_RSA_MIN_BITS  1024
#define DKIM_RSA_WARN_BITS 2048

struct dkim_key {
    EVP_PKEY *pkey; /* owned */
    enum dkim_alg alg;
    int bits;
};

/*
 * Loads a PEM private key (PKCS#8 or traditional RSA) from path.
 * allow_group_read: accept a file readable by group/other.  warn receives a
 * non-fatal remark ("" when none).  Returns 0, or -1 with err set (the text
 * names the file).  On success the caller owns key->pkey (dkim_key_free).
 */
int dkim_key_load_file(const char *path, int allow_group_read, struct dkim_key *key, char *warn, size_t warnsize,
                       struct dkim_err *err);

/* Same from PEM text in memory (no file-mode check). */
int dkim_key_load_pem(const char *pem, size_t len, struct dkim_key *key, char *warn, size_t warnsize,
                      struct dkim_err *err);

/* Wraps an existing EVP_PKEY (ownership passes to key). Checks type and size as above. */
int dkim_key_adopt(EVP_PKEY *pkey, struct dkim_key *key, char *warn, size_t warnsize, struct dkim_err *err);

void dkim_key_free(struct dkim_key *key);

/*
 * Appends the DNS TXT record value "v=DKIM1; k=rsa; p=..." to out: for RSA
 * p= is the DER SubjectPublicKeyInfo, for Ed25519 the raw 32-byte public
 * key (RFC 8463 section 4.2).  Returns 0, or -1 with err set.
 */
int dkim_key_dns_record(const struct dkim_key *key, struct buf *out, struct dkim_err *err);

/* Generates a key: bits for RSA (>= DKIM_RSA_MIN_BITS), ignored for Ed25519. */
int dkim_key_generate(enum dkim_alg alg, int bits, struct dkim_key *key, struct dkim_err *err);

/*
 * Writes the private key as PKCS#8 PEM to path, created with mode 0600;
 * an existing file is not overwritten.  Returns 0, or -1 with err set.
 */
int dkim_key_write_pem(const struct dkim_key *key, const char *path, struct dkim_err *err);

#endif
