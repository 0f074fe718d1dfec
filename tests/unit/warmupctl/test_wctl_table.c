/*
 * test_wctl_table.c - aligned text tables: column widths, right-aligned
 * numbers, NULL cells, control bytes neutralised.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "wctl_table.h"

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
    assert_string_equal(b.data, "NAME       N  NOTE\n"
                                "alpha      5  x?[2Jy\n"
                                "b      12345  -\n");
    wctl_table_free(&t);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_aligns_columns_and_neutralises_controls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
