/*
 * test_mail_header.c - unit tests of common/mail_header.c and mail_scan.c:
 * the incremental and whole-buffer RFC 5322 header parsers, limits, and
 * chunking independence.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "buf.h"
#include "mail_header.h"
#include "xalloc.h"

#define S(lit) lit, sizeof(lit) - 1

/* A linear run takes milliseconds (even under ASan); a quadratic one takes
 * minutes.  10 s tells them apart on a loaded machine. */
#define LINEAR_BOUND_SECONDS 10.0

static double seconds_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool view_is(struct mail_view v, const char *s)
{
    return v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0;
}

/*
 * Runs the incremental parser over msg pushing `chunk` bytes at a time
 * (0 = all at once) and writes a transcript of the events into out:
 * "F<name>|<value>|<rawlen>@<offset>\n" per field, then "END <body_offset>
 * <sep> <pending>" or "ERR <code> <offset> <line>".  Two transcripts are
 * equal iff the parser saw the same thing.
 */
static void transcript(const char *msg, size_t len, size_t chunk, const struct mail_limits *lim, struct buf *out)
{
    struct mail_header_parser *p = mhp_new(lim);
    struct mhp_result r;
    struct buf body;
    size_t off = 0;
    bool done = false;

    buf_init(&body, 0);
    buf_reset(out);
    if (chunk == 0)
        chunk = len ? len : 1;
    while (!done) {
        size_t n = len - off < chunk ? len - off : chunk;
        if (n > 0) {
            assert_int_equal(mhp_push(p, msg + off, n), MAIL_OK);
            off += n;
        } else {
            mhp_finish(p);
        }
        for (;;) {
            enum mhp_event ev = mhp_next(p, &r);
            if (ev == MHP_NEED_MORE) {
                assert_true(off < len || n > 0);
                break;
            }
            if (ev == MHP_FIELD) {
                buf_append_char(out, 'F');
                buf_append(out, r.field.name.ptr, r.field.name.len);
                buf_append_char(out, '|');
                buf_append(out, r.field.value.ptr, r.field.value.len);
                buf_printf(out, "|%zu@%zu\n", r.field.raw.len, r.field.offset);
                /* raw must be the exact input bytes at that offset */
                assert_memory_equal(r.field.raw.ptr, msg + r.field.offset, r.field.raw.len);
                continue;
            }
            if (ev == MHP_END) {
                /* pending body bytes + the rest of the input == the body */
                buf_append(&body, r.body_pending.ptr, r.body_pending.len);
                buf_append(&body, msg + off, len - off);
                assert_int_equal(body.len, len - r.body_offset);
                assert_memory_equal(body.data ? body.data : "", msg + r.body_offset, body.len);
                buf_printf(out, "END %zu %d %zu", r.body_offset, r.has_separator, r.nfields);
                assert_int_equal(mhp_push(p, "x", 1), MAIL_ERR_STATE);
            } else {
                buf_printf(out, "ERR %d %zu %zu", r.error.code, r.error.offset, r.error.line);
            }
            /* END and ERROR are sticky */
            assert_int_equal(mhp_next(p, &r), ev);
            done = true;
            break;
        }
    }
    buf_free(&body);
    mhp_free(p);
}

static void assert_chunking_invariant(const char *msg, size_t len, const struct mail_limits *lim)
{
    struct buf whole, part;
    static const size_t chunks[] = { 1, 2, 3, 7, 64, 1000 };

    buf_init(&whole, 0);
    buf_init(&part, 0);
    transcript(msg, len, 0, lim, &whole);
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        transcript(msg, len, chunks[i], lim, &part);
        if (whole.len != part.len || memcmp(whole.data, part.data, whole.len) != 0)
            fail_msg("chunk %zu differs:\n%s\n--- vs whole ---\n%s", chunks[i], part.data, whole.data);
    }
    buf_free(&whole);
    buf_free(&part);
}

static enum mail_error parse(const char *msg, size_t len, const struct mail_limits *lim, struct mail_headers *h,
                             struct mail_error_info *err)
{
    return mail_headers_parse(msg, len, lim, h, err);
}

/* ---- basic shapes ---------------------------------------------------------- */

static void crlf_fields_and_body_offset(void **state)
{
    const char msg[] = "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";
    struct mail_headers h;

    assert_int_equal(parse(S(msg), NULL, &h, NULL), MAIL_OK);
    assert_int_equal(h.nfields, 2);
    assert_true(view_is(h.fields[0].name, "From"));
    assert_true(view_is(h.fields[0].value, " a@example.com"));
    assert_true(view_is(h.fields[0].raw, "From: a@example.com\r\n"));
    assert_true(view_is(h.fields[1].name, "Subject"));
    assert_int_equal(h.fields[1].offset, 21);
    assert_true(h.has_separator);
    assert_string_equal(msg + h.body_offset, "body\r\n");
    mail_headers_free(&h);
}

