/*
 * test_mime.c - unit tests of common/mime.c and mime_ct.c: the MIME walker
 * on hand-made structures, real DSN/ARF samples (tests/data/mail), hostile
 * input (MIME bombs), parameter and transfer-encoding parsing.
 *
 * The sample files are read relative to the repository root, where
 * `make unit` runs the tests.
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
#include "mime.h"
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

static const char *kind_name(enum mime_kind k)
{
    switch (k) {
    case MIME_KIND_LEAF: return "leaf";
    case MIME_KIND_MULTIPART: return "multi";
    case MIME_KIND_MESSAGE: return "msg";
    case MIME_KIND_HEADERS: return "hdrs";
    case MIME_KIND_FIELD_BLOCKS: return "blocks";
    }
    return "?";
}

/*
 * Walks msg and writes one line per part: "<depth> <type>/<subtype> <kind>
 * parent=<p> [body=<bytes>]" (body shown for leaves shorter than 40 bytes),
 * then "DONE" or "ERROR <code>".  Returns the final status.
 */
static enum mime_status walk(const char *msg, size_t len, const struct mail_limits *lim, struct buf *out,
                             unsigned *warnings)
{
    struct mime_walker *w = mime_walker_new(msg, len, lim);
    const struct mime_part *p;
    enum mime_status st;
    size_t expect_index = 0;

    buf_reset(out);
    while ((st = mime_next(w, &p)) == MIME_PART) {
        assert_int_equal(p->index, expect_index++);
        buf_printf(out, "%u %s/%s %s parent=%ld", p->depth, p->type, p->subtype, kind_name(p->kind),
                   p->parent == (size_t)-1 ? -1L : (long)p->parent);
        if (p->kind == MIME_KIND_LEAF && p->body.len < 40) {
            buf_append_str(out, " body=");
            buf_append(out, p->body.ptr, p->body.len);
        }
        buf_append_char(out, '\n');
    }
    if (st == MIME_ERROR)
        buf_printf(out, "ERROR %d", mime_error(w)->code);
    else
        buf_append_str(out, "DONE");
    assert_null(p);
    /* the end is sticky */
    assert_int_equal(mime_next(w, &p), st);
    if (warnings != NULL)
        *warnings = mime_warnings(w);
    mime_walker_free(w);
    return st;
}

static void assert_walk(const char *msg, size_t len, const char *expected, unsigned want_warnings)
{
    struct buf out;
    unsigned warn;

    buf_init(&out, 0);
    walk(msg, len, NULL, &out, &warn);
    assert_string_equal(out.data, expected);
    assert_int_equal(warn, want_warnings);
    buf_free(&out);
}

static char *read_sample(const char *name, size_t *len)
{
    char path[256];
    FILE *f;
    struct buf b;
    char chunk[4096];
    size_t n;

    snprintf(path, sizeof(path), "tests/data/mail/%s", name);
    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s (run from the repository root)", path);
    buf_init(&b, 0);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    return buf_detach(&b, len);
}

/* ---- structure ------------------------------------------------------------- */

static void single_part_message_is_one_text_plain_leaf(void **state)
{
    assert_walk(S("From: a\r\nSubject: x\r\n\r\nhello"), "0 text/plain leaf parent=-1 body=hello\nDONE", 0);
}

static void content_type_is_lower_cased_and_parameters_kept(void **state)
{
    const char msg[] = "Content-Type: (c) TEXT / HTML ; Charset=\"UTF-8\"\n\n<p>";
    struct mime_walker *w = mime_walker_new(S(msg), NULL);
    const struct mime_part *p;
    struct buf v;

    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_string_equal(p->type, "text");
    assert_string_equal(p->subtype, "html");
    assert_int_equal(p->cte, MIME_CTE_7BIT);
    assert_false(p->flags & MIME_F_DEFAULT_TYPE);
    buf_init(&v, 0);
    assert_int_equal(mime_param_get(p->params, "charset", &v), 1);
    assert_string_equal(v.data, "UTF-8");
    buf_free(&v);
    assert_int_equal(mime_next(w, &p), MIME_DONE);
    mime_walker_free(w);
}

static const char multipart_crlf[] = "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
                                     "\r\n"
                                     "preamble text\r\n"
                                     "--b1\r\n"
                                     "Content-Type: text/plain\r\n"
                                     "\r\n"
                                     "first\r\n"
                                     "--b1 \t\r\n"
                                     "\r\n"
                                     "second, no header\r\n"
                                     "\r\n"
                                     "--b1--\r\n"
                                     "epilogue --b1\r\n";

