/*
 * test_tap_shape.c - unit tests of triggers and effects
 * (maillog-tap/tap_shape.c) and the in-flight attempt set
 * (tap_attempts.c): count windows that slide and restart after firing,
 * rate triggers with their minimum volume and sent lines in the
 * denominator, slow steps and their reset after a clean period, a running
 * suspension not restarted, alert dedup, the our-fault demotion, key
 * values (IP, transport label, netblock, the DKIM domain a reply names),
 * and the replay of the hand-written Postfix and Exim sample logs end to
 * end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tap_attempts.h"
#include "tap_postfix.h"
#include "tap_replay.h"
#include "tap_shape.h"

#define T0 1795860000LL

static struct tap_rules *rules;

static int setup(void **state)
{
    char err[256] = "";
    rules = tap_rules_load_text("cnt   gmail  count:3/10m      suspend:1h       ip           /unusual rate/\n"
                                "rt    yahoo  rate:10%/1h/20   hold:1d          ip           /tss04/\n"
                                "slw   microsoft count:1/1h    slow:0.5:50:2h   ip           /rate limited/\n"
                                "al    apple  immediate        alert            ip           /blocked/\n"
                                "dk    comcast immediate       slow:0.5:10:1h   dkim_domain  /dkim domain/\n"
                                "nb    gmx    immediate        suspend:1h       netblock     /listed/\n"
                                "own   *      immediate        suspend:1h       ip           /5\\.7\\.515/\n",
                                "t.conf", err, sizeof(err));
    if (rules == NULL)
        fprintf(stderr, "%s\n", err);
    return rules == NULL;
}

static int teardown(void **state)
{
    tap_rules_free(rules);
    return 0;
}

static struct tap_event event(const char *ip, const char *transport, const char *reply, enum tap_status st)
{
    struct tap_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = TAP_LINE_OUTCOME;
    ev.status = st;
    if (ip) {
        ev.source_ip.p = ip;
        ev.source_ip.n = strlen(ip);
    }
    ev.transport.p = transport;
    ev.transport.n = strlen(transport);
    if (reply) {
        ev.reply.p = reply;
        ev.reply.n = strlen(reply);
        ev.remote_reply = true;
    }
    return ev;
}

static struct tap_verdict verdict(const char *provider, bool our_fault)
{
    struct tap_verdict v;
    memset(&v, 0, sizeof(v));
    v.provider = provider;
    v.reply.category = "ratelimited";
    v.reply.our_fault = our_fault;
    return v;
}

static const struct tap_rule *rule(const char *name)
{
    for (size_t i = 0; i < tap_rules_count(rules); i++)
        if (strcmp(tap_rules_at(rules, i)->name, name) == 0)
            return tap_rules_at(rules, i);
    return NULL;
}

static void test_count_window_slides_and_restarts(void **state)
{
    struct tap_shape *sh = tap_shape_new(rules);
    struct tap_event ev = event("192.0.2.10", "smtp-192.0.2.10", "421 4.7.28 unusual rate", TAP_STATUS_DEFERRED);
    struct tap_verdict v = verdict("gmail", false);
    struct tap_shape_effect eff;
    assert_false(tap_shape_observe(sh, &ev, &v, rule("cnt"), T0, &eff));
    assert_false(tap_shape_observe(sh, &ev, &v, rule("cnt"), T0 + 60, &eff));
    /* the first two fell out of the 10 minute window */
    assert_false(tap_shape_observe(sh, &ev, &v, rule("cnt"), T0 + 1200, &eff));
    assert_false(tap_shape_observe(sh, &ev, &v, rule("cnt"), T0 + 1260, &eff));
    assert_true(tap_shape_observe(sh, &ev, &v, rule("cnt"), T0 + 1320, &eff));
    assert_int_equal(eff.kind, TAP_EFFECT_SUSPEND);
    assert_int_equal(eff.count, 3);
    assert_string_equal(eff.value, "192.0.2.10");
    assert_string_equal(eff.provider, "gmail");
    assert_int_equal(eff.until, T0 + 1320 + 3600);
    /* while suspended, three more do not start a second suspension */
    for (int i = 1; i <= 3; i++)
        assert_false(tap_shape_observe(sh, &ev, &v, rule("cnt"), T0 + 1320 + i, &eff));
    /* another IP has its own count */
    struct tap_event other = event("192.0.2.11", "smtp-192.0.2.11", "421 4.7.28 unusual rate", TAP_STATUS_DEFERRED);
    assert_false(tap_shape_observe(sh, &other, &v, rule("cnt"), T0 + 1330, &eff));
    tap_shape_free(sh);
}

