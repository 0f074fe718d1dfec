/*
 * test_tap_postfix.c - unit tests of the Postfix log-line parser
 * (maillog-tap/tap_postfix.c, tap_text.c): syslog and maillog_file
 * timestamps, per-IP syslog_name labels, remote replies and the command
 * they answered, multi-line replies (last line's code), error(8) repeats,
 * local transports, and hostile lines (cut anywhere, junk, overlong).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tap_postfix.h"
#include "tap_text.h"

/* 2026-12-03 00:00:00 UTC: the reference clock for BSD timestamps */
#define REF 1796256000LL

static struct tap_event ev;

static enum tap_kind parse(const char *line)
{
    return tap_postfix_parse(line, strlen(line), REF, &ev);
}

static void assert_view(struct tap_str v, const char *want)
{
    if (want == NULL) {
        assert_null(v.p);
        return;
    }
    assert_non_null(v.p);
    char buf[2048];
    assert_true(v.n < sizeof(buf));
    memcpy(buf, v.p, v.n);
    buf[v.n] = '\0';
    assert_string_equal(buf, want);
}

static void test_gmail_4728_deferral_per_ip_label(void **state)
{
    const char *line =
        "Nov 28 11:39:45 mx1 postfix/smtp-192.0.2.10/smtp[10712]: 7A8F9A72501: to=<user@gmail.com>, "
        "relay=gmail-smtp-in.l.google.com[142.250.102.27]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=4.7.28, "
        "status=deferred (host gmail-smtp-in.l.google.com[142.250.102.27] said: 421-4.7.28 Gmail has detected "
        "an unusual rate of unsolicited mail originating from your IP address 192.0.2.10. 421-4.7.28 To protect "
        "our users from spam, mail sent from your IP address has been temporarily rate limited. 421 4.7.28 "
        "https://support.google.com/mail/?p=UnsolicitedRateLimitError a1si123 - gsmtp (in reply to end of DATA command))";
    assert_int_equal(parse(line), TAP_LINE_OUTCOME);
    assert_int_equal(ev.mta, TAP_MTA_POSTFIX);
    assert_true(ev.time == tap_time_utc(2026, 11, 28, 11, 39, 45));
    assert_view(ev.syslog_name, "postfix/smtp-192.0.2.10");
    assert_view(ev.service, "smtp");
    assert_view(ev.transport, "smtp-192.0.2.10");
    assert_view(ev.source_ip, "192.0.2.10");
    assert_view(ev.queue_id, "7A8F9A72501");
    assert_view(ev.recipient, "user@gmail.com");
    assert_view(ev.relay_host, "gmail-smtp-in.l.google.com");
    assert_view(ev.relay_ip, "142.250.102.27");
    assert_int_equal(ev.relay_port, 25);
    assert_view(ev.dsn, "4.7.28");
    assert_int_equal(ev.status, TAP_STATUS_DEFERRED);
    assert_int_equal(ev.smtp_code, 421);
    assert_view(ev.reply_dsn, "4.7.28");
    assert_string_equal(ev.command, "DATA");
    assert_true(ev.remote_reply);
    assert_true(ev.reply.n > 0 && strncmp(ev.reply.p, "421-4.7.28 Gmail", 16) == 0);
    /* the "(in reply to ...)" suffix is not part of the reply */
    assert_int_equal(ev.reply.p[ev.reply.n - 1], 'p');
}

static void test_brief_syslog_name_without_ip(void **state)
{
    const char *line =
        "Dec  1 08:00:01 mta postfix-ip2/smtp[999]: 4dQx1p2Wz3: to=<a@yahoo.com>, "
        "relay=mta5.am0.yahoodns.net[67.195.204.72]:25, delay=0.5, delays=0/0/0.3/0.2, dsn=4.7.0, "
        "status=deferred (host mta5.am0.yahoodns.net[67.195.204.72] said: 421 4.7.0 [TSS04] Messages from "
        "192.0.2.11 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see "
        "https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command))";
    assert_int_equal(parse(line), TAP_LINE_OUTCOME);
    assert_true(ev.time == tap_time_utc(2026, 12, 1, 8, 0, 1));
    assert_view(ev.syslog_name, "postfix-ip2");
    assert_view(ev.transport, "postfix-ip2");
    assert_null(ev.source_ip.p);
    assert_view(ev.queue_id, "4dQx1p2Wz3");
    assert_string_equal(ev.command, "MAIL");
    assert_int_equal(ev.smtp_code, 421);
    assert_view(ev.reply_dsn, "4.7.0");
}