static void multipart_children_are_visited_in_order_with_exact_bodies(void **state)
{
    assert_walk(S(multipart_crlf),
                "0 multipart/mixed multi parent=-1\n"
                "1 text/plain leaf parent=0 body=first\n"
                "1 text/plain leaf parent=0 body=second, no header\r\n\n"
                "DONE",
                0);
}

static void multipart_with_bare_lf_works_the_same(void **state)
{
    const char msg[] = "Content-Type: multipart/alternative; boundary=xyz\n\n"
                       "--xyz\nContent-Type: text/plain\n\nplain\n"
                       "--xyz\nContent-Type: text/html\n\n<b>html</b>\n"
                       "--xyz--\n";

    assert_walk(S(msg),
                "0 multipart/alternative multi parent=-1\n"
                "1 text/plain leaf parent=0 body=plain\n"
                "1 text/html leaf parent=0 body=<b>html</b>\n"
                "DONE",
                0);
}

static void missing_close_delimiter_runs_last_part_to_the_end(void **state)
{
    const char msg[] = "Content-Type: multipart/mixed; boundary=b\n\n"
                       "--b\n\none\n--b\n\ntwo\n";
    struct mime_walker *w = mime_walker_new(S(msg), NULL);
    const struct mime_part *p;

    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_true(view_is(p->body, "one"));
    assert_false(p->flags & MIME_F_LAST_UNCLOSED);
    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_true(view_is(p->body, "two\n"));
    assert_true(p->flags & MIME_F_LAST_UNCLOSED);
    assert_int_equal(mime_next(w, &p), MIME_DONE);
    assert_int_equal(mime_warnings(w), MIME_WARN_NO_CLOSE_DELIMITER);
    mime_walker_free(w);
}

static void boundary_that_prefixes_another_does_not_match_it(void **state)
{
    /* outer "ab" is a prefix of inner "abc" and the inner lines come
     * first: "--abc" must not be taken as an outer delimiter. */
    const char msg[] = "Content-Type: multipart/mixed; boundary=ab\n\n"
                       "--ab\nContent-Type: multipart/alternative; boundary=abc\n\n"
                       "--abc\n\ninner1\n--abc\n\ninner2\n--abc--\n"
                       "--ab\n\nouter2\n--ab--\n";

    assert_walk(S(msg),
                "0 multipart/mixed multi parent=-1\n"
                "1 multipart/alternative multi parent=0\n"
                "2 text/plain leaf parent=1 body=inner1\n"
                "2 text/plain leaf parent=1 body=inner2\n"
                "1 text/plain leaf parent=0 body=outer2\n"
                "DONE",
                0);
}

static void indented_delimiter_is_accepted_with_a_warning(void **state)
{
    const char msg[] = "Content-Type: multipart/mixed; boundary=b\n\n"
                       "--b\n\none\n \t--b\n\ntwo --b\n  --bx\n--b--\n";

    assert_walk(S(msg),
                "0 multipart/mixed multi parent=-1\n"
                "1 text/plain leaf parent=0 body=one\n"
                "1 text/plain leaf parent=0 body=two --b\n  --bx\n"
                "DONE",
                MIME_WARN_INDENTED_DELIMITER);
}

static void inner_part_cannot_leak_past_its_parents_delimiter(void **state)
{
    /* The inner multipart is never closed; the outer delimiter still ends it. */
    const char msg[] = "Content-Type: multipart/mixed; boundary=outer\n\n"
                       "--outer\nContent-Type: multipart/mixed; boundary=inner\n\n"
                       "--inner\n\nx\n"
                       "--outer\n\ny\n--outer--\n";

    assert_walk(S(msg),
                "0 multipart/mixed multi parent=-1\n"
                "1 multipart/mixed multi parent=0\n"
                "2 text/plain leaf parent=1 body=x\n"
                "1 text/plain leaf parent=0 body=y\n"
                "DONE",
                MIME_WARN_NO_CLOSE_DELIMITER);
}

static void multipart_without_boundary_is_a_leaf_with_a_warning(void **state)
{
    assert_walk(S("Content-Type: multipart/mixed\n\nbody"), "0 multipart/mixed leaf parent=-1 body=body\nDONE",
                MIME_WARN_NO_BOUNDARY);
    assert_walk(S("Content-Type: multipart/mixed; boundary=q\n\nno delimiter here\n"),
                "0 multipart/mixed multi parent=-1\nDONE", MIME_WARN_NO_BOUNDARY);
}

static void unparseable_content_type_defaults_to_text_plain(void **state)
{
    assert_walk(S("Content-Type: garbage\n\nx"), "0 text/plain leaf parent=-1 body=x\nDONE",
                MIME_WARN_BAD_CONTENT_TYPE);
}

