/*
 * test_dkim_canon.c - RFC 6376 section 3.4 canonicalization, including the
 * worked example of section 3.4.6, the empty-body rules, lone CR/LF, and
 * independence from how the body is split into chunks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dkim_canon.h"

struct sbuf {
    char data[65536];
    size_t len;
};

static void sbuf_sink(void *arg, const void *data, size_t len)
{
    struct sbuf *s = arg;
    assert_true(s->len + len <= sizeof s->data);
    memcpy(s->data + s->len, data, len);
    s->len += len;
}

static void expect_header(enum dkim_canon mode, const char *raw, const char *want)
{
    struct sbuf out = { .len = 0 };
    assert_int_equal(dkim_canon_header(mode, raw, strlen(raw), 1, sbuf_sink, &out), 0);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
}

/* Feeds body in pieces of `step` bytes (0: all at once). */
static void expect_body_step(enum dkim_canon mode, const char *body, size_t len, const char *want, size_t wantlen,
                             size_t step)
{
    struct sbuf out = { .len = 0 };
    static struct dkim_body_canon bc;
    dkim_body_canon_init(&bc, mode, sbuf_sink, &out);
    if (step == 0)
        step = len ? len : 1;
    for (size_t off = 0; off < len; off += step)
        dkim_body_canon_update(&bc, body + off, len - off < step ? len - off : step);
    dkim_body_canon_final(&bc);
    assert_int_equal(out.len, wantlen);
    assert_memory_equal(out.data, want, wantlen);
    assert_int_equal(bc.bytes_in, len);
}

static void expect_body(enum dkim_canon mode, const char *body, const char *want)
{
    size_t len = strlen(body), wantlen = strlen(want);
    for (size_t step = 0; step <= 4; step++)
        expect_body_step(mode, body, len, want, wantlen, step);
}

/* RFC 6376 section 3.4.6, the example. */
static void test_rfc6376_example_relaxed(void **state)
{
    (void)state;
    expect_header(DKIM_CANON_RELAXED, "A: X", "a:X\r\n");
    expect_header(DKIM_CANON_RELAXED, "B : Y\t\r\n\tZ  ", "b:Y Z\r\n");
    expect_body(DKIM_CANON_RELAXED, " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n");
}

static void test_rfc6376_example_simple(void **state)
{
    (void)state;
    expect_header(DKIM_CANON_SIMPLE, "A: X", "A: X\r\n");
    expect_header(DKIM_CANON_SIMPLE, "B : Y\t\r\n\tZ  ", "B : Y\t\r\n\tZ  \r\n");
    expect_body(DKIM_CANON_SIMPLE, " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n");
}

static void test_empty_body(void **state)
{
    (void)state;
    expect_body(DKIM_CANON_SIMPLE, "", "\r\n"); /* section 3.4.3 */
    expect_body(DKIM_CANON_RELAXED, "", "");    /* section 3.4.4 (errata 1384) */
    expect_body(DKIM_CANON_SIMPLE, "\r\n\r\n\r\n", "\r\n");
    expect_body(DKIM_CANON_RELAXED, "\r\n \r\n\t\r\n", "");
}

static void test_body_without_final_crlf(void **state)
{
    (void)state;
    expect_body(DKIM_CANON_SIMPLE, "abc", "abc\r\n");
    expect_body(DKIM_CANON_RELAXED, "abc", "abc\r\n");
    expect_body(DKIM_CANON_SIMPLE, "a\r\nb", "a\r\nb\r\n");
    expect_body(DKIM_CANON_RELAXED, "a  b\t", "a b\r\n");
}

static void test_trailing_blank_lines(void **state)
{
    (void)state;
    expect_body(DKIM_CANON_SIMPLE, "x\r\n\r\ny\r\n\r\n\r\n\r\n", "x\r\n\r\ny\r\n");
    expect_body(DKIM_CANON_RELAXED, "x\r\n \r\ny \r\n  \r\n\r\n", "x\r\n\r\ny\r\n");
}

static void test_lone_cr_and_lf_are_data(void **state)
{
    (void)state;
    expect_body(DKIM_CANON_SIMPLE, "a\rb\nc\r\n", "a\rb\nc\r\n");
    expect_body(DKIM_CANON_RELAXED, "a \r b\n\r\n", "a \r b\n\r\n");
    expect_body(DKIM_CANON_SIMPLE, "a\r", "a\r\r\n");
    expect_body(DKIM_CANON_RELAXED, "a\r\r\n", "a\r\r\n");
    expect_body(DKIM_CANON_SIMPLE, "\n\n", "\n\n\r\n");
}

static void test_relaxed_whitespace_runs(void **state)
{
    (void)state;
    expect_body(DKIM_CANON_RELAXED, "  lead\t\ttabs  mid \t \r\n", " lead tabs mid\r\n");
}

static void test_header_relaxed_details(void **state)
{
    (void)state;
    expect_header(DKIM_CANON_RELAXED, "SUBJECT:   hello   world   ", "subject:hello world\r\n");
    expect_header(DKIM_CANON_RELAXED, "To:\r\n a@example.com,\r\n\tb@example.com",
                  "to:a@example.com, b@example.com\r\n");
    expect_header(DKIM_CANON_RELAXED, "X-Empty:", "x-empty:\r\n");
    expect_header(DKIM_CANON_RELAXED, "X-8bit: caf\xc3\xa9  \xff", "x-8bit:caf\xc3\xa9 \xff\r\n");
    struct sbuf out = { .len = 0 };
    assert_int_equal(dkim_canon_header(DKIM_CANON_RELAXED, "no colon", 8, 1, sbuf_sink, &out), -1);
}