static void test_maillog_file_fraction_and_iso_timestamps(void **state)
{
    const char *a =
        "Nov 28 11:39:45.123456 mta-lab postfix-lab/smtp-127.0.0.2/smtp[10712]: 7A8F9A72501: to=<a@example.com>, "
        "relay=127.0.0.1[127.0.0.1]:44191, delay=0.03, delays=0.01/0/0.01/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok)";
    assert_int_equal(parse(a), TAP_LINE_OUTCOME);
    assert_true(ev.time == tap_time_utc(2026, 11, 28, 11, 39, 45));
    assert_view(ev.transport, "smtp-127.0.0.2");
    assert_view(ev.source_ip, "127.0.0.2");
    assert_int_equal(ev.status, TAP_STATUS_SENT);
    assert_int_equal(ev.smtp_code, 250);
    assert_view(ev.reply, "250 2.0.0 Ok");
    assert_true(ev.remote_reply);

    const char *b =
        "2026-11-28T12:39:45.123456+01:00 mx1 postfix/smtp[1]: ABCDE12345: to=<b@outlook.com>, "
        "relay=outlook-com.olc.protection.outlook.com[52.101.73.17]:25, delay=2, delays=0/0/1/1, dsn=2.6.0, "
        "status=sent (250 2.6.0 <x@y> [InternalId=1] Queued mail for delivery)";
    assert_int_equal(parse(b), TAP_LINE_OUTCOME);
    assert_true(ev.time == tap_time_utc(2026, 11, 28, 11, 39, 45));
    assert_view(ev.transport, "smtp"); /* plain postfix/smtp: the default transport */
    assert_null(ev.source_ip.p);
}

static void test_year_rollover(void **state)
{
    /* read on 2026-12-03: "Dec 31" is last year's */
    const char *line =
        "Dec 31 23:59:59 mx postfix/smtp[1]: ABCDE12345: to=<b@x.org>, relay=none, delay=1, "
        "delays=1/0/0/0, dsn=4.4.1, status=deferred (connect to x.org[192.0.2.1]:25: Connection timed out)";
    assert_int_equal(parse(line), TAP_LINE_OUTCOME);
    assert_true(ev.time == tap_time_utc(2025, 12, 31, 23, 59, 59));
    assert_false(ev.remote_reply);
    assert_int_equal(ev.smtp_code, 0);
    assert_string_equal(ev.command, "CONNECT");
    assert_view(ev.relay_host, "none");
}

static void test_error_repeat_is_not_an_event(void **state)
{
    const char *line =
        "Nov 28 11:40:00 mx1 postfix/error[2001]: 8B9CAB83612: to=<other@gmail.com>, relay=none, delay=0.1, "
        "delays=0.1/0/0/0, dsn=4.7.28, status=deferred (delivery temporarily suspended: host "
        "gmail-smtp-in.l.google.com[142.250.102.27] said: 421-4.7.28 Gmail has detected an unusual rate 421 4.7.28 "
        "- gsmtp (in reply to end of DATA command))";
    assert_int_equal(parse(line), TAP_LINE_REPEAT);
}

