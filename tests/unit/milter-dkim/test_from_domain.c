/*
 * test_from_domain.c - counting From mailboxes and extracting the domain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "from_domain.h"

static int parse(const char *v, char *dom)
{
    return from_domain_parse(v, strlen(v), dom, FROM_DOMAIN_MAX + 1);
}

static void test_single_mailboxes(void **state)
{
    (void)state;
    char d[FROM_DOMAIN_MAX + 1];
    assert_int_equal(parse(" Joe <joe@Example.COM>", d), 1);
    assert_string_equal(d, "example.com");
    assert_int_equal(parse(" joe@example.org (Joe, the \"boss\" @ home)", d), 1);
    assert_string_equal(d, "example.org");
    assert_int_equal(parse(" \"Doe, John\" <john@sub.example.net.>", d), 1);
    assert_string_equal(d, "sub.example.net");
    assert_int_equal(parse(" \"weird@local\"@example.com", d), 1);
    assert_string_equal(d, "example.com");
    assert_int_equal(parse(" =?utf-8?q?J=C3=B6rg?= <j@xn--bcher-kva.example>", d), 1);
    assert_string_equal(d, "xn--bcher-kva.example");
}

static void test_several_or_none(void **state)
{
    (void)state;
    char d[FROM_DOMAIN_MAX + 1];
    assert_int_equal(parse(" a@example.com, b@example.com", d), 2);
    assert_string_equal(d, "");
    assert_int_equal(parse(" A <a@x.example>, \"B, b\" <b@y.example>", d), 2);
    assert_int_equal(parse(" undisclosed-recipients:;", d), 0);
    assert_int_equal(parse("", d), 0);
    assert_int_equal(parse(" Team: a@example.com, b@example.com;", d), 2);
    assert_int_equal(parse(" Team: a@example.com;", d), 1);
    assert_string_equal(d, "example.com");
}

static void test_syntax_errors_and_no_domain(void **state)
{
    (void)state;
    char d[FROM_DOMAIN_MAX + 1];
    assert_int_equal(parse(" <broken@", d), -1);
    assert_int_equal(parse(" \"unterminated <a@b.example>", d), -1);
    assert_int_equal(parse(" (comment <a@b.example>", d), -1);
    assert_int_equal(parse(" a@b.example>", d), -1);
    assert_int_equal(parse(" postmaster", d), 1);
    assert_string_equal(d, "");
    assert_int_equal(parse(" a@bad domain.example", d), 1);
    assert_string_equal(d, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_mailboxes),
        cmocka_unit_test(test_several_or_none),
        cmocka_unit_test(test_syntax_errors_and_no_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
