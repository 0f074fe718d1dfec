/*
 * test_tap_fx.c - effects waiting for Redis (maillog-tap/tap_fx.c): the
 * record copies what it needs out of the line (the line may be gone when
 * Redis comes back), keeps the evidence of each trigger kind, cuts the
 * reply, and the queue keeps order through growth and wrap-around, says
 * full at max and never drops a record.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tap_fx.h"

static struct tap_str view(const char *s)
{
    struct tap_str v = { s, s ? strlen(s) : 0 };
    return v;
}

static void record_is_a_copy_with_its_evidence(void **state)
{
    (void)state;
    char err[256];
    struct tap_rules *rules = tap_rules_load_text("cnt gmail count:3/10m suspend:1h ip /unusual rate/\n"
                                                  "rt  yahoo rate:10%/1h/20 slow:0.5:50:2h netblock /tss04/\n",
                                                  "t.conf", err, sizeof err);
    assert_non_null(rules);
    char line[] = "421-4.7.28 unusual rate of unsolicited mail";
    struct tap_event ev;
    memset(&ev, 0, sizeof ev);
    ev.source_ip = view("192.0.2.10");
    ev.transport = view("smtp-192.0.2.10");
    ev.queue_id = view("7A8F9A72501");
    ev.recipient = view("a@gmail.com");
    ev.dsn = view("4.7.28");
    ev.reply = view(line);
    ev.remote_reply = true;
    struct tap_verdict v = { "gmail", { .category = "ratelimited" } };
    snprintf(v.reply.why, sizeof v.reply.why, "rate");
    struct tap_shape_effect eff = { .rule = tap_rules_at(rules, 0),
                                    .kind = TAP_EFFECT_SUSPEND,
                                    .key = TAP_KEY_IP,
                                    .provider = "gmail",
                                    .start = 100,
                                    .until = 3700,
                                    .count = 3 };
    snprintf(eff.value, sizeof eff.value, "192.0.2.10");
    struct tap_fx fx;
    tap_fx_from(&fx, &ev, &v, &eff);
    memset(line, 'X', sizeof line - 1); /* the line is gone */
    assert_string_equal(fx.action, "suspend");
    assert_string_equal(fx.kind, "ip");
    assert_string_equal(fx.subject, "192.0.2.10");
    assert_string_equal(fx.provider, "gmail");
    assert_string_equal(fx.rule, "cnt");
    assert_string_equal(fx.reason, "421-4.7.28 unusual rate of unsolicited mail");
    assert_string_equal(fx.evidence, "count 3 in 600s");
    assert_string_equal(fx.queue_id, "7A8F9A72501");
    assert_string_equal(fx.status, "4.7.28");
    assert_true(fx.factor == 1.0);
    assert_int_equal(fx.until, 3700);

    eff.rule = tap_rules_at(rules, 1);
    eff.kind = TAP_EFFECT_SLOW;
    eff.key = TAP_KEY_NETBLOCK;
    eff.factor = 0.25;
    eff.step = 2;
    eff.floor = 50;
    eff.count = 4;
    eff.total = 30;
    eff.provider = NULL;
    snprintf(eff.value, sizeof eff.value, "192.0.2.0/24");
    char big[2000];
    memset(big, 'r', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ev.reply = view(big);
    tap_fx_from(&fx, &ev, &v, &eff);
    assert_string_equal(fx.kind, "netblock");
    assert_string_equal(fx.evidence, "rate 4/30 in 3600s");
    assert_string_equal(fx.provider, "other");
    assert_true(fx.factor == 0.5); /* the rule's step, not factor^step */
    assert_int_equal(fx.clean, 7200);
    assert_int_equal(fx.floor, 50);
    assert_true(strlen(fx.reason) < TAP_FX_REASON_MAX);
    tap_rules_free(rules);
}

static void queue_keeps_order_says_full_and_never_drops(void **state)
{
    (void)state;
    struct tap_fxq q;
    tap_fxq_init(&q, 20);
    struct tap_fx fx;
    memset(&fx, 0, sizeof fx);
    long long next = 0;
    for (long long i = 0; i < 15; i++) { /* fill, take some: the ring wraps before it grows */
        fx.until = i;
        tap_fxq_push(&q, &fx);
    }
    for (int i = 0; i < 10; i++, next++) {
        assert_int_equal(tap_fxq_peek(&q)->until, next);
        tap_fxq_pop(&q);
    }
    for (long long i = 15; i < 40; i++) { /* past max: still taken */
        fx.until = i;
        tap_fxq_push(&q, &fx);
    }
    assert_true(tap_fxq_full(&q));
    assert_int_equal(q.n, 30);
    while (tap_fxq_peek(&q) != NULL) {
        assert_int_equal(tap_fxq_peek(&q)->until, next++);
        tap_fxq_pop(&q);
        if (q.n < 20)
            assert_false(tap_fxq_full(&q));
    }
    assert_int_equal(next, 40);
    tap_fxq_pop(&q); /* empty: nothing happens */
    assert_null(tap_fxq_peek(&q));
    tap_fxq_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(record_is_a_copy_with_its_evidence),
        cmocka_unit_test(queue_keeps_order_says_full_and_never_drops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
