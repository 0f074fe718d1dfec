/*
 * test_json.c - unit tests of common/json.c: JSON strings (quotes, controls,
 * invalid UTF-8 replaced by U+FFFD, NUL) and null.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "json.h"

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
    assert_string_equal(json_of(&b, "caf\xc3\xa9", 5), "\"caf\xc3\xa9\"");            /* valid UTF-8 kept */
    assert_string_equal(json_of(&b, "x\xff\xc3y", 4), "\"x\\ufffd\\ufffdy\"");        /* invalid replaced */
    assert_string_equal(json_of(&b, "\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
    assert_string_equal(json_of(&b, "\xe0\x80\xaf", 3), "\"\\ufffd\\ufffd\\ufffd\""); /* overlong */
    assert_string_equal(json_of(&b, "a\0b", 3), "\"a\\u0000b\"");
    buf_reset(&b);
    json_cstr(&b, NULL);
    assert_string_equal(b.data, "null");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_escapes_quotes_controls_and_bad_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
