/*
 * test_tap_counts.c - outcome counters (maillog-tap/tap_counts.c): one row
 * per IP (or label) x provider x hour, the three outcomes apart, other
 * statuses ignored, and rows dropped after a write keep the others' counts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tap_counts.h"

static struct tap_str view(const char *s)
{
    struct tap_str v = { s, s ? strlen(s) : 0 };
    return v;
}

static struct tap_event event(const char *ip, const char *label, long long t, enum tap_status st)
{
    struct tap_event ev;
    memset(&ev, 0, sizeof ev);
    ev.source_ip = view(ip);
    ev.transport = view(label);
    ev.time = t;
    ev.status = st;
    return ev;
}

static const struct tap_count_row *find(const struct tap_counts *c, const char *ip, const char *prov, long long hour)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->rows[i].ip, ip) == 0 && strcmp(c->rows[i].provider, prov) == 0 && c->rows[i].hour == hour)
            return &c->rows[i];
    return NULL;
}

static void rows_split_by_ip_provider_and_hour(void **state)
{
    (void)state;
    struct tap_counts c;
    tap_counts_init(&c);
    struct tap_event a = event("192.0.2.10", "smtp-192.0.2.10", 7200, TAP_STATUS_SENT);
    tap_counts_add(&c, &a, "gmail");
    tap_counts_add(&c, &a, "gmail");
    a.status = TAP_STATUS_DEFERRED;
    tap_counts_add(&c, &a, "gmail");
    a.status = TAP_STATUS_BOUNCED;
    tap_counts_add(&c, &a, "yahoo");
    a.time = 7200 + 3600; /* the next hour */
    tap_counts_add(&c, &a, "yahoo");
    a.status = TAP_STATUS_NONE; /* not an outcome */
    tap_counts_add(&c, &a, "yahoo");
    a.status = TAP_STATUS_SENT;
    a.time = -1; /* unreadable time: not counted */
    tap_counts_add(&c, &a, "yahoo");
    struct tap_event b = event(NULL, "postfix-ip2", 7300, TAP_STATUS_DEFERRED);
    tap_counts_add(&c, &b, "gmail");
    assert_int_equal(c.n, 4);
    assert_int_equal(c.outcomes, 6);
    const struct tap_count_row *r = find(&c, "192.0.2.10", "gmail", 2);
    assert_non_null(r);
    assert_int_equal(r->n[TAP_COUNT_DELIVERED], 2);
    assert_int_equal(r->n[TAP_COUNT_DEFERRED], 1);
    assert_int_equal(r->n[TAP_COUNT_REJECTED], 0);
    assert_int_equal(find(&c, "192.0.2.10", "yahoo", 3)->n[TAP_COUNT_REJECTED], 1);
    r = find(&c, "", "gmail", 2);
    assert_non_null(r);
    assert_string_equal(r->transport, "postfix-ip2");
    assert_string_equal(tap_counts_field_name(TAP_COUNT_REJECTED), "rejected");

    /* per sender domain: a row of its own, apart from the IP rows; no domain, no row */
    a.status = TAP_STATUS_DEFERRED;
    a.time = 7200;
    tap_counts_add_domain(&c, &a, "gmail", "example.com");
    tap_counts_add_domain(&c, &a, "gmail", "example.com");
    tap_counts_add_domain(&c, &a, "gmail", NULL);
    tap_counts_add_domain(&c, &a, "gmail", "");
    assert_int_equal(c.n, 5);
    assert_string_equal(c.rows[4].domain, "example.com");
    assert_string_equal(c.rows[4].ip, "");
    assert_int_equal(c.rows[4].n[TAP_COUNT_DEFERRED], 2);
    assert_int_equal(find(&c, "192.0.2.10", "gmail", 2)->n[TAP_COUNT_DEFERRED], 1); /* untouched */
    assert_int_equal(c.outcomes, 6);                                                /* outcomes are the IP rows' */
    tap_counts_drop_first(&c, 2); /* written: the rest keeps counting in place */
    assert_int_equal(c.n, 3);
    tap_counts_add(&c, &b, "gmail");
    assert_int_equal(c.n, 3);
    assert_int_equal(find(&c, "", "gmail", 2)->n[TAP_COUNT_DEFERRED], 2);
    tap_counts_clear(&c);
    assert_int_equal(c.n, 0);
    tap_counts_free(&c);
}

static void rows_by_queue_id_wait_for_their_domain(void **state)
{
    (void)state;
    struct tap_counts c;
    tap_counts_init(&c);
    struct tap_event ev = event("192.0.2.10", "", 7200, TAP_STATUS_DEFERRED);
    ev.queue_id = view("4F2A1C");
    tap_counts_add_qid(&c, &ev, "gmail");
    tap_counts_add_qid(&c, &ev, "gmail"); /* a retry of the same message: the same row */
    ev.status = TAP_STATUS_SENT;
    tap_counts_add_qid(&c, &ev, "gmail");
    ev.queue_id = view(NULL); /* no queue id: nothing to look up */
    tap_counts_add_qid(&c, &ev, "gmail");
    assert_int_equal(c.n, 1);
    assert_string_equal(c.rows[0].qid, "4F2A1C");
    assert_string_equal(c.rows[0].domain, "");
    assert_int_equal(c.rows[0].n[TAP_COUNT_DEFERRED], 2);
    assert_int_equal(c.rows[0].n[TAP_COUNT_DELIVERED], 1);
    assert_int_equal(c.outcomes, 0); /* outcomes are the IP rows' */
    tap_counts_free(&c);
}

static void many_rows_stay_apart(void **state)
{
    (void)state;
    struct tap_counts c;
    tap_counts_init(&c);
    char ip[32];
    for (int h = 0; h < 50; h++)
        for (int i = 0; i < 100; i++) {
            snprintf(ip, sizeof ip, "10.0.%d.%d", i / 250, i % 250);
            struct tap_event ev = event(ip, "", (long long)h * 3600, TAP_STATUS_SENT);
            tap_counts_add(&c, &ev, "gmail");
            tap_counts_add(&c, &ev, "gmail");
        }
    assert_int_equal(c.n, 5000);
    for (size_t i = 0; i < c.n; i++)
        assert_int_equal(c.rows[i].n[TAP_COUNT_DELIVERED], 2);
    tap_counts_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_split_by_ip_provider_and_hour),
        cmocka_unit_test(rows_by_queue_id_wait_for_their_domain),
        cmocka_unit_test(many_rows_stay_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