static void bare_lf_and_mixed_line_endings_are_accepted(void **state)
{
    const char msg[] = "A: 1\nB: 2\r\nC: 3\n\r\nbody";
    struct mail_headers h;

    assert_int_equal(parse(S(msg), NULL, &h, NULL), MAIL_OK);
    assert_int_equal(h.nfields, 3);
    assert_true(view_is(h.fields[0].value, " 1"));
    assert_true(view_is(h.fields[1].raw, "B: 2\r\n"));
    assert_true(view_is(h.fields[1].value, " 2"));
    assert_string_equal(msg + h.body_offset, "body");
    mail_headers_free(&h);
    assert_chunking_invariant(S(msg), NULL);
}

static void folded_value_keeps_line_breaks_and_raw_is_exact(void **state)
{
    const char msg[] = "Subject: part one\r\n two\r\n\tthree\r\nX: y\r\n\r\n";
    struct mail_headers h;
    struct buf u;

    assert_int_equal(parse(S(msg), NULL, &h, NULL), MAIL_OK);
    assert_int_equal(h.nfields, 2);
    assert_true(view_is(h.fields[0].value, " part one\r\n two\r\n\tthree"));
    assert_true(view_is(h.fields[0].raw, "Subject: part one\r\n two\r\n\tthree\r\n"));
    buf_init(&u, 0);
    assert_int_equal(mail_field_unfold(h.fields[0].value, &u), 0);
    assert_string_equal(u.data, "part one two\tthree");
    buf_free(&u);
    mail_headers_free(&h);
    assert_chunking_invariant(S(msg), NULL);
}

static void whitespace_only_obs_fold_line_continues_the_field(void **state)
{
    const char msg[] = "Subject: a\r\n   \r\n b\r\n\r\n";
    struct mail_headers h;

    assert_int_equal(parse(S(msg), NULL, &h, NULL), MAIL_OK);
    assert_int_equal(h.nfields, 1);
    assert_true(view_is(h.fields[0].value, " a\r\n   \r\n b"));
    assert_int_equal(h.body_offset, sizeof(msg) - 1);
    mail_headers_free(&h);
}

static void eight_bit_bytes_in_values_pass_through(void **state)
{
    const char msg[] = "Subject: caf\xc3\xa9 \xff\xfe\r\n\r\n";
    struct mail_headers h;

    assert_int_equal(parse(S(msg), NULL, &h, NULL), MAIL_OK);
    assert_true(view_is(h.fields[0].value, " caf\xc3\xa9 \xff\xfe"));
    mail_headers_free(&h);
}

static void bare_cr_inside_value_is_an_ordinary_byte(void **state)
{
    const char msg[] = "X: a\rb\r\n\r\n";
    struct mail_headers h;

    assert_int_equal(parse(S(msg), NULL, &h, NULL), MAIL_OK);
    assert_true(view_is(h.fields[0].value, " a\rb"));
    mail_headers_free(&h);
    assert_chunking_invariant(S(msg), NULL);
}

static void whitespace_before_colon_is_excluded_from_the_name(void **state)
{
    const char msg[] = "Subject \t: x\n\n";
    struct mail_headers h;

    assert_int_equal(parse(S(msg), NULL, &h, NULL), MAIL_OK);
    assert_true(view_is(h.fields[0].name, "Subject"));
    assert_true(view_is(h.fields[0].value, " x"));
    mail_headers_free(&h);
}

static void empty_value_and_value_without_space(void **state)
{
    const char msg[] = "A:\r\nB:x\r\n\r\n";
    struct mail_headers h;

    assert_int_equal(parse(S(msg), NULL, &h, NULL), MAIL_OK);
    assert_int_equal(h.fields[0].value.len, 0);
    assert_true(view_is(h.fields[1].value, "x"));
    mail_headers_free(&h);
}

static void message_without_body_ends_at_end_of_input(void **state)
{
    const char msg[] = "From: a\r\nTo: b\r\n";
    struct mail_headers h;

    assert_int_equal(parse(S(msg), NULL, &h, NULL), MAIL_OK);
    assert_int_equal(h.nfields, 2);
    assert_false(h.has_separator);
    assert_int_equal(h.body_offset, sizeof(msg) - 1);
    mail_headers_free(&h);
    assert_chunking_invariant(S(msg), NULL);
}

