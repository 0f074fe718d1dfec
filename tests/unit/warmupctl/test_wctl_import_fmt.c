/*
 * test_wctl_import_fmt.c - suppression CSV layouts: postflow, SES (listing
 * and header-less bulk import), SendGrid downloads; reasons, times, details.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "wctl_import_fmt.h"

/* Splits s (copied into w) into r; the test fails on a CSV error. */
static void rec(const char *s, char *w, struct csv_record *r)
{
    size_t n = strlen(s);
    memcpy(w, s, n + 1);
    assert_int_equal(wctl_csv_split(w, n, r), CSV_OK);
}

static void detects_postflow_header_in_any_order(void **state)
{
    char w[256];
    struct csv_record r;
    struct wimp_layout lay;
    const char *why;
    (void)state;
    rec("detail,Time,REASON,address", w, &r);
    assert_int_equal(wctl_import_fmt_detect(&r, &lay, &why), 0);
    assert_int_equal(lay.fmt, WIMP_POSTFLOW);
    assert_true(lay.has_header);
    assert_int_equal(lay.col_addr, 3);
    assert_int_equal(lay.col_reason, 2);
    assert_int_equal(lay.col_time, 1);
    assert_int_equal(lay.col_detail, 0);
}

static void maps_a_postflow_row(void **state)
{
    char w[256], w2[256];
    struct csv_record h, r;
    struct wimp_layout lay;
    struct wimp_entry e;
    const char *why;
    (void)state;
    rec("address,reason,time,detail", w, &h);
    assert_int_equal(wctl_import_fmt_detect(&h, &lay, &why), 0);
    rec("User@Example.COM,Complaint,1700000000,\"abuse, via FBL\"", w2, &r);
    assert_int_equal(wctl_import_fmt_map(&lay, &r, NULL, &e, &why), 1);
    assert_string_equal(e.address, "user@example.com");
    assert_string_equal(e.reason, "complaint");
    assert_int_equal(e.time, 1700000000);
    assert_string_equal(e.detail, "abuse, via FBL");
    rec("x@example.com,bounced,,", w2, &r);
    assert_int_equal(wctl_import_fmt_map(&lay, &r, NULL, &e, &why), -1);
    assert_non_null(strstr(why, "reason"));
    rec("x@example.com,,,", w2, &r);
    assert_int_equal(wctl_import_fmt_map(&lay, &r, NULL, &e, &why), 1);
    assert_string_equal(e.reason, "import");
    assert_int_equal(e.time, 0);
}

static void detects_and_maps_ses_listing(void **state)
{
    char w[256], w2[256];
    struct csv_record h, r;
    struct wimp_layout lay;
    struct wimp_entry e;
    const char *why;
    (void)state;
    rec("EmailAddress,Reason,LastUpdateTime", w, &h);
    assert_int_equal(wctl_import_fmt_detect(&h, &lay, &why), 0);
    assert_int_equal(lay.fmt, WIMP_SES);
    rec("a@ses.example,BOUNCE,2024-05-01T10:20:30.123Z", w2, &r);
    assert_int_equal(wctl_import_fmt_map(&lay, &r, NULL, &e, &why), 1);
    assert_string_equal(e.reason, "hard");
    assert_int_equal(e.time, 1714558830);
    assert_string_equal(e.detail, "ses BOUNCE");
    rec("b@ses.example,COMPLAINT,2024-05-01T12:20:30+02:00", w2, &r);
    assert_int_equal(wctl_import_fmt_map(&lay, &r, NULL, &e, &why), 1);
    assert_string_equal(e.reason, "complaint");
    assert_int_equal(e.time, 1714558830);
    rec("c@ses.example,OTHER,", w2, &r);
    assert_int_equal(wctl_import_fmt_map(&lay, &r, NULL, &e, &why), -1);
}