static void part_with_broken_header_keeps_going_with_a_warning(void **state)
{
    const char msg[] = "Content-Type: multipart/mixed; boundary=b\n\n"
                       "--b\nContent-Type: text/plain\nthis line is text\n--b--\n";
    struct mime_walker *w = mime_walker_new(S(msg), NULL);
    const struct mime_part *p;

    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_int_equal(p->headers.nfields, 1);
    assert_true(p->flags & MIME_F_HEADER_CUT);
    assert_true(view_is(p->body, "this line is text"));
    assert_int_equal(mime_next(w, &p), MIME_DONE);
    assert_int_equal(mime_warnings(w), MIME_WARN_BAD_PART_HEADER);
    mime_walker_free(w);
}

static void broken_top_level_header_is_an_error(void **state)
{
    struct buf out;

    buf_init(&out, 0);
    assert_int_equal(walk(S("From: a\nnot a header\n\nbody"), NULL, &out, NULL), MIME_ERROR);
    assert_string_equal(out.data, "ERROR 6"); /* MAIL_ERR_MISSING_COLON */
    buf_free(&out);
}

static void message_rfc822_is_walked_as_a_child_message(void **state)
{
    const char msg[] = "Content-Type: multipart/mixed; boundary=b\n\n"
                       "--b\nContent-Type: message/rfc822\n\n"
                       "From: inner@example.com\nContent-Type: multipart/alternative; boundary=c\n\n"
                       "--c\n\nalt1\n--c--\n"
                       "--b--\n";

    assert_walk(S(msg),
                "0 multipart/mixed multi parent=-1\n"
                "1 message/rfc822 msg parent=0\n"
                "2 multipart/alternative multi parent=1\n"
                "3 text/plain leaf parent=2 body=alt1\n"
                "DONE",
                0);
}

static void mangled_returned_header_lines_are_skipped_not_fatal(void **state)
{
    /* A bounce that lost the indentation of a folded Received: line. */
    const char msg[] = "Content-Type: multipart/report; boundary=b\n\n"
                       "--b\nContent-Type: message/rfc822\n\n"
                       "Received: from x\nby mx.example (Postfix)\nX-Postflow-Trace: abc\n\nreturned body\n"
                       "--b--\n";
    struct mime_walker *w = mime_walker_new(S(msg), NULL);
    const struct mime_part *p;

    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_int_equal(p->kind, MIME_KIND_MESSAGE);
    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_int_equal(p->depth, 2);
    assert_int_equal(p->headers.nfields, 2);
    assert_int_equal(p->header_skipped, 1);
    assert_true(p->flags & MIME_F_HEADER_SKIPPED);
    assert_true(view_is(mail_headers_find(&p->headers, "X-Postflow-Trace", NULL)->value, " abc"));
    assert_true(view_is(p->body, "returned body"));
    assert_int_equal(mime_next(w, &p), MIME_DONE);
    assert_int_equal(mime_warnings(w), MIME_WARN_BAD_PART_HEADER);
    mime_walker_free(w);
}

static void text_rfc822_headers_gives_a_headers_only_child(void **state)
{
    const char msg[] = "Content-Type: text/rfc822-headers\n\n"
                       "From: a@example.com\nContent-Type: multipart/mixed; boundary=zz\nSubject: s\n";
    struct mime_walker *w = mime_walker_new(S(msg), NULL);
    const struct mime_part *p;

    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_int_equal(p->kind, MIME_KIND_HEADERS);
    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_int_equal(p->depth, 1);
    assert_true(p->flags & MIME_F_HEADERS_ONLY);
    assert_int_equal(p->kind, MIME_KIND_LEAF); /* never walked into */
    assert_string_equal(p->type, "multipart");
    assert_int_equal(p->headers.nfields, 3);
    assert_non_null(mail_headers_find(&p->headers, "Subject", NULL));
    assert_int_equal(mime_next(w, &p), MIME_DONE);
    mime_walker_free(w);
}

static void quoted_printable_rfc822_headers_are_decoded_before_parsing(void **state)
{
    const char msg[] = "Content-Type: text/rfc822-headers\nContent-Transfer-Encoding: quoted-printable\n\n"
                       "Subject: caf=C3=A9 with a very long soft=\n broken line\nX-Id: 42\n";
    struct mime_walker *w = mime_walker_new(S(msg), NULL);
    const struct mime_part *p;

    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_true(p->flags & MIME_F_IN_DECODED);
    assert_int_equal(p->headers.nfields, 2);
    assert_true(view_is(p->headers.fields[0].value, " caf\xc3\xa9 with a very long soft broken line"));
    assert_int_equal(mime_next(w, &p), MIME_DONE);
    assert_int_equal(mime_warnings(w), 0);
    mime_walker_free(w);
}