static void test_header_without_crlf(void **state)
{
    (void)state;
    struct sbuf out = { .len = 0 };
    const char *raw = "DKIM-Signature: v=1;\r\n\tb=";
    assert_int_equal(dkim_canon_header(DKIM_CANON_RELAXED, raw, strlen(raw), 0, sbuf_sink, &out), 0);
    assert_int_equal(out.len, strlen("dkim-signature:v=1; b="));
    assert_memory_equal(out.data, "dkim-signature:v=1; b=", out.len);
}

/* A long body through random chunk sizes equals the one-shot result. */
static void test_chunking_is_invisible(void **state)
{
    (void)state;
    static char body[20000];
    static struct sbuf one, many;
    static struct dkim_body_canon bc;
    const char alphabet[] = "ab \t\r\n\r\n";
    unsigned seed = 12345;
    for (size_t i = 0; i < sizeof body; i++) {
        seed = seed * 1103515245u + 12345u;
        body[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
    }
    for (int mode = DKIM_CANON_SIMPLE; mode <= DKIM_CANON_RELAXED; mode++) {
        one.len = many.len = 0;
        dkim_body_canon_init(&bc, mode, sbuf_sink, &one);
        dkim_body_canon_update(&bc, body, sizeof body);
        dkim_body_canon_final(&bc);
        dkim_body_canon_init(&bc, mode, sbuf_sink, &many);
        for (size_t off = 0; off < sizeof body;) {
            seed = seed * 1103515245u + 12345u;
            size_t n = 1 + (seed >> 16) % 700;
            if (n > sizeof body - off)
                n = sizeof body - off;
            dkim_body_canon_update(&bc, body + off, n);
            off += n;
        }
        dkim_body_canon_final(&bc);
        assert_int_equal(one.len, many.len);
        assert_memory_equal(one.data, many.data, one.len);
        assert_true(one.len > 1000);
    }
}

/*
 * A reference model written from the RFC's words, line by line and not
 * streaming: the streaming canonicalizer must agree with it on any input.
 */
static size_t reference_body(enum dkim_canon mode, const char *body, size_t len, char *out)
{
    size_t o = 0, kept = 0; /* kept: output length up to the last non-empty line */
    size_t pos = 0;
    while (pos < len) {
        size_t e = pos;
        while (e < len && !(body[e] == '\r' && e + 1 < len && body[e + 1] == '\n'))
            e++;
        /* line = body[pos, e) */
        size_t start = o;
        if (mode == DKIM_CANON_SIMPLE) {
            memcpy(out + o, body + pos, e - pos);
            o += e - pos;
        } else {
            int ws = 0;
            for (size_t i = pos; i < e; i++) {
                if (body[i] == ' ' || body[i] == '\t') {
                    ws = 1;
                } else {
                    if (ws)
                        out[o++] = ' ';
                    ws = 0;
                    out[o++] = body[i];
                }
            }
        }
        int empty = o == start;
        out[o++] = '\r';
        out[o++] = '\n';
        if (!empty)
            kept = o;
        pos = e + 2;
    }
    if (kept == 0)
        return mode == DKIM_CANON_SIMPLE ? (memcpy(out, "\r\n", 2), 2) : 0;
    return kept;
}

static void test_agrees_with_reference_model(void **state)
{
    (void)state;
    static char body[3000], want[8000];
    static struct sbuf got;
    static struct dkim_body_canon bc;
    const char alphabet[] = "a \t\r\n\r\nb";
    unsigned seed = 777;
    for (int round = 0; round < 3000; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % sizeof body;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            body[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        for (int mode = DKIM_CANON_SIMPLE; mode <= DKIM_CANON_RELAXED; mode++) {
            size_t wantlen = reference_body(mode, body, len, want);
            got.len = 0;
            dkim_body_canon_init(&bc, mode, sbuf_sink, &got);
            size_t step = 1 + round % 97;
            for (size_t off = 0; off < len; off += step)
                dkim_body_canon_update(&bc, body + off, len - off < step ? len - off : step);
            dkim_body_canon_final(&bc);
            assert_int_equal(got.len, wantlen);
            assert_memory_equal(got.data, want, wantlen);
        }
    }
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(dkim_canon_from_name("Relaxed"), DKIM_CANON_RELAXED);
    assert_int_equal(dkim_canon_from_name("simple"), DKIM_CANON_SIMPLE);
    assert_int_equal(dkim_canon_from_name("nofws"), -1);
    assert_string_equal(dkim_canon_name(DKIM_CANON_RELAXED), "relaxed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6376_example_relaxed),
        cmocka_unit_test(test_rfc6376_example_simple),
        cmocka_unit_test(test_empty_body),
        cmocka_unit_test(test_body_without_final_crlf),
        cmocka_unit_test(test_trailing_blank_lines),
        cmocka_unit_test(test_lone_cr_and_lf_are_data),
        cmocka_unit_test(test_relaxed_whitespace_runs),
        cmocka_unit_test(test_header_relaxed_details),
        cmocka_unit_test(test_header_without_crlf),
        cmocka_unit_test(test_chunking_is_invisible),
        cmocka_unit_test(test_agrees_with_reference_model),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
