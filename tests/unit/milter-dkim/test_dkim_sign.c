/*
 * test_dkim_sign.c - the signing core against published vectors.
 *
 * RFC 8463 Appendix A: re-signing the A.3 message with the A.1 keys must
 * reproduce the published bh= and both b= values byte for byte (Ed25519 and
 * RSA PKCS#1 v1.5 are deterministic).  Also: header selection with
 * oversigning (RFC 6376 section 5.4.2), the formatted signature field, and
 * key checks (type, size, file mode, DNS record).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "codec.h"
#include "dkim_key.h"
#include "dkim_sign.h"

/* RFC 8463 A.1: the Ed25519 secret key (RFC 8032 section 7.1 test 1) and public key. */
static const char ED_SEED_B64[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
static const char ED_PUB_B64[] = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

/* RFC 8463 A.1: the RSA secret key. */
static const char RSA_PEM[] = "-----BEGIN RSA PRIVATE KEY-----\n"
                              "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
                              "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
                              "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
                              "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
                              "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
                              "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
                              "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
                              "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
                              "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
                              "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
                              "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
                              "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
                              "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
                              "-----END RSA PRIVATE KEY-----\n";

/* RFC 8463 A.3: the message headers and body. */
static const char *const A3_HEADERS[] = {
    "From: Joe SixPack <joe@football.example.com>",
    "To: Suzie Q <suzie@shopping.example.net>",
    "Subject: Is dinner ready?",
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)",
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>",
};
static const char A3_BODY[] = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n\r\n";
static const char *const A3_NAMES[] = {
    "from", "to", "subject", "date", "message-id", "from", "subject", "date",
};
static const char A3_BH[] = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=";

/* The A.3 signature fields with b= emptied, as RFC 6376 section 3.7 hashes them. */
static const char A3_ED_FIELD[] = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
                                  " d=football.example.com; i=@football.example.com;\r\n"
                                  " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
                                  " subject : date : message-id : from : subject : date;\r\n"
                                  " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
                                  " b=";
static const char A3_ED_B[] =
    "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";
static const char A3_RSA_FIELD[] = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
                                   " d=football.example.com; i=@football.example.com;\r\n"
                                   " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
                                   " date : message-id : from : subject : date;\r\n"
                                   " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
                                   " b=";
static const char A3_RSA_B[] =
    "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQ"
    "TnGdaSGsgeefOsk2JzdA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=";

static void a3_headers(struct dkim_hdr *h)
{
    for (size_t i = 0; i < 5; i++) {
        h[i].raw = A3_HEADERS[i];
        h[i].len = strlen(A3_HEADERS[i]);
    }
}

static EVP_PKEY *ed_key_from_seed(void)
{
    unsigned char seed[33];
    assert_int_equal(EVP_DecodeBlock(seed, (const unsigned char *)ED_SEED_B64, 44), 33);
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    assert_non_null(k);
    return k;
}

static void test_rfc8463_body_hash(void **state)
{
    (void)state;
    struct dkim_bodyhash bh;
    struct dkim_err err;
    unsigned char digest[DKIM_HASH_LEN];
    struct buf b64;
    assert_int_equal(dkim_bodyhash_init(&bh, DKIM_CANON_RELAXED, &err), 0);
    dkim_bodyhash_update(&bh, A3_BODY, strlen(A3_BODY));
    assert_int_equal(dkim_bodyhash_final(&bh, digest, &err), 0);
    dkim_bodyhash_free(&bh);
    buf_init(&b64, 0);
    assert_int_equal(codec_base64_encode(digest, sizeof digest, &b64), CODEC_OK);
    assert_string_equal(b64.data, A3_BH);
    buf_free(&b64);
}

static void sign_and_compare(EVP_PKEY *pkey, enum dkim_alg alg, const char *field, const char *want_b)
{
    struct dkim_hdr hdrs[5];
    unsigned char sig[DKIM_SIG_MAX];
    size_t siglen = 0;
    struct dkim_err err = { "" };
    struct buf b64;

    a3_headers(hdrs);
    int rc = dkim_sign_compute(pkey, alg, DKIM_CANON_RELAXED, hdrs, 5, A3_NAMES, 8, field, strlen(field), sig, &siglen,
                               &err);
    if (rc != 0)
        fail_msg("sign: %s", err.text);
    buf_init(&b64, 0);
    assert_int_equal(codec_base64_encode(sig, siglen, &b64), CODEC_OK);
    assert_string_equal(b64.data, want_b);
    buf_free(&b64);
}