static void base64_message_rfc822_is_decoded_and_walked_with_a_warning(void **state)
{
    /* "From: x@example.com\nSubject: inner\n\nhi\n" in base64 */
    const char msg[] = "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
                       "RnJvbTogeEBleGFtcGxlLmNvbQpTdWJqZWN0OiBp\nbm5lcgoKaGkK\n";

    assert_walk(S(msg), "0 message/rfc822 msg parent=-1\n1 text/plain leaf parent=0 body=hi\n\nDONE",
                MIME_WARN_ENCODED_MESSAGE);
}

static void digest_children_default_to_message_rfc822(void **state)
{
    const char msg[] = "Content-Type: multipart/digest; boundary=d\n\n"
                       "--d\n\nSubject: one\n\nbody1\n--d--\n";

    assert_walk(S(msg),
                "0 multipart/digest multi parent=-1\n"
                "1 message/rfc822 msg parent=0\n"
                "2 text/plain leaf parent=1 body=body1\n"
                "DONE",
                0);
}

/* ---- limits and bombs ------------------------------------------------------ */

static char *nested_multiparts(unsigned depth, size_t *len)
{
    struct buf b;

    buf_init(&b, 0);
    for (unsigned i = 0; i < depth; i++)
        buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%u\"\n\n--b%u\n", i, i);
    buf_append_str(&b, "\ninnermost\n");
    for (unsigned i = depth; i-- > 0;)
        buf_printf(&b, "--b%u--\n", i);
    return buf_detach(&b, len);
}

static void nesting_up_to_max_depth_is_walked(void **state)
{
    size_t len, n = 0;
    char *m = nested_multiparts(20, &len); /* parts at depth 0..20 */
    struct mime_walker *w = mime_walker_new(m, len, NULL);
    const struct mime_part *p;

    while (mime_next(w, &p) == MIME_PART)
        n++;
    assert_int_equal(mime_error(w)->code, MAIL_OK);
    assert_int_equal(n, 21);
    mime_walker_free(w);
    free(m);
}

static void nesting_bomb_of_10000_levels_stops_at_max_depth(void **state)
{
    size_t len, n = 0;
    char *m = nested_multiparts(10000, &len);
    struct mime_walker *w = mime_walker_new(m, len, NULL);
    const struct mime_part *p;
    enum mime_status st;

    while ((st = mime_next(w, &p)) == MIME_PART)
        n++;
    assert_int_equal(st, MIME_ERROR);
    assert_int_equal(mime_error(w)->code, MAIL_ERR_MIME_DEPTH);
    assert_int_equal(n, 21); /* depth 0..20 visited, 21 refused */
    mime_walker_free(w);
    free(m);
}

static char *many_parts(size_t nparts, size_t *len)
{
    struct buf b;

    buf_init(&b, 0);
    buf_append_str(&b, "Content-Type: multipart/mixed; boundary=p\n\n");
    for (size_t i = 0; i < nparts; i++)
        buf_append_str(&b, "--p\n\nx\n");
    buf_append_str(&b, "--p--\n");
    return buf_detach(&b, len);
}

static void parts_bomb_of_100000_parts_stops_at_max_parts(void **state)
{
    size_t len, n = 0;
    char *m = many_parts(100000, &len);
    struct mime_walker *w = mime_walker_new(m, len, NULL);
    const struct mime_part *p;
    enum mime_status st;

    while ((st = mime_next(w, &p)) == MIME_PART)
        n++;
    assert_int_equal(st, MIME_ERROR);
    assert_int_equal(mime_error(w)->code, MAIL_ERR_MIME_PARTS);
    assert_int_equal(n, 1000); /* the top-level message counts */
    mime_walker_free(w);
    free(m);
}

static void raised_part_limit_walks_100000_parts_linearly(void **state)
{
    struct mail_limits lim = MAIL_LIMITS_INIT;
    size_t len, n = 0;
    char *m = many_parts(100000, &len);
    struct mime_walker *w;
    const struct mime_part *p;
    double t0;

    t0 = seconds_now();
    lim.max_mime_parts = 200000;
    w = mime_walker_new(m, len, &lim);
    while (mime_next(w, &p) == MIME_PART) {
        if (n++ > 0)
            assert_true(view_is(p->body, "x"));
    }
    assert_int_equal(mime_error(w)->code, MAIL_OK);
    assert_int_equal(n, 100001);
    mime_walker_free(w);
    free(m);
    assert_true(seconds_now() - t0 < LINEAR_BOUND_SECONDS);
}