static void test_rate_needs_volume_and_counts_sent(void **state)
{
    struct tap_shape *sh = tap_shape_new(rules);
    struct tap_event sent = event("192.0.2.11", "smtp-192.0.2.11", "250 ok", TAP_STATUS_SENT);
    struct tap_event tss = event("192.0.2.11", "smtp-192.0.2.11", "421 4.7.0 [TSS04]", TAP_STATUS_DEFERRED);
    struct tap_verdict v = verdict("yahoo", false);
    struct tap_shape_effect eff;
    /* 2 of 2: 100% but below the minimum volume of 20 */
    assert_false(tap_shape_observe(sh, &tss, &v, rule("rt"), T0, &eff));
    assert_false(tap_shape_observe(sh, &tss, &v, rule("rt"), T0 + 1, &eff));
    for (int i = 0; i < 30; i++)
        assert_false(tap_shape_observe(sh, &sent, &v, NULL, T0 + 2 + i, &eff));
    /* 3 of 33 = 9.1% < 10% */
    assert_false(tap_shape_observe(sh, &tss, &v, rule("rt"), T0 + 40, &eff));
    /* 4 of 34 = 11.8% */
    assert_true(tap_shape_observe(sh, &tss, &v, rule("rt"), T0 + 41, &eff));
    assert_int_equal(eff.kind, TAP_EFFECT_HOLD);
    assert_int_equal(eff.count, 4);
    assert_int_equal(eff.total, 34);
    tap_shape_free(sh);
}

static void test_slow_steps_then_resets(void **state)
{
    struct tap_shape *sh = tap_shape_new(rules);
    struct tap_event ev = event("192.0.2.11", "smtp-192.0.2.11", "451 4.7.650 rate limited", TAP_STATUS_DEFERRED);
    struct tap_verdict v = verdict("microsoft", false);
    struct tap_shape_effect eff;
    assert_true(tap_shape_observe(sh, &ev, &v, rule("slw"), T0, &eff));
    assert_int_equal(eff.step, 1);
    assert_true(eff.factor > 0.49 && eff.factor < 0.51);
    assert_int_equal(eff.floor, 50);
    assert_true(tap_shape_observe(sh, &ev, &v, rule("slw"), T0 + 600, &eff));
    assert_int_equal(eff.step, 2);
    assert_true(eff.factor > 0.24 && eff.factor < 0.26);
    /* clean for more than 2h: back to step 1 */
    assert_true(tap_shape_observe(sh, &ev, &v, rule("slw"), T0 + 600 + 7201, &eff));
    assert_int_equal(eff.step, 1);
    tap_shape_free(sh);
}

static void test_alert_dedup_and_our_fault_demotion(void **state)
{
    struct tap_shape *sh = tap_shape_new(rules);
    struct tap_event ev = event("192.0.2.12", "smtp-192.0.2.12", "554 5.7.0 Blocked", TAP_STATUS_BOUNCED);
    struct tap_verdict v = verdict("apple", false);
    struct tap_shape_effect eff;
    assert_true(tap_shape_observe(sh, &ev, &v, rule("al"), T0, &eff));
    assert_int_equal(eff.kind, TAP_EFFECT_ALERT);
    assert_false(tap_shape_observe(sh, &ev, &v, rule("al"), T0 + 1800, &eff));
    assert_true(tap_shape_observe(sh, &ev, &v, rule("al"), T0 + 3601, &eff));
    /* a suspend rule on a reply the classifier calls our fault only alerts */
    struct tap_event own = event("192.0.2.12", "smtp-192.0.2.12", "550 5.7.515 Access denied", TAP_STATUS_BOUNCED);
    struct tap_verdict ov = verdict("microsoft", true);
    assert_true(tap_shape_observe(sh, &own, &ov, rule("own"), T0, &eff));
    assert_int_equal(eff.kind, TAP_EFFECT_ALERT);
    assert_true(eff.demoted);
    tap_shape_free(sh);
}

