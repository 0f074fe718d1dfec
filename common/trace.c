/*
 * NAME
 *   trace.c - format and verify the attribution trace header (see trace.h)
 *
 * DESCRIPTION
 *   The MAC covers a canonical string rebuilt from the parsed fields, never
 *   the received text, so re-folding by an MTA does not break it.  MACs are
 *   compared in constant time (CRYPTO_memcmp).  HMAC through EVP_MAC.
 *
 * SECURITY
 *   The secret is read from a file that only its owner may read; a value
 *   with unexpected characters is refused before any MAC is computed.
 */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define MAC_BYTES 16
#define MAC_CHARS 22

const struct cfg_option trace_conf_options[] = {
    CFG_ROW("header_name", CFG_STRING, trace_conf, header_name, "X-Postflow-Trace", 0, 64, "name of the trace header"),
    CFG_ROW("key_id", CFG_STRING, trace_conf, key_id, "1", 0, TRACE_KEY_ID_MAX,
            "k= of new trace headers (letters and digits)"),
    CFG_ROW("secret_file", CFG_STRING, trace_conf, secret_file, NULL, 0, 4096,
            "file holding the HMAC secret (>= 16 bytes, mode 0600); e.g. head -c 32 /dev/urandom | base64"),
    CFG_ROW("old_key_id", CFG_STRING, trace_conf, old_key_id, NULL, 0, TRACE_KEY_ID_MAX,
            "a previous key id still accepted when verifying"),
    CFG_ROW("old_secret_file", CFG_STRING, trace_conf, old_secret_file, NULL, 0, 4096, "its secret"),
    CFG_ROW("max_age", CFG_DURATION, trace_conf, max_age, "30d", 0, 366LL * 86400,
            "verification refuses references older than this (0: no limit)"),
    CFG_END
};

const char *trace_result_name(enum trace_result r)
{
    switch (r) {
    case TRACE_OK: return "ok";
    case TRACE_MALFORMED: return "malformed";
    case TRACE_UNKNOWN_KEY: return "unknown-key";
    case TRACE_BAD_MAC: return "bad-mac";
    case TRACE_EXPIRED: return "expired";
    }
    return "?";
}

static int is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int valid_token(const char *s, size_t len, size_t max, const char *extra)
{
    if (len == 0 || len > max)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum((unsigned char)s[i]) && (extra == NULL || strchr(extra, s[i]) == NULL || s[i] == '\0'))
            return 0;
    return 1;
}

int trace_key_set(struct trace_key *key, const char *id, const void *secret, size_t len)
{
    size_t idlen = strlen(id);
    if (!valid_token(id, idlen, TRACE_KEY_ID_MAX, NULL) || len < TRACE_SECRET_MIN || len > TRACE_SECRET_MAX)
        return -1;
    memcpy(key->id, id, idlen + 1);
    memcpy(key->secret, secret, len);
    key->len = len;
    return 0;
}

int trace_key_load(struct trace_key *key, const char *id, const char *path, char *err, size_t errsize)
{
    unsigned char tmp[TRACE_SECRET_MAX + 2];
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        snprintf(err, errsize, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
        snprintf(err, errsize, "%s: must be a regular file not accessible by group or other", path);
        close(fd);
        return -1;
    }
    n = read(fd, tmp, sizeof tmp);
    close(fd);
    while (n > 0 && (tmp[n - 1] == '\n' || tmp[n - 1] == '\r'))
        n--;
    int rc = n < 0 ? -1 : trace_key_set(key, id, tmp, (size_t)n);
    OPENSSL_cleanse(tmp, sizeof tmp);
    if (rc != 0)
        snprintf(err, errsize, "%s: secret must be %d..%d bytes and key id 1..%d letters/digits", path,
                 TRACE_SECRET_MIN, TRACE_SECRET_MAX, TRACE_KEY_ID_MAX);
    return rc;
}

/* base64url, no padding, of the first MAC_BYTES of mac. */
static void mac_encode(const unsigned char *mac, char out[MAC_CHARS + 1])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < MAC_BYTES; i++) {
        acc = (acc << 8) | mac[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = alphabet[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

static int hmac(const struct trace_key *key, const char *data, size_t len, char out[MAC_CHARS + 1])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    int ok = 0;
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (ctx != NULL && EVP_MAC_init(ctx, key->secret, key->len, params) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)data, len) == 1 &&
        EVP_MAC_final(ctx, mac, &maclen, sizeof mac) == 1 && maclen >= MAC_BYTES) {
        mac_encode(mac, out);
        ok = 1;
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);
    return ok ? 0 : -1;
}