static void boundary_longer_than_the_limit_is_an_error(void **state)
{
    struct mail_limits lim = MAIL_LIMITS_INIT;
    char msg[512];
    struct buf out;
    char b70[71], b71[72];

    lim.max_boundary_len = 70; /* the RFC 2046 value */
    memset(b70, 'a', 70);
    b70[70] = '\0';
    memset(b71, 'a', 71);
    b71[71] = '\0';
    buf_init(&out, 0);
    snprintf(msg, sizeof(msg), "Content-Type: multipart/mixed; boundary=%s\n\n--%s\n\nx\n--%s--\n", b70, b70, b70);
    assert_int_equal(walk(msg, strlen(msg), &lim, &out, NULL), MIME_DONE);
    snprintf(msg, sizeof(msg), "Content-Type: multipart/mixed; boundary=%s\n\n--%s\n\nx\n--%s--\n", b71, b71, b71);
    assert_int_equal(walk(msg, strlen(msg), &lim, &out, NULL), MIME_ERROR);
    assert_string_equal(out.data, "ERROR 12");                             /* the part itself is refused */
    assert_int_equal(walk(msg, strlen(msg), NULL, &out, NULL), MIME_DONE); /* default: 256 */
    buf_free(&out);
}

static void header_limit_inside_a_part_is_an_error_not_a_warning(void **state)
{
    struct mail_limits lim = MAIL_LIMITS_INIT;
    struct buf out;
    const char msg[] = "Content-Type: multipart/mixed; boundary=b\n\n"
                       "--b\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\nx\n--b--\n";

    lim.max_line = 50;
    buf_init(&out, 0);
    assert_int_equal(walk(S(msg), &lim, &out, NULL), MIME_ERROR);
    assert_string_equal(out.data, "0 multipart/mixed multi parent=-1\nERROR 1");
    buf_free(&out);
}

/* ---- real DSN and ARF samples ---------------------------------------------- */

/* Collects Final-Recipient values of every delivery-status part. */
static size_t dsn_recipients(const char *msg, size_t len, struct buf *out, struct buf *walk_out)
{
    struct mime_walker *w = mime_walker_new(msg, len, NULL);
    const struct mime_part *p;
    size_t nblocks_total = 0;

    while (mime_next(w, &p) == MIME_PART) {
        buf_printf(walk_out, "%u %s/%s %s\n", p->depth, p->type, p->subtype, kind_name(p->kind));
        if (p->kind != MIME_KIND_FIELD_BLOCKS)
            continue;
        struct mail_field_blocks fb;
        assert_int_equal(mail_field_blocks_parse(p->body.ptr, p->body.len, NULL, &fb, NULL), MAIL_OK);
        nblocks_total += fb.nblocks;
        for (size_t i = 0; i < fb.nblocks; i++) {
            const struct mail_field *f = mail_headers_find(&fb.blocks[i], "Final-Recipient", NULL);
            if (f != NULL) {
                mail_field_unfold(f->value, out);
                buf_append_char(out, '\n');
            }
        }
        mail_field_blocks_free(&fb);
    }
    assert_int_equal(mime_error(w)->code, MAIL_OK);
    mime_walker_free(w);
    return nblocks_total;
}

static void postfix_dsn_with_returned_message_lf_and_crlf_agree(void **state)
{
    const char *files[] = { "dsn-postfix-rfc822-lf.eml", "dsn-postfix-rfc822-crlf.eml" };

    for (int i = 0; i < 2; i++) {
        size_t len;
        char *m = read_sample(files[i], &len);
        struct buf rcpt, tr;
        buf_init(&rcpt, 0);
        buf_init(&tr, 0);
        assert_int_equal(dsn_recipients(m, len, &rcpt, &tr), 2); /* per-message + 1 recipient */
        assert_string_equal(rcpt.data, "rfc822; r@p351355.pool.example.ne.jp\n");
        assert_string_equal(tr.data, "0 multipart/report multi\n"
                                     "1 text/plain leaf\n"
                                     "1 message/delivery-status blocks\n"
                                     "1 message/rfc822 msg\n"
                                     "2 text/plain leaf\n");
        buf_free(&rcpt);
        buf_free(&tr);
        free(m);
    }
}