static void test_connect_refusal_and_rcpt_bounce(void **state)
{
    const char *a =
        "Nov 28 11:41:00 mx1 postfix/smtp-192.0.2.10/smtp[10713]: 1A2B3C4D5E: to=<x@icloud.com>, "
        "relay=mx01.mail.icloud.com[17.57.154.33]:25, delay=0.4, delays=0/0/0.4/0, dsn=4.7.0, status=deferred "
        "(host mx01.mail.icloud.com[17.57.154.33] refused to talk to me: 421 4.7.0 Service unavailable)";
    assert_int_equal(parse(a), TAP_LINE_OUTCOME);
    assert_string_equal(ev.command, "CONNECT");
    assert_int_equal(ev.smtp_code, 421);
    assert_true(ev.remote_reply);

    const char *b =
        "Nov 28 11:42:00 mx1 postfix/smtp[10714]: 1A2B3C4D5F: to=<nobody@gmail.com>, orig_to=<list@example.org>, "
        "relay=gmail-smtp-in.l.google.com[142.250.102.27]:25, conn_use=3, delay=0.9, delays=0/0/0.5/0.4, dsn=5.1.1, "
        "status=bounced (host gmail-smtp-in.l.google.com[142.250.102.27] said: 550-5.1.1 The email account that "
        "you tried to reach does not exist. 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser - gsmtp "
        "(in reply to RCPT TO command))";
    assert_int_equal(parse(b), TAP_LINE_OUTCOME);
    assert_int_equal(ev.status, TAP_STATUS_BOUNCED);
    assert_string_equal(ev.command, "RCPT");
    assert_int_equal(ev.smtp_code, 550);
    assert_view(ev.reply_dsn, "5.1.1");
}

static void test_multiline_keeps_last_code(void **state)
{
    /* a server whose last line carries a different code: the last one counts */
    const char *line =
        "Nov 28 11:43:00 mx1 postfix/smtp[1]: ABCDE12346: to=<u@example.net>, relay=mx.example.net[192.0.2.7]:25, "
        "delay=1, delays=0/0/0/1, dsn=4.2.0, status=deferred (host mx.example.net[192.0.2.7] said: 450-4.2.0 first "
        "line 451-4.3.0 second 452 4.2.2 mailbox full (in reply to RCPT TO command))";
    assert_int_equal(parse(line), TAP_LINE_OUTCOME);
    assert_int_equal(ev.smtp_code, 452);
    assert_view(ev.reply_dsn, "4.2.2");
}

static void test_local_and_other_lines(void **state)
{
    assert_int_equal(parse("Nov 28 11:44:00 mx1 postfix/local[3]: ABCDE12347: to=<root@mx1>, relay=local, delay=0, "
                           "delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)"),
                     TAP_LINE_LOCAL);
    assert_int_equal(parse("Nov 28 11:44:00 mx1 postfix/pipe[4]: ABCDE12348: to=<b@bounce.example>, relay=bounceproc, "
                           "delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered via bounceproc service)"),
                     TAP_LINE_LOCAL);
    assert_int_equal(
        parse("Nov 28 11:44:01 mx1 postfix/qmgr[5]: ABCDE12347: from=<a@b>, size=100, nrcpt=1 (queue active)"),
        TAP_LINE_OTHER);
    assert_int_equal(
        parse("Nov 28 11:44:01 mx1 postfix/qmgr[5]: ABCDE12347: from=<a@b>, status=expired, returned to sender"),
        TAP_LINE_OTHER);
    assert_int_equal(parse("Nov 28 11:44:02 mx1 sshd[6]: Accepted publickey for root"), TAP_LINE_OTHER);
    assert_int_equal(parse(""), TAP_LINE_OTHER);
    /* the earlier-MX attempt without to= is not an outcome (field notes, addendum) */
    assert_int_equal(parse("Nov 28 11:44:03 mx1 postfix/smtp[7]: ABCDE12349: host alt1.gmail-smtp-in.l.google.com"
                           "[142.250.1.27] said: 421 4.7.0 Try again later (in reply to end of DATA command)"),
                     TAP_LINE_OTHER);
}

static void test_reply_code_scanner(void **state)
{
    int code;
    struct tap_str dsn;
    tap_reply_code("250 ok", 6, &code, &dsn);
    assert_int_equal(code, 250);
    assert_null(dsn.p);
    tap_reply_code("hello", 5, &code, &dsn);
    assert_int_equal(code, 0);
    const char *exim = "421-4.7.0 [1.2.3.4 15] Our system\\n421-4.7.0 more\\n421 4.7.0 review";
    tap_reply_code(exim, strlen(exim), &code, &dsn);
    assert_int_equal(code, 421);
    assert_non_null(dsn.p);
    assert_true(dsn.p > exim + 40); /* the last line's code, not the first */
    tap_reply_code("421", 3, &code, &dsn);
    assert_int_equal(code, 421);
    tap_reply_code("4211 x", 6, &code, &dsn);
    assert_int_equal(code, 0);
}