/* The MAC input: the value up to, excluding, " m=". */
static int canonical(char *out, size_t outsize, const char *kid, const char *qid, long long t, const char *domain)
{
    int n = snprintf(out, outsize, "v=1; k=%s; q=%s; t=%lld; d=%s;", kid, qid, t, domain);
    return (n < 0 || (size_t)n >= outsize) ? -1 : n;
}

int trace_format(const struct trace_key *key, const char *qid, time_t t, const char *domain, char *out, size_t outsize)
{
    char dom[TRACE_DOMAIN_MAX + 1], mac[MAC_CHARS + 1];
    size_t dlen = strlen(domain);
    if (outsize < TRACE_VALUE_MAX || !valid_token(qid, strlen(qid), TRACE_QID_MAX, "._-") ||
        !valid_token(domain, dlen, TRACE_DOMAIN_MAX, ".-"))
        return -1;
    for (size_t i = 0; i <= dlen; i++)
        dom[i] = (domain[i] >= 'A' && domain[i] <= 'Z') ? (char)(domain[i] + 32) : domain[i];
    int n = canonical(out, outsize, key->id, qid, (long long)t, dom);
    if (n < 0 || hmac(key, out, (size_t)n, mac) != 0)
        return -1;
    int m = snprintf(out + n, outsize - (size_t)n, " m=%s", mac);
    return (m < 0 || (size_t)(n + m) >= outsize) ? -1 : n + m;
}

/* Copies the value with all white space (and folding) removed. */
static size_t squeeze(const char *in, size_t len, char *out, size_t outsize)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (o + 1 >= outsize)
            return 0;
        out[o++] = c;
    }
    out[o] = '\0';
    return o;
}

enum trace_result trace_verify(const struct trace_key *keys, size_t nkeys, const char *value, size_t len, time_t now,
                               long long max_age, struct trace_ref *ref)
{
    char text[TRACE_VALUE_MAX + 1], canon[TRACE_VALUE_MAX + 1], mac[MAC_CHARS + 1];
    const char *v = NULL, *k = NULL, *q = NULL, *t = NULL, *d = NULL, *m = NULL;
    memset(ref, 0, sizeof *ref);

    if (len > TRACE_VALUE_MAX * 2 || squeeze(value, len, text, sizeof text) == 0)
        return TRACE_MALFORMED;
    for (char *save = NULL, *tag = strtok_r(text, ";", &save); tag; tag = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(tag, '=');
        if (eq == NULL || eq - tag != 1)
            return TRACE_MALFORMED;
        const char **slot = NULL;
        switch (tag[0]) {
        case 'v': slot = &v; break;
        case 'k': slot = &k; break;
        case 'q': slot = &q; break;
        case 't': slot = &t; break;
        case 'd': slot = &d; break;
        case 'm': slot = &m; break;
        default: return TRACE_MALFORMED;
        }
        if (*slot != NULL)
            return TRACE_MALFORMED; /* duplicate tag */
        *slot = eq + 1;
    }
    if (!v || !k || !q || !t || !d || !m || strcmp(v, "1") != 0 || !valid_token(k, strlen(k), TRACE_KEY_ID_MAX, NULL) ||
        !valid_token(q, strlen(q), TRACE_QID_MAX, "._-") || !valid_token(d, strlen(d), TRACE_DOMAIN_MAX, ".-") ||
        !valid_token(t, strlen(t), 12, NULL) || strspn(t, "0123456789") != strlen(t) || strlen(m) != MAC_CHARS)
        return TRACE_MALFORMED;
    memcpy(ref->key_id, k, strlen(k) + 1);
    memcpy(ref->qid, q, strlen(q) + 1);
    for (size_t i = 0; i <= strlen(d); i++)
        ref->domain[i] = (d[i] >= 'A' && d[i] <= 'Z') ? (char)(d[i] + 32) : d[i];
    ref->t = (time_t)strtoll(t, NULL, 10);

    const struct trace_key *key = NULL;
    for (size_t i = 0; i < nkeys && key == NULL; i++)
        if (strcmp(keys[i].id, k) == 0)
            key = &keys[i];
    if (key == NULL)
        return TRACE_UNKNOWN_KEY;
    int n = canonical(canon, sizeof canon, k, q, (long long)ref->t, ref->domain);
    if (n < 0 || hmac(key, canon, (size_t)n, mac) != 0 || CRYPTO_memcmp(mac, m, MAC_CHARS) != 0)
        return TRACE_BAD_MAC;
    if (max_age > 0 && (ref->t > now + 300 || now - ref->t > max_age))
        return TRACE_EXPIRED;
    return TRACE_OK;
}
