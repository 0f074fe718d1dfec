/*
 * test_inbound_decide.c - unit tests of the per-recipient policy
 * (common/inbound_decide.h): one test per line of the table in its header.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "inbound_decide.h"

static struct inbound_report rep(enum inbound_kind kind)
{
    struct inbound_report r;
    memset(&r, 0, sizeof(r));
    r.kind = kind;
    return r;
}

static struct inbound_rcpt bounce_rcpt(const char *action, enum reply_class cls, bool our_fault)
{
    struct inbound_rcpt rc;
    memset(&rc, 0, sizeof(rc));
    rc.recipient = "user@example.org";
    rc.action = (char *)action;
    rc.classified = true;
    rc.verdict.category = "x";
    rc.verdict.cls = cls;
    rc.verdict.our_fault = our_fault;
    return rc;
}

static void decide(enum inbound_kind kind, const struct inbound_rcpt *rc, bool verified, bool accept_unverified,
                   bool suppress_unsubscribe, struct inbound_action *a)
{
    struct inbound_report r = rep(kind);
    memset(a, 0x5a, sizeof(*a)); /* every field must be set by the call */
    inbound_decide(&r, rc, verified, accept_unverified, suppress_unsubscribe, a);
}

#define assert_str_or_null(got, want) \
    ((want) == NULL ? assert_null(got) : assert_string_equal((got) ? (got) : "(null)", (want)))

static void hard_suppresses_and_counts(void **state)
{
    struct inbound_rcpt rc = bounce_rcpt("failed", REPLY_CLASS_HARD, false);
    struct inbound_action a;
    decide(INBOUND_BOUNCE, &rc, true, false, false, &a);
    assert_true(a.acts);
    assert_str_or_null(a.suppress, "hard");
    assert_str_or_null(a.count, "hard");
    assert_int_equal(a.soft, INBOUND_SOFT_NONE);
    assert_false(a.alert);
    assert_non_null(a.why);
}

static void soft_counts_and_escalates(void **state)
{
    struct inbound_rcpt rc = bounce_rcpt("failed", REPLY_CLASS_SOFT, false);
    struct inbound_action a;
    decide(INBOUND_BOUNCE, &rc, true, false, false, &a);
    assert_null(a.suppress);
    assert_str_or_null(a.count, "soft");
    assert_int_equal(a.soft, INBOUND_SOFT_COUNT);
    assert_false(a.alert);
}

static void unknown_is_streamed_only(void **state)
{
    struct inbound_rcpt rc = bounce_rcpt("failed", REPLY_CLASS_UNKNOWN, false);
    struct inbound_action a;
    decide(INBOUND_BOUNCE, &rc, true, false, false, &a);
    assert_true(a.acts);
    assert_null(a.suppress);
    assert_null(a.count);
    assert_int_equal(a.soft, INBOUND_SOFT_NONE);
    assert_false(a.alert);
    /* an unclassified line is unknown whatever its verdict holds */
    rc = bounce_rcpt("failed", REPLY_CLASS_HARD, false);
    rc.classified = false;
    decide(INBOUND_BOUNCE, &rc, true, false, false, &a);
    assert_null(a.suppress);
    assert_null(a.count);
}

static void our_fault_alerts_only(void **state)
{
    struct inbound_rcpt rc = bounce_rcpt("failed", REPLY_CLASS_HARD, true);
    struct inbound_action a;
    decide(INBOUND_BOUNCE, &rc, true, false, false, &a);
    assert_true(a.alert);
    assert_null(a.suppress);
    assert_null(a.count);
    assert_int_equal(a.soft, INBOUND_SOFT_NONE);
    rc = bounce_rcpt("failed", REPLY_CLASS_SOFT, true);
    decide(INBOUND_BOUNCE, &rc, true, false, false, &a);
    assert_true(a.alert);
    assert_null(a.count);
}

static void delivered_relayed_expanded_do_nothing(void **state)
{
    static const char *const actions[] = { "delivered", "relayed", "expanded", "DELIVERED" };
    for (size_t i = 0; i < 4; i++) {
        struct inbound_rcpt rc = bounce_rcpt(actions[i], REPLY_CLASS_HARD, false);
        struct inbound_action a;
        decide(INBOUND_BOUNCE, &rc, true, false, false, &a);
        assert_null(a.suppress);
        assert_null(a.count);
        assert_false(a.alert);
        assert_int_not_equal(a.soft, INBOUND_SOFT_COUNT);
    }
}

static void delay_counts_soft_without_escalating(void **state)
{
    struct inbound_rcpt rc = bounce_rcpt("delayed", REPLY_CLASS_HARD, false);
    struct inbound_action a;
    decide(INBOUND_BOUNCE, &rc, true, false, false, &a);
    assert_null(a.suppress);
    assert_str_or_null(a.count, "soft");
    assert_int_equal(a.soft, INBOUND_SOFT_NONE);
}

static void auto_reply_resets(void **state)
{
    struct inbound_rcpt rc = bounce_rcpt(NULL, REPLY_CLASS_UNKNOWN, false);
    struct inbound_action a;
    decide(INBOUND_AUTOREPLY, &rc, true, false, false, &a);
    assert_int_equal(a.soft, INBOUND_SOFT_RESET);
    assert_null(a.suppress);
    assert_null(a.count);
    assert_false(a.alert);
}

