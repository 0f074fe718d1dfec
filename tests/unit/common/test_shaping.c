/*
 * test_shaping.c - the shared vocabulary of shaping effects
 * (common/shaping.c): netblocks of IPv4 and IPv6 addresses as both
 * maillog-tap and policyd-warmup compute them, refusal of what is not an
 * address, and a hold that stops an advance and nothing else.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "shaping.h"

static void netblocks_are_the_24_and_the_64(void **state)
{
    char out[SHAPING_NETBLOCK_MAX];
    (void)state;
    assert_int_equal(shaping_netblock("192.0.2.10", 10, out, sizeof out), 0);
    assert_string_equal(out, "192.0.2.0/24");
    assert_int_equal(shaping_netblock("198.51.100.255", 14, out, sizeof out), 0);
    assert_string_equal(out, "198.51.100.0/24");
    assert_int_equal(shaping_netblock("2001:DB8:1:2:3:4:5:6", 20, out, sizeof out), 0);
    assert_string_equal(out, "2001:db8:1:2::/64");
    /* only the first n bytes count: a view into a longer line */
    assert_int_equal(shaping_netblock("192.0.2.77]:25", 10, out, sizeof out), 0);
    assert_string_equal(out, "192.0.2.0/24");
}

static void what_is_not_an_address_has_no_netblock(void **state)
{
    char out[SHAPING_NETBLOCK_MAX];
    (void)state;
    assert_int_equal(shaping_netblock("smtp-ip2", 8, out, sizeof out), -1);
    assert_string_equal(out, "");
    assert_int_equal(shaping_netblock("192.0.2", 7, out, sizeof out), -1);
    assert_int_equal(shaping_netblock("192.0.2.1\0x", 11, out, sizeof out), -1);
    assert_int_equal(shaping_netblock("", 0, out, sizeof out), -1);
    assert_int_equal(shaping_netblock(NULL, 3, out, sizeof out), -1);
    char tiny[8];
    assert_int_equal(shaping_netblock("192.0.2.10", 10, tiny, sizeof tiny), -1);
    assert_string_equal(tiny, "");
}

static void a_hold_stops_an_advance_only(void **state)
{
    (void)state;
    struct wm_evaluation ev = { WM_ADVANCE, 4, "healthy" };
    assert_int_equal(shaping_hold(&ev, 3, "gmail suspend until 1796292271"), 1);
    assert_int_equal(ev.verdict, WM_HOLD);
    assert_int_equal(ev.new_stage, 3);
    assert_non_null(strstr(ev.reason, "shaping hold: gmail"));
    enum wm_verdict others[] = { WM_HOLD, WM_STEP_BACK, WM_PAUSE, WM_KEEP };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        struct wm_evaluation o = { others[i], 2, "why" };
        assert_int_equal(shaping_hold(&o, 3, "x"), 0);
        assert_int_equal(o.verdict, others[i]);
        assert_int_equal(o.new_stage, 2);
        assert_string_equal(o.reason, "why");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(netblocks_are_the_24_and_the_64),
        cmocka_unit_test(what_is_not_an_address_has_no_netblock),
        cmocka_unit_test(a_hold_stops_an_advance_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
