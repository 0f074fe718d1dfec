/*
 * test_wctl_domain.c - the pure half of the per-domain complaint rates:
 * pf:dh: key parsing, the 0.1 % / 0.3 % levels, the merge of hourly rows
 * (repeats dropped) and the three renderings.  No Redis.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "wctl_domain.h"

static void keys_parse_back_into_their_parts(void **state)
{
    struct rkeys k;
    struct wdom_row r;
    char key[RKEY_MAX];
    (void)state;
    rkeys_init(&k, "pf:");
    int n = rkey_domain_health(&k, key, "News.Example.COM", "gmail", 498852);
    assert_true(n > 0);
    assert_int_equal(wctl_domain_parse_key(&k, key, (size_t)n, &r), 0);
    assert_string_equal(r.domain, "news.example.com");
    assert_string_equal(r.provider, "gmail");
    assert_int_equal(r.hour, 498852);
    /* a domain holding the separators still splits at the last ones */
    n = rkey_domain_health(&k, key, "odd}:name", "yahoo", 7);
    assert_int_equal(wctl_domain_parse_key(&k, key, (size_t)n, &r), 0);
    assert_string_equal(r.domain, "odd}:name");
    assert_string_equal(r.provider, "yahoo");
    /* not such keys */
    static const char *const bad[] = {
        "pf:dh:{example.com}:gmail:",
        "pf:dh:{example.com}:gmail:12x",
        "pf:dh:{example.com}gmail:12",
        "pf:dh:{}:gmail:12",
        "pf:dh:{example.com}::12",
        "pf:hl:{main}:192.0.2.1:gmail:12",
        "pf:dh:{",
        "xx:dh:{example.com}:gmail:12",
        "pf:dh:{Example.com}:gmail:12",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(wctl_domain_parse_key(&k, bad[i], strlen(bad[i]), &r), -1);
    /* another prefix */
    rkeys_init(&k, "mx:");
    assert_int_equal(wctl_domain_parse_key(&k, "pf:dh:{example.com}:gmail:12", 28, &r), -1);
    assert_int_equal(wctl_domain_parse_key(&k, "mx:dh:{example.com}:gmail:12", 28, &r), 0);
}

static void levels_follow_the_bulk_sender_thresholds(void **state)
{
    (void)state;
    assert_int_equal(wctl_domain_level(0, 0), WDOM_NO_SENT);
    assert_int_equal(wctl_domain_level(3, 0), WDOM_NO_SENT);
    assert_int_equal(wctl_domain_level(0, 100000), WDOM_OK);
    assert_int_equal(wctl_domain_level(9, 10000), WDOM_OK);    /* 0.09 % */
    assert_int_equal(wctl_domain_level(10, 10000), WDOM_WARN); /* 0.1 % exactly */
    assert_int_equal(wctl_domain_level(29, 10000), WDOM_WARN); /* 0.29 % */
    assert_int_equal(wctl_domain_level(30, 10000), WDOM_OVER); /* 0.3 % exactly */
    assert_int_equal(wctl_domain_level(1, 999), WDOM_WARN);    /* 0.1001 % */
    assert_int_equal(wctl_domain_level(1, 1000), WDOM_WARN);
    assert_int_equal(wctl_domain_level(1, 1001), WDOM_OK);
    assert_int_equal(wctl_domain_level(1, 333), WDOM_OVER); /* 0.3003 % */
    assert_int_equal(wctl_domain_level(1, 334), WDOM_WARN);
    assert_int_equal(wctl_domain_level(5, 3), WDOM_OVER); /* more complaints than sent */
    assert_string_equal(wctl_domain_level_name(WDOM_OK), "ok");
    assert_string_equal(wctl_domain_level_name(WDOM_WARN), "warn");
    assert_string_equal(wctl_domain_level_name(WDOM_OVER), "over");
    assert_string_equal(wctl_domain_level_name(WDOM_NO_SENT), "-");
}