static void detects_headerless_ses_bulk_import(void **state)
{
    char w[256];
    struct csv_record r;
    struct wimp_layout lay;
    struct wimp_entry e;
    const char *why;
    (void)state;
    rec("recipient2@example.com, COMPLAINT", w, &r); /* AWS's own example has the blank */
    assert_int_equal(wctl_import_fmt_detect(&r, &lay, &why), 0);
    assert_int_equal(lay.fmt, WIMP_SES_IMPORT);
    assert_false(lay.has_header); /* the first record is data */
    assert_int_equal(wctl_import_fmt_map(&lay, &r, NULL, &e, &why), 1);
    assert_string_equal(e.address, "recipient2@example.com");
    assert_string_equal(e.reason, "complaint");
}

static void maps_each_sendgrid_list_to_its_reason(void **state)
{
    char w[256], w2[256];
    struct csv_record h, r;
    struct wimp_layout lay;
    struct wimp_entry e;
    const char *why;
    (void)state;
    /* bounces: 5.x.x status is a hard bounce */
    rec("email,created,reason,status", w, &h);
    assert_int_equal(wctl_import_fmt_detect(&h, &lay, &why), 0);
    assert_int_equal(lay.fmt, WIMP_SENDGRID);
    rec("\"d@sg.example\",1700000000,\"550 5.1.1 \"\"no such user\"\"\",5.1.1", w2, &r);
    assert_int_equal(wctl_import_fmt_map(&lay, &r, NULL, &e, &why), 1);
    assert_string_equal(e.reason, "hard");
    assert_string_equal(e.detail, "sendgrid 5.1.1 550 5.1.1 \"no such user\"");
    /* blocks: a 4.x.x status is not a hard bounce */
    rec("e@sg.example,2024-01-02 03:04:05,blocked,4.0.0", w2, &r);
    assert_int_equal(wctl_import_fmt_map(&lay, &r, NULL, &e, &why), 1);
    assert_string_equal(e.reason, "import");
    assert_int_equal(e.time, 1704164645);
    /* spam reports */
    rec("email,created,ip", w, &h);
    assert_int_equal(wctl_import_fmt_detect(&h, &lay, &why), 0);
    rec("f@sg.example,1700000000,192.0.2.1", w2, &r);
    assert_int_equal(wctl_import_fmt_map(&lay, &r, NULL, &e, &why), 1);
    assert_string_equal(e.reason, "complaint");
    /* global unsubscribes */
    rec("email,created", w, &h);
    assert_int_equal(wctl_import_fmt_detect(&h, &lay, &why), 0);
    rec("g@sg.example,1700000000", w2, &r);
    assert_int_equal(wctl_import_fmt_map(&lay, &r, NULL, &e, &why), 1);
    assert_string_equal(e.reason, "unsubscribe");
    /* invalid emails: reason, no status */
    rec("email,created,reason", w, &h);
    assert_int_equal(wctl_import_fmt_detect(&h, &lay, &why), 0);
    assert_int_equal(wctl_import_fmt_map(&lay, &r, NULL, &e, &why), 1);
    assert_string_equal(e.reason, "hard");
}

static void forced_reason_overrides_the_row(void **state)
{
    char w[256], w2[256];
    struct csv_record h, r;
    struct wimp_layout lay;
    struct wimp_entry e;
    const char *why;
    (void)state;
    rec("email,created", w, &h);
    assert_int_equal(wctl_import_fmt_detect(&h, &lay, &why), 0);
    rec("g@sg.example,", w2, &r);
    assert_int_equal(wctl_import_fmt_map(&lay, &r, wctl_import_fmt_reason_canonical("Manual", 6), &e, &why), 1);
    assert_string_equal(e.reason, "manual");
}

static void refuses_unknown_headers_and_skips_empty_rows(void **state)
{
    char w[256], w2[256];
    struct csv_record h, r;
    struct wimp_layout lay;
    struct wimp_entry e;
    const char *why = NULL;
    (void)state;
    rec("name,phone", w, &h);
    assert_int_equal(wctl_import_fmt_detect(&h, &lay, &why), -1);
    assert_non_null(why);
    rec("address,reason", w, &h);
    assert_int_equal(wctl_import_fmt_detect(&h, &lay, &why), 0);
    rec(" , ", w2, &r);
    assert_int_equal(wctl_import_fmt_map(&lay, &r, NULL, &e, &why), 0);
    rec("not an address,hard", w2, &r);
    assert_int_equal(wctl_import_fmt_map(&lay, &r, NULL, &e, &why), -1);
}

