/*
 * test_wctl_fmt.c - warmupctl's value formats: times, rates, suppression
 * entries as JSON and CSV.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "wctl_fmt.h"

static void formats_times_and_rates(void **state)
{
    char out[32];
    (void)state;
    wctl_fmt_time(1714558830, out);
    assert_string_equal(out, "2024-05-01 10:20:30");
    wctl_fmt_time(0, out);
    assert_string_equal(out, "-");
    wctl_fmt_percent(12, 1000, out);
    assert_string_equal(out, "1.20");
    wctl_fmt_percent(1, 3, out);
    assert_string_equal(out, "33.33");
    wctl_fmt_percent(5, 0, out);
    assert_string_equal(out, "-");
}

static void renders_suppression_entries(void **state)
{
    struct wsup_entry e = { "a@b.example", "hard", "bounce-proc", "5.1.1 \"userunknown\", x", "4F2A1C", 1700000000,
                            NULL,          NULL,   NULL };
    struct wsup_entry bare = { "@d.example", NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL };
    struct wsup_entry judged = { "c@b.example", "hard",  "bounce-proc", "5.1.1 userunknown", NULL, 1,
                                 "userunknown", "5.1.1", "status:5.1.1" };
    struct buf b;
    (void)state;
    buf_init(&b, 0);
    wctl_fmt_sup_json(&b, &e);
    assert_string_equal(b.data, "{\"address\":\"a@b.example\",\"reason\":\"hard\",\"source\":\"bounce-proc\","
                                "\"time\":1700000000,\"detail\":\"5.1.1 \\\"userunknown\\\", x\","
                                "\"queue_id\":\"4F2A1C\"}");
    buf_reset(&b);
    wctl_fmt_sup_json(&b, &judged);
    assert_string_equal(b.data, "{\"address\":\"c@b.example\",\"reason\":\"hard\",\"source\":\"bounce-proc\","
                                "\"time\":1,\"detail\":\"5.1.1 userunknown\",\"queue_id\":null,"
                                "\"category\":\"userunknown\",\"status\":\"5.1.1\",\"why\":\"status:5.1.1\"}");
    buf_reset(&b);
    wctl_fmt_sup_csv(&b, &e);
    wctl_fmt_sup_csv(&b, &bare);
    assert_string_equal(b.data, "a@b.example,hard,1700000000,\"5.1.1 \"\"userunknown\"\", x\"\n"
                                "@d.example,,,\n");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats_times_and_rates),
        cmocka_unit_test(renders_suppression_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