static void test_hostile_prefixes_never_read_past_the_end(void **state)
{
    const char *line =
        "Nov 28 11:39:45 mx1 postfix/smtp-192.0.2.10/smtp[10712]: 7A8F9A72501: to=<user@gmail.com>, "
        "relay=gmail-smtp-in.l.google.com[142.250.102.27]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=4.7.28, "
        "status=deferred (host gmail-smtp-in.l.google.com[142.250.102.27] said: 421-4.7.28 x 421 4.7.28 y "
        "(in reply to end of DATA command))";
    size_t n = strlen(line);
    int outcomes = 0;
    for (size_t k = 0; k <= n; k++) {
        /* an exact-size heap copy so ASan sees any read past the cut */
        char *cut = malloc(k ? k : 1);
        memcpy(cut, line, k);
        if (tap_postfix_parse(cut, k, REF, &ev) == TAP_LINE_OUTCOME) {
            outcomes++;
            assert_true(ev.text.p == NULL || ev.text.p + ev.text.n <= cut + k);
            assert_true(ev.reply.p == NULL || ev.reply.p + ev.reply.n <= cut + k);
        }
        free(cut);
    }
    /* only cuts at or after the closing parenthesis of status=... (...) parse whole */
    assert_true(outcomes >= 1);
    /* junk and overlong */
    char big[TAP_LINE_MAX + 10];
    memset(big, 'A', sizeof(big));
    assert_int_equal(tap_postfix_parse(big, sizeof(big), REF, &ev), TAP_LINE_OTHER);
    assert_int_equal(parse("Nov 28 11:39:45 h p/smtp[1]: ABCDE: to=<"), TAP_LINE_OTHER);
    assert_int_equal(parse("Nov 28 11:39:45 h p/smtp[1]: ABCDE: to=<a>, status=deferred ("), TAP_LINE_OUTCOME);
    assert_int_equal(parse("Nov 99 11:39:45 h p/smtp[1]: ABCDE: to=<a>, status=sent (250 ok)"), TAP_LINE_OTHER);
    assert_int_equal(parse("Nov 28 11:39:45 h p/smtp[99999999999999]: ABCDE: to=<a>, status=sent (250 ok)"),
                     TAP_LINE_OTHER);
    /* an empty label component (fuzzer find): the whole syslog_name labels the transport */
    assert_int_equal(parse("Nov 28 11:39:45 h p///smtp[1]: ABCDE: to=<a@gmail.com>, status=sent (250 ok)"),
                     TAP_LINE_OUTCOME);
    assert_view(ev.transport, "p//");
}

static void test_ip_literal_check(void **state)
{
    assert_true(tap_is_ip("192.0.2.1", 9));
    assert_true(tap_is_ip("2001:db8::10", 12));
    assert_false(tap_is_ip("192.0.2", 7));
    assert_false(tap_is_ip("256.0.2.1", 9));
    assert_false(tap_is_ip("1.2.3.4.", 8));
    assert_false(tap_is_ip("ip2", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gmail_4728_deferral_per_ip_label),
        cmocka_unit_test(test_brief_syslog_name_without_ip),
        cmocka_unit_test(test_maillog_file_fraction_and_iso_timestamps),
        cmocka_unit_test(test_year_rollover),
        cmocka_unit_test(test_error_repeat_is_not_an_event),
        cmocka_unit_test(test_connect_refusal_and_rcpt_bounce),
        cmocka_unit_test(test_multiline_keeps_last_code),
        cmocka_unit_test(test_local_and_other_lines),
        cmocka_unit_test(test_reply_code_scanner),
        cmocka_unit_test(test_hostile_prefixes_never_read_past_the_end),
        cmocka_unit_test(test_ip_literal_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