static void test_key_values(void **state)
{
    char out[TAP_KEY_VALUE_MAX];
    struct tap_event ev = event(NULL, "postfix-ip2", "x", TAP_STATUS_DEFERRED);
    tap_shape_key_value(TAP_KEY_IP, &ev, out, sizeof(out));
    assert_string_equal(out, "postfix-ip2"); /* no IP in the log: the transport label */
    ev = event("192.0.2.77", "smtp-192.0.2.77", "x", TAP_STATUS_DEFERRED);
    tap_shape_key_value(TAP_KEY_NETBLOCK, &ev, out, sizeof(out));
    assert_string_equal(out, "192.0.2.0/24");
    ev = event("2001:db8:1:2:3:4:5:6", "smtp-v6", "x", TAP_STATUS_DEFERRED);
    tap_shape_key_value(TAP_KEY_NETBLOCK, &ev, out, sizeof(out));
    assert_string_equal(out, "2001:db8:1:2::/64");
    ev = event("192.0.2.77", "t",
               "421 4.7.28 unusual rate of unsolicited email originating from your DKIM domain "
               "News.Example.ORG. To protect",
               TAP_STATUS_DEFERRED);
    tap_shape_key_value(TAP_KEY_DKIM_DOMAIN, &ev, out, sizeof(out));
    assert_string_equal(out, "news.example.org");
    ev = event("192.0.2.77", "t", "421 4.7.28 from your DKIM domain. To protect", TAP_STATUS_DEFERRED);
    tap_shape_key_value(TAP_KEY_DKIM_DOMAIN, &ev, out, sizeof(out));
    assert_string_equal(out, "?");
    tap_shape_key_value(TAP_KEY_URL_DOMAIN, &ev, out, sizeof(out));
    assert_string_equal(out, "?");
}

static void test_attempts_retry_and_final(void **state)
{
    struct tap_attempts *a = tap_attempts_new(4);
    assert_true(tap_attempts_add(a, "Q1", 2, "a@x", 3, false));  /* deferred: first */
    assert_false(tap_attempts_add(a, "Q1", 2, "A@X", 3, false)); /* retry (address case ignored) */
    assert_false(tap_attempts_add(a, "Q1", 2, "a@x", 3, true));  /* sent: a retry, and it leaves */
    assert_int_equal(tap_attempts_inflight(a), 0);
    assert_true(tap_attempts_add(a, "Q1", 2, "b@x", 3, true));  /* first and final */
    assert_true(tap_attempts_add(a, "Q", 1, "1a@x", 4, false)); /* ("Q","1a@x") is not ("Q1","a@x") */
    for (int i = 0; i < 10; i++) {
        char q[8];
        snprintf(q, sizeof(q), "Z%d", i);
        assert_true(tap_attempts_add(a, q, strlen(q), "r@x", 3, false));
    }
    assert_int_equal(tap_attempts_inflight(a), 4); /* the limit */
    assert_int_equal(tap_attempts_untracked(a), 7);
    tap_attempts_free(a);
    /* many in flight and done: the table grows and reuses deleted slots */
    a = tap_attempts_new(1u << 20);
    char q[16];
    for (int i = 0; i < 50000; i++) {
        snprintf(q, sizeof(q), "%08X", i);
        assert_true(tap_attempts_add(a, q, 8, "r@x", 3, false));
    }
    for (int i = 0; i < 50000; i++) {
        snprintf(q, sizeof(q), "%08X", i);
        assert_false(tap_attempts_add(a, q, 8, "r@x", 3, true));
    }
    assert_int_equal(tap_attempts_inflight(a), 0);
    tap_attempts_free(a);
}

