/*
 * test_tap_rules.c - unit tests of the shaping rules (maillog-tap/tap_rules.c)
 * and their linter (tap_lint.c): the line format and its errors with
 * file:line, tier precedence (provider rules before * rules), the
 * our-fault demotion to alert, reply unfolding before matching, the
 * linter over the shipped conf/shaping-rules.conf and
 * tests/data/receiver-replies.txt (it must be clean), and the linter
 * failing on a dead rule, on two disagreeing rules, on a rule that slows
 * traffic for our own fault and on an unknown provider.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "reply_class.h"
#include "tap_lint.h"
#include "tap_provider.h"
#include "tap_rules.h"

static struct reply_rules *classifier;
static struct tap_provider *tp;

static int setup(void **state)
{
    char err[256] = "";
    classifier = reply_rules_default(err, sizeof(err));
    tp = tap_provider_new(err, sizeof(err));
    return classifier == NULL || tp == NULL;
}

static int teardown(void **state)
{
    reply_rules_free(classifier);
    tap_provider_free(tp);
    return 0;
}

static void expect_error(const char *text, const char *want)
{
    char err[256] = "";
    struct tap_rules *r = tap_rules_load_text(text, "t.conf", err, sizeof(err));
    if (r != NULL)
        fail_msg("accepted: %s", text);
    if (strstr(err, want) == NULL)
        fail_msg("error \"%s\" does not say \"%s\"", err, want);
}

static void test_parse_fields(void **state)
{
    char err[256] = "";
    struct tap_rules *r = tap_rules_load_text("# comment\n\n"
                                              "a  gmail,yahoo  count:3/10m  suspend:1h  ip  /x y/\n"
                                              "b  *  rate:2.5%/1h/50  slow:0.5:100:2h  limited  /z/\n"
                                              "c  apple  immediate  hold:1d  dkim_domain  /w/\n"
                                              "d  *  immediate  alert  url_domain  /v/   \n",
                                              "t.conf", err, sizeof(err));
    if (r == NULL)
        fail_msg("%s", err);
    assert_int_equal(tap_rules_count(r), 4);
    const struct tap_rule *a = tap_rules_at(r, 0), *b = tap_rules_at(r, 1), *c = tap_rules_at(r, 2);
    assert_string_equal(a->name, "a");
    assert_int_equal(a->line, 3);
    assert_int_equal(a->nproviders, 2);
    assert_string_equal(a->providers[1], "yahoo");
    assert_int_equal(a->trigger.kind, TAP_TRIGGER_COUNT);
    assert_int_equal(a->trigger.count, 3);
    assert_int_equal(a->trigger.window, 600);
    assert_int_equal(a->effect.kind, TAP_EFFECT_SUSPEND);
    assert_int_equal(a->effect.duration, 3600);
    assert_string_equal(a->pattern, "x y");
    assert_int_equal(b->nproviders, 0);
    assert_int_equal(b->trigger.kind, TAP_TRIGGER_RATE);
    assert_true(b->trigger.percent > 2.49 && b->trigger.percent < 2.51);
    assert_int_equal(b->trigger.min_volume, 50);
    assert_int_equal(b->effect.kind, TAP_EFFECT_SLOW);
    assert_int_equal(b->effect.floor, 100);
    assert_int_equal(b->effect.clean, 7200);
    assert_int_equal(b->key, TAP_KEY_LIMITED);
    assert_int_equal(c->effect.kind, TAP_EFFECT_HOLD);
    assert_int_equal(c->effect.duration, 86400);
    assert_int_equal(tap_rules_at(r, 3)->effect.kind, TAP_EFFECT_ALERT);
    assert_null(tap_rules_at(r, 4));
    tap_rules_free(r);
}

static void test_parse_errors_name_the_line(void **state)
{
    expect_error("a * immediate alert ip /x/\na * immediate alert ip /y/\n", "t.conf:2: NAME used twice");
    expect_error("\n\nA * immediate alert ip /x/\n", "t.conf:3: NAME");
    expect_error("a gmail;yahoo immediate alert ip /x/\n", "PROVIDER");
    expect_error("a * count:0/10m alert ip /x/\n", "N >= 1");
    expect_error("a * count:3/10x alert ip /x/\n", "WINDOW");
    expect_error("a * rate:5/1h/10 alert ip /x/\n", "% sign");
    expect_error("a * rate:150%/1h/10 alert ip /x/\n", "0 < P <= 100");
    expect_error("a * rate:5%/1h/0 alert ip /x/\n", "MIN");
    expect_error("a * sometimes alert ip /x/\n", "TRIGGER is");
    expect_error("a * immediate slow:1.5:10:1h ip /x/\n", "FACTOR");
    expect_error("a * immediate slow:0.5:0:1h ip /x/\n", "FLOOR");
    expect_error("a * immediate suspend ip /x/\n", "EFFECT is");
    expect_error("a * immediate suspend:0s ip /x/\n", "duration");
    expect_error("a * immediate alert sender /x/\n", "KEY is");
    expect_error("a * immediate alert ip x\n", "PATTERN must be");
    expect_error("a * immediate alert ip //\n", "PATTERN must be");
    expect_error("a * immediate alert ip /(x/\n", "PATTERN at offset");
    expect_error("a * immediate alert\n", "KEY");
    char big[TAP_RULE_LINE_MAX + 64];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    expect_error(big, "longer than 4096");
}

static void test_durations(void **state)
{
    assert_int_equal(tap_duration("90", 2), 90);
    assert_int_equal(tap_duration("90s", 3), 90);
    assert_int_equal(tap_duration("10m", 3), 600);
    assert_int_equal(tap_duration("2h", 2), 7200);
    assert_int_equal(tap_duration("1w", 2), 604800);
    assert_int_equal(tap_duration("", 0), -1);
    assert_int_equal(tap_duration("h", 1), -1);
    assert_int_equal(tap_duration("5hh", 3), -1);
    assert_int_equal(tap_duration("999999999999", 12), -1);
}

static void test_provider_tier_first_then_star(void **state)
{
    char err[256] = "";
    struct tap_rules *r = tap_rules_load_text("generic   *      immediate  alert       ip  /rate limited/\n"
                                              "gmail-ip  gmail  immediate  suspend:1h  ip  /your ip address/\n",
                                              "t.conf", err, sizeof(err));
    assert_non_null(r);
    const char *t = "421 4.7.28 email sent from your IP address has been temporarily rate limited";
    /* the provider's own rule wins although the * rule comes first in the file */
    assert_string_equal(tap_rules_match(r, "gmail", t, strlen(t))->name, "gmail-ip");
    assert_string_equal(tap_rules_match(r, "yahoo", t, strlen(t))->name, "generic");
    assert_string_equal(tap_rules_match(r, NULL, t, strlen(t))->name, "generic");
    assert_null(tap_rules_match(r, "gmail", "250 ok", 6));
    tap_rules_free(r);
}

