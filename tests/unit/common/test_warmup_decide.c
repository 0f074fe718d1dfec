/*
 * test_warmup_decide.c - caps, smoothing and the daily health verdict,
 * with a fake clock (times are plain numbers) and fake per-provider
 * counters (the verdict judges every provider and the total).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "warmup_decide.h"

/* 2026-11-28 00:00:00 UTC */
#define DAY0 1795824000LL

static struct wm_schedule sched(void)
{
    struct wm_schedule s;
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "std");
    long long caps[] = { 100, 500, 2000, 10000, 50000 };
    memcpy(s.caps, caps, sizeof caps);
    s.ncaps = 5;
    for (int i = 0; i < PROVIDER_MAX; i++)
        s.share_ppm[i] = -1;
    return s;
}

static void day_and_hour_are_utc(void **state)
{
    assert_int_equal(warmup_day(DAY0), 20261128);
    assert_int_equal(warmup_day(DAY0 + 86399), 20261128);
    assert_int_equal(warmup_day(DAY0 + 86400), 20261129);
    assert_int_equal(warmup_day(DAY0 - 1), 20261127);
    assert_int_equal(warmup_hour(DAY0 + 3599), DAY0 / 3600);
}

static void cap_per_stage_then_unlimited(void **state)
{
    struct wm_schedule s = sched();
    assert_int_equal(warmup_cap(&s, 0), 100);
    assert_int_equal(warmup_cap(&s, 4), 50000);
    assert_int_equal(warmup_cap(&s, 5), WM_UNLIMITED);
    assert_int_equal(warmup_cap(NULL, 0), WM_UNLIMITED);
    assert_int_equal(warmup_cap(&s, -3), 100); /* a hand-edited negative stage */
}

static void smoothing_spreads_the_cap_linearly(void **state)
{
    /* 24 h spread, no burst: a quarter at 06:00, half at noon, all at the end. */
    assert_int_equal(warmup_budget(100, DAY0, 24, 0, 0), 0);
    assert_int_equal(warmup_budget(100, DAY0 + 6 * 3600, 24, 0, 0), 25);
    assert_int_equal(warmup_budget(100, DAY0 + 12 * 3600, 24, 0, 0), 50);
    assert_int_equal(warmup_budget(100, DAY0 + 86399, 24, 0, 0), 99);
    /* The next day starts again from zero. */
    assert_int_equal(warmup_budget(100, DAY0 + 86400, 24, 0, 0), 0);
}

static void burst_allows_a_head_start_but_never_more_than_the_cap(void **state)
{
    assert_int_equal(warmup_budget(100, DAY0, 24, 0, 5), 5);
    assert_int_equal(warmup_budget(100, DAY0 + 23 * 3600 + 3000, 24, 0, 5), 100);
    assert_int_equal(warmup_budget(1000, DAY0 + 12 * 3600, 24, 0, 10), 600);
}

static void smoothing_window_with_start_hour(void **state)
{
    /* 8 h from 08:00 UTC: nothing but the burst before 08:00, everything from 16:00. */
    assert_int_equal(warmup_budget(800, DAY0 + 7 * 3600, 8, 8, 0), 0);
    assert_int_equal(warmup_budget(800, DAY0 + 10 * 3600, 8, 8, 0), 200);
    assert_int_equal(warmup_budget(800, DAY0 + 16 * 3600, 8, 8, 0), 800);
    assert_int_equal(warmup_budget(800, DAY0 + 23 * 3600, 8, 8, 0), 800);
}

static void no_smoothing_or_unlimited_pass_through(void **state)
{
    assert_int_equal(warmup_budget(100, DAY0, 0, 0, 0), 100);
    assert_int_equal(warmup_budget(WM_UNLIMITED, DAY0, 24, 0, 5), WM_UNLIMITED);
}

static void provider_share_of_the_cap(void **state)
{
    struct wm_schedule s = sched();
    s.share_ppm[0] = 400000; /* 40 % */
    assert_int_equal(warmup_share(&s, 0, 500), 200);
    assert_int_equal(warmup_share(&s, 1, 500), WM_UNLIMITED);
    assert_int_equal(warmup_share(&s, 0, WM_UNLIMITED), WM_UNLIMITED);
}