static void test_rfc8463_ed25519_signature(void **state)
{
    (void)state;
    struct dkim_key key;
    struct dkim_err err;
    assert_int_equal(dkim_key_adopt(ed_key_from_seed(), &key, NULL, 0, &err), 0);
    assert_int_equal(key.alg, DKIM_ALG_ED25519_SHA256);
    sign_and_compare(key.pkey, key.alg, A3_ED_FIELD, A3_ED_B);
    dkim_key_free(&key);
}

static void test_rfc8463_rsa_signature(void **state)
{
    (void)state;
    struct dkim_key key;
    struct dkim_err err;
    char warn[200];
    assert_int_equal(dkim_key_load_pem(RSA_PEM, strlen(RSA_PEM), &key, warn, sizeof warn, &err), 0);
    assert_int_equal(key.alg, DKIM_ALG_RSA_SHA256);
    assert_int_equal(key.bits, 1024);
    assert_non_null(strstr(warn, "weak")); /* 1024 bits: accepted with a warning */
    sign_and_compare(key.pkey, key.alg, A3_RSA_FIELD, A3_RSA_B);
    dkim_key_free(&key);
}

static void test_rfc8463_dns_record(void **state)
{
    (void)state;
    struct dkim_key key;
    struct dkim_err err;
    struct buf out;
    char want[128];
    assert_int_equal(dkim_key_adopt(ed_key_from_seed(), &key, NULL, 0, &err), 0);
    buf_init(&out, 4096);
    assert_int_equal(dkim_key_dns_record(&key, &out, &err), 0);
    snprintf(want, sizeof want, "v=DKIM1; k=ed25519; p=%s", ED_PUB_B64);
    assert_string_equal(out.data, want);
    buf_free(&out);
    dkim_key_free(&key);
}

static void test_select_oversigned_and_duplicates(void **state)
{
    (void)state;
    const char *raw[] = { "Received: a",       "From: x@example.com", "Subject: one",
                          "To: t@example.net", "Subject: two",        "FROM: y@example.com" };
    struct dkim_hdr h[6];
    for (size_t i = 0; i < 6; i++) {
        h[i].raw = raw[i];
        h[i].len = strlen(raw[i]);
    }
    const char *names[] = { "from", "subject", "from", "subject", "subject", "cc" };
    long idx[6];
    dkim_select_headers(h, 6, names, 6, idx);
    assert_int_equal(idx[0], 5); /* bottom-most From first */
    assert_int_equal(idx[1], 4);
    assert_int_equal(idx[2], 1);
    assert_int_equal(idx[3], 2);
    assert_int_equal(idx[4], -1); /* oversigned: none left */
    assert_int_equal(idx[5], -1); /* absent */
}

