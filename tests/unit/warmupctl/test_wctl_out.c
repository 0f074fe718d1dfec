/*
 * test_wctl_out.c - output building blocks: JSON strings, aligned tables,
 * Prometheus lines, times, rates, suppression entries as JSON and CSV.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "wctl_fmt.h"
#include "wctl_table.h"
#include "wctl_prom.h"

static const char *json_of(struct buf *b, const char *s, size_t n)
{
    buf_reset(b);
    json_str(b, s, n);
    return b->data;
}

static void json_escapes_quotes_controls_and_bad_utf8(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 0);
    assert_string_equal(json_of(&b, "a\"b\\c", 5), "\"a\\\"b\\\\c\"");
    assert_string_equal(json_of(&b, "\r\n\t\x01\x7f", 5), "\"\\r\\n\\t\\u0001\\u007f\"");
    assert_string_equal(json_of(&b, "caf\xc3\xa9", 5), "\"caf\xc3\xa9\"");          /* valid UTF-8 kept */
    assert_string_equal(json_of(&b, "x\xff\xc3y", 4), "\"x\\ufffd\\ufffdy\"");      /* invalid replaced */
    assert_string_equal(json_of(&b, "\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
    assert_string_equal(json_of(&b, "\xe0\x80\xaf", 3), "\"\\ufffd\\ufffd\\ufffd\""); /* overlong */
    assert_string_equal(json_of(&b, "a\0b", 3), "\"a\\u0000b\"");
    buf_reset(&b);
    json_cstr(&b, NULL);
    assert_string_equal(b.data, "null");
    buf_free(&b);
}

static void table_aligns_columns_and_neutralises_controls(void **state)
{
    static const char *const heads[] = { "NAME", "N", "NOTE" };
    const char *r1[] = { "alpha", "5", "x\033[2Jy" };
    const char *r2[] = { "b", "12345", NULL };
    struct wtable t;
    struct buf b;
    (void)state;
    buf_init(&b, 0);
    wctl_table_init(&t, 3, heads, 0x2u);
    wctl_table_add(&t, r1);
    wctl_table_add(&t, r2);
    wctl_table_render(&t, &b);
    assert_string_equal(b.data,
                        "NAME       N  NOTE\n"
                        "alpha      5  x?[2Jy\n"
                        "b      12345  -\n");
    wctl_table_free(&t);
    buf_free(&b);
}

static void prom_names_and_escapes(void **state)
{
    struct buf b;
    char frag[32];
    struct wprom_label lab[2] = { { "pool", "a\"b\\c\nd" }, { "ip", "192.0.2.1" } };
    (void)state;
    assert_true(wctl_prom_name_ok("postflow_x:y_total"));
    assert_false(wctl_prom_name_ok("9lives"));
    assert_false(wctl_prom_name_ok("has-dash"));
    assert_false(wctl_prom_name_ok(""));
    assert_int_equal(wctl_prom_sanitize("Redis-Down.Open", frag, sizeof frag), 0);
    assert_string_equal(frag, "redis_down_open");
    assert_int_equal(wctl_prom_sanitize("", frag, sizeof frag), -1);
    buf_init(&b, 0);
    wctl_prom_family(&b, "m", "gauge", "help with \\ and\nnewline");
    wctl_prom_sample_ll(&b, "m", lab, 2, 42);
    wctl_prom_sample_d(&b, "m", NULL, 0, INFINITY);
    wctl_prom_sample_d(&b, "m", NULL, 0, 0.25);
    assert_string_equal(b.data,
                        "# HELP m help with \\\\ and\\nnewline\n"
                        "# TYPE m gauge\n"
                        "m{pool=\"a\\\"b\\\\c\\nd\",ip=\"192.0.2.1\"} 42\n"
                        "m +Inf\n"
                        "m 0.25\n");
    buf_free(&b);
}

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
    struct wsup_entry e = { "a@b.example", "hard", "bounce-proc", "5.1.1 \"userunknown\", x", "4F2A1C",
                            1700000000 };
    struct wsup_entry bare = { "@d.example", NULL, NULL, NULL, NULL, 0 };
    struct buf b;
    (void)state;
    buf_init(&b, 0);
    wctl_fmt_sup_json(&b, &e);
    assert_string_equal(b.data, "{\"address\":\"a@b.example\",\"reason\":\"hard\",\"source\":\"bounce-proc\","
                                "\"time\":1700000000,\"detail\":\"5.1.1 \\\"userunknown\\\", x\","
                                "\"queue_id\":\"4F2A1C\"}");
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
        cmocka_unit_test(json_escapes_quotes_controls_and_bad_utf8),
        cmocka_unit_test(table_aligns_columns_and_neutralises_controls),
        cmocka_unit_test(prom_names_and_escapes),
        cmocka_unit_test(formats_times_and_rates),
        cmocka_unit_test(renders_suppression_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