static struct wm_health health(void)
{
    /* 1 %, 3 %, 0.1 %, 50 % of the cap, step back, providers judged alone from 200 sent */
    struct wm_health h = { 10000, 30000, 1000, 50, 1, 200 };
    return h;
}

/* Fake counters: one provider ("other") carrying the whole day. */
static struct wm_ip_counts one(long long sent, long long hard, long long soft, long long complaint)
{
    struct wm_ip_counts c;
    memset(&c, 0, sizeof c);
    c.nproviders = 1;
    c.name[0] = "other";
    c.provider[0] = (struct wm_day_counts){ sent, hard, soft, complaint };
    return c;
}

/* Fake counters of four providers (gmail, microsoft, yahoo, other), all clean. */
static struct wm_ip_counts four(long long gmail, long long microsoft, long long yahoo, long long other)
{
    static const char *const names[] = { "gmail", "microsoft", "yahoo", "other" };
    long long sent[] = { gmail, microsoft, yahoo, other };
    struct wm_ip_counts c;
    memset(&c, 0, sizeof c);
    c.nproviders = 4;
    for (size_t i = 0; i < 4; i++) {
        c.name[i] = names[i];
        c.provider[i].sent = sent[i];
    }
    return c;
}

static void healthy_day_with_volume_advances(void **state)
{
    struct wm_health h = health();
    struct wm_ip_counts c = one(100, 0, 2, 0);
    struct wm_evaluation ev;
    warmup_evaluate(&h, 0, 5, 100, &c, &ev);
    assert_int_equal(ev.verdict, WM_ADVANCE);
    assert_int_equal(ev.new_stage, 1);
}

static void too_little_volume_holds(void **state)
{
    struct wm_health h = health();
    struct wm_ip_counts c = one(49, 0, 0, 0);
    struct wm_evaluation ev;
    warmup_evaluate(&h, 0, 5, 100, &c, &ev);
    assert_int_equal(ev.verdict, WM_HOLD);
    assert_int_equal(ev.new_stage, 0);
    assert_non_null(strstr(ev.reason, "volume 49 below 50"));
    struct wm_ip_counts none = one(0, 0, 0, 0);
    warmup_evaluate(&h, 2, 5, 2000, &none, &ev);
    assert_int_equal(ev.verdict, WM_HOLD);
}

static void a_day_at_a_limit_holds_and_only_a_day_over_it_steps_back(void **state)
{
    struct wm_health h = health();
    struct wm_evaluation ev;
    struct wm_ip_counts at_limit = one(1000, 10, 30, 1); /* exactly 1 %, 3 %, 0.1 % */
    warmup_evaluate(&h, 1, 5, 500, &at_limit, &ev);
    assert_int_equal(ev.verdict, WM_HOLD); /* not healthy (< is the rule), not over */
    assert_int_equal(ev.new_stage, 1);
    assert_non_null(strstr(ev.reason, "complaints 0.10% of 1000 at the limit"));
    struct wm_ip_counts hard_at = one(1000, 10, 0, 0);
    warmup_evaluate(&h, 1, 5, 500, &hard_at, &ev);
    assert_int_equal(ev.verdict, WM_HOLD);
    assert_non_null(strstr(ev.reason, "hard bounces 1.00% of 1000 at the limit"));
    struct wm_ip_counts soft_at = one(1000, 0, 30, 0);
    warmup_evaluate(&h, 1, 5, 500, &soft_at, &ev);
    assert_int_equal(ev.verdict, WM_HOLD);
    struct wm_ip_counts below = one(1000, 9, 29, 0);
    warmup_evaluate(&h, 1, 5, 500, &below, &ev);
    assert_int_equal(ev.verdict, WM_ADVANCE);
    struct wm_ip_counts over = one(1000, 11, 0, 0);
    warmup_evaluate(&h, 1, 5, 500, &over, &ev);
    assert_int_equal(ev.verdict, WM_STEP_BACK);
    assert_int_equal(ev.new_stage, 0);
    assert_non_null(strstr(ev.reason, "hard bounces 1.10%"));
}