static void message_ending_inside_a_field_gives_that_field(void **state)
{
    const char msg[] = "From: a\r\nSubject: cut\r\n  here";
    struct mail_headers h;

    assert_int_equal(parse(S(msg), NULL, &h, NULL), MAIL_OK);
    assert_int_equal(h.nfields, 2);
    assert_true(view_is(h.fields[1].value, " cut\r\n  here"));
    assert_true(view_is(h.fields[1].raw, "Subject: cut\r\n  here"));
    assert_int_equal(h.body_offset, sizeof(msg) - 1);
    mail_headers_free(&h);
    assert_chunking_invariant(S(msg), NULL);
}

static void header_section_starting_with_blank_line_has_no_fields(void **state)
{
    const char msg[] = "\r\nFrom: not a header\r\n";
    struct mail_headers h;

    assert_int_equal(parse(S(msg), NULL, &h, NULL), MAIL_OK);
    assert_int_equal(h.nfields, 0);
    assert_true(h.has_separator);
    assert_int_equal(h.body_offset, 2);
    mail_headers_free(&h);
    assert_chunking_invariant(S(msg), NULL);
}

static void empty_input_is_an_empty_header_section(void **state)
{
    struct mail_headers h;
    struct mail_header_parser *p = mhp_new(NULL);
    struct mhp_result r;

    mhp_finish(p); /* nothing pushed at all */
    assert_int_equal(mhp_next(p, &r), MHP_END);
    assert_int_equal(r.body_offset, 0);
    assert_int_equal(r.body_pending.len, 0);
    mhp_free(p);
    assert_int_equal(parse(NULL, 0, NULL, &h, NULL), MAIL_OK);
    mail_headers_free(&h);

    assert_int_equal(parse("", 0, NULL, &h, NULL), MAIL_OK);
    assert_int_equal(h.nfields, 0);
    assert_int_equal(h.body_offset, 0);
    mail_headers_free(&h);
}

/* ---- malformed input ------------------------------------------------------- */

static void expect_error(const char *msg, size_t len, enum mail_error code, size_t offset, size_t nfields_before)
{
    struct mail_headers h;
    struct mail_error_info err;

    assert_int_equal(parse(msg, len, NULL, &h, &err), code);
    assert_int_equal(err.code, code);
    assert_int_equal(err.offset, offset);
    assert_int_equal(h.nfields, nfields_before);
    mail_headers_free(&h);
    assert_chunking_invariant(msg, len, NULL);
}

static void line_without_colon_is_missing_colon(void **state)
{
    const char msg[] = "From: a\r\nthis is text\r\n\r\n";
    struct mail_headers h;

    expect_error(S(msg), MAIL_ERR_MISSING_COLON, 9, 1);
    /* the fields before are kept, and body_offset points at the bad line */
    assert_int_equal(parse(S(msg), NULL, &h, NULL), MAIL_ERR_MISSING_COLON);
    assert_int_equal(h.body_offset, 9);
    mail_headers_free(&h);
}

static void name_at_end_of_input_is_missing_colon(void **state)
{
    expect_error(S("From: a\nSubject"), MAIL_ERR_MISSING_COLON, 8, 1);
}

static void eight_bit_or_control_byte_in_name_is_invalid(void **state)
{
    expect_error(S("Sub\xc3\xa9ject: x\n\n"), MAIL_ERR_FIELD_NAME, 3, 0);
    expect_error(S("A: b\n\x01X: y\n\n"), MAIL_ERR_FIELD_NAME, 5, 1);
}

static void empty_field_name_is_invalid(void **state)
{
    expect_error(S(": value\n\n"), MAIL_ERR_FIELD_NAME, 0, 0);
}

static void nul_byte_is_rejected_in_name_and_value(void **state)
{
    expect_error(S("A: b\0c\n\n"), MAIL_ERR_NUL_BYTE, 4, 0);
    expect_error(S("A: b\n\0: c\n\n"), MAIL_ERR_NUL_BYTE, 5, 1);
}

static void leading_continuation_line_is_rejected(void **state)
{
    expect_error(S(" folded: x\n\n"), MAIL_ERR_CONTINUATION_FIRST, 0, 0);
}

static void bare_cr_at_line_start_is_an_invalid_name(void **state)
{
    expect_error(S("A: b\n\rX: y\n\n"), MAIL_ERR_FIELD_NAME, 5, 1);
}

