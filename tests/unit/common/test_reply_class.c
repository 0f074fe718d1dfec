/*
 * test_reply_class.c - unit tests of the reply classifier (common/reply_class.c
 * with the default rules of conf/bounce-rules.conf and the status table of
 * reply_status.c): the whole IANA enhanced-status registry, real diagnostic
 * texts, precedence (text over status over basic code), our_fault, limited,
 * DSN actions, and the "why" a verdict gives.
 *
 * Data: tests/data/iana-enhanced-status-codes.txt (the registry) and
 * tests/data/reply-texts.txt (texts from real bounces, expected by meaning).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "reply_class.h"
#include "reply_vocab.h"

static struct reply_rules *rules;

static int setup(void **state)
{
    char err[256] = "";
    rules = reply_rules_default(err, sizeof(err));
    if (rules == NULL)
        fprintf(stderr, "default rules: %s\n", err);
    return rules == NULL;
}

static int teardown(void **state)
{
    reply_rules_free(rules);
    return 0;
}

static struct reply_verdict classify(const char *status, int code, const char *text, const char *provider,
                                     const char *action)
{
    struct reply_input in = { .status = status,
                              .smtp_code = code,
                              .text = text,
                              .text_len = text ? strlen(text) : 0,
                              .provider = provider,
                              .action = action };
    struct reply_verdict v;
    memset(&v, 0x5a, sizeof(v));
    reply_classify(rules, &in, &v);
    return v;
}

static bool dead_category(const char *cat)
{
    return reply_vocab_class(cat, '5') == REPLY_CLASS_HARD;
}

/* Every row of the registry, in classes 2, 4 and 5. */
static void every_iana_code_has_a_category_and_the_right_class(void **state)
{
    FILE *fp = fopen("tests/data/iana-enhanced-status-codes.txt", "r");
    assert_non_null(fp);
    char line[512];
    int rows = 0;
    while (fgets(line, sizeof(line), fp)) {
        int subject, detail;
        if (line[0] == '#' || sscanf(line, "X.%d.%d", &subject, &detail) != 2)
            continue;
        rows++;
        for (int cls = 2; cls <= 5; cls += cls == 2 ? 2 : 1) {
            char st[16];
            snprintf(st, sizeof(st), "%d.%d.%d", cls, subject, detail);
            struct reply_verdict v = classify(st, 0, NULL, NULL, "failed");
            assert_non_null(v.category);
            assert_non_null(reply_vocab_lookup(v.category, strlen(v.category)));
            if (cls == 2) {
                assert_string_equal(v.category, "delivered");
                assert_int_equal(v.cls, REPLY_CLASS_UNKNOWN);
                continue;
            }
            /* X.0.0 says only "failed"; X.1.5 "address valid" says nothing about a failure. */
            bool justified = (subject == 0 && detail == 0) || (subject == 1 && detail == 5);
            if (!justified && strcmp(v.category, "undefined") == 0)
                fail_msg("%s has no specific category", st);
            char want[40];
            snprintf(want, sizeof(want), "status:%s", st);
            assert_memory_equal(v.why, want, strlen(want));
            if (cls == 4)
                assert_int_equal(v.cls, REPLY_CLASS_SOFT);
            else if (v.our_fault || !dead_category(v.category))
                assert_int_equal(v.cls, REPLY_CLASS_SOFT);
            else
                assert_int_equal(v.cls, REPLY_CLASS_HARD);
        }
    }
    fclose(fp);
    assert_true(rows >= 80);
}

