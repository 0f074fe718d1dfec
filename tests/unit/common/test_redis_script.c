/*
 * test_redis_script.c - unit tests of common/redis_script.c: the SHA-1 a
 * script is called by (FIPS 180 test vectors, and a body Redis documents),
 * that it depends on every byte of the body, and which replies count as
 * NOSCRIPT (both Redis layers fall back on exactly these).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "redis_script.h"

static void sha_of(const char *body, char *out)
{
    struct redis_script s = { "t", body, "" };

    memset(s.sha, 'x', sizeof s.sha); /* init must write all 40 digits and the NUL */
    redis_script_init(&s);
    memcpy(out, s.sha, sizeof s.sha);
}

static void sha1_matches_known_vectors(void **state)
{
    char sha[41];

    (void)state;
    sha_of("", sha);
    assert_string_equal(sha, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    sha_of("abc", sha);
    assert_string_equal(sha, "a9993e364706816aba3e25717850c26c9cd0d89d");
    sha_of("return 1", sha);
    assert_string_equal(sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

static void sha1_is_lowercase_hex_and_changes_with_each_byte(void **state)
{
    char body[] = "return redis.call('GET', KEYS[1])";
    char base[41], other[41];

    (void)state;
    sha_of(body, base);
    assert_int_equal(strlen(base), 40);
    assert_int_equal(strspn(base, "0123456789abcdef"), 40);
    for (size_t i = 0; i < sizeof body - 1; i++) {
        char saved = body[i];

        body[i] = (char)(saved ^ 1);
        sha_of(body, other);
        assert_string_not_equal(base, other);
        body[i] = saved;
    }
    sha_of(body, other);
    assert_string_equal(base, other);
}

static redisReply reply_of(int type, const char *str)
{
    redisReply r;

    memset(&r, 0, sizeof r);
    r.type = type;
    r.str = (char *)str;
    r.len = str != NULL ? strlen(str) : 0;
    return r;
}

static void noscript_is_only_the_noscript_error(void **state)
{
    redisReply r;

    (void)state;
    r = reply_of(REDIS_REPLY_ERROR, "NOSCRIPT No matching script. Please use EVAL.");
    assert_true(redis_script_is_noscript(&r));
    r = reply_of(REDIS_REPLY_ERROR, "NOSCRIPT");
    assert_true(redis_script_is_noscript(&r));

    r = reply_of(REDIS_REPLY_ERROR, "ERR Error running script: attempt to compare nil");
    assert_false(redis_script_is_noscript(&r));
    r = reply_of(REDIS_REPLY_ERROR, "NOSCRIP"); /* cut: not the error */
    assert_false(redis_script_is_noscript(&r));
    r = reply_of(REDIS_REPLY_ERROR, "noscript no matching script");
    assert_false(redis_script_is_noscript(&r));   /* Redis spells it in capitals */
    r = reply_of(REDIS_REPLY_STATUS, "NOSCRIPT"); /* an answer, not an error */
    assert_false(redis_script_is_noscript(&r));
    r = reply_of(REDIS_REPLY_STRING, "NOSCRIPT");
    assert_false(redis_script_is_noscript(&r));
    r = reply_of(REDIS_REPLY_ERROR, NULL);
    assert_false(redis_script_is_noscript(&r));
    assert_false(redis_script_is_noscript(NULL)); /* Redis unavailable */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha1_matches_known_vectors),
        cmocka_unit_test(sha1_is_lowercase_hex_and_changes_with_each_byte),
        cmocka_unit_test(noscript_is_only_the_noscript_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