static void mbox_from_line_is_rejected_unless_skipped(void **state)
{
    const char msg[] = "From sender@example.com Sat Nov 28 11:00:00 2026\nFrom: a\n\nbody";
    struct mail_headers h;
    size_t skip;

    expect_error(S(msg), MAIL_ERR_MISSING_COLON, 0, 0);
    skip = mail_skip_mbox_from(S(msg));
    assert_int_equal(skip, 49);
    assert_int_equal(parse(msg + skip, sizeof(msg) - 1 - skip, NULL, &h, NULL), MAIL_OK);
    assert_int_equal(h.nfields, 1);
    mail_headers_free(&h);
    assert_int_equal(mail_skip_mbox_from(S("From: a\n")), 0);
}

static void lenient_parse_skips_bad_lines_until_the_empty_line(void **state)
{
    const char msg[] = " stray continuation\nA: 1\nno colon here\nB: 2\n  folded\n\nbody";
    struct mail_headers h;
    size_t skipped = 0;

    assert_int_equal(mail_headers_parse_lenient(S(msg), NULL, &h, &skipped, NULL), MAIL_OK);
    assert_int_equal(skipped, 2);
    assert_int_equal(h.nfields, 2);
    assert_true(view_is(h.fields[1].value, " 2\n  folded"));
    assert_string_equal(msg + h.body_offset, "body");
    mail_headers_free(&h);
}

static void lenient_parse_still_enforces_limits(void **state)
{
    struct mail_limits lim = MAIL_LIMITS_INIT;
    struct mail_headers h;
    struct mail_error_info err;
    const char msg[] = "bad\nA: 1\nB: 2\nC: 3\n\n";

    lim.max_fields = 2;
    assert_int_equal(mail_headers_parse_lenient(S(msg), &lim, &h, NULL, &err), MAIL_ERR_TOO_MANY_FIELDS);
    assert_int_equal(err.offset, 14);
    assert_int_equal(err.line, 4);
    assert_int_equal(h.nfields, 2);
    mail_headers_free(&h);
}

/* ---- limits ---------------------------------------------------------------- */

static char *make_line_msg(size_t linelen, const char *eol)
{
    /* "X: aaaa...<eol><eol>" whose first line has linelen content bytes */
    size_t n = linelen + 2 * strlen(eol);
    char *m = xmalloc(n + 1);

    memcpy(m, "X: ", 3);
    memset(m + 3, 'a', linelen - 3);
    memcpy(m + linelen, eol, strlen(eol));
    memcpy(m + linelen + strlen(eol), eol, strlen(eol));
    m[n] = '\0';
    return m;
}

static void line_of_exactly_max_line_bytes_is_accepted_with_crlf_or_lf(void **state)
{
    struct mail_limits lim = MAIL_LIMITS_INIT;
    struct mail_headers h;
    char *m;

    lim.max_line = 100;
    m = make_line_msg(100, "\r\n");
    assert_int_equal(parse(m, strlen(m), &lim, &h, NULL), MAIL_OK);
    mail_headers_free(&h);
    assert_chunking_invariant(m, strlen(m), &lim);
    free(m);
    m = make_line_msg(100, "\n");
    assert_int_equal(parse(m, strlen(m), &lim, &h, NULL), MAIL_OK);
    mail_headers_free(&h);
    free(m);
}

static void line_one_byte_over_max_line_is_an_error(void **state)
{
    struct mail_limits lim = MAIL_LIMITS_INIT;
    struct mail_headers h;
    struct mail_error_info err;
    char *m;

    lim.max_line = 100;
    m = make_line_msg(101, "\r\n");
    assert_int_equal(parse(m, strlen(m), &lim, &h, &err), MAIL_ERR_LINE_TOO_LONG);
    assert_int_equal(err.offset, 100);
    assert_int_equal(err.line, 1);
    mail_headers_free(&h);
    assert_chunking_invariant(m, strlen(m), &lim);
    free(m);
    /* a CR at position max_line+1 not followed by LF is content: too long */
    m = make_line_msg(100, "\r\n");
    m[100] = '\r';
    m[101] = 'b';
    assert_int_equal(parse(m, strlen(m), &lim, &h, &err), MAIL_ERR_LINE_TOO_LONG);
    assert_int_equal(err.offset, 101);
    mail_headers_free(&h);
    assert_chunking_invariant(m, strlen(m), &lim);
    free(m);
}

static void default_line_limit_accepts_long_real_world_lines(void **state)
{
    struct mail_headers h;
    char *m = make_line_msg(5000, "\r\n"); /* > 998, as long To: lists are */

    assert_int_equal(parse(m, strlen(m), NULL, &h, NULL), MAIL_OK);
    assert_int_equal(h.fields[0].value.len, 4998); /* after "X:" */
    mail_headers_free(&h);
    free(m);
}

