/*
 * NAME
 *   dkim_key.c - load, check, generate and export DKIM keys (OpenSSL 3 EVP)
 *
 * DESCRIPTION
 *   See dkim_key.h.  The key file is opened once and checked with fstat()
 *   on the open descriptor, so the mode checked is the mode of the file
 *   read.
 *
 * SECURITY
 *   A private key readable by group or other is refused unless the
 *   configuration allows it; keys are written 0600 with O_EXCL.
 */
#include "dkim_key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "codec.h"

#define KEY_FILE_MAX (64 * 1024)

void dkim_key_free(struct dkim_key *key)
{
    EVP_PKEY_free(key->pkey);
    key->pkey = NULL;
}

int dkim_key_adopt(EVP_PKEY *pkey, struct dkim_key *key, char *warn, size_t warnsize, struct dkim_err *err)
{
    if (warn != NULL && warnsize > 0)
        warn[0] = '\0';
    key->pkey = NULL;
    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        key->alg = DKIM_ALG_ED25519_SHA256;
        key->bits = 256;
    } else if (EVP_PKEY_is_a(pkey, "RSA")) {
        key->alg = DKIM_ALG_RSA_SHA256;
        key->bits = EVP_PKEY_get_bits(pkey);
        if (key->bits < DKIM_RSA_MIN_BITS) {
            dkim_err_set(err, "RSA key of %d bits refused (minimum %d, RFC 8301)", key->bits, DKIM_RSA_MIN_BITS);
            EVP_PKEY_free(pkey);
            return -1;
        }
        if (key->bits < DKIM_RSA_WARN_BITS && warn != NULL)
            snprintf(warn, warnsize, "RSA key of %d bits is weak; use %d bits or more (RFC 8301)", key->bits,
                     DKIM_RSA_WARN_BITS);
    } else {
        dkim_err_set(err, "unsupported key type %s (RSA or Ed25519 only)",
                     EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "?");
        EVP_PKEY_free(pkey);
        return -1;
    }
    key->pkey = pkey;
    return 0;
}

int dkim_key_load_pem(const char *pem, size_t len, struct dkim_key *key, char *warn, size_t warnsize,
                      struct dkim_err *err)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (pkey == NULL) {
        dkim_err_openssl(err, "not a PEM private key");
        key->pkey = NULL;
        return -1;
    }
    return dkim_key_adopt(pkey, key, warn, warnsize, err);
}

int dkim_key_load_file(const char *path, int allow_group_read, struct dkim_key *key, char *warn, size_t warnsize,
                       struct dkim_err *err)
{
    struct stat st;
    char *text = NULL;
    ssize_t n;
    size_t got = 0;
    int rc = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    key->pkey = NULL;
    if (fd < 0) {
        dkim_err_set(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        dkim_err_set(err, "%s: not a regular file", path);
        goto out;
    }
    if ((st.st_mode & 077) != 0 && !allow_group_read) {
        dkim_err_set(err,
                     "%s: private key is accessible by group or other (mode %04o); "
                     "chmod 600 it",
                     path, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    if (st.st_size <= 0 || st.st_size > KEY_FILE_MAX) {
        dkim_err_set(err, "%s: size %lld is not that of a key", path, (long long)st.st_size);
        goto out;
    }
    text = OPENSSL_secure_malloc((size_t)st.st_size); /* plain malloc when no secure heap */
    if (text == NULL) {
        dkim_err_set(err, "%s: out of memory", path);
        goto out;
    }
    while (got < (size_t)st.st_size && (n = read(fd, text + got, (size_t)st.st_size - got)) > 0)
        got += (size_t)n;
    if (got != (size_t)st.st_size) {
        dkim_err_set(err, "%s: short read", path);
        goto out;
    }
    rc = dkim_key_load_pem(text, got, key, warn, warnsize, err);
    if (rc != 0) {
        struct dkim_err inner = *err;
        dkim_err_set(err, "%s: %s", path, inner.text);
    }
out:
    if (text != NULL)
        OPENSSL_secure_clear_free(text, (size_t)st.st_size);
    close(fd);
    return rc;
}

int dkim_key_dns_record(const struct dkim_key *key, struct buf *out, struct dkim_err *err)
{
    unsigned char raw[32];
    unsigned char *der = NULL;
    size_t rawlen = sizeof raw;
    int derlen;
    int rc = 0;

    if (key->alg == DKIM_ALG_ED25519_SHA256) {
        if (EVP_PKEY_get_raw_public_key(key->pkey, raw, &rawlen) != 1) {
            dkim_err_openssl(err, "ed25519 public key");
            return -1;
        }
        return buf_append_str(out, "v=DKIM1; k=ed25519; p=") == BUF_OK &&
                       codec_base64_encode(raw, rawlen, out) == CODEC_OK
                   ? 0
                   : -1;
    }
    derlen = i2d_PUBKEY(key->pkey, &der);
    if (derlen <= 0) {
        dkim_err_openssl(err, "rsa public key");
        return -1;
    }
    if (buf_append_str(out, "v=DKIM1; k=rsa; p=") != BUF_OK ||
        codec_base64_encode(der, (size_t)derlen, out) != CODEC_OK)
        rc = -1;
    OPENSSL_free(der);
    return rc;
}

int dkim_key_generate(enum dkim_alg alg, int bits, struct dkim_key *key, struct dkim_err *err)
{
    EVP_PKEY *pkey = NULL;
    key->pkey = NULL;
    if (alg == DKIM_ALG_ED25519_SHA256) {
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    } else {
        if (bits < DKIM_RSA_MIN_BITS || bits > 8192) {
            dkim_err_set(err, "RSA key size %d out of range %d..8192", bits, DKIM_RSA_MIN_BITS);
            return -1;
        }
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    }
    if (pkey == NULL) {
        dkim_err_openssl(err, "key generation");
        return -1;
    }
    return dkim_key_adopt(pkey, key, NULL, 0, err);
}

int dkim_key_write_pem(const struct dkim_key *key, const char *path, struct dkim_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        dkim_err_set(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* umask cannot widen 0600, but a group-inherited ACL could: be explicit. */
    (void)fchmod(fd, 0600);
    BIO *bio = BIO_new_fd(fd, BIO_CLOSE);
    if (bio == NULL) {
        close(fd);
        unlink(path);
        dkim_err_openssl(err, "BIO");
        return -1;
    }
    int ok = PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) == 1 && BIO_flush(bio) == 1;
    BIO_free(bio);
    if (!ok) {
        unlink(path);
        dkim_err_openssl(err, path);
        return -1;
    }
    return 0;
}