static void registry_codes_map_to_their_meaning(void **state)
{
    static const struct {
        const char *st, *cat;
        bool our_fault;
        enum reply_class cls;
    } W[] = {
        { "5.1.1", "userunknown", false, REPLY_CLASS_HARD },  { "5.1.2", "hostunknown", false, REPLY_CLASS_HARD },
        { "5.1.6", "hasmoved", false, REPLY_CLASS_HARD },     { "5.1.10", "notaccept", false, REPLY_CLASS_HARD },
        { "5.2.2", "mailboxfull", false, REPLY_CLASS_SOFT },  { "4.2.2", "mailboxfull", false, REPLY_CLASS_SOFT },
        { "5.2.1", "suspend", false, REPLY_CLASS_SOFT },      { "5.3.4", "emailtoolarge", false, REPLY_CLASS_SOFT },
        { "4.4.7", "expired", false, REPLY_CLASS_SOFT },      { "5.4.4", "hostunknown", false, REPLY_CLASS_HARD },
        { "4.1.1", "userunknown", false, REPLY_CLASS_SOFT },  { "5.7.25", "requireptr", true, REPLY_CLASS_SOFT },
        { "5.7.23", "authfailure", true, REPLY_CLASS_SOFT },  { "5.7.20", "authfailure", true, REPLY_CLASS_SOFT },
        { "5.7.26", "authfailure", true, REPLY_CLASS_SOFT },  { "5.7.31", "authfailure", true, REPLY_CLASS_SOFT },
        { "5.7.32", "authfailure", true, REPLY_CLASS_SOFT },  { "5.7.40", "authfailure", true, REPLY_CLASS_SOFT },
        { "4.7.28", "ratelimited", false, REPLY_CLASS_SOFT }, { "5.7.1", "rejected", false, REPLY_CLASS_SOFT },
        { "5.7.515", "authfailure", true, REPLY_CLASS_SOFT },
    };
    for (size_t i = 0; i < sizeof(W) / sizeof(W[0]); i++) {
        struct reply_verdict v = classify(W[i].st, 0, "", NULL, NULL);
        assert_string_equal(v.category, W[i].cat);
        assert_int_equal(v.our_fault, W[i].our_fault);
        assert_int_equal(v.cls, W[i].cls);
    }
}

static void unregistered_details_fall_back_to_their_subject(void **state)
{
    struct reply_verdict v = classify("5.1.351", 0, NULL, NULL, NULL);
    assert_string_equal(v.category, "userunknown");
    assert_string_equal(v.why, "status:5.1.351 (as 5.1.0)");
    v = classify("5.0.910", 0, NULL, NULL, NULL);
    assert_string_equal(v.category, "undefined");
    assert_int_equal(v.cls, REPLY_CLASS_SOFT);
}

static void real_texts_get_the_verdict_their_meaning_says(void **state)
{
    FILE *fp = fopen("tests/data/reply-texts.txt", "r");
    assert_non_null(fp);
    char line[2048];
    int rows = 0, wrong = 0;
    while (fgets(line, sizeof(line), fp)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *f[7];
        char *p = line;
        for (int i = 0; i < 7; i++) {
            f[i] = p;
            p = i < 6 ? strchr(p, '\t') : NULL;
            if (i < 6) {
                assert_non_null(p);
                *p++ = '\0';
            }
        }
        rows++;
        struct reply_verdict v =
            classify(strcmp(f[1], "-") ? f[1] : NULL, (int)strtol(f[2], NULL, 10), f[6], NULL, "failed");
        if (strcmp(v.category, f[3]) != 0 || strcmp(reply_class_name(v.cls), f[4]) != 0 ||
            v.our_fault != (f[5][0] == '1')) {
            fprintf(stderr, "%s: want %s/%s/%s, got %s/%s/%d by %s\n", f[0], f[3], f[4], f[5], v.category,
                    reply_class_name(v.cls), v.our_fault, v.why);
            wrong++;
        }
    }
    fclose(fp);
    assert_true(rows >= 50);
    assert_int_equal(wrong, 0);
}

static void rate_limit_and_reputation_text_win_over_a_bare_5_1_1(void **state)
{
    struct reply_verdict v =
        classify("5.1.1", 550, "550 5.1.1 Too many connections from your IP, slow down", NULL, NULL);
    assert_string_equal(v.category, "ratelimited");
    assert_int_equal(v.cls, REPLY_CLASS_SOFT);
    v = classify("5.1.1", 550, "550 5.1.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
                 NULL, NULL);
    assert_string_equal(v.category, "blocked");
    assert_int_equal(v.cls, REPLY_CLASS_SOFT);
    assert_string_equal(v.rule, "blocklist");
}

static void mailbox_full_text_wins_over_any_5xx_code(void **state)
{
    struct reply_verdict v = classify("5.1.1", 550, "550 5.1.1 mailbox is full", NULL, NULL);
    assert_string_equal(v.category, "mailboxfull");
    assert_int_equal(v.cls, REPLY_CLASS_SOFT);
    assert_non_null(strstr(v.why, "text:/mailbox (is |was )?(full"));
    assert_non_null(strstr(v.why, " over status 5.1.1"));
}

