/*
 * test_fbl_parse.c - unit tests of fbl-proc's parser: real feedback-loop
 * reports (tests/corpus/fbl, values read off each file), hand-made reports
 * for each format and Feedback-Type, and hostile input (truncated, huge
 * fields, wrong nesting, no boundary, binary, deep JSON).  Also the small
 * pieces: the JSON reader (fbl_json.c) and recipient cleaning and
 * redaction (fbl_addr.c).
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
#include <cmocka.h>

#include "buf.h"
#include "codec.h"
#include "fbl_addr.h"
#include "fbl_json.h"
#include "fbl_parse.h"
#include "inbound_report.h"
#include "reply_class.h"
#include "reply_rules.h"
#include "xalloc.h"

#define CORPUS "tests/corpus/fbl/"
#define S(lit) lit, sizeof(lit) - 1

static struct reply_rules *rules;
static struct mail_limits limits = MAIL_LIMITS_INIT;

static int setup(void **state)
{
    rules = reply_rules_new();
    return rules == NULL;
}

static int teardown(void **state)
{
    reply_rules_free(rules);
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "cannot open %s (run from the repository root)\n", path);
        return NULL;
    }
    struct buf b;
    buf_init(&b, 0);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_append(&b, chunk, n);
    fclose(fp);
    return buf_detach(&b, len);
}

static void parse_mem(const char *msg, size_t len, struct inbound_report *r)
{
    struct inbound_parse_ctx ctx = { .rules = rules, .limits = &limits };
    inbound_report_init(r);
    assert_int_equal(fbl_parse(msg, len, &ctx, r), 0);
}

static void parse_str(const char *msg, struct inbound_report *r)
{
    parse_mem(msg, strlen(msg), r);
}

static void parse_sample(const char *name, struct inbound_report *r)
{
    char path[256];
    size_t len = 0;
    snprintf(path, sizeof(path), CORPUS "%s", name);
    char *msg = read_file(path, &len);
    assert_non_null(msg);
    parse_mem(msg, len, r);
    free(msg);
}

/* Only the first line, so that a test reads one recipient's JSON. */
static void json_of(const struct inbound_report *r, struct buf *out)
{
    buf_init(out, 0);
    assert_int_equal(inbound_report_json(r, NULL, out), 0);
}

static void assert_rcpt(const struct inbound_report *r, size_t i, const char *recipient, const char *type)
{
    assert_true(i < r->nrcpts);
    if (recipient == NULL)
        assert_null(r->rcpts[i].recipient);
    else
        assert_string_equal(r->rcpts[i].recipient, recipient);
    assert_string_equal(r->rcpts[i].feedback_type, type);
}

/* ---- real reports ----------------------------------------------------- */

