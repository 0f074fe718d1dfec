/*
 * test_text_safe.c - unit tests of common/text_safe.c: the one printable
 * rendering of untrusted bytes (every byte value, backslash, NUL, the cap
 * and its "..." marker at escape boundaries, round trip).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "text_safe.h"

/* Reads a rendering back (the test's own decoder); returns the byte count or -1 if malformed. */
static long decode(const char *s, size_t n, char *out, size_t outsize)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (o == outsize)
            return -1;
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            return -1; /* the output itself must be printable ASCII */
        if (s[i] != '\\') {
            out[o++] = s[i];
            continue;
        }
        if (i + 1 < n && s[i + 1] == '\\') {
            out[o++] = '\\';
            i++;
        } else if (i + 3 < n && s[i + 1] == 'x' && sscanf(s + i + 2, "%2x", &v) == 1) {
            out[o++] = (char)v;
            i += 3;
        } else {
            return -1;
        }
    }
    return (long)o;
}

static void every_byte_value_has_one_rendering(void **state)
{
    char out[8], want[8];

    for (int c = 0; c < 256; c++) {
        char in = (char)c;
        text_safe(out, sizeof out, &in, 1);
        if (c == '\\')
            snprintf(want, sizeof want, "\\\\");
        else if (c >= 0x20 && c <= 0x7e)
            snprintf(want, sizeof want, "%c", c);
        else
            snprintf(want, sizeof want, "\\x%02x", c);
        assert_string_equal(out, want);
    }
}

static void controls_utf8_and_nul_are_escaped_not_dropped(void **state)
{
    char out[64];
    const char in[] = "a\r\nb\\c\0d\xc3\xa9\x9b[2J";

    text_safe(out, sizeof out, in, sizeof in - 1);
    assert_string_equal(out, "a\\x0d\\x0ab\\\\c\\x00d\\xc3\\xa9\\x9b[2J");
}

static void a_rendering_that_fits_exactly_is_not_cut(void **state)
{
    char out[8];

    text_safe(out, sizeof out, "abc\x01", 4); /* 3 + 4 bytes + NUL = 8 */
    assert_string_equal(out, "abc\\x01");
    text_safe(out, sizeof out, "abcdefg", 7);
    assert_string_equal(out, "abcdefg");
    text_safe(out, sizeof out, "abcdefgh", 8); /* one byte more: cut, with the marker */
    assert_string_equal(out, "abcd...");
}

static void the_marker_never_splits_an_escape(void **state)
{
    char out[8];

    text_safe(out, sizeof out, "\x01\x02\x03", 3);
    assert_string_equal(out, "\\x01...");
    text_safe(out, sizeof out, "a\\\\\\\\", 5);
    assert_string_equal(out, "a\\\\...");
}

static void tiny_buffers_get_what_fits_and_zero_is_left_alone(void **state)
{
    char out[4] = "zzz";

    text_safe(out, 0, "abc", 3);
    assert_string_equal(out, "zzz");
    text_safe(out, 1, "abc", 3);
    assert_string_equal(out, "");
    text_safe(out, 3, "abc", 3);
    assert_string_equal(out, "ab");
    text_safe(out, 3, "\x01", 1);
    assert_string_equal(out, "");
    text_safe(out, 4, "abcd", 4);
    assert_string_equal(out, "...");
}

/* For every buffer size: NUL-terminated within it, printable, and either the whole
 * rendering or a prefix of it at an escape boundary followed by "...". */
static void every_cap_gives_a_prefix_of_the_full_rendering(void **state)
{
    const char in[] = "Bounce \\ for <\xe2\x80\x8b"
                      "bob@example.com>\r\n\tX-Forged: yes\x7f";
    char full[256], out[256], back[256];
    size_t fl;

    text_safe(full, sizeof full, in, sizeof in - 1);
    fl = strlen(full);
    assert_int_equal(decode(full, fl, back, sizeof back), (long)(sizeof in - 1));
    assert_memory_equal(back, in, sizeof in - 1);

    for (size_t cap = 1; cap <= fl + 2; cap++) {
        memset(out, 'Z', sizeof out);
        text_safe(out, cap, in, sizeof in - 1);
        size_t n = strnlen(out, cap);
        assert_true(n < cap);
        if (cap > fl) {
            assert_string_equal(out, full);
            continue;
        }
        size_t keep = n;
        if (cap >= 4) {
            assert_true(n >= 3);
            assert_string_equal(out + n - 3, "...");
            keep = n - 3;
        }
        assert_memory_equal(out, full, keep);
        /* the kept part decodes to a prefix of the input: no escape was cut */
        long got = decode(out, keep, back, sizeof back);
        assert_true(got >= 0);
        assert_memory_equal(back, in, (size_t)got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_byte_value_has_one_rendering),
        cmocka_unit_test(controls_utf8_and_nul_are_escaped_not_dropped),
        cmocka_unit_test(a_rendering_that_fits_exactly_is_not_cut),
        cmocka_unit_test(the_marker_never_splits_an_escape),
        cmocka_unit_test(tiny_buffers_get_what_fits_and_zero_is_left_alone),
        cmocka_unit_test(every_cap_gives_a_prefix_of_the_full_rendering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