static void gmail_4_7_28_names_what_is_limited(void **state)
{
    static const struct {
        const char *key, *limited, *rule;
    } W[] = {
        { "your IP address", "ip", "gmail-4.7.28-ip" },
        { "your IP Netblock", "netblock", "gmail-4.7.28-netblock" },
        { "your DKIM domain", "dkim_domain", "gmail-4.7.28-dkim" },
        { "your SPF domain", "spf_domain", "gmail-4.7.28-spf" },
        { "one of your URL domains", "url_domain", "gmail-4.7.28-url" },
    };
    for (size_t i = 0; i < sizeof(W) / sizeof(W[0]); i++) {
        char text[400];
        snprintf(text, sizeof(text),
                 "421-4.7.28 [203.0.113.5] Our system has detected an unusual rate of 421-4.7.28 unsolicited mail "
                 "originating from %s. To protect our 421-4.7.28 users from spam, mail sent from %s has been "
                 "temporarily rate limited. - gsmtp",
                 W[i].key, W[i].key);
        struct reply_verdict v = classify("4.7.28", 421, text, "gmail", NULL);
        assert_string_equal(v.category, "ratelimited");
        assert_int_equal(v.cls, REPLY_CLASS_SOFT);
        assert_false(v.our_fault);
        assert_non_null(v.limited);
        assert_string_equal(v.limited, W[i].limited);
        assert_string_equal(v.rule, W[i].rule);
    }
    struct reply_verdict v = classify("4.7.28", 421, "421 4.7.28 Gmail has detected an unusual rate", "gmail", NULL);
    assert_string_equal(v.category, "ratelimited");
    assert_null(v.limited);
}

static void microsoft_texts(void **state)
{
    struct reply_verdict v = classify(
        "5.7.515", 550,
        "550 5.7.515 Access denied, sending domain example.com does not meet the required authentication level.",
        "microsoft", NULL);
    assert_string_equal(v.category, "authfailure");
    assert_true(v.our_fault);
    assert_int_equal(v.cls, REPLY_CLASS_SOFT);
    v = classify(
        "5.7.1", 550,
        "550 5.7.1 Unfortunately, messages from [203.0.113.5] weren't sent. Please contact your Internet service "
        "provider since part of their network is on our block list (S3150).",
        "microsoft", NULL);
    assert_string_equal(v.category, "blocked");
    assert_string_equal(v.limited, "ip");
}

static void our_fault_answers_are_never_hard(void **state)
{
    static const char *const T[] = {
        "550-5.7.26 This mail has been blocked because the sender is unauthenticated.",
        "550 5.7.1 Email rejected per DMARC policy for example.org",
        "550 5.7.1 Must issue a STARTTLS command first",
        "550 5.7.1 Client host rejected: cannot find your reverse hostname, reverse DNS missing",
    };
    for (size_t i = 0; i < sizeof(T) / sizeof(T[0]); i++) {
        struct reply_verdict v = classify("5.7.1", 550, T[i], NULL, "failed");
        assert_true(v.our_fault);
        assert_int_equal(v.cls, REPLY_CLASS_SOFT);
    }
}

static void actions_other_than_failed_are_never_hard(void **state)
{
    struct reply_verdict v = classify("5.1.1", 550, "User unknown", NULL, "delayed");
    assert_int_equal(v.cls, REPLY_CLASS_SOFT);
    v = classify("4.4.7", 0, NULL, NULL, "delayed");
    assert_string_equal(v.category, "expired");
    assert_int_equal(v.cls, REPLY_CLASS_SOFT);
    static const char *const A[] = { "delivered", "relayed", "expanded", "Delivered" };
    for (size_t i = 0; i < sizeof(A) / sizeof(A[0]); i++) {
        v = classify("5.1.1", 550, "User unknown", NULL, A[i]);
        assert_string_equal(v.category, "delivered");
        assert_int_equal(v.cls, REPLY_CLASS_UNKNOWN);
        assert_string_equal(v.rule, "action");
    }
    v = classify("2.0.0", 250, "250 2.0.0 OK", NULL, NULL);
    assert_string_equal(v.category, "delivered");
    assert_string_equal(v.why, "status:2.0.0");
}