static void arf_yahoo_report_names_its_complainer(void **state)
{
    struct inbound_report r;
    parse_sample("arf-02-lf.eml", &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_string_equal(r.format, "arf");
    assert_int_equal(r.nrcpts, 1);
    assert_rcpt(&r, 0, "this-local-part-does-not-exist-on-yahoo@yahoo.com", "abuse");
    assert_string_equal(r.feedback_type, "abuse");
    assert_string_equal(r.user_agent, "Yahoo!-Mail-Feedback/1.0");
    assert_string_equal(r.original_mail_from, "shironeko@example.com");
    assert_string_equal(r.reported_domain, "example.com");
    assert_string_equal(r.original.message_id, "<000000000000000000000000.smtp@example.com>");
    assert_string_equal(r.original.from, "shironeko@example.com");
    assert_string_equal(r.original.return_path, "shironeko@example.com");
    assert_null(r.source_ip); /* the report has none */
    inbound_report_free(&r);
}

/* "To: redacted@example.net" and "Redacted-Address: redacted@": no one to suppress. */
static void arf_redacted_recipient_stays_null_in_every_line_ending(void **state)
{
    static const char *const files[] = { "arf-01-lf.eml", "arf-01-crlf.eml", "arf-01-cr.eml" };
    for (size_t i = 0; i < 3; i++) {
        struct inbound_report r;
        parse_sample(files[i], &r);
        assert_int_equal(r.kind, INBOUND_COMPLAINT);
        assert_int_equal(r.nrcpts, 1);
        assert_rcpt(&r, 0, NULL, "abuse");
        assert_string_equal(r.source_ip, "192.0.2.89");
        assert_string_equal(r.reported_domain, "example.ed.jp");
        assert_string_equal(r.user_agent, "SMP-FBL");
        assert_string_equal(r.arrival_date, "Thu, 29 Apr 2009 00:00:00 -0000 (EST)");
        assert_string_equal(r.original.return_path, "support@example.ed.jp");
        assert_string_equal(r.original.subject, "Kijitora cat family");
        assert_null(r.original.message_id);
        struct buf j;
        json_of(&r, &j);
        assert_non_null(strstr(j.data, "\"type\":\"complaint\",\"recipient\":null"));
        assert_non_null(strstr(j.data, "\"feedback_type\":\"abuse\""));
        assert_non_null(strstr(j.data, "\"format\":\"arf\""));
        buf_free(&j);
        inbound_report_free(&r);
    }
}

static void arf_lists_every_original_rcpt_to(void **state)
{
    static const char *const want[] = { "kijitora@example.com", "sironeko@example.com", "mikeneko@example.com",
                                        "sabatora@example.com", "sirokiji@example.org", "kuroneko@example.com",
                                        "sabineko@example.com" };
    struct inbound_report r;
    parse_sample("arf-16-lf.eml", &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_int_equal(r.nrcpts, 7);
    for (size_t i = 0; i < 7; i++)
        assert_rcpt(&r, i, want[i], "abuse");
    assert_string_equal(r.source_ip, "192.0.2.1");
    assert_string_equal(r.original_mail_from, "neko@example.jp");
    assert_string_equal(r.reported_domain, "example.com");
    assert_string_equal(r.arrival_date, "Thu, 29 Apr 2015 23:34:45 +0000");
    assert_string_equal(r.original.message_id, "<ffffffffffffffffffffffff0000000@example.jp>");
    struct buf j;
    json_of(&r, &j);
    size_t lines = 0;
    for (size_t i = 0; i < j.len; i++)
        lines += j.data[i] == '\n';
    assert_int_equal(lines, 7);
    buf_free(&j);
    inbound_report_free(&r);
}

/* Feedback-Type: opt-out (pre-RFC 5965 draft) with Removal-Recipient, and the
 * original as a misnamed text/rfc822-header leaf. */
static void arf_opt_out_is_an_unsubscribe_of_the_removal_recipient(void **state)
{
    struct inbound_report r;
    parse_sample("arf-12-lf.eml", &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_int_equal(r.nrcpts, 1);
    assert_rcpt(&r, 0, "user@example.com", "unsubscribe");
    assert_string_equal(r.feedback_type, "opt-out");
    assert_string_equal(r.original.message_id, "0000000000000000000000000@example.net");
    assert_string_equal(r.original.from, "shironeko@example.net");
    inbound_report_free(&r);
}

static void arf_recipient_recovered_from_the_originals_to(void **state)
{
    struct inbound_report r;
    parse_sample("arf-21-lf.eml", &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_int_equal(r.nrcpts, 1);
    assert_rcpt(&r, 0, "kijitora@example.org", "abuse");
    assert_string_equal(r.source_ip, "198.51.100.224");
    assert_string_equal(r.original_mail_from, "sironeko@example.net");
    assert_string_equal(r.original.message_id, "<00000000000000000000000022222222@example.net>");
    assert_string_equal(r.original.return_path, "sironeko@example.net");
    inbound_report_free(&r);
}

static void arf_field_names_are_case_insensitive_and_redacted_body_is_harmless(void **state)
{
    struct inbound_report r;
    parse_sample("arf-25-lf.eml", &r); /* "Source-Ip", original body "REDACTED" */
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_int_equal(r.nrcpts, 1);
    assert_rcpt(&r, 0, "hashed@example.com", "abuse");
    assert_string_equal(r.source_ip, "10.0.0.1");
    assert_string_equal(r.original_mail_from, "alice@example.com");
    assert_string_equal(r.user_agent, "ReturnPathFBL/2.0");
    assert_null(r.original.message_id);
    inbound_report_free(&r);
}

static void rfc6591_auth_failure_is_never_a_complaint(void **state)
{
    struct inbound_report r;
    parse_sample("arf-18-lf.eml", &r);
    assert_int_equal(r.kind, INBOUND_AUTHFAIL);
    assert_string_equal(r.format, "arf");
    assert_int_equal(r.nrcpts, 1);
    assert_rcpt(&r, 0, "kijitora@example.com", "auth-failure");
    assert_string_equal(r.rcpts[0].diagnostic, "auth-failure: dmarc");
    assert_string_equal(r.source_ip, "192.0.2.222");
    assert_string_equal(r.auth_results, "dmarc=fail (p=none; dis=none) header.from=example.org");
    assert_string_equal(r.original.message_id, "<000000002.2222222.1500000000022@example.net>");
    struct buf j;
    json_of(&r, &j);
    assert_non_null(strstr(j.data, "\"type\":\"authfail\""));
    assert_null(strstr(j.data, "complaint"));
    buf_free(&j);
    inbound_report_free(&r);

    parse_sample("arf-19-lf.eml", &r); /* text/rfc822-headers, DKIM-Domain */
    assert_int_equal(r.kind, INBOUND_AUTHFAIL);
    assert_rcpt(&r, 0, "kijitora@example.org", "auth-failure");
    assert_string_equal(r.source_ip, "203.0.113.2");
    assert_string_equal(r.original.message_id, "<000000000.2222222.0000000000002@example.net>");
    assert_string_equal(r.original.dkim_domain, "ietf.org");
    assert_string_equal(r.original_mail_from, "sironeko@neko.example.com");
    inbound_report_free(&r);

    parse_sample("arf-20-lf.eml", &r);
    assert_int_equal(r.kind, INBOUND_AUTHFAIL);
    assert_string_equal(r.original.message_id, "<000000000eee@example.net>");
    assert_string_equal(r.user_agent, "OpenDMARC-Filter/1.3.0");
    inbound_report_free(&r);
}

static void jmrp_hotmail_layout_reads_the_hotmail_recipient_field(void **state)
{
    struct inbound_report r;
    parse_sample("arf-22-lf.eml", &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_string_equal(r.format, "jmrp");
    assert_int_equal(r.nrcpts, 1);
    assert_rcpt(&r, 0, "kijitora@example.com", "abuse");
    assert_string_equal(r.original.message_id, "<0000000000fffffffff0000000000000@example.com>");
    assert_string_equal(r.original.from, "sironeko@example.com");
    assert_string_equal(r.original.subject, "Nyaan");
    inbound_report_free(&r);
}

static void apple_one_click_unsubscribe_names_its_sender(void **state)
{
    struct inbound_report r;
    parse_sample("arf-26-lf.eml", &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_string_equal(r.format, "unsubscribe");
    assert_int_equal(r.nrcpts, 1);
    assert_rcpt(&r, 0, "example@icloud.com", "unsubscribe");
    inbound_report_free(&r);
}

/* The sample's JSON line was split by a relay ("!" + newline + space). */
static void ses_complaint_notification_by_mail(void **state)
{
    struct inbound_report r;
    parse_sample("lhost-amazonses-11-lf.eml", &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_string_equal(r.format, "ses");
    assert_int_equal(r.nrcpts, 1);
    assert_rcpt(&r, 0, "complaint@simulator.amazonses.com", "abuse");
    assert_string_equal(r.feedback_type, "abuse");
    assert_string_equal(r.user_agent, "Amazon SES Mailbox Simulator");
    assert_string_equal(r.original_mail_from, "kijitora@neko.example.jp");
    assert_string_equal(r.original.from, "kijitora@neko.example.jp");
    assert_string_equal(r.original.subject, "Nyaan");
    inbound_report_free(&r);
}

/* ---- hand-made reports -------------------------------------------------- */

#define ARF_HEAD \
    "From: feedback@isp.example\r\n" \
    "To: fbl@bounce.example.org\r\n" \
    "Subject: report\r\n" \
    "MIME-Version: 1.0\r\n" \
    "Content-Type: multipart/report; report-type=feedback-report; boundary=\"b1\"\r\n" \
    "\r\n" \
    "--b1\r\n" \
    "Content-Type: text/plain\r\n" \
    "\r\n" \
    "This is an abuse report.\r\n" \
    "--b1\r\n"

#define ORIGINAL \
    "--b1\r\n" \
    "Content-Type: message/rfc822\r\n" \
    "\r\n" \
    "From: News <news@example.org>\r\n" \
    "To: someone@example.net\r\n" \
    "Message-ID: <m1@example.org>\r\n" \
    "X-Postflow-Trace: v=1; k=1; q=4F2A1C3B; t=1764324000; d=example.org; m=abc\r\n" \
    "\r\n" \
    "hello\r\n" \
    "--b1--\r\n"

static void one_arf(const char *feedback_fields, struct inbound_report *r)
{
    struct buf m;
    buf_init(&m, 0);
    buf_printf(&m, "%sContent-Type: message/feedback-report\r\n\r\n%s\r\n%s", ARF_HEAD, feedback_fields, ORIGINAL);
    parse_mem(m.data, m.len, r);
    buf_free(&m);
}

static void feedback_types_decide_kind_and_type(void **state)
{
    static const struct {
        const char *written, *type;
        enum inbound_kind kind;
    } cases[] = {
        { "abuse", "abuse", INBOUND_COMPLAINT },
        { "Fraud", "fraud", INBOUND_COMPLAINT },
        { "virus", "virus", INBOUND_COMPLAINT },
        { "other", "other", INBOUND_COMPLAINT },
        { "not-spam", "not-spam", INBOUND_COMPLAINT },
        { "auth-failure", "auth-failure", INBOUND_AUTHFAIL },
        { "opt-out-list", "unsubscribe", INBOUND_COMPLAINT },
        { "something-new", "other", INBOUND_COMPLAINT }, /* RFC 5965 §7.3: unknown = other */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char fields[256];
        struct inbound_report r;
        snprintf(fields, sizeof(fields),
                 "Feedback-Type: %s\r\nUser-Agent: t/1\r\nVersion: 1\r\nOriginal-Rcpt-To: <u@example.net>\r\n",
                 cases[i].written);
        one_arf(fields, &r);
        assert_int_equal(r.kind, cases[i].kind);
        assert_int_equal(r.nrcpts, 1);
        assert_rcpt(&r, 0, "u@example.net", cases[i].type);
        assert_string_equal(r.feedback_type, cases[i].written);
        inbound_report_free(&r);
    }
}

static void arf_reads_trace_queue_id_incidents_and_reporting_mta(void **state)
{
    struct inbound_report r;
    one_arf("Feedback-Type: abuse\r\nUser-Agent: t/1\r\nVersion: 1\r\nIncidents: 5\r\n"
            "Reporting-MTA: dns; fbl.isp.example\r\nSource-IP: [2001:db8::25]\r\n"
            "Original-Rcpt-To: rfc822; Someone@Example.NET\r\n",
            &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_rcpt(&r, 0, "Someone@example.net", "abuse");
    assert_int_equal(r.incidents, 5);
    assert_string_equal(r.reporting_mta, "fbl.isp.example");
    assert_string_equal(r.source_ip, "2001:db8::25");
    assert_string_equal(r.original.message_id, "<m1@example.org>");
    assert_string_equal(r.original.queue_id, "4F2A1C3B");
    assert_non_null(r.original.trace);
    struct buf j;
    json_of(&r, &j);
    assert_non_null(strstr(j.data, "\"incidents\":5"));
    assert_non_null(strstr(j.data, "\"queue_id\":\"4F2A1C3B\""));
    buf_free(&j);
    inbound_report_free(&r);
}

static void source_ip_that_is_not_an_ip_is_dropped(void **state)
{
    struct inbound_report r;
    one_arf("Feedback-Type: abuse\r\nSource-IP: 192.0.2.1; DROP\r\nOriginal-Rcpt-To: u@example.net\r\n", &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_null(r.source_ip);
    inbound_report_free(&r);
}

static void redaction_placeholders_are_nobody(void **state)
{
    struct inbound_report r;
    /* declared by the report */
    one_arf("Feedback-Type: abuse\r\nOriginal-Rcpt-To: anon@example.net\r\nRedacted-Address: anon@\r\n", &r);
    assert_int_equal(r.nrcpts, 1);
    assert_rcpt(&r, 0, "someone@example.net", "abuse"); /* the original's To: is not redacted */
    inbound_report_free(&r);
    /* masked, and the original's To: masked too */
    struct buf m;
    buf_init(&m, 0);
    buf_printf(&m,
               "%sContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
               "Original-Rcpt-To: ******@example.net\r\n\r\n--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
               "To: xxxxxxxx@example.net\r\nMessage-ID: <m2@example.org>\r\n\r\n--b1--\r\n",
               ARF_HEAD);
    parse_mem(m.data, m.len, &r);
    buf_free(&m);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_int_equal(r.nrcpts, 1);
    assert_rcpt(&r, 0, NULL, "abuse");
    assert_string_equal(r.original.message_id, "<m2@example.org>");
    inbound_report_free(&r);
}

static void encoded_parts_are_decoded(void **state)
{
    /* feedback-report in quoted-printable, original in base64 */
    const char *orig = "From: a@example.org\r\nTo: b@example.net\r\nMessage-ID: <b64@example.org>\r\n\r\nhi\r\n";
    struct buf b64, m;
    buf_init(&b64, 0);
    codec_base64_encode(orig, strlen(orig), &b64);
    buf_init(&m, 0);
    buf_printf(&m,
               "%sContent-Type: message/feedback-report\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
               "Feedback-Type: ab=\r\nuse\r\nOriginal-Rcpt-To: =3Cqp@example.net=3E\r\n\r\n"
               "--b1\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--b1--\r\n",
               ARF_HEAD, b64.data);
    struct inbound_report r;
    parse_mem(m.data, m.len, &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_rcpt(&r, 0, "qp@example.net", "abuse");
    assert_string_equal(r.original.message_id, "<b64@example.org>");
    inbound_report_free(&r);
    buf_free(&m);
    buf_free(&b64);
}

static void forwarded_arf_reads_the_reports_own_original(void **state)
{
    struct buf m;
    buf_init(&m, 0);
    buf_printf(&m,
               "From: desk@abuse.example\r\nSubject: Fwd: report\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n--outer\r\nContent-Type: text/plain\r\n\r\n"
               "see attached\r\n--outer\r\nContent-Type: message/rfc822\r\n\r\n"
               "%sContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
               "Original-Rcpt-To: u@example.net\r\n\r\n%s\r\n--outer--\r\n",
               ARF_HEAD, ORIGINAL);
    struct inbound_report r;
    parse_mem(m.data, m.len, &r);
    buf_free(&m);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_string_equal(r.format, "arf");
    assert_rcpt(&r, 0, "u@example.net", "abuse");
    assert_string_equal(r.original.message_id, "<m1@example.org>");
    assert_string_equal(r.original.from, "news@example.org"); /* not feedback@isp.example */
    inbound_report_free(&r);
}

static void recipient_limit_is_kept(void **state)
{
    struct buf f;
    buf_init(&f, 0);
    buf_append_str(&f, "Feedback-Type: abuse\r\n");
    for (int i = 0; i < 10; i++)
        buf_printf(&f, "Original-Rcpt-To: u%d@example.net\r\n", i);
    struct buf m;
    buf_init(&m, 0);
    buf_printf(&m, "%sContent-Type: message/feedback-report\r\n\r\n%s\r\n%s", ARF_HEAD, f.data, ORIGINAL);
    struct inbound_parse_ctx ctx = { .rules = rules, .limits = &limits };
    struct inbound_report r;
    inbound_report_init(&r);
    r.rcpt_limit = 3;
    assert_int_equal(fbl_parse(m.data, m.len, &ctx, &r), 0);
    assert_int_equal(r.nrcpts, 3);
    assert_int_equal(r.rcpts_dropped, 7);
    assert_rcpt(&r, 2, "u2@example.net", "abuse");
    inbound_report_free(&r);
    buf_free(&m);
    buf_free(&f);
}

static void jmrp_from_microsoft_without_hotmail_field(void **state)
{
    const char *msg =
        "From: staff@hotmail.com\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: n@example.org\r\nTo: redacted@hotmail.com\r\nMessage-ID: <j@example.org>\r\n\r\nbody\r\n--x--\r\n";
    struct inbound_report r;
    parse_str(msg, &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_string_equal(r.format, "jmrp");
    assert_int_equal(r.nrcpts, 1);
    assert_rcpt(&r, 0, NULL, "abuse");
    assert_string_equal(r.original.message_id, "<j@example.org>");
    inbound_report_free(&r);
}

static void a_user_forwarding_mail_is_not_jmrp(void **state)
{
    const char *msg = "From: someone@example.com\r\nSubject: look\r\nMIME-Version: 1.0\r\n"
                      "Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\n"
                      "From: n@example.org\r\nTo: t@example.net\r\n\r\nbody\r\n--x--\r\n";
    struct inbound_report r;
    parse_str(msg, &r);
    assert_int_equal(r.kind, INBOUND_UNRECOGNIZED);
    assert_int_equal(r.nrcpts, 0);
    assert_null(r.original.message_id); /* nothing left behind */
    inbound_report_free(&r);
}

static void sns_envelope_json_with_trace_header(void **state)
{
    const char *msg =
        "From: no-reply@sns.amazonaws.com\r\nSubject: AWS Notification Message\r\nContent-Type: text/plain\r\n\r\n"
        "{\"Type\" : \"Notification\", \"MessageId\" : \"x\", \"Message\" : \"{\\\"notificationType\\\":\\\"Complaint\\\","
        "\\\"complaint\\\":{\\\"complainedRecipients\\\":[{\\\"emailAddress\\\":\\\"A@Example.NET\\\"},"
        "{\\\"emailAddress\\\":\\\"b@example.net\\\"}],\\\"arrivalDate\\\":\\\"2026-01-01T00:00:00Z\\\"},"
        "\\\"mail\\\":{\\\"source\\\":\\\"news@example.org\\\",\\\"headers\\\":[{\\\"name\\\":\\\"X-Postflow-Trace\\\","
        "\\\"value\\\":\\\"v=1; q=ABC\\\"},{\\\"value\\\":\\\"<s1@example.org>\\\",\\\"name\\\":\\\"Message-ID\\\"}]}}\"}\r\n"
        "\r\n--\r\nIf you wish to stop receiving notifications ...\r\n";
    struct inbound_report r;
    parse_str(msg, &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_string_equal(r.format, "ses");
    assert_int_equal(r.nrcpts, 2);
    assert_rcpt(&r, 0, "A@example.net", "abuse"); /* no complaintFeedbackType: a complaint all the same */
    assert_rcpt(&r, 1, "b@example.net", "abuse");
    assert_null(r.feedback_type);
    assert_string_equal(r.arrival_date, "2026-01-01T00:00:00Z");
    assert_string_equal(r.original_mail_from, "news@example.org");
    assert_string_equal(r.original.trace, "v=1; q=ABC");
    assert_string_equal(r.original.message_id, "<s1@example.org>"); /* value before name */
    inbound_report_free(&r);
}

static void ses_bounce_and_delivery_notifications_are_not_complaints(void **state)
{
    static const char *const bodies[] = {
        "{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":[{\"emailAddress\":\"x@example.net\"}]}}",
        "{\"notificationType\":\"Delivery\",\"complaint\":{\"complainedRecipients\":[{\"emailAddress\":\"x@example.net\"}]}}",
        "{\"complaint\":{\"complainedRecipients\":[{\"emailAddress\":\"x@example.net\"}]}}",
    };
    for (size_t i = 0; i < 3; i++) {
        struct buf m;
        buf_init(&m, 0);
        buf_printf(&m, "From: no-reply@sns.amazonaws.com\r\nSubject: n\r\n\r\n%s\r\n", bodies[i]);
        struct inbound_report r;
        parse_mem(m.data, m.len, &r);
        assert_int_equal(r.kind, INBOUND_UNRECOGNIZED);
        assert_int_equal(r.nrcpts, 0);
        inbound_report_free(&r);
        buf_free(&m);
    }
}

static void ses_complaint_feedback_type_is_normalised(void **state)
{
    const char *msg = "From: n@sns.example\r\nContent-Type: application/json\r\n\r\n"
                      "{\"complaint\":{\"complaintFeedbackType\":\"not-spam\",\"complainedRecipients\":[]},"
                      "\"notificationType\":\"Complaint\"}";
    struct inbound_report r;
    parse_str(msg, &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_int_equal(r.nrcpts, 1);
    assert_rcpt(&r, 0, NULL, "not-spam");
    inbound_report_free(&r);
}

static void unsubscribe_by_subject_word_only(void **state)
{
    struct inbound_report r;
    parse_str("From: Jo <jo@example.net>\r\nTo: unsub@bounce.example.org\r\nSubject: Unsubscribe\r\n\r\n\r\n", &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_string_equal(r.format, "unsubscribe");
    assert_rcpt(&r, 0, "jo@example.net", "unsubscribe");
    inbound_report_free(&r);
    parse_str("From: jo@example.net\r\nSubject: Re: how do I unsubscribe?\r\n\r\nplease\r\n", &r);
    assert_int_equal(r.kind, INBOUND_UNRECOGNIZED);
    inbound_report_free(&r);
    parse_str("From: jo@example.net\r\nX-Apple-Unsubscribe: false\r\nSubject: hi\r\n\r\nx\r\n", &r);
    assert_int_equal(r.kind, INBOUND_UNRECOGNIZED);
    inbound_report_free(&r);
}

/* ---- what is not a report ---------------------------------------------- */

static void dsn_is_not_a_complaint_even_with_a_feedback_part(void **state)
{
    const char *dsn = "From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered Mail\r\nMIME-Version: 1.0\r\n"
                      "Content-Type: multipart/report; report-type=delivery-status; boundary=\"d\"\r\n\r\n"
                      "--d\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
                      "Final-Recipient: rfc822; u@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
                      "--d\r\nContent-Type: message/rfc822\r\n\r\n"
                      "From: fbl@example.org\r\nSubject: unsubscribe\r\nMIME-Version: 1.0\r\n"
                      "Content-Type: multipart/report; report-type=feedback-report; boundary=\"i\"\r\n\r\n"
                      "--i\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
                      "Original-Rcpt-To: u@example.net\r\n\r\n--i--\r\n\r\n--d--\r\n";
    struct inbound_report r;
    parse_str(dsn, &r);
    assert_int_equal(r.kind, INBOUND_UNRECOGNIZED);
    assert_int_equal(r.nrcpts, 0);
    assert_null(r.feedback_type);
    struct buf j;
    json_of(&r, &j);
    assert_string_equal(j.data, "{\"type\":\"unrecognized\"}\n");
    buf_free(&j);
    inbound_report_free(&r);
}

static void plain_mail_is_unrecognized(void **state)
{
    struct inbound_report r;
    parse_str("From: a@example.net\r\nTo: b@example.org\r\nSubject: hello\r\n\r\n{\"not\":\"ses\"}\r\n", &r);
    assert_int_equal(r.kind, INBOUND_UNRECOGNIZED);
    inbound_report_free(&r);
    parse_str("", &r);
    assert_int_equal(r.kind, INBOUND_UNRECOGNIZED);
    inbound_report_free(&r);
}

/* ---- hostile input ------------------------------------------------------ */

static void truncated_report_keeps_what_it_read(void **state)
{
    struct buf m;
    buf_init(&m, 0);
    buf_printf(&m,
               "%sContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
               "Original-Rcpt-To: u@example.net\r\nSource-IP: 192.0.2.",
               ARF_HEAD);
    /* every prefix parses without harm; the full one is a complaint */
    for (size_t n = 0; n <= m.len; n++) {
        struct inbound_report r;
        parse_mem(m.data, n, &r);
        assert_true(r.kind == INBOUND_UNRECOGNIZED || r.kind == INBOUND_COMPLAINT);
        assert_true(r.kind != INBOUND_COMPLAINT || r.nrcpts == 1);
        inbound_report_free(&r);
    }
    struct inbound_report r;
    parse_mem(m.data, m.len, &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_rcpt(&r, 0, "u@example.net", "abuse");
    assert_string_equal(r.source_ip, "192.0.2.");
    inbound_report_free(&r);
    buf_free(&m);
}

static void huge_fields_are_read_whole_or_not_at_all(void **state)
{
    struct buf f, m;
    buf_init(&f, 0);
    buf_append_str(&f, "Feedback-Type: abuse\r\nOriginal-Rcpt-To: (");
    for (int i = 0; i < 5000; i++)
        buf_append_str(&f, "c");
    buf_append_str(&f, ") longer-name@example.net\r\nUser-Agent: ");
    for (int i = 0; i < 20000; i++) /* over the value bound, under max_line */
        buf_append_char(&f, 'a');
    buf_append_str(&f, "\r\n");
    buf_init(&m, 0);
    buf_printf(&m, "%sContent-Type: message/feedback-report\r\n\r\n%s\r\n--b1--\r\n", ARF_HEAD, f.data);
    struct inbound_report r;
    parse_mem(m.data, m.len, &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_int_equal(r.nrcpts, 1);
    assert_rcpt(&r, 0, "longer-name@example.net", "abuse"); /* read whole, never cut */
    assert_non_null(r.user_agent);                          /* text is cut to the model's bound */
    assert_int_equal(strlen(r.user_agent), INBOUND_FIELD_MAX);
    inbound_report_free(&r);
    /* one line over max_line: the fields before it count, it and those after do not */
    buf_reset(&f);
    buf_append_str(&f, "Feedback-Type: virus\r\nOriginal-Rcpt-To: first@example.net\r\nUser-Agent: ");
    for (size_t i = 0; i < limits.max_line + 10; i++)
        buf_append_char(&f, 'a');
    buf_append_str(&f, "\r\nOriginal-Rcpt-To: after@example.net\r\n");
    buf_reset(&m);
    buf_printf(&m, "%sContent-Type: message/feedback-report\r\n\r\n%s\r\n--b1--\r\n", ARF_HEAD, f.data);
    parse_mem(m.data, m.len, &r);
    assert_int_equal(r.kind, INBOUND_COMPLAINT);
    assert_int_equal(r.nrcpts, 1);
    assert_rcpt(&r, 0, "first@example.net", "virus");
    assert_null(r.user_agent);
    inbound_report_free(&r);
    buf_free(&m);
    buf_free(&f);
}

static void multipart_report_without_boundary_is_unrecognized(void **state)
{
    struct inbound_report r;
    parse_str("From: f@isp.example\r\nContent-Type: multipart/report; report-type=feedback-report\r\n\r\n"
              "--b1\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
              "Original-Rcpt-To: u@example.net\r\n--b1--\r\n",
              &r);
    assert_int_equal(r.kind, INBOUND_UNRECOGNIZED);
    inbound_report_free(&r);
}

static void feedback_part_inside_a_returned_original_of_a_bounce_is_ignored(void **state)
{
    /* wrong nesting: a delivery-status report around it makes it a bounce */
    struct inbound_report r;
    parse_str("From: m@example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=o\r\n\r\n"
              "--o\r\nContent-Type: message/global-delivery-status\r\n\r\nFinal-Recipient: rfc822; x@example.net\r\n"
              "\r\n--o\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n\r\n--o--\r\n",
              &r);
    assert_int_equal(r.kind, INBOUND_UNRECOGNIZED);
    inbound_report_free(&r);
}

static void binary_garbage_is_unrecognized(void **state)
{
    unsigned char junk[4096];
    unsigned seed = 12345;
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof(junk); i++) {
            seed = seed * 1103515245u + 12345u;
            junk[i] = (unsigned char)(seed >> 16);
        }
        struct inbound_report r;
        parse_mem((const char *)junk, sizeof(junk), &r);
        assert_int_equal(r.kind, INBOUND_UNRECOGNIZED);
        inbound_report_free(&r);
    }
    static const char nul[] = "From: a@b.example\r\nSubject: unsub\0scribe\r\n\r\n\0\0\0";
    struct inbound_report r;
    parse_mem(nul, sizeof(nul) - 1, &r);
    assert_int_equal(r.kind, INBOUND_UNRECOGNIZED);
    inbound_report_free(&r);
}

static void deep_or_endless_json_is_refused(void **state)
{
    struct buf m;
    buf_init(&m, 0);
    buf_append_str(&m, "From: n@sns.example\r\n\r\n{\"notificationType\":\"Complaint\",\"x\":");
    for (int i = 0; i < 100000; i++)
        buf_append_char(&m, '[');
    struct inbound_report r;
    parse_mem(m.data, m.len, &r);
    assert_int_equal(r.kind, INBOUND_UNRECOGNIZED);
    inbound_report_free(&r);
    buf_reset(&m);
    buf_append_str(&m, "From: n@sns.example\r\n\r\n{\"notificationType\":\"Complaint\",\"x\":[");
    for (int i = 0; i < 30000; i++)
        buf_append_str(&m, "1,");
    buf_append_str(&m, "1]}");
    parse_mem(m.data, m.len, &r);
    assert_int_equal(r.kind, INBOUND_UNRECOGNIZED); /* more scalars than FBL_SES_VALUES_MAX */
    inbound_report_free(&r);
    buf_free(&m);
}

/* ---- the pieces --------------------------------------------------------- */

struct seen {
    char got[512];
    size_t n;
};

static void record(const struct fbl_json_value *v, void *arg)
{
    struct seen *s = arg;
    char one[128];
    snprintf(one, sizeof(one), "%s%zu:%.*s", s->n++ ? " " : "", v->depth, (int)v->raw.len, v->raw.ptr);
    strncat(s->got, one, sizeof(s->got) - strlen(s->got) - 1);
}

static void json_walk_paths_and_errors(void **state)
{
    struct seen s;
    memset(&s, 0, sizeof(s));
    const char *doc = " {\"a\": [1, {\"b\": \"x\\\"y\"}], \"c\": true, \"d\": null} trailing";
    long used = fbl_json_walk(doc, strlen(doc), 100, record, &s);
    assert_int_equal(used, (long)(strstr(doc, " trailing") - doc));
    assert_string_equal(s.got, "2:1 3:x\\\"y 1:true 1:null");
    static const char *const bad[] = { "{", "{\"a\" 1}", "[1 2]", "{\"a\":tru}", "\"a\nb\"", "{\"a\":1,}", "", "}" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(fbl_json_walk(bad[i], strlen(bad[i]), 100, NULL, NULL), -1);
    assert_int_equal(fbl_json_walk("[1,2,3]", 7, 2, NULL, NULL), -1); /* max_values */
}

static void json_unescape_to_utf8(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    const char *raw = "a\\u00e9\\ud83d\\ude00\\n\\/\\ud800x";
    assert_int_equal(fbl_json_unescape(mail_view_make(raw, strlen(raw)), &b), 0);
    assert_string_equal(b.data, "a\xc3\xa9\xf0\x9f\x98\x80\n/\xef\xbf\xbdx");
    buf_reset(&b);
    assert_int_equal(fbl_json_unescape(mail_view_make("\\q", 2), &b), -1);
    assert_int_equal(fbl_json_unescape(mail_view_make("\\u12", 4), &b), -1);
    assert_int_equal(fbl_json_unescape(mail_view_make("\\", 1), &b), -1);
    buf_free(&b);
}

static void addresses_are_cleaned_and_placeholders_known(void **state)
{
    char out[FBL_ADDR_MAX];
    assert_true(fbl_addr_clean(S("rfc822; <User@Example.COM>"), out));
    assert_string_equal(out, "User@example.com");
    assert_true(fbl_addr_clean(S("\"Jo\" <jo@example.net> (c)"), out));
    assert_string_equal(out, "jo@example.net");
    assert_false(fbl_addr_clean(S("<Undisclosed Recipients>"), out));
    assert_false(fbl_addr_clean(S("a@example.net, b@example.net"), out));
    assert_false(fbl_addr_clean(S("redacted"), out));
    assert_false(fbl_addr_clean("", 0, out));
    assert_true(fbl_addr_redacted("redacted@example.net", NULL));
    assert_true(fbl_addr_redacted("user@redacted.invalid", NULL));
    assert_true(fbl_addr_redacted("xxxxx@example.net", NULL));
    assert_true(fbl_addr_redacted("***@example.net", NULL));
    assert_false(fbl_addr_redacted("xy@example.net", NULL));
    assert_false(fbl_addr_redacted("max@example.net", NULL));
    assert_false(fbl_addr_redacted("x@example.net", NULL));
    struct fbl_redaction red;
    memset(&red, 0, sizeof(red));
    fbl_addr_redaction_add(&red, " anon@", 6);
    assert_true(fbl_addr_redacted("anon@example.net", &red));
    assert_false(fbl_addr_redacted("anonymous@example.net", &red));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arf_yahoo_report_names_its_complainer),
        cmocka_unit_test(arf_redacted_recipient_stays_null_in_every_line_ending),
        cmocka_unit_test(arf_lists_every_original_rcpt_to),
        cmocka_unit_test(arf_opt_out_is_an_unsubscribe_of_the_removal_recipient),
        cmocka_unit_test(arf_recipient_recovered_from_the_originals_to),
        cmocka_unit_test(arf_field_names_are_case_insensitive_and_redacted_body_is_harmless),
        cmocka_unit_test(rfc6591_auth_failure_is_never_a_complaint),
        cmocka_unit_test(jmrp_hotmail_layout_reads_the_hotmail_recipient_field),
        cmocka_unit_test(apple_one_click_unsubscribe_names_its_sender),
        cmocka_unit_test(ses_complaint_notification_by_mail),
        cmocka_unit_test(feedback_types_decide_kind_and_type),
        cmocka_unit_test(arf_reads_trace_queue_id_incidents_and_reporting_mta),
        cmocka_unit_test(source_ip_that_is_not_an_ip_is_dropped),
        cmocka_unit_test(redaction_placeholders_are_nobody),
        cmocka_unit_test(encoded_parts_are_decoded),
        cmocka_unit_test(forwarded_arf_reads_the_reports_own_original),
        cmocka_unit_test(recipient_limit_is_kept),
        cmocka_unit_test(jmrp_from_microsoft_without_hotmail_field),
        cmocka_unit_test(a_user_forwarding_mail_is_not_jmrp),
        cmocka_unit_test(sns_envelope_json_with_trace_header),
        cmocka_unit_test(ses_bounce_and_delivery_notifications_are_not_complaints),
        cmocka_unit_test(ses_complaint_feedback_type_is_normalised),
        cmocka_unit_test(unsubscribe_by_subject_word_only),
        cmocka_unit_test(dsn_is_not_a_complaint_even_with_a_feedback_part),
        cmocka_unit_test(plain_mail_is_unrecognized),
        cmocka_unit_test(truncated_report_keeps_what_it_read),
        cmocka_unit_test(huge_fields_are_read_whole_or_not_at_all),
        cmocka_unit_test(multipart_report_without_boundary_is_unrecognized),
        cmocka_unit_test(feedback_part_inside_a_returned_original_of_a_bounce_is_ignored),
        cmocka_unit_test(binary_garbage_is_unrecognized),
        cmocka_unit_test(deep_or_endless_json_is_refused),
        cmocka_unit_test(json_walk_paths_and_errors),
        cmocka_unit_test(json_unescape_to_utf8),
        cmocka_unit_test(addresses_are_cleaned_and_placeholders_known),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