static void postfix_dsn_with_returned_headers_exposes_them(void **state)
{
    size_t len;
    char *m = read_sample("dsn-postfix-headers-lf.eml", &len);
    struct mime_walker *w = mime_walker_new(m, len, NULL);
    const struct mime_part *p;
    bool saw_headers = false;

    while (mime_next(w, &p) == MIME_PART) {
        if (p->flags & MIME_F_HEADERS_ONLY) {
            const struct mail_field *f = mail_headers_find(&p->headers, "Return-Path", NULL);
            assert_non_null(f);
            assert_true(view_is(f->value, " <kijitora@example.ne.jp>"));
            assert_int_equal(p->headers.nfields, 8);
            saw_headers = true;
        }
    }
    assert_int_equal(mime_error(w)->code, MAIL_OK);
    assert_true(saw_headers);
    mime_walker_free(w);
    free(m);
}

static void indented_delimiter_in_a_real_dsn_still_yields_three_recipients(void **state)
{
    size_t len;
    char *m = read_sample("dsn-rfc3464-3rcpt-indented-lf.eml", &len);
    struct buf rcpt, tr;

    buf_init(&rcpt, 0);
    buf_init(&tr, 0);
    assert_int_equal(dsn_recipients(m, len, &rcpt, &tr), 4);
    assert_string_equal(rcpt.data, "rfc822;kijitora@nyaan.example.com\n"
                                   "rfc822;sabatora@cat.example.net\n"
                                   "rfc822;mikeneko@neko.example.or.jp\n");
    assert_string_equal(tr.data, "0 multipart/report multi\n"
                                 "1 text/plain leaf\n"
                                 "1 message/delivery-status blocks\n"
                                 "1 message/rfc822 msg\n"
                                 "2 text/plain leaf\n");
    buf_free(&rcpt);
    buf_free(&tr);
    free(m);
}

static void plain_text_exim_bounce_is_one_leaf_with_its_headers(void **state)
{
    size_t len;
    char *m = read_sample("bounce-exim-plain-lf.eml", &len);
    struct mime_walker *w = mime_walker_new(m, len, NULL);
    const struct mime_part *p;

    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_int_equal(p->kind, MIME_KIND_LEAF);
    assert_true(p->flags & MIME_F_DEFAULT_TYPE);
    assert_true(view_is(mail_headers_find(&p->headers, "X-Failed-Recipients", NULL)->value, " kijitora@example.ed.jp"));
    assert_int_equal(mail_headers_count(&p->headers, "Received"), 2);
    assert_non_null(memmem(p->body.ptr, p->body.len, "This is a copy of the message", 29));
    assert_int_equal(mime_next(w, &p), MIME_DONE);
    assert_int_equal(mime_warnings(w), 0);
    mime_walker_free(w);
    free(m);
}

static void arf_report_exposes_feedback_fields_and_original(void **state)
{
    size_t len;
    char *m = read_sample("arf-01-lf.eml", &len);
    struct mime_walker *w = mime_walker_new(m, len, NULL);
    const struct mime_part *p;
    struct buf v;
    int seen = 0;

    buf_init(&v, 0);
    while (mime_next(w, &p) == MIME_PART) {
        if (p->depth == 0) {
            assert_int_equal(mime_param_get(p->params, "report-type", &v), 1);
            assert_string_equal(v.data, "feedback-report");
        }
        if (p->kind == MIME_KIND_FIELD_BLOCKS) {
            struct mail_field_blocks fb;
            assert_string_equal(p->subtype, "feedback-report");
            assert_int_equal(mail_field_blocks_parse(p->body.ptr, p->body.len, NULL, &fb, NULL), MAIL_OK);
            assert_int_equal(fb.nblocks, 1);
            assert_true(view_is(mail_headers_find(&fb.blocks[0], "Feedback-Type", NULL)->value, " abuse"));
            assert_true(view_is(mail_headers_find(&fb.blocks[0], "Source-IP", NULL)->value, " 192.0.2.89"));
            assert_int_equal(mail_headers_count(&fb.blocks[0], "Redacted-Address"), 2);
            mail_field_blocks_free(&fb);
            seen |= 1;
        }
        if (p->depth == 2 && p->parent == 3) { /* the reported message */
            const struct mail_field *f = mail_headers_find(&p->headers, "Subject", NULL);
            assert_true(view_is(f->value, " Kijitora cat family"));
            seen |= 2;
        }
    }
    assert_int_equal(seen, 3);
    assert_int_equal(mime_error(w)->code, MAIL_OK);
    buf_free(&v);
    mime_walker_free(w);
    free(m);
}

/* ---- field blocks ---------------------------------------------------------- */

