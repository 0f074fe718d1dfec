/*
 * test_verp.c - unit tests of VERP decoding (common/verp.h): the usual
 * shape, local parts holding the split delimiter, the prefix check,
 * other delimiters, and malformed addresses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "verp.h"

static bool dec(const char *addr, char d1, char d2, const char *prefix, char out[VERP_ADDR_MAX])
{
    return verp_decode(addr, strlen(addr), d1, d2, prefix, out);
}

static void usual_shape(void **state)
{
    char out[VERP_ADDR_MAX];
    assert_true(dec("bounces+user=example.com@bounce.example.net", '+', '=', NULL, out));
    assert_string_equal(out, "user@example.com");
    assert_true(dec("bounces+user=example.com@bounce.example.net", '+', '=', "bounces", out));
    assert_string_equal(out, "user@example.com");
    /* the domain is lowercased, the local part kept as written */
    assert_true(dec("bounces+John.Doe=Example.COM@bounce.example.net", '+', '=', "", out));
    assert_string_equal(out, "John.Doe@example.com");
}

/* The LAST '=' splits: a local part holding '=' survives. */
static void local_part_holding_the_split_delimiter(void **state)
{
    char out[VERP_ADDR_MAX];
    assert_true(dec("bounces+a=b=example.com@bounce.example.net", '+', '=', "bounces", out));
    assert_string_equal(out, "a=b@example.com");
    assert_true(dec("bounces+x==y=example.org@b.example.net", '+', '=', NULL, out));
    assert_string_equal(out, "x==y@example.org");
    /* the first '+' ends the prefix; later ones belong to the local part */
    assert_true(dec("bounces+tag+me=example.org@b.example.net", '+', '=', "bounces", out));
    assert_string_equal(out, "tag+me@example.org");
}

static void prefix_must_match(void **state)
{
    char out[VERP_ADDR_MAX];
    assert_false(dec("other+user=example.com@bounce.example.net", '+', '=', "bounces", out));
    assert_string_equal(out, "");
    assert_false(dec("bounce+user=example.com@bounce.example.net", '+', '=', "bounces", out));
    assert_false(dec("bouncesx+user=example.com@bounce.example.net", '+', '=', "bounces", out));
    /* case-insensitive prefix */
    assert_true(dec("BOUNCES+user=example.com@bounce.example.net", '+', '=', "bounces", out));
    assert_string_equal(out, "user@example.com");
}

static void other_delimiters(void **state)
{
    char out[VERP_ADDR_MAX];
    assert_true(dec("bounce-user=example.com@b.example.net", '-', '=', "bounce", out));
    assert_string_equal(out, "user@example.com");
    /* with '+' as prefix delimiter, a '-' address is not VERP */
    assert_false(dec("bounce-user=example.com@b.example.net", '+', '=', NULL, out));
}

static void malformed(void **state)
{
    char out[VERP_ADDR_MAX];
    assert_false(dec("", '+', '=', NULL, out));
    assert_false(dec("bounces@bounce.example.net", '+', '=', NULL, out));              /* no delimiter */
    assert_false(dec("bounces+user@bounce.example.net", '+', '=', NULL, out));         /* no '=' */
    assert_false(dec("+user=example.com@bounce.example.net", '+', '=', NULL, out));    /* empty prefix */
    assert_false(dec("bounces+=example.com@bounce.example.net", '+', '=', NULL, out)); /* empty local part */
    assert_false(dec("bounces+user=@bounce.example.net", '+', '=', NULL, out));        /* empty domain */
    assert_false(dec("bounces+user=example.com", '+', '=', NULL, out));                /* no '@' */
    assert_false(dec("bounces+us er=example.com@b.example.net", '+', '=', NULL, out)); /* space */
    assert_false(dec("bounces+user=exa mple.com@b.example.net", '+', '=', NULL, out));
    assert_string_equal(out, "");
    /* too long to be a local part */
    char big[400];
    memset(big, 'a', sizeof(big));
    memcpy(big, "bounces+", 8);
    memcpy(big + 300, "=example.com@b.example.net", 27);
    assert_false(verp_decode(big, strlen(big), '+', '=', NULL, out));
    /* bounded by n: the bytes past n are never read */
    static const char cut[] = "bounces+user=example.com@b.example.netXXXX";
    assert_true(verp_decode(cut, sizeof(cut) - 1 - 4, '+', '=', NULL, out));
    assert_string_equal(out, "user@example.com");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(usual_shape),       cmocka_unit_test(local_part_holding_the_split_delimiter),
        cmocka_unit_test(prefix_must_match), cmocka_unit_test(other_delimiters),
        cmocka_unit_test(malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
