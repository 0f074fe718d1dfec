/*
 * test_wctl_args.c - warmupctl's command line: options anywhere, "--",
 * value options in both spellings, errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "wctl.h"

#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])))

static void options_may_follow_the_command(void **state)
{
    char *argv[] = { "warmupctl", "suppress", "list", "--json", "--reason=hard", "--limit", "5", "-c", "/x.conf" };
    struct wctl_args a;
    char err[256];
    (void)state;
    assert_int_equal(wctl_args_parse(ARGC(argv), argv, &a, err, sizeof err), 0);
    assert_int_equal(a.npos, 2);
    assert_string_equal(a.pos[0], "suppress");
    assert_string_equal(a.pos[1], "list");
    assert_true(a.json);
    assert_string_equal(a.reason, "hard");
    assert_int_equal(a.limit, 5);
    assert_string_equal(a.config, "/x.conf");
    assert_int_equal(a.given, WOPT_JSON | WOPT_REASON | WOPT_LIMIT);
}

static void double_dash_ends_options(void **state)
{
    char *argv[] = { "warmupctl", "suppress", "add", "--", "-odd@example.com", "--json" };
    struct wctl_args a;
    char err[256];
    (void)state;
    assert_int_equal(wctl_args_parse(ARGC(argv), argv, &a, err, sizeof err), 0);
    assert_int_equal(a.npos, 4);
    assert_string_equal(a.pos[2], "-odd@example.com");
    assert_string_equal(a.pos[3], "--json");
    assert_false(a.json);
}

static void reports_bad_options(void **state)
{
    char *unknown[] = { "warmupctl", "status", "--frob" };
    char *missing[] = { "warmupctl", "ip", "pause", "192.0.2.1", "--reason" };
    char *badlimit[] = { "warmupctl", "suppress", "list", "--limit", "0" };
    struct wctl_args a;
    char err[256];
    (void)state;
    assert_int_equal(wctl_args_parse(ARGC(unknown), unknown, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "--frob"));
    assert_int_equal(wctl_args_parse(ARGC(missing), missing, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "--reason needs a value"));
    assert_int_equal(wctl_args_parse(ARGC(badlimit), badlimit, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "--limit"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(options_may_follow_the_command),
        cmocka_unit_test(double_dash_ends_options),
        cmocka_unit_test(reports_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