static void test_sig_format_folds_and_has_tags(void **state)
{
    (void)state;
    const char *names[] = { "From",
                            "To",
                            "Subject",
                            "Date",
                            "Message-ID",
                            "List-Unsubscribe",
                            "List-Unsubscribe-Post",
                            "From",
                            "Subject",
                            "To",
                            "List-Unsubscribe",
                            "List-Unsubscribe-Post" };
    struct dkim_sig_params p = {
        .alg = DKIM_ALG_ED25519_SHA256,
        .hcanon = DKIM_CANON_RELAXED,
        .bcanon = DKIM_CANON_SIMPLE,
        .domain = "example.com",
        .selector = "ed1",
        .timestamp = 1700000000,
        .expire = 1700086400,
        .names = names,
        .nnames = 12,
    };
    struct buf out;
    buf_init(&out, 8192);
    assert_int_equal(dkim_sig_format(&p, &out), 0);
    assert_non_null(strstr(out.data, "a=ed25519-sha256;"));
    assert_non_null(strstr(out.data, "c=relaxed/simple;"));
    assert_non_null(strstr(out.data, "t=1700000000;"));
    assert_non_null(strstr(out.data, "x=1700086400;"));
    assert_null(strstr(out.data, "l="));
    assert_int_equal(strncmp(out.data, "DKIM-Signature:", 15), 0);
    assert_int_equal(strcmp(out.data + out.len - 5, "\r\n\tb="), 0);
    unsigned char sig[256];
    memset(sig, 0xab, sizeof sig);
    assert_int_equal(dkim_sig_append_b(&out, sig, sizeof sig), 0);
    /* Every physical line fits in 78 columns, a TAB counting 8. */
    size_t col = 0;
    for (size_t i = 0; i < out.len; i++) {
        if (out.data[i] == '\n')
            col = 0;
        else if (out.data[i] == '\t')
            col += 8;
        else if (out.data[i] != '\r')
            col++;
        assert_true(col <= 78);
    }
    assert_null(strchr(strstr(out.data, "b=") + 2, ';'));
    buf_free(&out);
}

static void test_key_file_mode_and_type(void **state)
{
    (void)state;
    char dir[] = "/tmp/dkimkeyXXXXXX", path[64], warn[128];
    struct dkim_key key;
    struct dkim_err err;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/k.pem", dir);
    assert_int_equal(dkim_key_generate(DKIM_ALG_ED25519_SHA256, 0, &key, &err), 0);
    assert_int_equal(dkim_key_write_pem(&key, path, &err), 0);
    assert_int_equal(dkim_key_write_pem(&key, path, &err), -1); /* never overwrites */
    dkim_key_free(&key);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(dkim_key_load_file(path, 0, &key, warn, sizeof warn, &err), 0);
    assert_int_equal(key.alg, DKIM_ALG_ED25519_SHA256);
    dkim_key_free(&key);
    chmod(path, 0640);
    assert_int_equal(dkim_key_load_file(path, 0, &key, warn, sizeof warn, &err), -1);
    assert_non_null(strstr(err.text, "group or other"));
    assert_int_equal(dkim_key_load_file(path, 1, &key, warn, sizeof warn, &err), 0);
    dkim_key_free(&key);
    unlink(path);
    assert_int_equal(dkim_key_load_file(path, 0, &key, warn, sizeof warn, &err), -1);
    assert_non_null(strstr(err.text, "No such file"));
    rmdir(dir);
}

static void test_key_refuses_small_rsa_and_other_types(void **state)
{
    (void)state;
    struct dkim_key key;
    struct dkim_err err;
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)768);
    assert_non_null(small);
    assert_int_equal(dkim_key_adopt(small, &key, NULL, 0, &err), -1);
    assert_non_null(strstr(err.text, "768"));
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(ec);
    assert_int_equal(dkim_key_adopt(ec, &key, NULL, 0, &err), -1);
    assert_non_null(strstr(err.text, "unsupported"));
    assert_int_equal(dkim_key_load_pem("garbage", 7, &key, NULL, 0, &err), -1);
    assert_int_equal(dkim_key_generate(DKIM_ALG_RSA_SHA256, 512, &key, &err), -1);
}

static void test_alg_names(void **state)
{
    (void)state;
    assert_int_equal(dkim_alg_from_name("ed25519"), DKIM_ALG_ED25519_SHA256);
    assert_int_equal(dkim_alg_from_name("rsa-sha256"), DKIM_ALG_RSA_SHA256);
    assert_int_equal(dkim_alg_from_name("rsa-sha1"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8463_body_hash),
        cmocka_unit_test(test_rfc8463_ed25519_signature),
        cmocka_unit_test(test_rfc8463_rsa_signature),
        cmocka_unit_test(test_rfc8463_dns_record),
        cmocka_unit_test(test_select_oversigned_and_duplicates),
        cmocka_unit_test(test_sig_format_folds_and_has_tags),
        cmocka_unit_test(test_key_file_mode_and_type),
        cmocka_unit_test(test_key_refuses_small_rsa_and_other_types),
        cmocka_unit_test(test_alg_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
