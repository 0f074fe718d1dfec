/*
 * test_address.c - unit tests of common/address.c: RFC 5322 address lists,
 * RFC 5321 paths, normalisation and the domain helper.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "address.h"
#include "buf.h"

#define S(lit) lit, sizeof(lit) - 1

static bool view_is(struct mail_view v, const char *s)
{
    return v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0;
}

/* Parses text and returns "norm1|norm2|..." of the normalized addresses. */
static enum mail_error list_norm(const char *text, struct buf *out, struct address_list *l)
{
    enum mail_error rc = address_list_parse(text, strlen(text), NULL, l, NULL);

    buf_reset(out);
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            buf_append_char(out, '|');
        assert_int_equal(address_normalize(&l->v[i], out), 0);
    }
    return rc;
}

static void expect_list(const char *text, size_t n, const char *norms)
{
    struct address_list l;
    struct buf b;

    buf_init(&b, 0);
    assert_int_equal(list_norm(text, &b, &l), MAIL_OK);
    assert_int_equal(l.n, n);
    assert_string_equal(b.len ? b.data : "", norms);
    address_list_free(&l);
    buf_free(&b);
}

static void display_name_and_angle_address(void **state)
{
    const char text[] = " \"Doe, John\" <John.Doe@Example.COM>";
    struct address_list l;

    assert_int_equal(address_list_parse(S(text), NULL, &l, NULL), MAIL_OK);
    assert_int_equal(l.n, 1);
    assert_true(view_is(l.v[0].display, "\"Doe, John\""));
    assert_true(view_is(l.v[0].local, "John.Doe"));
    assert_true(view_is(l.v[0].domain, "Example.COM"));
    assert_int_equal(l.v[0].flags, 0);
    address_list_free(&l);
    expect_list(text, 1, "John.Doe@example.com");
}

static void bare_address_with_trailing_comment(void **state)
{
    const char text[] = "user@example.org (Some User)";
    struct address_list l;

    assert_int_equal(address_list_parse(S(text), NULL, &l, NULL), MAIL_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].display.len, 0);
    assert_true(view_is(l.v[0].domain, "example.org"));
    address_list_free(&l);
}

static void quoted_local_part_is_kept_with_its_quotes_and_case(void **state)
{
    const char text[] = "<\"Quoted Local\\\"x\"@B.Example>";
    struct address_list l;

    assert_int_equal(address_list_parse(S(text), NULL, &l, NULL), MAIL_OK);
    assert_true(view_is(l.v[0].local, "\"Quoted Local\\\"x\""));
    assert_true(l.v[0].flags & ADDRESS_F_QUOTED_LOCAL);
    address_list_free(&l);
    expect_list(text, 1, "\"Quoted Local\\\"x\"@b.example");
}

static void obs_route_is_dropped(void **state)
{
    const char text[] = "<@relay1.example,@relay2.example:user@Final.Example>";
    struct address_list l;

    assert_int_equal(address_list_parse(S(text), NULL, &l, NULL), MAIL_OK);
    assert_int_equal(l.n, 1);
    assert_true(l.v[0].flags & ADDRESS_F_ROUTE);
    address_list_free(&l);
    expect_list(text, 1, "user@final.example");
}

static void several_from_mailboxes_are_all_counted(void **state)
{
    expect_list("a@example.com, \"B\" <b@example.net>,c@example.org (c)", 3,
                "a@example.com|b@example.net|c@example.org");
    expect_list("a@x.example,,  ,b@y.example,", 2, "a@x.example|b@y.example");
}

static void groups_yield_their_members_and_empty_groups_none(void **state)
{
    const char text[] = "Team: a@example.com, B <b@example.com>;, c@example.com";
    struct address_list l;

    assert_int_equal(address_list_parse(S(text), NULL, &l, NULL), MAIL_OK);
    assert_int_equal(l.n, 3);
    assert_true(view_is(l.v[0].group, "Team"));
    assert_true(view_is(l.v[1].group, "Team"));
    assert_int_equal(l.v[2].group.len, 0);
    address_list_free(&l);
    expect_list("undisclosed-recipients:;", 0, "");
    expect_list("Team: a@example.com", 1, "a@example.com"); /* missing ';' tolerated */
}

static void obsolete_forms_are_tolerated(void **state)
{
    /* obs-phrase with dots, 8-bit display name, CFWS around '@' and '.' */
    expect_list("John Q. Public <jqp@example.com>", 1, "jqp@example.com");
    expect_list("J\xc3\xb6rg <j@example.de>", 1, "j@example.de");
    expect_list("john . doe (c) @ Example (x) . COM", 1, "john.doe@example.com");
    expect_list("\"folded\r\n name\" <a@b.example>", 1, "a@b.example");
    expect_list("a@example.com.", 1, "a@example.com");
    expect_list("a@Example.com <a@example.com>, b@x.example", 2, "a@example.com|b@x.example");
    expect_list("a@[192.0.2.1]", 1, "a@[192.0.2.1]");
}