static void hard_bounces_hold_at_stage_zero_or_when_configured(void **state)
{
    struct wm_health h = health();
    struct wm_evaluation ev;
    struct wm_ip_counts c = one(100, 5, 0, 0);
    warmup_evaluate(&h, 0, 5, 100, &c, &ev);
    assert_int_equal(ev.verdict, WM_HOLD); /* nothing to step back to */
    h.step_back = 0;
    warmup_evaluate(&h, 3, 5, 10000, &c, &ev);
    assert_int_equal(ev.verdict, WM_HOLD);
    assert_int_equal(ev.new_stage, 3);
}

static void soft_bounces_hold(void **state)
{
    struct wm_health h = health();
    struct wm_evaluation ev;
    struct wm_ip_counts c = one(100, 0, 4, 0);
    warmup_evaluate(&h, 2, 5, 100, &c, &ev);
    assert_int_equal(ev.verdict, WM_HOLD);
    assert_non_null(strstr(ev.reason, "soft bounces 4.00%"));
}

static void complaints_pause_before_anything_else(void **state)
{
    struct wm_health h = health();
    struct wm_evaluation ev;
    struct wm_ip_counts c = one(1000, 50, 50, 2);
    warmup_evaluate(&h, 2, 5, 2000, &c, &ev);
    assert_int_equal(ev.verdict, WM_PAUSE);
    assert_int_equal(ev.new_stage, 2);
    assert_string_equal(warmup_verdict_name(ev.verdict), "pause");
}

static void warm_ip_is_kept(void **state)
{
    struct wm_health h = health();
    struct wm_evaluation ev;
    struct wm_ip_counts c = one(100000, 0, 0, 0);
    warmup_evaluate(&h, 5, 5, WM_UNLIMITED, &c, &ev);
    assert_int_equal(ev.verdict, WM_KEEP);
}

static void negative_stage_is_evaluated_as_stage_zero(void **state)
{
    /* The policy caps a hand-edited negative stage like stage 0 (warmup_cap); the daily
     * evaluation must agree, not call the IP "warm" and keep it capped forever. */
    struct wm_health h = health();
    struct wm_evaluation ev;
    struct wm_ip_counts healthy = one(100, 0, 0, 0);
    warmup_evaluate(&h, -1, 5, 100, &healthy, &ev);
    assert_int_equal(ev.verdict, WM_ADVANCE);
    assert_int_equal(ev.new_stage, 1);
    struct wm_ip_counts bounced = one(100, 5, 0, 0);
    warmup_evaluate(&h, -2, 5, 100, &bounced, &ev);
    assert_int_equal(ev.verdict, WM_HOLD); /* nothing below stage 0 */
    assert_int_equal(ev.new_stage, 0);
}

static void rolling_complaints_pause_by_the_daily_rule(void **state)
{
    /* Between daily evaluations the last 24 hours are watched for complaints only. */
    struct wm_health h = health();
    char reason[160];
    struct wm_ip_counts spike = one(1000, 40, 40, 2); /* 0.2 % > 0.1 % */
    assert_int_equal(warmup_complaints_over(&h, &spike, reason, sizeof reason), 1);
    assert_non_null(strstr(reason, "complaints 0.20% of 1000"));
    struct wm_ip_counts at_limit = one(1000, 40, 40, 1); /* 0.1 %: not over */
    assert_int_equal(warmup_complaints_over(&h, &at_limit, reason, sizeof reason), 0);
    struct wm_ip_counts nothing_sent = one(0, 0, 0, 3); /* no rate without mail */
    assert_int_equal(warmup_complaints_over(&h, &nothing_sent, reason, sizeof reason), 0);
}

/* ---- per provider ----------------------------------------------------------- */

/* 10,000 sent at stage 3 (cap 10,000): gmail 1,000, microsoft 4,000, yahoo 3,000, other 2,000. */
static struct wm_ip_counts clean_day(void)
{
    return four(1000, 4000, 3000, 2000);
}

static void counts_total_sums_every_provider(void **state)
{
    struct wm_ip_counts c = clean_day();
    c.provider[0].complaint = 2;
    c.provider[1].hard = 3;
    c.provider[3].soft = 4;
    struct wm_day_counts t;
    warmup_counts_total(&c, &t);
    assert_int_equal(t.sent, 10000);
    assert_int_equal(t.complaint, 2);
    assert_int_equal(t.hard, 3);
    assert_int_equal(t.soft, 4);
}

