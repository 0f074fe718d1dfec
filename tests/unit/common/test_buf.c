/* test_buf.c - unit tests of common/buf.c: limits are enforced, never truncated. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"

static void append_grows_and_keeps_nul_termination(void **state)
{
    struct buf b;
    int i;

    buf_init(&b, 0);
    for (i = 0; i < 1000; i++)
        assert_int_equal(buf_append(&b, "abc", 3), BUF_OK);
    assert_int_equal(b.len, 3000);
    assert_int_equal(b.data[3000], '\0');
    assert_memory_equal(b.data + 2997, "abc", 3);
    buf_free(&b);
}

static void append_beyond_limit_fails_and_leaves_buffer_unchanged(void **state)
{
    struct buf b;

    buf_init(&b, 5);
    assert_int_equal(buf_append_str(&b, "1234"), BUF_OK);
    assert_int_equal(buf_append_str(&b, "56"), BUF_ERR_LIMIT);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "1234");
    assert_int_equal(buf_append_char(&b, '5'), BUF_OK);
    assert_int_equal(buf_append_char(&b, '6'), BUF_ERR_LIMIT);
    assert_int_equal(buf_printf(&b, "%d", 7), BUF_ERR_LIMIT);
    assert_string_equal(b.data, "12345");
    buf_free(&b);
}

static void printf_appends_formatted_text(void **state)
{
    struct buf b;

    buf_init(&b, 100);
    assert_int_equal(buf_printf(&b, "%s=%d", "count", 42), BUF_OK);
    assert_int_equal(buf_printf(&b, ";%05.1f", 3.14159), BUF_OK);
    assert_string_equal(b.data, "count=42;003.1");
    buf_free(&b);
}

static void consume_and_detach_transfer_data(void **state)
{
    struct buf b;
    size_t len;
    char *p;

    buf_init(&b, 0);
    buf_append_str(&b, "header\nbody");
    buf_consume(&b, 7);
    assert_string_equal(b.data, "body");
    buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    buf_append(&b, "x\0y", 3);
    p = buf_detach(&b, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(p, "x\0y", 3);
    assert_null(b.data);
    free(p);
    p = buf_detach(&b, &len); /* empty buffer detaches as "" */
    assert_int_equal(len, 0);
    assert_string_equal(p, "");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(append_grows_and_keeps_nul_termination),
        cmocka_unit_test(append_beyond_limit_fails_and_leaves_buffer_unchanged),
        cmocka_unit_test(printf_appends_formatted_text),
        cmocka_unit_test(consume_and_detach_transfer_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
