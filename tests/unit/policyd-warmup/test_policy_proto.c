/*
 * test_policy_proto.c - the policy request parser: complete, partial,
 * pipelined, half-closed and hostile input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "policy_proto.h"

static const char POSTFIX_REQ[] = "request=smtpd_access_policy\n"
                                  "protocol_state=RCPT\n"
                                  "protocol_name=ESMTP\n"
                                  "client_address=127.0.0.1\n"
                                  "client_name=unknown\n"
                                  "instance=4753.6b0aaf93.7819a.0\n"
                                  "sender=sender@example.com\n"
                                  "recipient=User@Gmail.com\n"
                                  "recipient_count=0\n"
                                  "sasl_username=\n"
                                  "ccert_subject=\n"
                                  "size=0\n"
                                  "\n";

static enum policy_parse_status parse_all(const char *s, size_t len, int eof, struct policy_request *req)
{
    struct policy_limits lim;
    size_t resume = 0;
    policy_limits_default(&lim);
    return policy_parse(s, len, eof, &lim, &resume, req);
}

static void parses_a_postfix_request(void **state)
{
    struct policy_request req;
    assert_int_equal(parse_all(POSTFIX_REQ, strlen(POSTFIX_REQ), 0, &req), POLICY_OK);
    assert_int_equal(req.size, strlen(POSTFIX_REQ));
    assert_true(policy_view_eq(&req.attr[PA_PROTOCOL_STATE], "RCPT"));
    assert_true(policy_view_eq(&req.attr[PA_RECIPIENT], "User@Gmail.com"));
    assert_true(policy_view_eq(&req.attr[PA_SASL_USERNAME], ""));
    assert_null(req.attr[PA_QUEUE_ID].ptr);
    assert_int_equal(req.nattrs, 12);
}

static void needs_more_until_the_empty_line(void **state)
{
    struct policy_limits lim;
    struct policy_request req;
    size_t resume = 0;
    policy_limits_default(&lim);
    size_t n = strlen(POSTFIX_REQ);
    /* Feed one byte at a time: every prefix is incomplete, the whole is OK. */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(policy_parse(POSTFIX_REQ, i, 0, &lim, &resume, &req), POLICY_NEED_MORE);
    assert_int_equal(policy_parse(POSTFIX_REQ, n, 0, &lim, &resume, &req), POLICY_OK);
    assert_true(policy_view_eq(&req.attr[PA_SENDER], "sender@example.com"));
}

static void two_pipelined_requests_parse_one_after_the_other(void **state)
{
    char two[2 * sizeof POSTFIX_REQ];
    size_t n = strlen(POSTFIX_REQ);
    memcpy(two, POSTFIX_REQ, n);
    memcpy(two + n, POSTFIX_REQ, n);
    struct policy_request req;
    assert_int_equal(parse_all(two, 2 * n, 0, &req), POLICY_OK);
    assert_int_equal(req.size, n);
    assert_int_equal(parse_all(two + req.size, 2 * n - req.size, 0, &req), POLICY_OK);
    assert_int_equal(req.size, n);
}

static void crlf_lines_are_accepted(void **state)
{
    const char *s = "request=smtpd_access_policy\r\nprotocol_state=END-OF-MESSAGE\r\nsize=1234\r\n\r\n";
    struct policy_request req;
    unsigned long long size = 0;
    assert_int_equal(parse_all(s, strlen(s), 0, &req), POLICY_OK);
    assert_true(policy_view_eq(&req.attr[PA_PROTOCOL_STATE], "END-OF-MESSAGE"));
    assert_int_equal(policy_view_ulong(&req.attr[PA_SIZE], 1ULL << 40, &size), 0);
    assert_int_equal(size, 1234);
}

static void half_close_without_empty_line_is_a_request(void **state)
{
    const char *s = "request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=a@b.example\n";
    struct policy_request req;
    assert_int_equal(parse_all(s, strlen(s), 0, &req), POLICY_NEED_MORE);
    assert_int_equal(parse_all(s, strlen(s), 1, &req), POLICY_OK);
    assert_true(policy_view_eq(&req.attr[PA_RECIPIENT], "a@b.example"));
}

static void half_close_inside_a_line_is_truncated(void **state)
{
    const char *s = "request=smtpd_access_policy\nprotocol_state=RC";
    struct policy_request req;
    assert_int_equal(parse_all(s, strlen(s), 1, &req), POLICY_ERR_TRUNCATED);
    assert_int_equal(parse_all("", 0, 1, &req), POLICY_NEED_MORE);
}

static void line_without_equals_is_malformed(void **state)
{
    const char *s = "request=smtpd_access_policy\nhello world\n\n";
    struct policy_request req;
    assert_int_equal(parse_all(s, strlen(s), 0, &req), POLICY_ERR_SYNTAX);
}

static void nul_byte_is_malformed(void **state)
{
    const char s[] = "request=smtpd_access_policy\nsender=a\0b\n\n";
    struct policy_request req;
    assert_int_equal(parse_all(s, sizeof s - 1, 0, &req), POLICY_ERR_SYNTAX);
}

static void empty_or_odd_names_are_malformed(void **state)
{
    struct policy_request req;
    const char *a = "request=smtpd_access_policy\n=x\n\n";
    const char *b = "request=smtpd_access_policy\nna me=x\n\n";
    assert_int_equal(parse_all(a, strlen(a), 0, &req), POLICY_ERR_NAME);
    assert_int_equal(parse_all(b, strlen(b), 0, &req), POLICY_ERR_NAME);
}