static void mailbox_without_domain_is_flagged(void **state)
{
    struct address_list l;

    assert_int_equal(address_list_parse(S("MAILER-DAEMON"), NULL, &l, NULL), MAIL_OK);
    assert_int_equal(l.n, 1);
    assert_true(l.v[0].flags & ADDRESS_F_NO_DOMAIN);
    assert_true(view_is(l.v[0].local, "MAILER-DAEMON"));
    address_list_free(&l);
    /* a bare phrase: counted as one mailbox, flagged, never a silent zero */
    assert_int_equal(address_list_parse(S("John Smith"), NULL, &l, NULL), MAIL_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].flags, ADDRESS_F_NO_DOMAIN | ADDRESS_F_CFWS_INSIDE);
    assert_true(view_is(l.v[0].local, "John Smith"));
    address_list_free(&l);
}

static void syntax_errors_are_reported_with_an_offset(void **state)
{
    static const struct {
        const char *text;
        size_t at;
    } bad[] = {
        { "\"unclosed@example.com", 0 },
        { "a@example.com (unclosed", 14 },
        { "Name <a@example.com", 5 },
        { "<a@b@c>", 4 }, /* the second @ */
        { "a@", 2 },
        { "@example.com", 0 },
        { "<>", 0 },
        { "Name <a@example.com> junk", 21 },
        { "a@exa]mple", 5 },
        { "A: B: c@d;", 4 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct address_list l;
        size_t at = 999;
        enum mail_error rc = address_list_parse(bad[i].text, strlen(bad[i].text), NULL, &l, &at);
        if (rc != MAIL_ERR_ADDRESS_SYNTAX || at != bad[i].at)
            fail_msg("'%s': rc %d at %zu, want syntax error at %zu", bad[i].text, rc, at, bad[i].at);
        address_list_free(&l);
    }
}

static void address_count_is_limited(void **state)
{
    struct mail_limits lim = MAIL_LIMITS_INIT;
    struct address_list l;
    size_t at;

    lim.max_addresses = 2;
    assert_int_equal(address_list_parse(S("a@x.example, b@x.example"), &lim, &l, NULL), MAIL_OK);
    address_list_free(&l);
    assert_int_equal(address_list_parse(S("a@x.example, b@x.example, c@x.example"), &lim, &l, &at),
                     MAIL_ERR_TOO_MANY_ADDRESSES);
    assert_int_equal(l.n, 2);
    assert_int_equal(at, 26);
    address_list_free(&l);
}

static void paths_accept_null_sender_and_bare_or_bracketed_addresses(void **state)
{
    struct mail_address a;
    struct buf b;

    assert_int_equal(address_path_parse(S(" <> "), &a), MAIL_OK);
    assert_true(a.flags & ADDRESS_F_NULL);
    assert_int_equal(address_path_parse(S("<User@Example.COM>"), &a), MAIL_OK);
    buf_init(&b, 0);
    address_normalize(&a, &b);
    assert_string_equal(b.data, "User@example.com");
    buf_free(&b);
    assert_int_equal(address_path_parse(S(" user@example.com\r\n"), &a), MAIL_OK);
    assert_true(view_is(a.domain, "example.com"));
    assert_int_equal(address_path_parse(S("<postmaster>"), &a), MAIL_OK);
    assert_true(a.flags & ADDRESS_F_NO_DOMAIN);
    assert_int_equal(address_path_parse(S("a@x.example, b@x.example"), &a), MAIL_ERR_ADDRESS_SYNTAX);
    assert_int_equal(address_path_parse(S("Name <a@x.example>"), &a), MAIL_ERR_ADDRESS_SYNTAX);
    assert_int_equal(address_path_parse(S(""), &a), MAIL_ERR_ADDRESS_SYNTAX);
}

static void normalize_never_exceeds_the_buffer_limit(void **state)
{
    struct mail_address a;
    struct buf b;

    assert_int_equal(address_path_parse(S("<someone@example.com>"), &a), MAIL_OK);
    buf_init(&b, 10);
    buf_append_str(&b, "x");
    assert_int_equal(address_normalize(&a, &b), -1);
    assert_int_equal(b.len, 1); /* nothing half-written */
    assert_string_equal(b.data, "x");
    buf_free(&b);
}

static void domain_helper_finds_the_last_unquoted_at(void **state)
{
    struct mail_view d;

    assert_true(address_domain(S("<a@B.Example> "), &d));
    assert_true(view_is(d, "B.Example"));
    assert_true(address_domain(S("\"x@y\"@z.example"), &d));
    assert_true(view_is(d, "z.example"));
    assert_false(address_domain(S("\"x@y\""), &d));
    assert_false(address_domain(S("nodomain"), &d));
    assert_false(address_domain(S("a@"), &d));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(display_name_and_angle_address),
        cmocka_unit_test(bare_address_with_trailing_comment),
        cmocka_unit_test(quoted_local_part_is_kept_with_its_quotes_and_case),
        cmocka_unit_test(obs_route_is_dropped),
        cmocka_unit_test(several_from_mailboxes_are_all_counted),
        cmocka_unit_test(groups_yield_their_members_and_empty_groups_none),
        cmocka_unit_test(obsolete_forms_are_tolerated),
        cmocka_unit_test(mailbox_without_domain_is_flagged),
        cmocka_unit_test(syntax_errors_are_reported_with_an_offset),
        cmocka_unit_test(address_count_is_limited),
        cmocka_unit_test(paths_accept_null_sender_and_bare_or_bracketed_addresses),
        cmocka_unit_test(normalize_never_exceeds_the_buffer_limit),
        cmocka_unit_test(domain_helper_finds_the_last_unquoted_at),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