static void folded_lines_are_measured_one_by_one(void **state)
{
    struct mail_limits lim = MAIL_LIMITS_INIT;
    struct mail_headers h;
    struct buf m;

    lim.max_line = 20;
    buf_init(&m, 0);
    buf_append_str(&m, "To: a@example.com,\r\n");
    for (int i = 0; i < 10; i++)
        buf_append_str(&m, " b@example.com,\r\n");
    buf_append_str(&m, "\r\n");
    assert_int_equal(parse(m.data, m.len, &lim, &h, NULL), MAIL_OK);
    assert_int_equal(h.nfields, 1);
    mail_headers_free(&h);
    buf_free(&m);
}

static void too_many_fields_is_an_error_at_the_first_extra_field(void **state)
{
    struct mail_limits lim = MAIL_LIMITS_INIT;
    struct mail_headers h;
    struct mail_error_info err;
    struct buf m;

    lim.max_fields = 10;
    buf_init(&m, 0);
    for (int i = 0; i < 10; i++)
        buf_append_str(&m, "X: y\n");
    buf_append_str(&m, "\n");
    assert_int_equal(parse(m.data, m.len, &lim, &h, NULL), MAIL_OK);
    mail_headers_free(&h);
    m.len--;
    buf_append_str(&m, "Y: z\n\n");
    assert_int_equal(parse(m.data, m.len, &lim, &h, &err), MAIL_ERR_TOO_MANY_FIELDS);
    assert_int_equal(err.offset, 50);
    assert_int_equal(h.nfields, 10);
    mail_headers_free(&h);
    assert_chunking_invariant(m.data, m.len, &lim);
    buf_free(&m);
}

static void field_larger_than_max_field_size_is_an_error(void **state)
{
    struct mail_limits lim = MAIL_LIMITS_INIT;
    struct mail_headers h;
    struct mail_error_info err;
    struct buf m;

    lim.max_field_size = 100;
    buf_init(&m, 0);
    buf_append_str(&m, "A: b\r\nTo: x\r\n");
    for (int i = 0; i < 20; i++)
        buf_append_str(&m, " folded\r\n"); /* 9 bytes per line */
    buf_append_str(&m, "\r\n");
    assert_int_equal(parse(m.data, m.len, &lim, &h, &err), MAIL_ERR_FIELD_TOO_LARGE);
    assert_int_equal(err.offset, 6 + 100); /* the 101st byte of the field */
    assert_int_equal(h.nfields, 1);
    mail_headers_free(&h);
    assert_chunking_invariant(m.data, m.len, &lim);
    buf_free(&m);
}

static void header_section_larger_than_max_header_size_is_an_error(void **state)
{
    struct mail_limits lim = MAIL_LIMITS_INIT;
    struct mail_headers h;
    struct mail_error_info err;
    struct buf m;

    lim.max_header_size = 1000;
    buf_init(&m, 0);
    for (int i = 0; i < 100; i++)
        buf_append_str(&m, "Xy: 12345\n"); /* 10 bytes per field */
    buf_append_str(&m, "\n");              /* byte 1001: the empty line */
    assert_int_equal(parse(m.data, m.len, &lim, &h, &err), MAIL_ERR_HEADER_TOO_LARGE);
    assert_int_equal(err.offset, 1000);
    mail_headers_free(&h);
    assert_chunking_invariant(m.data, m.len, &lim);
    lim.max_header_size = 1001;
    assert_int_equal(parse(m.data, m.len, &lim, &h, &err), MAIL_OK);
    assert_int_equal(h.nfields, 100);
    mail_headers_free(&h);
    buf_free(&m);
}

static void error_text_names_the_limit_and_position(void **state)
{
    struct mail_error_info err = { MAIL_ERR_LINE_TOO_LONG, 812, 3 };
    char text[128];

    mail_error_format(&err, NULL, text, sizeof(text));
    assert_string_equal(text, "header line too long (max_line 65536) at line 3, offset 812");
    err.code = MAIL_ERR_MISSING_COLON;
    mail_error_format(&err, NULL, text, sizeof(text));
    assert_string_equal(text, "header line without colon at line 3, offset 812");
    assert_string_equal(mail_error_str((enum mail_error)999), "unknown mail parsing error");
    for (int c = 0; c < MAIL_ERR__COUNT; c++)
        assert_string_not_equal(mail_error_str((enum mail_error)c), "unknown mail parsing error");
}

/* ---- incremental parser ---------------------------------------------------- */

