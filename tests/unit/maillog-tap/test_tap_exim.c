/*
 * test_tap_exim.c - unit tests of the Exim main-log parser
 * (maillog-tap/tap_exim.c): =>, ->, ==, ** lines, 4.96 and 4.97 message
 * ids, +pid and log_timezone, I= as the sending IP, the stage of an SMTP
 * error, "\n"-joined multi-line replies, repeats, local failures, and
 * hostile cuts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tap_exim.h"
#include "tap_text.h"

static struct tap_event ev;

static enum tap_kind parse(const char *line)
{
    return tap_exim_parse(line, strlen(line), &ev);
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

static void test_delivered_with_interface_and_confirmation(void **state)
{
    const char *line =
        "2026-11-28 10:00:00 1wN9t2-00000002BQv-3hr9 => user@gmail.com R=dnslookup T=remote_smtp_ip10 "
        "H=gmail-smtp-in.l.google.com [142.250.102.27]:25 I=[192.0.2.10]:41234 X=TLS1.3:TLS_AES_256_GCM_SHA384:256 "
        "CV=yes K C=\"250 2.0.0 OK  1764324000 a1si123.45 - gsmtp\" QT=1s DT=0.8s";
    assert_int_equal(parse(line), TAP_LINE_OUTCOME);
    assert_int_equal(ev.mta, TAP_MTA_EXIM);
    assert_true(ev.time == tap_time_utc(2026, 11, 28, 10, 0, 0));
    assert_view(ev.queue_id, "1wN9t2-00000002BQv-3hr9");
    assert_view(ev.recipient, "user@gmail.com");
    assert_view(ev.transport, "remote_smtp_ip10");
    assert_view(ev.source_ip, "192.0.2.10");
    assert_view(ev.relay_host, "gmail-smtp-in.l.google.com");
    assert_view(ev.relay_ip, "142.250.102.27");
    assert_int_equal(ev.relay_port, 25);
    assert_int_equal(ev.status, TAP_STATUS_SENT);
    assert_view(ev.reply, "250 2.0.0 OK  1764324000 a1si123.45 - gsmtp");
    assert_int_equal(ev.smtp_code, 250);
    assert_true(ev.remote_reply);
}

static void test_deferred_gmail_multiline_old_id_with_pid(void **state)
{
    const char *line =
        "2018-11-10 12:19:06 [6147] 1gKmyS-0007A2-F0 == jane@gmail.com (jane@example.net) <jane@example.ne> "
        "R=lookuphost T=remote_smtp defer (-46) H=alt4.gmail-smtp-in.l.google.com [173.194.209.27]:25: SMTP error "
        "from remote mail server after end of data: 421-4.7.0 [203.0.113.80 15] Our system has detected an unusual "
        "rate of\\n421-4.7.0 unsolicited mail originating from your IP address.\\n421 4.7.0 review our Bulk Email "
        "Senders Guidelines. p4si3522070uam.9 - gsmtp";
    assert_int_equal(parse(line), TAP_LINE_OUTCOME);
    assert_true(ev.time == tap_time_utc(2018, 11, 10, 12, 19, 6));
    assert_view(ev.queue_id, "1gKmyS-0007A2-F0");
    assert_view(ev.recipient, "jane@gmail.com");
    assert_int_equal(ev.status, TAP_STATUS_DEFERRED);
    assert_view(ev.relay_ip, "173.194.209.27");
    assert_string_equal(ev.command, "DATA");
    assert_int_equal(ev.smtp_code, 421);
    assert_view(ev.dsn, "4.7.0");
    /* the last line's enhanced code, after the second "\n" */
    assert_true(ev.reply_dsn.p > strstr(line, "address.\\n421"));
    assert_null(ev.source_ip.p);
}

static void test_deferred_pipelined_mail_from_with_timezone(void **state)
{
    const char *line =
        "2026-05-14 17:49:33 +0200 1wN9t2-00000002BQv-3hr9 == a@hotmail.com R=dnslookup T=remote_smtp "
        "defer (-46) H=hotmail-com.olc.protection.outlook.com [52.101.73.17]: SMTP error from remote mail server "
        "after pipelined MAIL FROM:<news@example.org> SIZE=4169: 451 4.7.650 The mail server [192.0.2.10] has been "
        "temporarily rate limited due to IP reputation. For e-mail delivery information, see "
        "https://aka.ms/postmaster (S775)";
    assert_int_equal(parse(line), TAP_LINE_OUTCOME);
    assert_true(ev.time == tap_time_utc(2026, 5, 14, 15, 49, 33));
    assert_string_equal(ev.command, "MAIL");
    assert_int_equal(ev.smtp_code, 451);
    assert_view(ev.dsn, "4.7.650");
    assert_true(strncmp(ev.reply.p, "451 4.7.650 The mail", 20) == 0);
}

