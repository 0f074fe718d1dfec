/*
 * test_trace.c - the attribution trace header (common/trace.c): format,
 * verify, forgery and tampering, key rotation, expiry, hostile values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "trace.h"

static struct trace_key key1, key2;

static int setup(void **state)
{
    (void)state;
    assert_int_equal(trace_key_set(&key1, "k1", "0123456789abcdef0123456789abcdef", 32), 0);
    assert_int_equal(trace_key_set(&key2, "k2", "another secret of enough length", 31), 0);
    return 0;
}

static void test_roundtrip(void **state)
{
    (void)state;
    char v[TRACE_VALUE_MAX];
    struct trace_ref ref;
    int n = trace_format(&key1, "4F2A1C3B", 1764324000, "News.Example.COM", v, sizeof v);
    assert_true(n > 0);
    assert_non_null(strstr(v, "d=news.example.com;"));
    assert_int_equal(trace_verify(&key1, 1, v, (size_t)n, 1764324100, 86400, &ref), TRACE_OK);
    assert_string_equal(ref.qid, "4F2A1C3B");
    assert_string_equal(ref.domain, "news.example.com");
    assert_int_equal(ref.t, 1764324000);
}

static void test_folding_is_tolerated(void **state)
{
    (void)state;
    char v[TRACE_VALUE_MAX], folded[2 * TRACE_VALUE_MAX];
    struct trace_ref ref;
    trace_format(&key1, "ABC", 1000, "example.com", v, sizeof v);
    const char *m = strstr(v, " m=");
    snprintf(folded, sizeof folded, "%.*s\r\n\t%s  ", (int)(m - v), v, m + 1);
    assert_int_equal(trace_verify(&key1, 1, folded, strlen(folded), 1000, 0, &ref), TRACE_OK);
}

static void test_tampering_and_forgery(void **state)
{
    (void)state;
    char v[TRACE_VALUE_MAX], t[TRACE_VALUE_MAX];
    struct trace_ref ref;
    trace_format(&key1, "ABC", 1000, "example.com", v, sizeof v);
    snprintf(t, sizeof t, "%s", v);
    memcpy(strstr(t, "q=ABC"), "q=ABD", 5);
    assert_int_equal(trace_verify(&key1, 1, t, strlen(t), 1000, 0, &ref), TRACE_BAD_MAC);
    snprintf(t, sizeof t, "%s", v);
    char *d = strstr(t, "d=example.com");
    d[2] = 'E'; /* case change of the domain is canonicalized, still valid */
    assert_int_equal(trace_verify(&key1, 1, t, strlen(t), 1000, 0, &ref), TRACE_OK);
    const char *forged = "v=1; k=k1; q=ABC; t=1000; d=example.com; m=AAAAAAAAAAAAAAAAAAAAAA";
    assert_int_equal(trace_verify(&key1, 1, forged, strlen(forged), 1000, 0, &ref), TRACE_BAD_MAC);
    /* Signed with another key than the one presented under k1. */
    trace_format(&key2, "ABC", 1000, "example.com", t, sizeof t);
    memcpy(strstr(t, "k=k2"), "k=k1", 4);
    assert_int_equal(trace_verify(&key1, 1, t, strlen(t), 1000, 0, &ref), TRACE_BAD_MAC);
}

static void test_rotation_and_unknown_key(void **state)
{
    (void)state;
    struct trace_key both[2] = { key2, key1 };
    char v[TRACE_VALUE_MAX];
    struct trace_ref ref;
    trace_format(&key1, "Q1", 5000, "example.com", v, sizeof v);
    assert_int_equal(trace_verify(both, 2, v, strlen(v), 5000, 0, &ref), TRACE_OK);
    assert_int_equal(trace_verify(&key2, 1, v, strlen(v), 5000, 0, &ref), TRACE_UNKNOWN_KEY);
}

static void test_expiry(void **state)
{
    (void)state;
    char v[TRACE_VALUE_MAX];
    struct trace_ref ref;
    trace_format(&key1, "Q1", 1000000, "example.com", v, sizeof v);
    assert_int_equal(trace_verify(&key1, 1, v, strlen(v), 1000000 + 100, 50, &ref), TRACE_EXPIRED);
    assert_int_equal(trace_verify(&key1, 1, v, strlen(v), 1000000 - 3600, 86400, &ref), TRACE_EXPIRED);
    assert_int_equal(trace_verify(&key1, 1, v, strlen(v), 1000000 + 100, 0, &ref), TRACE_OK);
}

static void test_malformed_values(void **state)
{
    (void)state;
    struct trace_ref ref;
    const char *bad[] = {
        "",
        "garbage",
        "v=2; k=k1; q=A; t=1; d=e.com; m=AAAAAAAAAAAAAAAAAAAAAA",
        "v=1; k=k1; q=A; q=B; t=1; d=e.com; m=AAAAAAAAAAAAAAAAAAAAAA",
        "v=1; k=k1; q=A\x01; t=1; d=e.com; m=AAAAAAAAAAAAAAAAAAAAAA",
        "v=1; k=k1; q=A; t=-1; d=e.com; m=AAAAAAAAAAAAAAAAAAAAAA",
        "v=1; k=k1; q=A; t=1; d=e.com; m=short",
        "v=1; k=k1; q=A; t=1; d=e.com; x=1; m=AAAAAAAAAAAAAAAAAAAAAA",
        "v=1; k=k1; q=A; t=1; d=e.com",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(trace_verify(&key1, 1, bad[i], strlen(bad[i]), 1, 0, &ref), TRACE_MALFORMED);
    char v[TRACE_VALUE_MAX];
    assert_int_equal(trace_format(&key1, "bad qid", 1, "example.com", v, sizeof v), -1);
    assert_int_equal(trace_format(&key1, "Q", 1, "ex ample.com", v, sizeof v), -1);
    assert_int_equal(trace_format(&key1, "Q", 1, "example.com", v, 10), -1);
    struct trace_key k;
    assert_int_equal(trace_key_set(&k, "k1", "short", 5), -1);
    assert_int_equal(trace_key_set(&k, "bad id!", "0123456789abcdef", 16), -1);
    assert_string_equal(trace_result_name(TRACE_BAD_MAC), "bad-mac");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_folding_is_tolerated),
        cmocka_unit_test(test_tampering_and_forgery),
        cmocka_unit_test(test_rotation_and_unknown_key),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_malformed_values),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