static void test_unfolded_before_matching(void **state)
{
    char err[256] = "";
    struct tap_rules *r = tap_rules_load_text("g gmail immediate suspend:1h ip /unusual rate of unsolicited mail/\n",
                                              "t.conf", err, sizeof(err));
    assert_non_null(r);
    const char *postfix = "421-4.7.0 [192.0.2.1 15] Our system has detected an unusual rate of 421-4.7.0 "
                          "unsolicited mail originating from your IP address. 421 4.7.0 review - gsmtp";
    const char *exim = "421-4.7.0 [192.0.2.1 15] Our system has detected an unusual rate of\\n421-4.7.0 "
                       "unsolicited mail originating from your IP address.\\n421 4.7.0 review - gsmtp";
    assert_null(tap_rules_match(r, "gmail", postfix, strlen(postfix)));
    assert_non_null(tap_rules_match_reply(r, "gmail", postfix, strlen(postfix)));
    assert_non_null(tap_rules_match_reply(r, "gmail", exim, strlen(exim)));
    /* a single-line reply has no continuation lines: nothing is removed */
    const char *single = "421 4.7.0 unusual rate of 421 unsolicited mail";
    assert_null(tap_rules_match_reply(r, "gmail", single, strlen(single)));
    tap_rules_free(r);
}

