/*
 * test_provider.c - recipient domain -> mailbox provider.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "provider.h"

static const char *lookup(const struct provider_map *m, const char *d)
{
    return provider_name(m, provider_lookup(m, d, strlen(d)));
}

static void builtin_map_knows_the_big_providers(void **state)
{
    char err[128];
    struct provider_map *m = provider_map_new(NULL, 0, err, sizeof err);
    assert_non_null(m);
    assert_string_equal(lookup(m, "gmail.com"), "gmail");
    assert_string_equal(lookup(m, "GoogleMail.COM"), "gmail");
    assert_string_equal(lookup(m, "hotmail.co.uk"), "microsoft");
    assert_string_equal(lookup(m, "yahoo.co.jp"), "yahoo");
    assert_string_equal(lookup(m, "mail.yahoo.co.jp"), "yahoo"); /* subdomain */
    assert_string_equal(lookup(m, "gmail.com."), "gmail");       /* trailing dot */
    assert_string_equal(lookup(m, "notgmail.com"), "other");     /* not a suffix match */
    assert_string_equal(lookup(m, "example.org"), "other");
    assert_string_equal(lookup(m, ""), "other");
    /* bytes from mail may hold a NUL: compared by length, never read past either string */
    assert_string_equal(provider_name(m, provider_lookup(m, "me.com\0zz", 9)), "other");
    assert_string_equal(provider_name(m, provider_lookup(m, "x.me.com", 8)), "apple");
    assert_string_equal(provider_name(m, provider_count(m) - 1), "other");
    assert_int_equal(provider_find(m, "microsoft"), 1);
    assert_int_equal(provider_find(m, "nope"), -1);
    provider_map_free(m);
}

static void configured_map_replaces_the_builtin(void **state)
{
    char err[128];
    char *d1[] = { "corp.example", "Partner.example" };
    struct provider_def defs[] = { { "b2b", { d1, 2 } } };
    struct provider_map *m = provider_map_new(defs, 1, err, sizeof err);
    assert_non_null(m);
    assert_int_equal(provider_count(m), 2);
    assert_string_equal(lookup(m, "partner.example"), "b2b");
    assert_string_equal(lookup(m, "gmail.com"), "other");
    provider_map_free(m);
}

static void bad_maps_are_refused_with_a_reason(void **state)
{
    char err[128];
    char *d1[] = { "a.example" }, *d2[] = { "A.example" };
    struct provider_def twice[] = { { "x", { d1, 1 } }, { "y", { d2, 1 } } };
    assert_null(provider_map_new(twice, 2, err, sizeof err));
    assert_non_null(strstr(err, "two providers"));
    struct provider_def reserved[] = { { "other", { d1, 1 } } };
    assert_null(provider_map_new(reserved, 1, err, sizeof err));
    struct provider_def badname[] = { { "Big Mail", { d1, 1 } } };
    assert_null(provider_map_new(badname, 1, err, sizeof err));
    struct provider_def dup[] = { { "x", { d1, 1 } }, { "x", { d2, 0 } } };
    assert_null(provider_map_new(dup, 2, err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_map_knows_the_big_providers),
        cmocka_unit_test(configured_map_replaces_the_builtin),
        cmocka_unit_test(bad_maps_are_refused_with_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