static void repeated_known_attribute_is_malformed(void **state)
{
    const char *s = "request=smtpd_access_policy\nsender=a@x\nsender=b@y\n\n";
    struct policy_request req;
    assert_int_equal(parse_all(s, strlen(s), 0, &req), POLICY_ERR_DUP);
}

static void missing_or_wrong_request_type_is_malformed(void **state)
{
    struct policy_request req;
    const char *a = "protocol_state=RCPT\n\n";
    const char *b = "request=junk\n\n";
    assert_int_equal(parse_all(a, strlen(a), 0, &req), POLICY_ERR_REQUEST);
    assert_int_equal(parse_all(b, strlen(b), 0, &req), POLICY_ERR_REQUEST);
}

static void value_longer_than_limit_fails_before_the_line_ends(void **state)
{
    struct policy_limits lim;
    struct policy_request req;
    char big[400];
    size_t resume = 0;
    policy_limits_default(&lim);
    lim.max_value = 100;
    memset(big, 'x', sizeof big);
    memcpy(big, "sender=", 7);
    /* No newline yet: the parser must not wait for one forever. */
    assert_int_equal(policy_parse(big, sizeof big, 0, &lim, &resume, &req), POLICY_ERR_VALUE);
}

static void too_many_attributes_fail(void **state)
{
    struct policy_limits lim;
    struct policy_request req;
    size_t resume = 0;
    const char *s = "request=smtpd_access_policy\na=1\nb=2\nc=3\n\n";
    policy_limits_default(&lim);
    lim.max_attrs = 3;
    assert_int_equal(policy_parse(s, strlen(s), 0, &lim, &resume, &req), POLICY_ERR_ATTRS);
}

static void request_longer_than_limit_fails(void **state)
{
    struct policy_limits lim;
    struct policy_request req;
    size_t resume = 0;
    char buf[600];
    size_t n = 0;
    policy_limits_default(&lim);
    lim.max_request = 256;
    n += (size_t)snprintf(buf, sizeof buf, "request=smtpd_access_policy\n");
    while (n + 10 < sizeof buf)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "x_%02zu=abc\n", n % 97);
    assert_int_equal(policy_parse(buf, n, 0, &lim, &resume, &req), POLICY_ERR_SIZE);
}

static void ulong_rejects_garbage_and_overflow(void **state)
{
    unsigned long long v;
    struct mail_view a = { "12x", 3 }, b = { "", 0 }, c = { "99999999999999999999", 20 }, d = { "42", 2 };
    assert_int_equal(policy_view_ulong(&a, 1000, &v), -1);
    assert_int_equal(policy_view_ulong(&b, 1000, &v), -1);
    assert_int_equal(policy_view_ulong(&c, ~0ULL, &v), -1);
    assert_int_equal(policy_view_ulong(&d, 41, &v), -1);
    assert_int_equal(policy_view_ulong(&d, 42, &v), 0);
    assert_int_equal(v, 42);
    /* A digit above a small max: max - digit must not wrap around. */
    struct mail_view e = { "9", 1 }, f = { "17", 2 };
    assert_int_equal(policy_view_ulong(&e, 5, &v), -1);
    assert_int_equal(policy_view_ulong(&f, 5, &v), -1);
    assert_int_equal(policy_view_ulong(&e, 9, &v), 0);
    assert_int_equal(v, 9);
}

static void case_insensitive_compare(void **state)
{
    struct mail_view v = { "end-of-MESSAGE", 14 };
    assert_true(policy_view_ieq(&v, "END-OF-MESSAGE"));
    assert_false(policy_view_eq(&v, "END-OF-MESSAGE"));
    assert_false(policy_view_ieq(&v, "END-OF-MESSAG"));
    /* An attribute given empty equals ""; an absent one (ptr NULL) equals nothing. */
    struct mail_view empty = { "", 0 }, absent = { NULL, 0 };
    assert_true(policy_view_ieq(&empty, ""));
    assert_true(policy_view_eq(&empty, ""));
    assert_false(policy_view_ieq(&absent, ""));
    assert_false(policy_view_eq(&absent, ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_a_postfix_request),
        cmocka_unit_test(needs_more_until_the_empty_line),
        cmocka_unit_test(two_pipelined_requests_parse_one_after_the_other),
        cmocka_unit_test(crlf_lines_are_accepted),
        cmocka_unit_test(half_close_without_empty_line_is_a_request),
        cmocka_unit_test(half_close_inside_a_line_is_truncated),
        cmocka_unit_test(line_without_equals_is_malformed),
        cmocka_unit_test(nul_byte_is_malformed),
        cmocka_unit_test(empty_or_odd_names_are_malformed),
        cmocka_unit_test(repeated_known_attribute_is_malformed),
        cmocka_unit_test(missing_or_wrong_request_type_is_malformed),
        cmocka_unit_test(value_longer_than_limit_fails_before_the_line_ends),
        cmocka_unit_test(too_many_attributes_fail),
        cmocka_unit_test(request_longer_than_limit_fails),
        cmocka_unit_test(ulong_rejects_garbage_and_overflow),
        cmocka_unit_test(case_insensitive_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