static void one_byte_pushes_give_the_same_events_as_one_push(void **state)
{
    static const char *const msgs[] = {
        "From: a@example.com\r\nSubject: hello\r\n world\r\n\r\nbody\r\nmore\r\n",
        "A: 1\nB: 2\n\nbody",
        "A: 1\r\n\r\n",
        "\r\n\r\nbody",
        "X: caf\xc3\xa9\r\n\tfolded\r\n",
        "Only: header",
        "Bad line\r\n\r\n",
        "A: b\r\n\r",
        "A: b\r\r\n\r\n",
        "",
    };
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
        assert_chunking_invariant(msgs[i], strlen(msgs[i]), NULL);
}

static char *read_sample(const char *name, size_t *len)
{
    char path[256], chunk[4096];
    struct buf b;
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "tests/data/mail/%s", name);
    if ((f = fopen(path, "rb")) == NULL)
        fail_msg("cannot open %s (run from the repository root)", path);
    buf_init(&b, 0);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    return buf_detach(&b, len);
}

static void real_bounces_give_the_same_events_in_any_chunking(void **state)
{
    static const char *const files[] = {
        "dsn-postfix-rfc822-lf.eml",         "dsn-postfix-rfc822-crlf.eml",
        "dsn-postfix-headers-lf.eml",        "arf-01-lf.eml",
        "dsn-rfc3464-3rcpt-indented-lf.eml", "bounce-exim-plain-lf.eml",
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len;
        char *m = read_sample(files[i], &len);
        struct mail_headers h;
        assert_int_equal(parse(m, len, NULL, &h, NULL), MAIL_OK);
        assert_true(h.nfields >= 5);
        assert_true(h.has_separator);
        mail_headers_free(&h);
        assert_chunking_invariant(m, len, NULL);
        free(m);
    }
}

static void push_after_finish_is_refused(void **state)
{
    struct mail_header_parser *p = mhp_new(NULL);
    struct mhp_result r;

    assert_int_equal(mhp_push(p, "A: 1\n", 5), MAIL_OK);
    mhp_finish(p);
    assert_int_equal(mhp_push(p, "B: 2\n", 5), MAIL_ERR_STATE);
    assert_int_equal(mhp_next(p, &r), MHP_FIELD);
    assert_int_equal(mhp_next(p, &r), MHP_END);
    assert_false(r.has_separator);
    assert_int_equal(r.nfields, 1);
    mhp_free(p);
}

static void end_event_reports_body_offset_and_pending_body_bytes(void **state)
{
    const char msg[] = "A: 1\r\nB: 2\r\n\r\nHello body";
    struct mail_header_parser *p = mhp_new(NULL);
    struct mhp_result r;

    assert_int_equal(mhp_push(p, msg, 8), MAIL_OK); /* "A: 1\r\nB:" */
    assert_int_equal(mhp_next(p, &r), MHP_FIELD);
    assert_true(view_is(r.field.name, "A"));
    assert_int_equal(mhp_next(p, &r), MHP_NEED_MORE);
    assert_int_equal(mhp_push(p, msg + 8, sizeof(msg) - 1 - 8), MAIL_OK);
    assert_int_equal(mhp_next(p, &r), MHP_FIELD);
    assert_true(view_is(r.field.value, " 2"));
    assert_int_equal(r.field.offset, 6);
    assert_int_equal(mhp_next(p, &r), MHP_END);
    assert_int_equal(r.body_offset, 14);
    assert_true(r.has_separator);
    assert_int_equal(r.nfields, 2);
    assert_true(view_is(r.body_pending, "Hello body"));
    assert_int_equal(mhp_push(p, "more", 4), MAIL_ERR_STATE);
    mhp_free(p);
}

static void field_is_held_back_until_the_next_line_shows_it_is_not_folded(void **state)
{
    struct mail_header_parser *p = mhp_new(NULL);
    struct mhp_result r;

    mhp_push(p, "Subject: a\r\n", 12);
    assert_int_equal(mhp_next(p, &r), MHP_NEED_MORE);
    mhp_push(p, " b\r\n", 4);
    assert_int_equal(mhp_next(p, &r), MHP_NEED_MORE);
    mhp_push(p, "T", 1);
    assert_int_equal(mhp_next(p, &r), MHP_FIELD);
    assert_true(view_is(r.field.value, " a\r\n b"));
    assert_int_equal(mhp_next(p, &r), MHP_NEED_MORE);
    mhp_finish(p);
    assert_int_equal(mhp_next(p, &r), MHP_ERROR);
    assert_int_equal(r.error.code, MAIL_ERR_MISSING_COLON);
    assert_int_equal(r.error.offset, 16);
    assert_int_equal(mhp_push(p, "x", 1), MAIL_ERR_STATE);
    mhp_free(p);
}

