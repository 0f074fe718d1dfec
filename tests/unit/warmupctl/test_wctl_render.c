/*
 * test_wctl_render.c - `status` table and JSON, and the `metrics`
 * exposition, rendered from warm-up data built in the test (no Redis).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "wctl_ipdata.h"
#include "wctl_metrics.h"

static struct wip_row rows[2];
static struct wip_list list;

static void setup_list(void)
{
    memset(rows, 0, sizeof rows);
    rows[0].pool = "main";
    rows[0].ip = "192.0.2.10";
    rows[0].transport = "smtp-192.0.2.10";
    rows[0].has_state = 1;
    rows[0].stage = 2;
    rows[0].cap = 2000;
    rows[0].budget = 1800;
    rows[0].configured = 1;
    rows[0].used = 1500;
    rows[0].msgs = 700;
    rows[0].sent24 = 1000;
    rows[0].hard24 = 12;
    rows[0].soft24 = 5;
    rows[0].complaint24 = 1;
    rows[0].delivered24 = 180; /* the receivers' answers maillog-tap counted: 20 of 200 deferred */
    rows[0].deferred24 = 20;
    rows[0].nprov = 2;
    snprintf(rows[0].prov[0].provider, 64, "gmail");
    rows[0].prov[0].sent = 600;
    rows[0].prov[0].hard = 12;
    snprintf(rows[0].prov[1].provider, 64, "other");
    rows[0].prov[1].sent = 400;
    rows[0].prov[1].soft = 5;
    rows[0].prov[1].complaint = 1;
    rows[1].pool = "main";
    rows[1].ip = "2001:db8::1";
    rows[1].has_state = 1;
    rows[1].stage = 6;
    rows[1].paused = 1;
    rows[1].paused_reason = "operator: \"too\" many";
    rows[1].cap = WIP_CAP_UNLIMITED;
    rows[1].budget = WIP_CAP_UNLIMITED;
    list.rows = rows;
    list.n = 2;
    list.day = 20261128;
    list.now = 1795866425;
}

static void status_table_shows_caps_rates_and_state(void **state)
{
    struct buf b;
    (void)state;
    setup_list();
    buf_init(&b, 0);
    wctl_status_render_table(&list, &b);
    assert_string_equal(
        b.data,
        "POOL  IP           STAGE        CAP  USED       LEFT  SENT24H  HARD%  SOFT%  COMPL%  DEFER%  STATE\n"
        "main  192.0.2.10       2       2000  1500        500     1000   1.20   0.50    0.10   10.00  warming\n"
        "main  2001:db8::1      6  unlimited     0  unlimited        0      -      -       -       -  paused\n");
    buf_free(&b);
}

static void states_follow_the_data(void **state)
{
    struct wip_row r;
    (void)state;
    memset(&r, 0, sizeof r);
    r.cap = WIP_CAP_UNKNOWN;
    assert_string_equal(wctl_ipdata_state(&r), "new");
    r.cap = WIP_CAP_UNLIMITED;
    assert_string_equal(wctl_ipdata_state(&r), "warm"); /* no schedule: warm from the start */
    r.has_state = 1;
    r.cap = WIP_CAP_UNKNOWN;
    assert_string_equal(wctl_ipdata_state(&r), "warming");
    r.cap = WIP_CAP_UNLIMITED;
    assert_string_equal(wctl_ipdata_state(&r), "warm");
    r.paused = 1;
    assert_string_equal(wctl_ipdata_state(&r), "paused");
}

static void status_json_has_numbers_nulls_and_providers(void **state)
{
    struct buf b;
    (void)state;
    setup_list();
    buf_init(&b, 0);
    wctl_status_render_json(&list, &b);
    assert_non_null(strstr(b.data, "{\"time\":1795866425,\"day\":20261128,\"ips\":[{\"pool\":\"main\","));
    assert_non_null(strstr(
        b.data, "\"cap\":2000,\"budget_now\":1800,\"configured\":true,\"used\":1500,\"left\":500,\"messages\":700,"));
    assert_non_null(strstr(b.data, "\"hard_rate\":0.012000,"));
    assert_non_null(strstr(b.data, "\"providers\":{\"gmail\":{\"sent_24h\":600,\"hard_24h\":12,"));
    assert_non_null(strstr(
        b.data, "\"cap\":\"unlimited\",\"budget_now\":\"unlimited\",\"configured\":false,\"used\":0,\"left\":null,"));
    assert_non_null(strstr(b.data, "\"hard_rate\":null,"));
    assert_non_null(strstr(b.data, "\"paused_reason\":\"operator: \\\"too\\\" many\""));
    assert_non_null(strstr(b.data, "\"transport\":null"));
    buf_free(&b);
}

static void prometheus_families_are_contiguous_with_labels(void **state)
{
    struct buf b;
    char *f1 = "requests", *f2 = "redis-down.open", *f3 = "started";
    char *fields[3] = { f1, f2, f3 };
    long long values[3] = { 5000, 7, 1700000000 };
    struct wnode node = { "mx1", 3, fields, values };
    struct wnode_list nodes = { &node, 1 };
    (void)state;
    setup_list();
    buf_init(&b, 0);
    wctl_metrics_render_prom(&list, &nodes, &b);
    assert_non_null(strstr(b.data, "# TYPE postflow_warmup_ip_stage gauge\n"
                                   "postflow_warmup_ip_stage{pool=\"main\",ip=\"192.0.2.10\"} 2\n"
                                   "postflow_warmup_ip_stage{pool=\"main\",ip=\"2001:db8::1\"} 6\n"));
    assert_non_null(strstr(b.data, "postflow_warmup_ip_cap{pool=\"main\",ip=\"2001:db8::1\"} +Inf\n"));
    assert_non_null(
        strstr(b.data, "postflow_warmup_hard_bounces_24h{pool=\"main\",ip=\"192.0.2.10\",provider=\"gmail\"} 12\n"));
    assert_non_null(
        strstr(b.data,
               "# TYPE postflow_policyd_requests_total counter\npostflow_policyd_requests_total{node=\"mx1\"} 5000\n"));
    /* an unknown field still becomes a valid name */
    assert_non_null(strstr(b.data, "postflow_policyd_redis_down_open_total{node=\"mx1\"} 7\n"));
    assert_non_null(strstr(b.data, "# TYPE postflow_policyd_started_timestamp_seconds gauge\n"
                                   "postflow_policyd_started_timestamp_seconds{node=\"mx1\"} 1700000000\n"));
    assert_int_equal(b.data[b.len - 1], '\n');
    buf_free(&b);
}

static void prometheus_leaves_out_unknown_caps(void **state)
{
    struct buf b;
    struct wnode_list nodes = { NULL, 0 };
    (void)state;
    setup_list();
    rows[0].cap = WIP_CAP_UNKNOWN;
    rows[1].cap = WIP_CAP_UNKNOWN;
    buf_init(&b, 0);
    wctl_metrics_render_prom(&list, &nodes, &b);
    assert_null(strstr(b.data, "postflow_warmup_ip_cap"));
    assert_non_null(strstr(b.data, "postflow_warmupctl_collected_timestamp_seconds 1795866425\n"));
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_table_shows_caps_rates_and_state),
        cmocka_unit_test(states_follow_the_data),
        cmocka_unit_test(status_json_has_numbers_nulls_and_providers),
        cmocka_unit_test(prometheus_families_are_contiguous_with_labels),
        cmocka_unit_test(prometheus_leaves_out_unknown_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
