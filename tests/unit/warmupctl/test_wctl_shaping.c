/*
 * test_wctl_shaping.c - effect names (POOL/SUBJECT/PROVIDER/ACTION,
 * @DOMAIN/KIND/PROVIDER/ACTION) and the hourly limit of a slow-down now,
 * step by step through its ramp back up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "wctl_shaping.h"

static void names_split_at_the_first_and_the_last_two_slashes(void **state)
{
    struct wfx_name n;
    (void)state;
    assert_int_equal(wctl_shaping_name_parse("main/192.0.2.10/gmail/suspend", &n), 0);
    assert_false(n.domain);
    assert_string_equal(n.scope, "main");
    assert_string_equal(n.subject, "192.0.2.10");
    assert_string_equal(n.provider, "gmail");
    assert_string_equal(n.action, "suspend");
    assert_int_equal(wctl_shaping_name_parse("Main/2001:DB8::/64/Yahoo/SLOW", &n), 0);
    assert_string_equal(n.scope, "Main"); /* a pool keeps its case */
    assert_string_equal(n.subject, "2001:db8::/64");
    assert_string_equal(n.provider, "yahoo");
    assert_string_equal(n.action, "slow");
    assert_int_equal(wctl_shaping_name_parse("@Example.COM/dkim/all/hold", &n), 0);
    assert_true(n.domain);
    assert_string_equal(n.scope, "example.com");
    assert_string_equal(n.subject, "dkim");
}

static void malformed_names_are_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "main",
        "main/gmail/slow",
        "main//gmail/slow",
        "/192.0.2.10/gmail/slow",
        "main/192.0.2.10//slow",
        "main/192.0.2.10/gmail/",
        "main/192.0.2.10/gmail/pause",
        "@/dkim/all/slow",
        "main/192.0.2.0//gmail/slow",
        "@",
        "///",
    };
    struct wfx_name n;
    char longname[WFX_NAME_MAX + 10];
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(wctl_shaping_name_parse(bad[i], &n), -1);
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    memcpy(longname, "m/s/p/", 6);
    memcpy(longname + sizeof longname - 6, "/slow", 6);
    assert_int_equal(wctl_shaping_name_parse(longname, &n), -1);
}

static struct wfx slow(long long until, long long step, const char *factor, long long floor, long long clean,
                       long long base)
{
    struct wfx e;
    memset(&e, 0, sizeof e);
    e.action = "slow";
    e.factor = factor;
    e.until = until;
    e.step = step;
    e.floor = floor;
    e.clean = clean;
    e.base = base;
    e.ends = step > 1 ? until + (step - 1) * clean : until;
    return e;
}

static void the_limit_follows_the_ramp_back_up(void **state)
{
    /* base 800, factor 0.5, step 3, clean 600: 100/h until 1000, then 200, 400, then over at 2200 */
    struct wfx e = slow(1000, 3, "0.5000", 10, 600, 800);
    (void)state;
    assert_int_equal(wctl_shaping_limit(&e, 0), 100);
    assert_int_equal(wctl_shaping_limit(&e, 999), 100);
    assert_int_equal(wctl_shaping_limit(&e, 1000), 200);
    assert_int_equal(wctl_shaping_limit(&e, 1599), 200);
    assert_int_equal(wctl_shaping_limit(&e, 1600), 400);
    assert_int_equal(wctl_shaping_limit(&e, 2199), 400);
    assert_int_equal(wctl_shaping_limit(&e, 2200), -1);
    e = slow(1000, 1, "0.5000", 10, 600, 800); /* one step: over at until */
    assert_int_equal(wctl_shaping_limit(&e, 999), 400);
    assert_int_equal(wctl_shaping_limit(&e, 1000), -1);
}

static void the_floor_and_odd_values(void **state)
{
    struct wfx e = slow(1000, 5, "0.5", 30, 60, 100); /* 100 x 1/32 = 3 -> floor 30 */
    (void)state;
    assert_int_equal(wctl_shaping_limit(&e, 0), 30);
    e = slow(1000, 2, "0.3333", 0, 60, 0); /* nothing sent: floor 0 */
    assert_int_equal(wctl_shaping_limit(&e, 0), 0);
    e = slow(1000, 2, "x", 0, 60, 100); /* a factor that is not one: no limit shown */
    assert_int_equal(wctl_shaping_limit(&e, 0), -1);
    e = slow(1000, 2, "1.5", 0, 60, 100);
    assert_int_equal(wctl_shaping_limit(&e, 0), -1);
    e = slow(1000, 3, "0.5", 0, 0, 100); /* no clean period: over at until */
    assert_int_equal(wctl_shaping_limit(&e, 1000), -1);
    e.action = "suspend";
    assert_int_equal(wctl_shaping_limit(&e, 0), -1);
}

static void until_text_names_the_ramp(void **state)
{
    struct wfx e = slow(1796297160, 3, "0.5", 20, 1800, 400);
    char out[96];
    (void)state;
    wctl_shaping_until_text(&e, 1796297160 - 1, out, sizeof out);
    assert_string_equal(out, "2026-12-03 11:26:00");
    wctl_shaping_until_text(&e, 1796297160 + 2000, out, sizeof out);
    assert_string_equal(out, "2026-12-03 11:26:00, ramping, 200/h now");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_split_at_the_first_and_the_last_two_slashes),
        cmocka_unit_test(malformed_names_are_refused),
        cmocka_unit_test(the_limit_follows_the_ramp_back_up),
        cmocka_unit_test(the_floor_and_odd_values),
        cmocka_unit_test(until_text_names_the_ramp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
