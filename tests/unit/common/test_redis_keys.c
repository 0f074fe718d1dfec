/*
 * test_redis_keys.c - every key builder: layout, hash tags, lowercasing,
 * and refusal of values that must not enter a key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "redis_keys.h"

static struct rkeys k;

static int setup(void **state)
{
    return rkeys_init(&k, NULL);
}

static void keys_follow_the_documented_layout(void **state)
{
    char out[RKEY_MAX];
    assert_int_equal(rkey_suppression(&k, out, "User@Example.COM", 16), 25);
    assert_string_equal(out, "pf:sup:{user@example.com}");
    rkey_suppression(&k, out, "@example.com", 12);
    assert_string_equal(out, "pf:sup:{@example.com}");
    rkey_ratelimit(&k, out, "per-sender", "A@B.example", 11);
    assert_string_equal(out, "pf:rl:{per-sender:a@b.example}");
    rkey_ip_state(&k, out, "news", "192.0.2.10");
    assert_string_equal(out, "pf:ip:{news}:192.0.2.10");
    rkey_ip_day(&k, out, "news", "2001:DB8::1", 20261128);
    assert_string_equal(out, "pf:day:{news}:2001:db8::1:20261128");
    rkey_health(&k, out, "news", "192.0.2.10", "gmail", 498851);
    assert_string_equal(out, "pf:hl:{news}:192.0.2.10:gmail:498851");
    rkey_pool(&k, out, "news");
    assert_string_equal(out, "pf:pool:{news}");
    rkey_pools(&k, out);
    assert_string_equal(out, "pf:pools");
    rkey_attribution(&k, out, "4F2A1C3B", 8);
    assert_string_equal(out, "pf:q:{4F2A1C3B}");
    rkey_events(&k, out);
    assert_string_equal(out, "pf:events");
    rkey_metrics(&k, out, "mx1");
    assert_string_equal(out, "pf:metrics:mx1");
    rkey_suppression_pattern(&k, out);
    assert_string_equal(out, "pf:sup:{*");
    rkey_domain_health_pattern(&k, out);
    assert_string_equal(out, "pf:dh:{*");
    rkey_metrics_pattern(&k, out);
    assert_string_equal(out, "pf:metrics:*");
}

static void one_pool_shares_one_hash_tag(void **state)
{
    char a[RKEY_MAX], b[RKEY_MAX], c[RKEY_MAX];
    rkey_ip_state(&k, a, "news", "192.0.2.10");
    rkey_ip_day(&k, b, "news", "192.0.2.11", 20261128);
    rkey_health(&k, c, "news", "192.0.2.12", "yahoo", 1);
    assert_non_null(strstr(a, "{news}"));
    assert_non_null(strstr(b, "{news}"));
    assert_non_null(strstr(c, "{news}"));
}

static void hostile_values_are_refused(void **state)
{
    char out[RKEY_MAX];
    assert_int_equal(rkey_suppression(&k, out, "a b@example.com", 15), -1);
    assert_string_equal(out, "");
    assert_int_equal(rkey_suppression(&k, out, "a\r\nDEL x", 8), -1);
    assert_int_equal(rkey_suppression(&k, out, "a\0b", 3), -1);
    assert_int_equal(rkey_suppression(&k, out, "", 0), -1);
    assert_int_equal(rkey_attribution(&k, out, "Q\x7f", 2), -1);
    char big[RKEY_VALUE_MAX + 2];
    memset(big, 'a', sizeof big);
    assert_int_equal(rkey_suppression(&k, out, big, RKEY_VALUE_MAX + 1), -1);
    assert_true(rkey_suppression(&k, out, big, RKEY_VALUE_MAX) > 0);
    assert_int_equal(rkey_ip_state(&k, out, NULL, "1.2.3.4"), -1);
}

static void shaping_keys_carry_pool_subject_provider_action(void **state)
{
    char out[RKEY_MAX];
    (void)state;
    rkey_shaping(&k, out, "news", "192.0.2.10", "Gmail", "suspend");
    assert_string_equal(out, "pf:fx:{news}:192.0.2.10:gmail:suspend");
    rkey_shaping(&k, out, "news", "192.0.2.0/24", "all", "slow");
    assert_string_equal(out, "pf:fx:{news}:192.0.2.0/24:all:slow");
    rkey_shaping_domain(&k, out, "News.Example.ORG", "dkim", "gmail", "suspend");
    assert_string_equal(out, "pf:fxd:{news.example.org}:dkim:gmail:suspend");
    rkey_shaping_pattern(&k, out, 0);
    assert_string_equal(out, "pf:fx:{*}:*");
    rkey_shaping_pattern(&k, out, 1);
    assert_string_equal(out, "pf:fxd:{*}:*");
    rkey_shaping_index(&k, out, "news");
    assert_string_equal(out, "pf:fx:{news}");
    rkey_shaping_domain_index(&k, out, "News.Example.ORG");
    assert_string_equal(out, "pf:fxd:{news.example.org}");
    assert_int_equal(rkey_shaping(&k, out, "news", "192.0.2.10", "gm ail", "suspend"), -1);
    assert_int_equal(rkey_shaping(&k, out, "news", "", "gmail", "suspend"), -1);
    assert_int_equal(rkey_shaping(&k, out, "news", "192.0.2.10", "gmail", NULL), -1);
    assert_int_equal(rkey_shaping_domain(&k, out, "a\rb", "dkim", "gmail", "hold"), -1);
}

static void prefix_is_configurable_and_checked(void **state)
{
    struct rkeys p;
    char out[RKEY_MAX];
    assert_int_equal(rkeys_init(&p, "mta2:"), 0);
    rkey_events(&p, out);
    assert_string_equal(out, "mta2:events");
    assert_int_equal(rkeys_init(&p, "a{b"), -1);
    assert_int_equal(rkeys_init(&p, "a b"), -1);
    assert_int_equal(rkeys_init(&p, ""), 0);
    rkey_pools(&p, out);
    assert_string_equal(out, "pools");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_follow_the_documented_layout),
        cmocka_unit_test(one_pool_shares_one_hash_tag),
        cmocka_unit_test(hostile_values_are_refused),
        cmocka_unit_test(shaping_keys_carry_pool_subject_provider_action),
        cmocka_unit_test(prefix_is_configurable_and_checked),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