static void complaint_line(const char *type, bool suppress_unsubscribe, const char *suppress, const char *count,
                           bool alert)
{
    struct inbound_rcpt rc;
    memset(&rc, 0, sizeof(rc));
    rc.recipient = "user@example.org";
    rc.feedback_type = (char *)type;
    struct inbound_action a;
    decide(INBOUND_COMPLAINT, &rc, true, false, suppress_unsubscribe, &a);
    assert_str_or_null(a.suppress, suppress);
    assert_str_or_null(a.count, count);
    assert_int_equal(a.alert, alert);
}

static void complaints_by_type(void **state)
{
    complaint_line("abuse", false, "complaint", "complaint", false);
    complaint_line("fraud", false, "complaint", "complaint", false);
    complaint_line(NULL, false, "complaint", "complaint", false);
    complaint_line("not-spam", false, NULL, NULL, false);
    complaint_line("unsubscribe", false, NULL, NULL, false);
    complaint_line("unsubscribe", true, "unsubscribe", NULL, false);
    complaint_line("virus", false, NULL, "other_report", false);
    complaint_line("other", false, NULL, "other_report", false);
    complaint_line("auth-failure", false, NULL, "authfail", true);
    /* the report-wide type stands in for a line without one */
    struct inbound_report r = rep(INBOUND_COMPLAINT);
    r.feedback_type = "not-spam";
    struct inbound_rcpt rc;
    memset(&rc, 0, sizeof(rc));
    rc.recipient = "user@example.org";
    struct inbound_action a;
    inbound_decide(&r, &rc, true, false, false, &a);
    assert_null(a.suppress);
}

static void auth_failure_report_alerts_and_counts(void **state)
{
    struct inbound_rcpt rc;
    memset(&rc, 0, sizeof(rc));
    rc.recipient = "user@example.org";
    struct inbound_action a;
    decide(INBOUND_AUTHFAIL, &rc, true, false, false, &a);
    assert_true(a.alert);
    assert_str_or_null(a.count, "authfail");
    assert_null(a.suppress);
}

static void unverified_acts_on_nothing(void **state)
{
    struct inbound_rcpt rc = bounce_rcpt("failed", REPLY_CLASS_HARD, false);
    struct inbound_action a;
    decide(INBOUND_BOUNCE, &rc, false, false, false, &a);
    assert_false(a.acts);
    assert_null(a.suppress);
    assert_null(a.count);
    assert_int_equal(a.soft, INBOUND_SOFT_NONE);
    assert_non_null(a.why);
    /* unless the configuration accepts unverified reports */
    decide(INBOUND_BOUNCE, &rc, false, true, false, &a);
    assert_true(a.acts);
    assert_str_or_null(a.suppress, "hard");
    /* a soft line too */
    rc = bounce_rcpt("failed", REPLY_CLASS_SOFT, false);
    decide(INBOUND_BOUNCE, &rc, false, false, false, &a);
    assert_null(a.count);
    assert_int_equal(a.soft, INBOUND_SOFT_NONE);
}

static void redacted_recipient_never_suppresses(void **state)
{
    struct inbound_rcpt rc = bounce_rcpt("failed", REPLY_CLASS_HARD, false);
    rc.recipient = NULL;
    struct inbound_action a;
    decide(INBOUND_BOUNCE, &rc, true, false, false, &a);
    assert_null(a.suppress);
    assert_int_equal(a.soft, INBOUND_SOFT_NONE);
    assert_str_or_null(a.count, "hard"); /* the health counter still moves */
    struct inbound_rcpt c;
    memset(&c, 0, sizeof(c));
    c.feedback_type = "abuse";
    decide(INBOUND_COMPLAINT, &c, true, false, false, &a);
    assert_null(a.suppress);
    assert_str_or_null(a.count, "complaint");
}

static void unrecognized_does_nothing(void **state)
{
    struct inbound_rcpt rc = bounce_rcpt("failed", REPLY_CLASS_HARD, false);
    struct inbound_action a;
    decide(INBOUND_UNRECOGNIZED, &rc, true, true, true, &a);
    assert_null(a.suppress);
    assert_null(a.count);
    assert_false(a.alert);
    assert_false(a.acts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hard_suppresses_and_counts),
        cmocka_unit_test(soft_counts_and_escalates),
        cmocka_unit_test(unknown_is_streamed_only),
        cmocka_unit_test(our_fault_alerts_only),
        cmocka_unit_test(delivered_relayed_expanded_do_nothing),
        cmocka_unit_test(delay_counts_soft_without_escalating),
        cmocka_unit_test(auto_reply_resets),
        cmocka_unit_test(complaints_by_type),
        cmocka_unit_test(auth_failure_report_alerts_and_counts),
        cmocka_unit_test(unverified_acts_on_nothing),
        cmocka_unit_test(redacted_recipient_never_suppresses),
        cmocka_unit_test(unrecognized_does_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