static struct wdom_row row(const char *dom, const char *prov, long long hour, long long sent, long long compl )
{
    struct wdom_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.domain, sizeof r.domain, "%s", dom);
    snprintf(r.provider, sizeof r.provider, "%s", prov);
    r.hour = hour;
    r.sent = sent;
    r.complaint = compl ;
    return r;
}

static void fill(struct wdom_list *l)
{
    struct wdom_row rows[] = {
        row("example.com", "yahoo", 10, 500, 1),  row("b.example", "gmail", 10, 0, 2),
        row("example.com", "gmail", 11, 3000, 2), row("example.com", "gmail", 10, 1000, 2),
        row("example.com", "gmail", 11, 3000, 2), /* SCAN reported hour 11 twice */
    };
    memset(l, 0, sizeof *l);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        wctl_domain_add(l, &rows[i]);
    wctl_domain_merge(l);
}

static void hours_are_summed_once_per_domain_and_provider(void **state)
{
    struct wdom_list l;
    (void)state;
    fill(&l);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.rows[0].domain, "b.example");
    assert_string_equal(l.rows[1].domain, "example.com");
    assert_string_equal(l.rows[1].provider, "gmail");
    assert_int_equal(l.rows[1].sent, 4000);
    assert_int_equal(l.rows[1].complaint, 4);
    assert_string_equal(l.rows[2].provider, "yahoo");
    assert_int_equal(l.rows[2].sent, 500);
    wctl_domain_free(&l);
    memset(&l, 0, sizeof l);
    wctl_domain_merge(&l); /* empty: nothing to do */
    assert_int_equal(l.n, 0);
}

static void renderings_show_rates_levels_and_gauges(void **state)
{
    struct wdom_list l;
    struct buf b;
    (void)state;
    fill(&l);
    buf_init(&b, 0);
    wctl_domain_render_table(&l, &b);
    buf_append_char(&b, '\0');
    /* 4 in 4000 = 0.10 %: warn; 1 in 500 = 0.20 %: warn; complaints without sent: no rate */
    assert_non_null(strstr(b.data, "0.1 %"));
    assert_non_null(strstr(b.data, "example.com  gmail"));
    assert_non_null(strstr(b.data, "4000           4    0.10  warn"));
    assert_non_null(strstr(b.data, "b.example    gmail           0           2       -  -"));
    buf_reset(&b);
    wctl_domain_render_json(&l, &b);
    buf_append_char(&b, '\0');
    assert_non_null(strstr(b.data, "{\"domain\":\"example.com\",\"provider\":\"gmail\",\"sent_24h\":4000,"
                                   "\"complaints_24h\":4,\"hard_24h\":0,\"soft_24h\":0,"
                                   "\"complaint_rate\":0.001000,\"level\":\"warn\"}"));
    assert_non_null(strstr(b.data, "\"complaint_rate\":null,\"level\":null"));
    assert_memory_equal(b.data, "\"domains\":[", 11);
    buf_reset(&b);
    wctl_domain_render_prom(&l, &b);
    buf_append_char(&b, '\0');
    assert_non_null(strstr(b.data, "# TYPE postflow_domain_sent_24h gauge\n"));
    assert_non_null(strstr(b.data, "postflow_domain_sent_24h{domain=\"example.com\",provider=\"yahoo\"} 500\n"));
    assert_non_null(strstr(b.data, "postflow_domain_complaints_24h{domain=\"b.example\",provider=\"gmail\"} 2\n"));
    wctl_domain_free(&l);
    /* nothing to show: no table, no families, an empty array */
    buf_reset(&b);
    wctl_domain_render_table(&l, &b);
    wctl_domain_render_prom(&l, &b);
    assert_int_equal(b.len, 0);
    wctl_domain_render_json(&l, &b);
    buf_append_char(&b, '\0');
    assert_string_equal(b.data, "\"domains\":[]");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_parse_back_into_their_parts),
        cmocka_unit_test(levels_follow_the_bulk_sender_thresholds),
        cmocka_unit_test(hours_are_summed_once_per_domain_and_provider),
        cmocka_unit_test(renderings_show_rates_levels_and_gauges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
