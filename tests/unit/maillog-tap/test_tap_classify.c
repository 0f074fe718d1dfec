/*
 * test_tap_classify.c - unit tests of maillog-tap's use of the shared
 * classifier (maillog-tap/tap_classify.c, tap_provider.c): provider by
 * recipient domain then by MX host, and the verdicts of real delivery-log
 * lines (rate limit naming what is limited, our-own-setup faults, hard
 * recipient failures, network errors without a remote reply).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tap_classify.h"
#include "tap_postfix.h"

#define REF 1796256000LL

static struct reply_rules *rules;
static struct tap_provider *tp;

static int setup(void **state)
{
    char err[256] = "";
    rules = reply_rules_default(err, sizeof(err));
    tp = tap_provider_new(err, sizeof(err));
    if (rules == NULL || tp == NULL)
        fprintf(stderr, "setup: %s\n", err);
    return rules == NULL || tp == NULL;
}

static int teardown(void **state)
{
    reply_rules_free(rules);
    tap_provider_free(tp);
    return 0;
}

static struct tap_verdict judge(const char *line)
{
    struct tap_event ev;
    struct tap_verdict v;
    assert_int_equal(tap_postfix_parse(line, strlen(line), REF, &ev), TAP_LINE_OUTCOME);
    tap_classify(rules, tp, &ev, &v);
    return v;
}

static void test_provider_by_domain_then_mx(void **state)
{
    assert_string_equal(tap_provider_of(tp, "a@gmail.com", 11, NULL, 0), "gmail");
    assert_string_equal(tap_provider_of(tp, "a@Web.DE", 8, NULL, 0), "gmx");
    assert_string_equal(tap_provider_of(tp, "a@wanadoo.fr", 12, NULL, 0), "orange");
    assert_string_equal(tap_provider_of(tp, "a@comcast.net", 13, NULL, 0), "comcast");
    /* a Workspace-hosted domain: the MX says gmail */
    const char *mx = "aspmx.l.google.com";
    assert_string_equal(tap_provider_of(tp, "a@example.org", 13, mx, strlen(mx)), "gmail");
    mx = "example-org.mail.protection.outlook.com";
    assert_string_equal(tap_provider_of(tp, "a@example.org", 13, mx, strlen(mx)), "microsoft");
    mx = "mx.example.org";
    assert_string_equal(tap_provider_of(tp, "a@example.org", 13, mx, strlen(mx)), "other");
    assert_string_equal(tap_provider_of(tp, NULL, 0, NULL, 0), "other");
    /* bytes a host name cannot hold (a NUL from the fuzzer) are never looked up */
    assert_string_equal(tap_provider_of(tp, "a@gmail.com\0x", 13, NULL, 0), "other");
    assert_string_equal(tap_provider_of(tp, "a@gm ail.com", 12, "mx\x01.google.com", 15), "other");
}

static void test_gmail_rate_limit_names_the_ip(void **state)
{
    struct tap_verdict v =
        judge("Nov 28 11:39:45 mx1 postfix/smtp-192.0.2.10/smtp[10712]: 7A8F9A72501: to=<user@gmail.com>, "
              "relay=gmail-smtp-in.l.google.com[142.250.102.27]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=4.7.28, "
              "status=deferred (host gmail-smtp-in.l.google.com[142.250.102.27] said: 421-4.7.28 Gmail has detected "
              "an unusual rate of unsolicited mail originating from your IP address 192.0.2.10. 421 4.7.28 To protect "
              "our users from spam, mail sent from your IP address has been temporarily rate limited. - gsmtp "
              "(in reply to end of DATA command))");
    assert_string_equal(v.provider, "gmail");
    assert_string_equal(v.reply.category, "ratelimited");
    assert_int_equal(v.reply.cls, REPLY_CLASS_SOFT);
    assert_false(v.reply.our_fault);
    assert_non_null(v.reply.limited);
    assert_string_equal(v.reply.limited, "ip");
}

static void test_microsoft_5_7_515_is_our_fault(void **state)
{
    struct tap_verdict v = judge(
        "Nov 28 11:45:00 mx1 postfix/smtp-192.0.2.11/smtp[10715]: 3C4D5E6F70: to=<pat@hotmail.com>, "
        "relay=hotmail-com.olc.protection.outlook.com[52.101.73.17]:25, delay=1, delays=0/0/0.5/0.5, dsn=5.7.515, "
        "status=bounced (host hotmail-com.olc.protection.outlook.com[52.101.73.17] said: 550 5.7.515 Access denied, "
        "sending domain example.org does not meet the required authentication level. (in reply to end of DATA command))");
    assert_string_equal(v.provider, "microsoft");
    assert_true(v.reply.our_fault);
    assert_int_not_equal(v.reply.cls, REPLY_CLASS_HARD);
}

static void test_hard_user_unknown_and_network_error(void **state)
{
    struct tap_verdict v =
        judge("Nov 28 11:42:00 mx1 postfix/smtp[10714]: 1A2B3C4D5F: to=<nobody@gmail.com>, "
              "relay=gmail-smtp-in.l.google.com[142.250.102.27]:25, delay=0.9, delays=0/0/0.5/0.4, dsn=5.1.1, "
              "status=bounced (host gmail-smtp-in.l.google.com[142.250.102.27] said: 550-5.1.1 The email account that "
              "you tried to reach does not exist. 550 5.1.1 - gsmtp (in reply to RCPT TO command))");
    assert_string_equal(v.reply.category, "userunknown");
    assert_int_equal(v.reply.cls, REPLY_CLASS_HARD);
    v = judge("Nov 28 11:42:01 mx1 postfix/smtp[10714]: 1A2B3C4D60: to=<x@example.org>, relay=none, delay=30, "
              "delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to mx.example.org[192.0.2.99]:25: Connection "
              "timed out)");
    assert_string_equal(v.provider, "other");
    assert_string_equal(v.reply.category, "networkerror");
    assert_int_equal(v.reply.cls, REPLY_CLASS_SOFT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_by_domain_then_mx),
        cmocka_unit_test(test_gmail_rate_limit_names_the_ip),
        cmocka_unit_test(test_microsoft_5_7_515_is_our_fault),
        cmocka_unit_test(test_hard_user_unknown_and_network_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
