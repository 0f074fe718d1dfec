/*
 * test_wctl_addr.c - warmupctl's address check: what reaches a Redis key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "wctl_addr.h"

static int norm(const char *in, char out[WCTL_ADDR_MAX + 1], const char **why)
{
    return wctl_addr_normalize(in, strlen(in), out, why);
}

static void lowercases_a_plain_address(void **state)
{
    char out[WCTL_ADDR_MAX + 1];
    const char *why = NULL;
    (void)state;
    assert_int_equal(norm("User.Name+tag@Example.COM", out, &why), 25);
    assert_string_equal(out, "user.name+tag@example.com");
}

static void accepts_a_whole_domain_entry(void **state)
{
    char out[WCTL_ADDR_MAX + 1];
    const char *why = NULL;
    (void)state;
    assert_true(norm("@Spam.Example", out, &why) > 0);
    assert_string_equal(out, "@spam.example");
}

static void strips_angle_brackets_and_edge_blanks(void **state)
{
    char out[WCTL_ADDR_MAX + 1];
    const char *why = NULL;
    (void)state;
    assert_true(norm("  <a@b.example>\t", out, &why) > 0);
    assert_string_equal(out, "a@b.example");
}

static void refuses_cr_lf_space_nul_and_del(void **state)
{
    char out[WCTL_ADDR_MAX + 1];
    const char *why = NULL;
    static const char nul[] = "a\0b@example.com";
    (void)state;
    assert_int_equal(norm("a\r\n@example.com", out, &why), -1);
    assert_non_null(why);
    assert_string_equal(out, "");
    assert_int_equal(norm("a b@example.com", out, &why), -1);
    assert_int_equal(norm("ab@exa\x7fmple.com", out, &why), -1);
    assert_int_equal(norm("ab@example.com\nDEL pf:x", out, &why), -1);
    assert_int_equal(wctl_addr_normalize(nul, sizeof nul - 1, out, &why), -1);
}

static void refuses_malformed_shapes(void **state)
{
    char out[WCTL_ADDR_MAX + 1];
    const char *why = NULL;
    (void)state;
    assert_int_equal(norm("", out, &why), -1);
    assert_int_equal(norm("<>", out, &why), -1);
    assert_int_equal(norm("no-at-sign", out, &why), -1);
    assert_int_equal(norm("a@", out, &why), -1);
    assert_int_equal(norm("a@b@c.example", out, &why), -1);
    assert_int_equal(norm("a@.example", out, &why), -1);
    assert_int_equal(norm("a@example.", out, &why), -1);
    assert_int_equal(norm("a@ex..ample", out, &why), -1);
}

static void enforces_length_limits(void **state)
{
    char out[WCTL_ADDR_MAX + 1];
    char in[600];
    const char *why = NULL;
    (void)state;
    /* local part: 64 ok, 65 refused */
    memset(in, 'a', 64);
    strcpy(in + 64, "@example.com");
    assert_true(norm(in, out, &why) > 0);
    memset(in, 'a', 65);
    strcpy(in + 65, "@example.com");
    assert_int_equal(norm(in, out, &why), -1);
    /* whole address over 320 bytes */
    memset(in, 'a', 10);
    in[10] = '@';
    for (int i = 11; i < 340; i++)
        in[i] = (i % 50 == 0) ? '.' : 'b';
    in[340] = '\0';
    assert_int_equal(norm(in, out, &why), -1);
    assert_non_null(strstr(why, "320"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lowercases_a_plain_address),
        cmocka_unit_test(accepts_a_whole_domain_entry),
        cmocka_unit_test(strips_angle_brackets_and_edge_blanks),
        cmocka_unit_test(refuses_cr_lf_space_nul_and_del),
        cmocka_unit_test(refuses_malformed_shapes),
        cmocka_unit_test(enforces_length_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