static void field_blocks_split_per_recipient_and_count_skipped_lines(void **state)
{
    const char body[] = "\r\n"
                        "Reporting-MTA: dns; mx.example.com\r\n"
                        "\r\n\r\n"
                        "Final-Recipient: rfc822; a@example.com\r\n"
                        "Action: failed\r\n"
                        "Diagnostic-Code: smtp; 550 5.1.1 user\r\n"
                        "    unknown\r\n"
                        "garbage line without colon\r\n"
                        "Status: 5.1.1\r\n"
                        "  \t \r\n"
                        "Final-Recipient: rfc822; b@example.com\r\n"
                        "Action: delayed\r\n";
    struct mail_field_blocks fb;
    struct buf v;

    assert_int_equal(mail_field_blocks_parse(S(body), NULL, &fb, NULL), MAIL_OK);
    assert_int_equal(fb.nblocks, 3);
    assert_int_equal(fb.nskipped, 1);
    assert_int_equal(fb.blocks[0].nfields, 1);
    assert_int_equal(fb.blocks[1].nfields, 4);
    buf_init(&v, 0);
    mail_field_unfold(mail_headers_find(&fb.blocks[1], "Diagnostic-Code", NULL)->value, &v);
    assert_string_equal(v.data, "smtp; 550 5.1.1 user    unknown");
    buf_free(&v);
    assert_true(view_is(mail_headers_find(&fb.blocks[1], "Status", NULL)->value, " 5.1.1"));
    assert_true(view_is(mail_headers_find(&fb.blocks[2], "Action", NULL)->value, " delayed"));
    mail_field_blocks_free(&fb);
}

static void field_blocks_enforce_the_total_field_limit(void **state)
{
    struct mail_limits lim = MAIL_LIMITS_INIT;
    struct mail_field_blocks fb;
    struct mail_error_info err;
    const char body[] = "A: 1\nB: 2\n\nC: 3\nD: 4\n";

    lim.max_fields = 3;
    assert_int_equal(mail_field_blocks_parse(S(body), &lim, &fb, &err), MAIL_ERR_TOO_MANY_FIELDS);
    assert_int_equal(err.offset, 16);
    assert_int_equal(err.line, 5);
    mail_field_blocks_free(&fb);
}

/* ---- parameters and encodings ---------------------------------------------- */

static void param_lookup_handles_quotes_escapes_comments_and_sloppiness(void **state)
{
    struct buf v;
    struct mail_view p = mail_view_make(S("; name=\"a \\\"quoted\\\" \\\\ file.pdf\" (comment; boundary=no) ;"
                                          "BOUNDARY=----=_Part_1_2.3 charset=utf-8;filename*=x"));

    buf_init(&v, 0);
    assert_int_equal(mime_param_get(p, "name", &v), 1);
    assert_string_equal(v.data, "a \"quoted\" \\ file.pdf");
    buf_reset(&v);
    assert_int_equal(mime_param_get(p, "boundary", &v), 1);
    assert_string_equal(v.data, "----=_Part_1_2.3");
    buf_reset(&v);
    assert_int_equal(mime_param_get(p, "charset", &v), 1); /* missing ';' tolerated */
    assert_string_equal(v.data, "utf-8");
    buf_reset(&v);
    assert_int_equal(mime_param_get(p, "filename", &v), 0); /* RFC 2231 form not matched */
    assert_int_equal(mime_param_get(p, "absent", &v), 0);
    buf_free(&v);
    buf_init(&v, 4);
    assert_int_equal(mime_param_get(p, "charset", &v), -1);
    buf_free(&v);
}

static void folded_content_type_value_is_parsed(void **state)
{
    char type[MIME_TOKEN_MAX + 1], sub[MIME_TOKEN_MAX + 1];
    struct mail_view params;
    struct buf v;

    assert_true(mime_content_type_parse(
        mail_view_make(S(" multipart/report;\r\n\treport-type=delivery-status;\r\n\tboundary=\"x/y\"")), type, sub,
        &params));
    assert_string_equal(type, "multipart");
    assert_string_equal(sub, "report");
    buf_init(&v, 0);
    assert_int_equal(mime_param_get(params, "boundary", &v), 1);
    assert_string_equal(v.data, "x/y");
    buf_free(&v);
    assert_false(mime_content_type_parse(mail_view_make(S("text/")), type, sub, &params));
    assert_string_equal(type, "text");
    assert_string_equal(sub, "plain");
}

