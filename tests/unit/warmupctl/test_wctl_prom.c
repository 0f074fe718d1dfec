/*
 * test_wctl_prom.c - Prometheus text-format building blocks: metric names,
 * label fragments, HELP/TYPE lines, samples and label escaping.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "wctl_prom.h"

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
    assert_string_equal(b.data, "# HELP m help with \\\\ and\\nnewline\n"
                                "# TYPE m gauge\n"
                                "m{pool=\"a\\\"b\\\\c\\nd\",ip=\"192.0.2.1\"} 42\n"
                                "m +Inf\n"
                                "m 0.25\n");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prom_names_and_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