static void test_our_fault_only_alerts(void **state)
{
    char err[256] = "";
    struct tap_rules *r = tap_rules_load_text("s * immediate suspend:1h ip /x/\n", "t.conf", err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(tap_rules_effect_for(tap_rules_at(r, 0), false), TAP_EFFECT_SUSPEND);
    assert_int_equal(tap_rules_effect_for(tap_rules_at(r, 0), true), TAP_EFFECT_ALERT);
    tap_rules_free(r);
}

static void test_match_limit_bounds_hostile_text(void **state)
{
    char err[256] = "";
    struct tap_rules *r = tap_rules_load_text("bad * immediate alert ip /(a+)+$/\n", "t.conf", err, sizeof(err));
    assert_non_null(r);
    char text[4096];
    memset(text, 'a', sizeof(text) - 1);
    text[sizeof(text) - 1] = 'b';
    /* catastrophic backtracking hits the match limit: no match, no hang */
    assert_null(tap_rules_match(r, "gmail", text, sizeof(text)));
    tap_rules_free(r);
}

static void test_shipped_rules_lint_clean(void **state)
{
    char err[256] = "";
    struct tap_rules *r = tap_rules_load_file("conf/shaping-rules.conf", err, sizeof(err));
    if (r == NULL)
        fail_msg("%s", err);
    struct tap_lint_stats st = { 0 };
    int n = tap_lint(r, classifier, tp, "tests/data/receiver-replies.txt", stderr, &st);
    assert_int_equal(n, 0);
    assert_true(st.samples >= 60);
    assert_true(tap_rules_count(r) >= 30);
    /* every rule won a reply; some replies (greylisting, user unknown) need no rule */
    assert_true(st.matched >= tap_rules_count(r) && st.matched < st.samples);
    tap_rules_free(r);
}

static char corpus_path[64];

static void write_corpus(const char *text)
{
    snprintf(corpus_path, sizeof(corpus_path), "/tmp/tap-corpus-%d.txt", (int)getpid());
    FILE *fp = fopen(corpus_path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static size_t lint_text(const char *rules_text, const char *corpus, char *report, size_t reportsize)
{
    char err[256] = "";
    struct tap_rules *r = tap_rules_load_text(rules_text, "t.conf", err, sizeof(err));
    if (r == NULL)
        fail_msg("%s", err);
    write_corpus(corpus);
    FILE *out = fmemopen(report, reportsize, "w");
    struct tap_lint_stats st = { 0 };
    tap_lint(r, classifier, tp, corpus_path, out, &st);
    fclose(out);
    unlink(corpus_path);
    tap_rules_free(r);
    return st.errors;
}

static void test_linter_failures(void **state)
{
    char report[4096];
    const char *corpus =
        "gmail\tdoc\t421 4.7.28 Gmail has detected an unusual rate of email originating from your IP address\n"
        "microsoft\tdoc\t550 5.7.515 Access denied, sending domain example.org does not meet the required "
        "authentication level.\n";
    /* a rule no reply reaches */
    assert_int_equal(lint_text("ip gmail immediate suspend:1h ip /your ip address/\n"
                               "own * immediate alert ip /5\\.7\\.515/\n"
                               "dead yahoo immediate alert ip /tss04/\n",
                               corpus, report, sizeof(report)),
                     1);
    assert_non_null(strstr(report, "rule dead (line 3): wins no reply"));
    /* a rule shadowed by an earlier one with the same effect is dead too */
    assert_int_equal(lint_text("ip gmail immediate suspend:1h ip /your ip address/\n"
                               "ip2 gmail immediate suspend:1h ip /ip address/\n"
                               "own * immediate alert ip /5\\.7\\.515/\n",
                               corpus, report, sizeof(report)),
                     1);
    assert_non_null(strstr(report, "rule ip2"));
    /* two rules of one tier, different effects, on one reply */
    assert_int_equal(lint_text("ip gmail immediate suspend:1h ip /your ip address/\n"
                               "slow gmail immediate slow:0.5:10:1h ip /unusual rate/\n"
                               "own * immediate alert ip /5\\.7\\.515/\n",
                               corpus, report, sizeof(report)),
                     2);
    assert_non_null(strstr(report, "rules ip (line 1) and slow (line 2) disagree"));
    /* slowing traffic for our own fault (Microsoft 5.7.515) */
    assert_int_equal(lint_text("ip gmail immediate suspend:1h ip /your ip address/\n"
                               "own * immediate suspend:1h ip /5\\.7\\.515/\n",
                               corpus, report, sizeof(report)),
                     1);
    assert_non_null(strstr(report, "our own setup"));
    /* a provider that never occurs (KumoMTA's dead Gmail rules) */
    assert_int_equal(lint_text("ip gmail immediate suspend:1h ip /your ip address/\n"
                               "own * immediate alert ip /5\\.7\\.515/\n"
                               "g googlemail immediate alert ip /x/\n",
                               corpus, report, sizeof(report)),
                     2);
    assert_non_null(strstr(report, "unknown provider \"googlemail\""));
    /* corpus lines need a source */
    assert_int_equal(lint_text("ip gmail immediate suspend:1h ip /your ip address/\n",
                               "gmail\t\t421 4.7.28 your IP address\ngmail\tdoc\t421 your IP address\n", report,
                               sizeof(report)),
                     1);
    assert_non_null(strstr(report, "a source is required"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_parse_errors_name_the_line),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_provider_tier_first_then_star),
        cmocka_unit_test(test_unfolded_before_matching),
        cmocka_unit_test(test_our_fault_only_alerts),
        cmocka_unit_test(test_match_limit_bounds_hostile_text),
        cmocka_unit_test(test_shipped_rules_lint_clean),
        cmocka_unit_test(test_linter_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
