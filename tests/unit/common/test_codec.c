/*
 * test_codec.c - unit tests of common/codec.c and codec_rfc2047.c: base64,
 * quoted-printable and encoded-word decoding, output bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "codec.h"

#define S(lit) lit, sizeof(lit) - 1

static void b64_is(const char *in, const char *want)
{
    struct buf b;

    buf_init(&b, 0);
    assert_int_equal(codec_base64_decode(in, strlen(in), &b, NULL), CODEC_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data ? b.data : "", want, b.len);
    buf_free(&b);
}

static void b64_invalid_at(const char *in, size_t at)
{
    struct buf b;
    size_t off = 999;

    buf_init(&b, 0);
    assert_int_equal(codec_base64_decode(in, strlen(in), &b, &off), CODEC_ERR_INVALID);
    assert_int_equal(off, at);
    buf_free(&b);
}

static void base64_decodes_rfc4648_test_vectors(void **state)
{
    b64_is("", "");
    b64_is("Zg==", "f");
    b64_is("Zm8=", "fo");
    b64_is("Zm9v", "foo");
    b64_is("Zm9vYg==", "foob");
    b64_is("Zm9vYmE=", "fooba");
    b64_is("Zm9vYmFy", "foobar");
}

static void base64_skips_whitespace_and_line_breaks(void **state)
{
    b64_is(" Zm9v\r\nYmFy\n\t", "foobar");
    b64_is("Zm\r\n9v Ym\nE=\r\n", "fooba");
}

static void base64_accepts_missing_final_padding(void **state)
{
    b64_is("Zg", "f");
    b64_is("Zm8", "fo");
}

static void base64_reports_invalid_bytes_with_their_offset(void **state)
{
    b64_invalid_at("Zm9v*mFy", 4);
    b64_invalid_at("Zm9vYg==Zm9v", 8); /* data after padding */
    b64_invalid_at("Z===", 1);         /* padding after one sextet */
    b64_invalid_at("Zm9vY", 5);        /* a lone final sextet */
    b64_invalid_at("Zm9v-_", 4);       /* base64url is not base64 */
}

static void base64_keeps_what_decoded_before_an_error(void **state)
{
    struct buf b;

    buf_init(&b, 0);
    assert_int_equal(codec_base64_decode(S("Zm9vYmFy!!!!"), &b, NULL), CODEC_ERR_INVALID);
    assert_string_equal(b.data, "foobar");
    buf_free(&b);
}