static void transfer_encoding_names_are_case_insensitive(void **state)
{
    assert_int_equal(mime_cte_parse(mail_view_make(S(" BASE64"))), MIME_CTE_BASE64);
    assert_int_equal(mime_cte_parse(mail_view_make(S("Quoted-Printable (x)"))), MIME_CTE_QP);
    assert_int_equal(mime_cte_parse(mail_view_make(S(" 8bit"))), MIME_CTE_8BIT);
    assert_int_equal(mime_cte_parse(mail_view_make(S(" binary"))), MIME_CTE_BINARY);
    assert_int_equal(mime_cte_parse(mail_view_make(S(""))), MIME_CTE_7BIT);
    assert_int_equal(mime_cte_parse(mail_view_make(S(" x-uuencode"))), MIME_CTE_UNKNOWN);
}

static void part_body_is_decoded_by_its_transfer_encoding(void **state)
{
    const char msg[] = "Content-Type: multipart/mixed; boundary=b\n\n"
                       "--b\nContent-Transfer-Encoding: base64\n\naGVs\nbG8=\n"
                       "--b\nContent-Transfer-Encoding: quoted-printable\n\nsoft=\nbreak =3D\n"
                       "--b\nContent-Transfer-Encoding: base64\n\n!!!\n"
                       "--b--\n";
    struct mime_walker *w = mime_walker_new(S(msg), NULL);
    const struct mime_part *p;
    struct buf v;

    buf_init(&v, 0);
    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_int_equal(mime_part_decode(p, &v), 0);
    assert_string_equal(v.data, "hello");
    buf_reset(&v);
    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_int_equal(mime_part_decode(p, &v), 0);
    assert_string_equal(v.data, "softbreak =");
    buf_reset(&v);
    assert_int_equal(mime_next(w, &p), MIME_PART);
    assert_int_equal(mime_part_decode(p, &v), -2);
    buf_free(&v);
    mime_walker_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_part_message_is_one_text_plain_leaf),
        cmocka_unit_test(content_type_is_lower_cased_and_parameters_kept),
        cmocka_unit_test(multipart_children_are_visited_in_order_with_exact_bodies),
        cmocka_unit_test(multipart_with_bare_lf_works_the_same),
        cmocka_unit_test(missing_close_delimiter_runs_last_part_to_the_end),
        cmocka_unit_test(boundary_that_prefixes_another_does_not_match_it),
        cmocka_unit_test(indented_delimiter_is_accepted_with_a_warning),
        cmocka_unit_test(inner_part_cannot_leak_past_its_parents_delimiter),
        cmocka_unit_test(multipart_without_boundary_is_a_leaf_with_a_warning),
        cmocka_unit_test(unparseable_content_type_defaults_to_text_plain),
        cmocka_unit_test(part_with_broken_header_keeps_going_with_a_warning),
        cmocka_unit_test(broken_top_level_header_is_an_error),
        cmocka_unit_test(message_rfc822_is_walked_as_a_child_message),
        cmocka_unit_test(mangled_returned_header_lines_are_skipped_not_fatal),
        cmocka_unit_test(text_rfc822_headers_gives_a_headers_only_child),
        cmocka_unit_test(quoted_printable_rfc822_headers_are_decoded_before_parsing),
        cmocka_unit_test(base64_message_rfc822_is_decoded_and_walked_with_a_warning),
        cmocka_unit_test(digest_children_default_to_message_rfc822),
        cmocka_unit_test(nesting_up_to_max_depth_is_walked),
        cmocka_unit_test(nesting_bomb_of_10000_levels_stops_at_max_depth),
        cmocka_unit_test(parts_bomb_of_100000_parts_stops_at_max_parts),
        cmocka_unit_test(raised_part_limit_walks_100000_parts_linearly),
        cmocka_unit_test(boundary_longer_than_the_limit_is_an_error),
        cmocka_unit_test(header_limit_inside_a_part_is_an_error_not_a_warning),
        cmocka_unit_test(postfix_dsn_with_returned_message_lf_and_crlf_agree),
        cmocka_unit_test(postfix_dsn_with_returned_headers_exposes_them),
        cmocka_unit_test(indented_delimiter_in_a_real_dsn_still_yields_three_recipients),
        cmocka_unit_test(plain_text_exim_bounce_is_one_leaf_with_its_headers),
        cmocka_unit_test(arf_report_exposes_feedback_fields_and_original),
        cmocka_unit_test(field_blocks_split_per_recipient_and_count_skipped_lines),
        cmocka_unit_test(field_blocks_enforce_the_total_field_limit),
        cmocka_unit_test(param_lookup_handles_quotes_escapes_comments_and_sloppiness),
        cmocka_unit_test(folded_content_type_value_is_parsed),
        cmocka_unit_test(transfer_encoding_names_are_case_insensitive),
        cmocka_unit_test(part_body_is_decoded_by_its_transfer_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