static void overlong_line_is_reported_before_it_is_complete(void **state)
{
    struct mail_limits lim = MAIL_LIMITS_INIT;
    struct mail_header_parser *p;
    struct mhp_result r;
    char chunk[64];

    lim.max_line = 1000;
    p = mhp_new(&lim);
    memset(chunk, 'a', sizeof(chunk));
    mhp_push(p, "X: ", 3);
    for (int i = 0; i < 15; i++) { /* 3 + 960 bytes: fine so far */
        mhp_push(p, chunk, sizeof(chunk));
        assert_int_equal(mhp_next(p, &r), MHP_NEED_MORE);
    }
    mhp_push(p, chunk, sizeof(chunk)); /* crosses 1000, no LF yet */
    assert_int_equal(mhp_next(p, &r), MHP_ERROR);
    assert_int_equal(r.error.code, MAIL_ERR_LINE_TOO_LONG);
    assert_int_equal(r.error.offset, 1000);
    mhp_free(p);
}

static void one_byte_pushes_of_a_large_header_stay_linear(void **state)
{
    /* 200 KiB folded field pushed a byte at a time: quadratic rescanning
     * would take minutes; the resumable scanner takes milliseconds. */
    struct mail_header_parser *p = mhp_new(NULL);
    struct mhp_result r;
    struct buf m;
    size_t nfield = 0;
    double t0;

    t0 = seconds_now();
    buf_init(&m, 0);
    buf_append_str(&m, "To: a@example.com");
    while (m.len < 200 * 1024)
        buf_append_str(&m, ",\r\n b@example.com");
    buf_append_str(&m, "\r\n\r\n");
    for (size_t i = 0; i < m.len; i++) {
        enum mhp_event ev;
        mhp_push(p, m.data + i, 1);
        while ((ev = mhp_next(p, &r)) == MHP_FIELD) {
            nfield++;
            assert_int_equal(r.field.raw.len, m.len - 2);
        }
        assert_int_not_equal(ev, MHP_ERROR);
    }
    assert_int_equal(mhp_next(p, &r), MHP_END);
    assert_int_equal(nfield, 1);
    assert_int_equal(r.body_offset, m.len);
    mhp_free(p);
    buf_free(&m);
    assert_true(seconds_now() - t0 < LINEAR_BOUND_SECONDS);
}

/* ---- lookup helpers -------------------------------------------------------- */

static void find_walks_repeated_fields_case_insensitively(void **state)
{
    const char msg[] = "Received: 1\nFrom: a\nRECEIVED: 2\nreceived: 3\n\n";
    struct mail_headers h;
    const struct mail_field *f;
    size_t it = 0, n = 0;

    assert_int_equal(parse(S(msg), NULL, &h, NULL), MAIL_OK);
    while ((f = mail_headers_find(&h, "received", &it)) != NULL) {
        char want[4];
        snprintf(want, sizeof(want), " %zu", ++n);
        assert_true(view_is(f->value, want));
    }
    assert_int_equal(n, 3);
    assert_int_equal(mail_headers_count(&h, "Received"), 3);
    assert_int_equal(mail_headers_count(&h, "To"), 0);
    assert_non_null(mail_headers_find(&h, "FROM", NULL));
    assert_null(mail_headers_find(&h, "Fro", NULL));
    mail_headers_free(&h);
}

static void unfold_trims_and_honours_buffer_limit(void **state)
{
    struct buf u;

    buf_init(&u, 0);
    assert_int_equal(mail_field_unfold(mail_view_make(S("  a\n b \r\n")), &u), 0);
    assert_string_equal(u.data, "a b");
    buf_free(&u);
    buf_init(&u, 3);
    assert_int_equal(mail_field_unfold(mail_view_make(S(" abcdef")), &u), -1);
    buf_free(&u);
}

static void cr_only_mail_becomes_parseable_after_fixing_bare_cr(void **state)
{
    const char mac[] = "From: a@example.com\rSubject: old\r mac\r\rbody\r\n";
    struct mail_headers h;
    struct buf fixed;

    buf_init(&fixed, 0);
    assert_int_equal(mail_fix_bare_cr(S(mac), &fixed), 0);
    assert_string_equal(fixed.data, "From: a@example.com\nSubject: old\n mac\n\nbody\r\n");
    assert_int_equal(parse(fixed.data, fixed.len, NULL, &h, NULL), MAIL_OK);
    assert_int_equal(h.nfields, 2);
    assert_string_equal(fixed.data + h.body_offset, "body\r\n");
    mail_headers_free(&h);
    buf_free(&fixed);
    buf_init(&fixed, 4);
    assert_int_equal(mail_fix_bare_cr(S("ab\rcd"), &fixed), -1);
    buf_free(&fixed);
}