static void parses_times(void **state)
{
    long long t;
    (void)state;
    assert_int_equal(wctl_import_fmt_parse_time("", 0, &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(wctl_import_fmt_parse_time("1700000000", 10, &t), 0);
    assert_int_equal(t, 1700000000);
    assert_int_equal(wctl_import_fmt_parse_time("2024-05-01", 10, &t), 0);
    assert_int_equal(t, 1714521600);
    assert_int_equal(wctl_import_fmt_parse_time("2024-05-01 10:20", 16, &t), 0);
    assert_int_equal(t, 1714558800);
    assert_int_equal(wctl_import_fmt_parse_time("2024-05-01T10:20:30-0130", 24, &t), 0);
    assert_int_equal(t, 1714558830 + 5400);
    assert_int_equal(wctl_import_fmt_parse_time("2024-05-01 10:20:30 UTC", 23, &t), 0);
    assert_int_equal(t, 1714558830);
    assert_int_equal(wctl_import_fmt_parse_time("2024-02-31", 10, &t), -1);
    assert_int_equal(wctl_import_fmt_parse_time("yesterday", 9, &t), -1);
    assert_int_equal(wctl_import_fmt_parse_time("2024-05-01T25:00", 16, &t), -1);
    assert_int_equal(wctl_import_fmt_parse_time("2024-05-01Tjunk", 15, &t), -1);
    assert_int_equal(wctl_import_fmt_parse_time("1234567890123", 13, &t), -1);
    /* a view into a longer buffer: only len bytes count */
    assert_int_equal(wctl_import_fmt_parse_time("17,more", 2, &t), 0);
    assert_int_equal(t, 17);
}

static void caps_and_cleans_details(void **state)
{
    char out[WIMP_DETAIL_MAX + 1];
    char in[400];
    (void)state;
    wctl_import_fmt_detail_copy(out, "a\tb\nc", 5);
    assert_string_equal(out, "a?b?c");
    memset(in, 'x', sizeof in);
    wctl_import_fmt_detail_copy(out, in, sizeof in);
    assert_int_equal(strlen(out), WIMP_DETAIL_MAX);
    assert_string_equal(out + WIMP_DETAIL_MAX - 3, "...");
}

/* A status and a reason that together exceed the detail buffer are cut, never written past it
 * (a fuzzer found the second part overflowing once the first had filled the buffer). */
static void long_sendgrid_status_and_reason_are_cut_safely(void **state)
{
    char w[256], w2[4096], row[2048], longtext[900];
    struct csv_record h, r;
    struct wimp_layout lay;
    struct wimp_entry e;
    const char *why;
    (void)state;
    memset(longtext, 'x', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    rec("email,created,reason,status", w, &h);
    assert_int_equal(wctl_import_fmt_detect(&h, &lay, &why), 0);
    snprintf(row, sizeof(row), "f@sg.example,1700000000,%s,5.%s", longtext, longtext);
    rec(row, w2, &r);
    assert_int_equal(wctl_import_fmt_map(&lay, &r, NULL, &e, &why), 1);
    assert_true(strlen(e.detail) <= WIMP_DETAIL_MAX);
    assert_int_equal(strncmp(e.detail, "sendgrid 5.xxx", 14), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(detects_postflow_header_in_any_order),
        cmocka_unit_test(maps_a_postflow_row),
        cmocka_unit_test(detects_and_maps_ses_listing),
        cmocka_unit_test(detects_headerless_ses_bulk_import),
        cmocka_unit_test(maps_each_sendgrid_list_to_its_reason),
        cmocka_unit_test(long_sendgrid_status_and_reason_are_cut_safely),
        cmocka_unit_test(forced_reason_overrides_the_row),
        cmocka_unit_test(refuses_unknown_headers_and_skips_empty_rows),
        cmocka_unit_test(parses_times),
        cmocka_unit_test(caps_and_cleans_details),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