static void one_provider_over_the_complaint_limit_pauses_although_the_total_is_clean(void **state)
{
    struct wm_health h = health();
    struct wm_evaluation ev;
    struct wm_ip_counts c = clean_day();
    c.provider[0].complaint = 5; /* gmail 0.5 %; all providers 0.05 % */
    warmup_evaluate(&h, 3, 5, 10000, &c, &ev);
    assert_int_equal(ev.verdict, WM_PAUSE);
    assert_int_equal(ev.new_stage, 3);
    assert_string_equal(ev.reason, "gmail: complaints 0.50% of 1000 over the limit (all providers 0.05% of 10000)");
    /* Judged on the total alone (what the daemon did before), the same day advanced. */
    h.min_provider_sent = 1000000;
    warmup_evaluate(&h, 3, 5, 10000, &c, &ev);
    assert_int_equal(ev.verdict, WM_ADVANCE);
}

static void a_provider_with_too_little_mail_is_only_counted_in_the_total(void **state)
{
    struct wm_health h = health();
    struct wm_evaluation ev;
    struct wm_ip_counts c = four(4000, 4000, 199, 1801);
    c.provider[2].complaint = 1; /* yahoo: 1 of 199 = 0.50 %, below min_provider_sent */
    warmup_evaluate(&h, 3, 5, 10000, &c, &ev);
    assert_int_equal(ev.verdict, WM_ADVANCE);
    c.provider[2].sent = 200; /* from 200 sent it is judged on its own */
    c.provider[3].sent = 1800;
    warmup_evaluate(&h, 3, 5, 10000, &c, &ev);
    assert_int_equal(ev.verdict, WM_PAUSE);
    assert_non_null(strstr(ev.reason, "yahoo: complaints 0.50% of 200 over the limit"));
}

static void the_total_is_judged_when_every_provider_is_too_small(void **state)
{
    struct wm_health h = health();
    struct wm_evaluation ev;
    struct wm_ip_counts c = four(150, 150, 150, 150);
    for (size_t i = 0; i < 4; i++)
        c.provider[i].complaint = 1; /* 4 of 600: 0.66 % of the total */
    warmup_evaluate(&h, 1, 5, 500, &c, &ev);
    assert_int_equal(ev.verdict, WM_PAUSE);
    assert_string_equal(ev.reason, "complaints 0.67% of 600 over the limit");
}

static void one_provider_over_the_hard_limit_steps_back_and_is_named(void **state)
{
    struct wm_health h = health();
    struct wm_evaluation ev;
    struct wm_ip_counts c = clean_day();
    c.provider[1].hard = 15; /* microsoft 15 of 4000 = 0.37 % */
    warmup_evaluate(&h, 3, 5, 10000, &c, &ev);
    assert_int_equal(ev.verdict, WM_ADVANCE); /* 0.37 % is below 1 % */
    c.provider[0].hard = 15;                  /* gmail 1.50 %; all providers 0.30 % */
    warmup_evaluate(&h, 3, 5, 10000, &c, &ev);
    assert_int_equal(ev.verdict, WM_STEP_BACK);
    assert_int_equal(ev.new_stage, 2);
    assert_string_equal(ev.reason, "gmail: hard bounces 1.50% of 1000 over the limit (all providers 0.30% of 10000)");
    h.step_back = 0;
    warmup_evaluate(&h, 3, 5, 10000, &c, &ev);
    assert_int_equal(ev.verdict, WM_HOLD);
    assert_int_equal(ev.new_stage, 3);
}

static void one_provider_over_the_soft_limit_holds(void **state)
{
    struct wm_health h = health();
    struct wm_evaluation ev;
    struct wm_ip_counts c = clean_day();
    c.provider[2].soft = 91; /* yahoo 3.03 % */
    warmup_evaluate(&h, 3, 5, 10000, &c, &ev);
    assert_int_equal(ev.verdict, WM_HOLD);
    assert_int_equal(ev.new_stage, 3);
    assert_non_null(strstr(ev.reason, "yahoo: soft bounces 3.03% of 3000 over the limit"));
}