static void base64_output_bound_is_never_exceeded(void **state)
{
    unsigned char out[8];
    size_t n = 0;
    struct buf b;

    memset(out, 'X', sizeof(out));
    assert_int_equal(codec_base64_decode_mem(S("Zm9vYmFy"), out, 4, &n, NULL), CODEC_ERR_SPACE);
    assert_int_equal(n, 3);
    assert_int_equal(out[3], 'X'); /* the 4th byte was not written */
    assert_int_equal(codec_base64_decode_mem(S("Zm9vYmFy"), out, 6, &n, NULL), CODEC_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(out[6], 'X');
    buf_init(&b, 4);
    assert_int_equal(codec_base64_decode(S("Zm9vYmFy"), &b, NULL), CODEC_ERR_SPACE);
    assert_int_equal(b.len, 3);
    buf_free(&b);
}

static void base64_round_trips_all_byte_values(void **state)
{
    unsigned char all[256];
    struct buf enc, dec;

    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    for (size_t n = 0; n <= 256; n += 37) {
        buf_init(&enc, 0);
        buf_init(&dec, 0);
        assert_int_equal(codec_base64_encode(all, n, &enc), CODEC_OK);
        assert_int_equal(enc.len, (n + 2) / 3 * 4);
        assert_int_equal(codec_base64_decode(enc.data ? enc.data : "", enc.len, &dec, NULL), CODEC_OK);
        assert_int_equal(dec.len, n);
        if (n)
            assert_memory_equal(dec.data, all, n);
        buf_free(&enc);
        buf_free(&dec);
    }
    buf_init(&enc, 0);
    codec_base64_encode("foobar", 6, &enc);
    assert_string_equal(enc.data, "Zm9vYmFy");
    buf_free(&enc);
}

static void qp_is(const char *in, const char *want)
{
    struct buf b;

    buf_init(&b, 0);
    assert_int_equal(codec_qp_decode(in, strlen(in), &b), CODEC_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data ? b.data : "", want, b.len);
    buf_free(&b);
}

static void qp_decodes_escapes_in_either_case(void **state)
{
    qp_is("caf=C3=A9 =3d =3D", "caf\xc3\xa9 = =");
}

static void qp_soft_line_breaks_disappear_with_crlf_lf_and_padding(void **state)
{
    qp_is("long=\r\nline=\nend", "longlineend");
    qp_is("pad= \t\r\nded", "padded");
    qp_is("at end=", "at end");
}

static void qp_hard_line_breaks_are_kept_as_they_are(void **state)
{
    qp_is("a\r\nb\nc", "a\r\nb\nc");
}

static void qp_invalid_escapes_are_kept_literally(void **state)
{
    qp_is("100=% =ZZ =4", "100=% =ZZ =4");
    qp_is("=\x01x", "=\x01x");
}

static void qp_trailing_whitespace_is_removed_but_encoded_space_kept(void **state)
{
    qp_is("text   \r\nmore\t\nlast=20", "text\r\nmore\nlast ");
}

static void qp_output_bound_is_never_exceeded(void **state)
{
    unsigned char out[4];
    size_t n;

    memset(out, 'X', sizeof(out));
    assert_int_equal(codec_qp_decode_mem(S("abc=41=42"), out, 3, &n), CODEC_ERR_SPACE);
    assert_int_equal(n, 3);
    assert_int_equal(out[3], 'X');
    assert_int_equal(codec_qp_decode_mem(S("ab=41"), out, 3, &n), CODEC_OK);
    assert_memory_equal(out, "abA", 3);
    assert_true(codec_decoded_max(9) >= 9);
}

static void w2047_is(const char *in, const char *want)
{
    struct buf b;

    buf_init(&b, 0);
    assert_int_equal(codec_rfc2047_decode(in, strlen(in), &b), CODEC_OK);
    assert_string_equal(b.len ? b.data : "", want);
    buf_free(&b);
}

static void encoded_words_in_utf8_and_latin1_become_utf8(void **state)
{
    w2047_is("=?UTF-8?B?Y2Fmw6k=?=", "caf\xc3\xa9");
    w2047_is("=?iso-8859-1?q?caf=E9_cr=E8me?=", "caf\xc3\xa9 cr\xc3\xa8me");
    w2047_is("=?windows-1252?Q?=80uro?=", "\xe2\x82\xacuro");
    w2047_is("=?utf-8*en?Q?hi?=", "hi");
}

static void whitespace_between_adjacent_encoded_words_is_dropped(void **state)
{
    w2047_is("=?utf-8?Q?a?= =?utf-8?Q?b?=", "ab");
    w2047_is("=?utf-8?Q?a?=\r\n =?utf-8?Q?b?= c", "ab c");
    w2047_is("x =?utf-8?Q?a?= y", "x a y");
}

static void unknown_charsets_and_malformed_words_are_left_as_written(void **state)
{
    w2047_is("=?ISO-2022-JP?B?GyRCJEgbKEI=?=", "=?ISO-2022-JP?B?GyRCJEgbKEI=?=");
    w2047_is("=?utf-8?X?abc?=", "=?utf-8?X?abc?=");
    w2047_is("=?utf-8?Q?a b?=", "=?utf-8?Q?a b?=");
    w2047_is("=?utf-8?B?!!!?=", "=?utf-8?B?!!!?=");
    w2047_is("=?utf-8?Q?unterminated", "=?utf-8?Q?unterminated");
    w2047_is("plain\r\n folded", "plain folded");
}

static void encoded_word_output_respects_the_buffer_limit(void **state)
{
    struct buf b;

    buf_init(&b, 3);
    assert_int_equal(codec_rfc2047_decode(S("=?utf-8?Q?abcdef?="), &b), CODEC_ERR_SPACE);
    buf_free(&b);
    assert_string_equal(codec_status_str(CODEC_ERR_SPACE), "decoded data exceeds the output limit");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(base64_decodes_rfc4648_test_vectors),
        cmocka_unit_test(base64_skips_whitespace_and_line_breaks),
        cmocka_unit_test(base64_accepts_missing_final_padding),
        cmocka_unit_test(base64_reports_invalid_bytes_with_their_offset),
        cmocka_unit_test(base64_keeps_what_decoded_before_an_error),
        cmocka_unit_test(base64_output_bound_is_never_exceeded),
        cmocka_unit_test(base64_round_trips_all_byte_values),
        cmocka_unit_test(qp_decodes_escapes_in_either_case),
        cmocka_unit_test(qp_soft_line_breaks_disappear_with_crlf_lf_and_padding),
        cmocka_unit_test(qp_hard_line_breaks_are_kept_as_they_are),
        cmocka_unit_test(qp_invalid_escapes_are_kept_literally),
        cmocka_unit_test(qp_trailing_whitespace_is_removed_but_encoded_space_kept),
        cmocka_unit_test(qp_output_bound_is_never_exceeded),
        cmocka_unit_test(encoded_words_in_utf8_and_latin1_become_utf8),
        cmocka_unit_test(whitespace_between_adjacent_encoded_words_is_dropped),
        cmocka_unit_test(unknown_charsets_and_malformed_words_are_left_as_written),
        cmocka_unit_test(encoded_word_output_respects_the_buffer_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