static void basic_code_decides_without_enhanced_code_or_text_rule(void **state)
{
    struct reply_verdict v = classify(NULL, 552, "552 zzz", NULL, NULL);
    assert_string_equal(v.category, "mailboxfull");
    assert_string_equal(v.why, "basic:552");
    assert_string_equal(v.rule, "basic");
    v = classify(NULL, 450, "450 zzz", NULL, NULL);
    assert_int_equal(v.cls, REPLY_CLASS_SOFT);
    v = classify(NULL, 550, "550 zzz", NULL, NULL);
    assert_string_equal(v.category, "userunknown");
    assert_int_equal(v.cls, REPLY_CLASS_HARD);
    v = classify(NULL, 0, NULL, NULL, NULL);
    assert_string_equal(v.category, "undefined");
    assert_int_equal(v.cls, REPLY_CLASS_SOFT); /* a failure nothing explains: counted, never suppressing */
    assert_string_equal(v.why, "none");
    assert_string_equal(v.rule, "none");
}

static void undecided_answers_are_onhold_when_they_have_words(void **state)
{
    /* words none of the rules read a reason from: Sisimai's "onhold" */
    struct reply_verdict v = classify(NULL, 0, "zzz qqq", NULL, NULL);
    assert_string_equal(v.category, "onhold");
    assert_int_equal(v.cls, REPLY_CLASS_SOFT);
    assert_non_null(strstr(v.why, "none decide"));
    assert_true(reply_undecided(&v));
    /* a notice's own boilerplate is no answer: still "undefined" */
    struct reply_input in = { .text = "zzz qqq", .text_len = 7, .action = "failed", .text_is_notice = true };
    reply_classify(rules, &in, &v);
    assert_string_equal(v.category, "undefined");
    assert_true(reply_undecided(&v));
    /* white space only is no words */
    v = classify(NULL, 0, " \t\r\n", NULL, NULL);
    assert_string_equal(v.category, "undefined");
}

static void the_command_answered_narrows_the_verdict(void **state)
{
    struct reply_input in = { .smtp_code = 550, .text = "550 No such domain example.net", .text_len = 30 };
    struct reply_verdict v;
    in.command = "MAIL"; /* no recipient named yet: about our sender */
    reply_classify(rules, &in, &v);
    assert_string_equal(v.category, "rejected");
    assert_int_equal(v.cls, REPLY_CLASS_SOFT);
    assert_non_null(strstr(v.why, " after MAIL FROM"));
    in.command = "CONNECT"; /* before the sender: about our host */
    in.text = "550 Access denied";
    in.text_len = 17;
    reply_classify(rules, &in, &v);
    assert_string_equal(v.category, "blocked");
    assert_non_null(strstr(v.why, " at connection"));
    in.command = "RCPT";
    in.text = "550 User unknown";
    in.text_len = 16;
    reply_classify(rules, &in, &v);
    assert_string_equal(v.category, "userunknown");
    /* verdicts about us stand whenever they came */
    in.command = "MAIL";
    in.text = "550 5.7.1 Client host rejected: reverse DNS missing";
    in.text_len = strlen(in.text);
    reply_classify(rules, &in, &v);
    assert_string_equal(v.category, "requireptr");
}

static void white_space_runs_read_as_one_space(void **state)
{
    struct reply_verdict v =
        classify("5.0.0", 550, "550 <a@example.org>: Recipient address\n    rejected.", NULL, NULL);
    assert_string_equal(v.category, "userunknown");
}

static void a_multi_line_replys_repeated_codes_do_not_split_its_words(void **state)
{
    struct reply_verdict v = classify("5.7.1", 550,
                                      "550-5.7.1 [192.0.2.1 13] Messages with multiple 550-5.7.1 addresses in From: "
                                      "header are not accepted.",
                                      NULL, NULL);
    assert_string_equal(v.category, "notcompliantrfc");
    /* a lone number inside the words stays */
    v = classify(NULL, 552, "552 message of 550 kB exceeds the maximum message size", NULL, NULL);
    assert_string_equal(v.category, "emailtoolarge");
}

static void a_domain_not_found_under_a_4xx_code_is_a_dns_failure(void **state)
{
    struct reply_verdict v = classify("4.0.0", 0, "DNS Error: lookup responded with code NXDOMAIN", NULL, NULL);
    assert_string_equal(v.category, "networkerror");
    assert_int_equal(v.cls, REPLY_CLASS_SOFT);
    v = classify("5.1.2", 550, "550 5.1.2 Host unknown", NULL, NULL);
    assert_string_equal(v.category, "hostunknown");
    assert_int_equal(v.cls, REPLY_CLASS_HARD);
}