static void a_provider_exactly_at_a_limit_holds(void **state)
{
    struct wm_health h = health();
    struct wm_evaluation ev;
    struct wm_ip_counts c = clean_day();
    c.provider[0].complaint = 1; /* gmail exactly 0.1 %: not over, not healthy */
    warmup_evaluate(&h, 3, 5, 10000, &c, &ev);
    assert_int_equal(ev.verdict, WM_HOLD);
    assert_int_equal(ev.new_stage, 3);
    assert_non_null(strstr(ev.reason, "gmail: complaints 0.10% of 1000 at the limit"));
    c.provider[0].complaint = 0;
    c.provider[3].hard = 20; /* other exactly 1 % */
    warmup_evaluate(&h, 3, 5, 10000, &c, &ev);
    assert_int_equal(ev.verdict, WM_HOLD);
    assert_non_null(strstr(ev.reason, "other: hard bounces 1.00% of 2000 at the limit"));
    c.provider[3].hard = 19; /* just below: healthy */
    warmup_evaluate(&h, 3, 5, 10000, &c, &ev);
    assert_int_equal(ev.verdict, WM_ADVANCE);
}

static void complaints_of_one_provider_outrank_bounces_of_another(void **state)
{
    struct wm_health h = health();
    struct wm_evaluation ev;
    struct wm_ip_counts c = clean_day();
    c.provider[0].hard = 50;     /* gmail 5 % hard */
    c.provider[2].complaint = 4; /* yahoo 0.13 % complaints */
    warmup_evaluate(&h, 3, 5, 10000, &c, &ev);
    assert_int_equal(ev.verdict, WM_PAUSE);
    assert_non_null(strstr(ev.reason, "yahoo: complaints 0.13% of 3000"));
}

static void rolling_watch_judges_each_provider(void **state)
{
    struct wm_health h = health();
    char reason[200];
    struct wm_ip_counts c = four(400, 2000, 1000, 600);
    c.provider[0].complaint = 1; /* gmail 0.25 %, all providers 0.02 % */
    assert_int_equal(warmup_complaints_over(&h, &c, reason, sizeof reason), 1);
    assert_string_equal(reason, "gmail: complaints 0.25% of 400 over the limit (all providers 0.03% of 4000)");
    c.provider[0].sent = 100; /* too little gmail mail to judge it alone */
    c.provider[3].sent = 900;
    assert_int_equal(warmup_complaints_over(&h, &c, reason, sizeof reason), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(day_and_hour_are_utc),
        cmocka_unit_test(cap_per_stage_then_unlimited),
        cmocka_unit_test(smoothing_spreads_the_cap_linearly),
        cmocka_unit_test(burst_allows_a_head_start_but_never_more_than_the_cap),
        cmocka_unit_test(smoothing_window_with_start_hour),
        cmocka_unit_test(no_smoothing_or_unlimited_pass_through),
        cmocka_unit_test(provider_share_of_the_cap),
        cmocka_unit_test(healthy_day_with_volume_advances),
        cmocka_unit_test(too_little_volume_holds),
        cmocka_unit_test(a_day_at_a_limit_holds_and_only_a_day_over_it_steps_back),
        cmocka_unit_test(hard_bounces_hold_at_stage_zero_or_when_configured),
        cmocka_unit_test(soft_bounces_hold),
        cmocka_unit_test(complaints_pause_before_anything_else),
        cmocka_unit_test(warm_ip_is_kept),
        cmocka_unit_test(negative_stage_is_evaluated_as_stage_zero),
        cmocka_unit_test(rolling_complaints_pause_by_the_daily_rule),
        cmocka_unit_test(counts_total_sums_every_provider),
        cmocka_unit_test(one_provider_over_the_complaint_limit_pauses_although_the_total_is_clean),
        cmocka_unit_test(a_provider_with_too_little_mail_is_only_counted_in_the_total),
        cmocka_unit_test(the_total_is_judged_when_every_provider_is_too_small),
        cmocka_unit_test(one_provider_over_the_hard_limit_steps_back_and_is_named),
        cmocka_unit_test(one_provider_over_the_soft_limit_holds),
        cmocka_unit_test(a_provider_exactly_at_a_limit_holds),
        cmocka_unit_test(complaints_of_one_provider_outrank_bounces_of_another),
        cmocka_unit_test(rolling_watch_judges_each_provider),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