static void test_failed_rcpt(void **state)
{
    const char *line =
        "2026-11-28 10:01:00 1gLZgZ-0001a5-ME ** nobody@gmail.com R=dnslookup T=remote_smtp "
        "H=gmail-smtp-in.l.google.com [142.250.102.27] I=[192.0.2.11]: SMTP error from remote mail server after "
        "RCPT TO:<nobody@gmail.com>: 550-5.1.1 The email account that you tried to reach does not exist.\\n550 5.1.1 "
        "https://support.google.com/mail/?p=NoSuchUser - gsmtp";
    assert_int_equal(parse(line), TAP_LINE_OUTCOME);
    assert_int_equal(ev.status, TAP_STATUS_BOUNCED);
    assert_string_equal(ev.command, "RCPT");
    assert_int_equal(ev.smtp_code, 550);
    assert_view(ev.dsn, "5.1.1");
    assert_view(ev.source_ip, "192.0.2.11");
}

static void test_repeats_locals_and_network_defers(void **state)
{
    assert_int_equal(parse("2026-11-28 10:02:00 1gLZgZ-0001a5-ME == a@gmail.com R=dnslookup T=remote_smtp "
                           "defer (-53): retry time not reached for any host for 'gmail.com'"),
                     TAP_LINE_REPEAT);
    assert_int_equal(parse("2026-11-28 10:02:00 1gLZgZ-0001a5-ME == a@gmail.com routing defer (-51): "
                           "retry time not reached"),
                     TAP_LINE_REPEAT);
    assert_int_equal(parse("2026-11-28 10:02:01 1gLZgZ-0001a5-ME ** x@nowhere.invalid <x@nowhere.invalid>: "
                           "Unrouteable address"),
                     TAP_LINE_LOCAL);
    assert_int_equal(parse("2026-11-28 10:02:02 1gLZgZ-0001a5-ME => root <root@mx1> R=system_aliases T=local_delivery"),
                     TAP_LINE_LOCAL);
    assert_int_equal(parse("2026-11-28 10:02:03 1gLZgZ-0001a5-ME == b@example.com R=dnslookup T=remote_smtp "
                           "defer (110): Connection timed out"),
                     TAP_LINE_OUTCOME);
    assert_false(ev.remote_reply);
    assert_string_equal(ev.command, "CONNECT");
    assert_int_equal(parse("2026-11-28 10:02:04 1gLZgZ-0001a5-ME <= a@example.org H=app [10.0.0.5] P=esmtp S=1234"),
                     TAP_LINE_OTHER);
    assert_int_equal(parse("2026-11-28 10:02:05 1gLZgZ-0001a5-ME Completed"), TAP_LINE_OTHER);
    assert_int_equal(parse("2026-11-28 10:02:05 Start queue run: pid=123"), TAP_LINE_OTHER);
    assert_int_equal(parse("Nov 28 10:02:05 mx postfix/smtp[1]: ABCDE: to=<a>, status=sent (250 ok)"), TAP_LINE_OTHER);
}

static void test_hostile_cuts(void **state)
{
    const char *line =
        "2026-11-28 10:01:00 1gLZgZ-0001a5-ME ** nobody@gmail.com R=dnslookup T=remote_smtp "
        "H=gmail-smtp-in.l.google.com [142.250.102.27] I=[192.0.2.11]: SMTP error from remote mail server after "
        "RCPT TO:<nobody@gmail.com>: 550-5.1.1 x\\n550 5.1.1 y";
    size_t n = strlen(line);
    for (size_t k = 0; k <= n; k++) {
        char *cut = malloc(k ? k : 1);
        memcpy(cut, line, k);
        if (tap_exim_parse(cut, k, &ev) == TAP_LINE_OUTCOME) {
            assert_true(ev.reply.p == NULL || ev.reply.p + ev.reply.n <= cut + k);
            assert_true(ev.recipient.p + ev.recipient.n <= cut + k);
        }
        free(cut);
    }
    assert_int_equal(parse("2026-11-28 10:01:00 1gLZgZ-0001a5-ME ** "), TAP_LINE_OTHER);
    /* an empty H= names no host: not a remote outcome */
    assert_int_equal(parse("2026-11-28 10:01:00 1gLZgZ-0001a5-ME == a H= C=\""), TAP_LINE_LOCAL);
    assert_int_equal(parse("2026-13-28 10:01:00 1gLZgZ-0001a5-ME => a@b H=x [1.2.3.4]"), TAP_LINE_OTHER);
    assert_int_equal(parse("2026-11-28 10:01:00 1gLZgZ-0001a5 => a@b H=x [1.2.3.4]"), TAP_LINE_OTHER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivered_with_interface_and_confirmation),
        cmocka_unit_test(test_deferred_gmail_multiline_old_id_with_pid),
        cmocka_unit_test(test_deferred_pipelined_mail_from_with_timezone),
        cmocka_unit_test(test_failed_rcpt),
        cmocka_unit_test(test_repeats_locals_and_network_defers),
        cmocka_unit_test(test_hostile_cuts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