static void weak_rules_do_not_override_a_specific_status(void **state)
{
    /* "rejected" alone is weak evidence: the specific 5.2.2 decides. */
    struct reply_verdict v = classify("5.2.2", 552, "552 5.2.2 rejected", NULL, NULL);
    assert_string_equal(v.category, "mailboxfull");
    assert_string_equal(v.why, "status:5.2.2");
    /* over a vague 5.7.0 it may decide */
    v = classify("5.7.0", 550, "550 5.7.0 rejected", NULL, NULL);
    assert_string_equal(v.category, "blocked");
}

static void user_unknown_after_data_is_a_filter(void **state)
{
    struct reply_input in = {
        .status = "5.1.1", .smtp_code = 550, .text = "550 5.1.1 User unknown", .text_len = 22, .command = "DATA"
    };
    struct reply_verdict v;
    reply_classify(rules, &in, &v);
    assert_string_equal(v.category, "filtered");
    assert_int_equal(v.cls, REPLY_CLASS_SOFT);
    assert_non_null(strstr(v.why, " after DATA"));
    in.command = "RCPT";
    reply_classify(rules, &in, &v);
    assert_string_equal(v.category, "userunknown");
}

static void why_is_bounded_and_printable_for_long_patterns(void **state)
{
    struct reply_verdict v = classify("5.1.1", 550, "no such user here", NULL, NULL);
    size_t n = strlen(v.why);
    assert_true(n < REPLY_WHY_MAX);
    for (size_t i = 0; i < n; i++)
        assert_true(v.why[i] >= 0x20 && v.why[i] < 0x7f);
    assert_non_null(strstr(v.why, "...")); /* the userunknown pattern is cut */
    assert_non_null(strstr(v.why, " over status 5.1.1"));
}

static void hostile_input_is_handled(void **state)
{
    char big[20000];
    memset(big, 'a', sizeof(big));
    struct reply_input in = { .status = "5.1.1.1", .smtp_code = 9999, .text = big, .text_len = sizeof(big) };
    struct reply_verdict v;
    reply_classify(rules, &in, &v);
    assert_non_null(v.category);
    static const char *const BAD[] = { "5", "5.", "5.1", "5.1.", "x.1.1", "5.1111.1", "5.1.1 ", "" };
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        v = classify(BAD[i], 0, "\xff\xfe\x00zz", NULL, NULL);
        assert_string_equal(v.category, "onhold"); /* bytes, none of which decide */
    }
    reply_classify(NULL, &in, &v); /* no rules: codes only */
    assert_string_equal(v.category, "onhold");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_iana_code_has_a_category_and_the_right_class),
        cmocka_unit_test(registry_codes_map_to_their_meaning),
        cmocka_unit_test(unregistered_details_fall_back_to_their_subject),
        cmocka_unit_test(real_texts_get_the_verdict_their_meaning_says),
        cmocka_unit_test(rate_limit_and_reputation_text_win_over_a_bare_5_1_1),
        cmocka_unit_test(mailbox_full_text_wins_over_any_5xx_code),
        cmocka_unit_test(gmail_4_7_28_names_what_is_limited),
        cmocka_unit_test(microsoft_texts),
        cmocka_unit_test(our_fault_answers_are_never_hard),
        cmocka_unit_test(actions_other_than_failed_are_never_hard),
        cmocka_unit_test(basic_code_decides_without_enhanced_code_or_text_rule),
        cmocka_unit_test(weak_rules_do_not_override_a_specific_status),
        cmocka_unit_test(user_unknown_after_data_is_a_filter),
        cmocka_unit_test(why_is_bounded_and_printable_for_long_patterns),
        cmocka_unit_test(hostile_input_is_handled),
        cmocka_unit_test(undecided_answers_are_onhold_when_they_have_words),
        cmocka_unit_test(the_command_answered_narrows_the_verdict),
        cmocka_unit_test(white_space_runs_read_as_one_space),
        cmocka_unit_test(a_domain_not_found_under_a_4xx_code_is_a_dns_failure),
        cmocka_unit_test(a_multi_line_replys_repeated_codes_do_not_split_its_words),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