static void typed_dsn_values_split_at_the_first_semicolon(void **state)
{
    struct mail_view type, rest;

    assert_true(mail_field_typed(mail_view_make(S(" rfc822; User@Example.com \r\n")), &type, &rest));
    assert_true(view_is(type, "rfc822"));
    assert_true(view_is(rest, "User@Example.com"));
    assert_true(mail_field_typed(mail_view_make(S(" smtp;550 5.1.1 <a@b>; no such user")), &type, &rest));
    assert_true(view_is(type, "smtp"));
    assert_true(view_is(rest, "550 5.1.1 <a@b>; no such user"));
    assert_true(mail_field_typed(mail_view_make(S(";")), &type, &rest));
    assert_int_equal(type.len + rest.len, 0);
    assert_false(mail_field_typed(mail_view_make(S(" failed")), &type, &rest));
    assert_false(mail_field_typed(mail_view_make(NULL, 0), &type, &rest));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crlf_fields_and_body_offset),
        cmocka_unit_test(bare_lf_and_mixed_line_endings_are_accepted),
        cmocka_unit_test(folded_value_keeps_line_breaks_and_raw_is_exact),
        cmocka_unit_test(whitespace_only_obs_fold_line_continues_the_field),
        cmocka_unit_test(eight_bit_bytes_in_values_pass_through),
        cmocka_unit_test(bare_cr_inside_value_is_an_ordinary_byte),
        cmocka_unit_test(whitespace_before_colon_is_excluded_from_the_name),
        cmocka_unit_test(empty_value_and_value_without_space),
        cmocka_unit_test(message_without_body_ends_at_end_of_input),
        cmocka_unit_test(message_ending_inside_a_field_gives_that_field),
        cmocka_unit_test(header_section_starting_with_blank_line_has_no_fields),
        cmocka_unit_test(empty_input_is_an_empty_header_section),
        cmocka_unit_test(line_without_colon_is_missing_colon),
        cmocka_unit_test(name_at_end_of_input_is_missing_colon),
        cmocka_unit_test(eight_bit_or_control_byte_in_name_is_invalid),
        cmocka_unit_test(empty_field_name_is_invalid),
        cmocka_unit_test(nul_byte_is_rejected_in_name_and_value),
        cmocka_unit_test(leading_continuation_line_is_rejected),
        cmocka_unit_test(bare_cr_at_line_start_is_an_invalid_name),
        cmocka_unit_test(mbox_from_line_is_rejected_unless_skipped),
        cmocka_unit_test(lenient_parse_skips_bad_lines_until_the_empty_line),
        cmocka_unit_test(lenient_parse_still_enforces_limits),
        cmocka_unit_test(line_of_exactly_max_line_bytes_is_accepted_with_crlf_or_lf),
        cmocka_unit_test(line_one_byte_over_max_line_is_an_error),
        cmocka_unit_test(default_line_limit_accepts_long_real_world_lines),
        cmocka_unit_test(folded_lines_are_measured_one_by_one),
        cmocka_unit_test(too_many_fields_is_an_error_at_the_first_extra_field),
        cmocka_unit_test(field_larger_than_max_field_size_is_an_error),
        cmocka_unit_test(header_section_larger_than_max_header_size_is_an_error),
        cmocka_unit_test(error_text_names_the_limit_and_position),
        cmocka_unit_test(one_byte_pushes_give_the_same_events_as_one_push),
        cmocka_unit_test(real_bounces_give_the_same_events_in_any_chunking),
        cmocka_unit_test(push_after_finish_is_refused),
        cmocka_unit_test(end_event_reports_body_offset_and_pending_body_bytes),
        cmocka_unit_test(field_is_held_back_until_the_next_line_shows_it_is_not_folded),
        cmocka_unit_test(overlong_line_is_reported_before_it_is_complete),
        cmocka_unit_test(one_byte_pushes_of_a_large_header_stay_linear),
        cmocka_unit_test(find_walks_repeated_fields_case_insensitively),
        cmocka_unit_test(unfold_trims_and_honours_buffer_limit),
        cmocka_unit_test(cr_only_mail_becomes_parseable_after_fixing_bare_cr),
        cmocka_unit_test(typed_dsn_values_split_at_the_first_semicolon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