static void test_replay_sample_log(void **state)
{
    char err[256] = "";
    struct tap_rules *shipped = tap_rules_load_file("conf/shaping-rules.conf", err, sizeof(err));
    struct reply_rules *classifier = reply_rules_default(err, sizeof(err));
    struct tap_provider *tp = tap_provider_new(err, sizeof(err));
    assert_non_null(shipped);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    char *files[] = { "tests/data/maillog-sample.log" };
    struct tap_replay_opts o = { .from_start = 1 };
    assert_int_equal(tap_replay_files(shipped, classifier, tp, &o, files, 1, out), 0);
    fclose(out);
    /* 17 smtp outcomes; the error(8) repeat, the local delivery and the rest print nothing */
    size_t deliveries = 0;
    for (const char *p = text; (p = strstr(p, "\"type\":\"delivery\"")) != NULL; p++)
        deliveries++;
    assert_int_equal(deliveries, 17);
    assert_null(strstr(text, "erin@googlemail.com"));
    /* the third Gmail 4.7.28 within 10 minutes suspends 192.0.2.10 x gmail */
    assert_non_null(strstr(text, "{\"type\":\"effect\",\"action\":\"suspend\",\"key\":\"ip\",\"value\":\"192.0.2.10\","
                                 "\"ip\":\"192.0.2.10\",\"transport\":\"smtp-192.0.2.10\",\"provider\":\"gmail\","
                                 "\"rule\":\"gmail-rate-ip\""));
    /* Microsoft 5.7.515 is our fault: an alert, never a slow-down */
    assert_non_null(strstr(text,
                           "\"action\":\"alert\",\"key\":\"ip\",\"value\":\"192.0.2.11\",\"ip\":\"192.0.2.11\","
                           "\"transport\":\"smtp-192.0.2.11\",\"provider\":\"microsoft\",\"rule\":\"own-setup\""));
    /* retries are attempts, not messages: yahoo on .11 had 3 attempts of 1 message */
    assert_non_null(strstr(text, "\"transport\":\"smtp-192.0.2.11\",\"ip\":\"192.0.2.11\",\"provider\":\"yahoo\","
                                 "\"attempts\":3,\"messages\":1,\"retries\":2,\"sent\":1,\"deferred\":2,\"bounced\":0,"
                                 "\"deferral_rate\":0.6667"));
    assert_non_null(strstr(text, "\"lines\":28,\"outcomes\":17,\"repeats\":1,\"local\":1,\"other\":9"));
    assert_non_null(strstr(text, "\"effects\":4"));
    free(text);
    tap_rules_free(shipped);
    reply_rules_free(classifier);
    tap_provider_free(tp);
}

static void test_replay_exim_sample_by_detection(void **state)
{
    char err[256] = "";
    struct tap_rules *shipped = tap_rules_load_file("conf/shaping-rules.conf", err, sizeof(err));
    struct reply_rules *classifier = reply_rules_default(err, sizeof(err));
    struct tap_provider *tp = tap_provider_new(err, sizeof(err));
    assert_non_null(shipped);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    char *files[] = { "tests/data/exim-mainlog-sample.log" };
    struct tap_replay_opts o = { .from_start = 1 }; /* no --exim: recognised by its lines */
    assert_int_equal(tap_replay_files(shipped, classifier, tp, &o, files, 1, out), 0);
    fclose(out);
    /* =>, ==, ** and the errno defer are outcomes; the retry-time repeat, the
     * routing failure, <= and Completed are not */
    assert_non_null(strstr(text, "\"lines\":11,\"outcomes\":6,\"repeats\":1,\"local\":1,\"other\":3"));
    assert_non_null(strstr(text, "\"recipient\":\"bob@gmail.com\",\"status\":\"deferred\",\"dsn\":\"4.7.28\","
                                 "\"code\":421,\"command\":\"DATA\",\"ip\":\"192.0.2.10\","
                                 "\"transport\":\"remote_smtp_ip10\",\"provider\":\"gmail\""));
    assert_non_null(strstr(text, "\"rule\":\"gmail-rate-ip\""));
    assert_non_null(strstr(text, "\"provider\":\"gmail\",\"attempts\":4,\"messages\":3,\"retries\":1"));
    free(text);
    tap_rules_free(shipped);
    reply_rules_free(classifier);
    tap_provider_free(tp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_window_slides_and_restarts),
        cmocka_unit_test(test_rate_needs_volume_and_counts_sent),
        cmocka_unit_test(test_slow_steps_then_resets),
        cmocka_unit_test(test_alert_dedup_and_our_fault_demotion),
        cmocka_unit_test(test_key_values),
        cmocka_unit_test(test_attempts_retry_and_final),
        cmocka_unit_test(test_replay_sample_log),
        cmocka_unit_test(test_replay_exim_sample_by_detection),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
