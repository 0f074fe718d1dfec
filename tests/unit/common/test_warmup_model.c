/*
 * test_warmup_model.c - the policy configuration is checked and turned
 * into the model: percentages, cap lists, references, names that become
 * Redis keys, duplicates.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "policy_conf.h"
#include "warmup_model.h"

static struct policy_files files;
static struct cfg_section sections[3];
static size_t nsections;
static char err[512];

/* Loads text and builds the model; returns the build status (-2: config file error). */
static int build(const char *text, struct warmup_model *m)
{
    struct cfg_error cerr;
    nsections = policy_conf_sections(&files, sections);
    assert_int_equal(cfg_defaults(sections, nsections, &cerr), 0);
    if (cfg_load_string(text, "test.conf", sections, nsections, &cerr) < 0) {
        snprintf(err, sizeof err, "%s", cerr.text);
        cfg_free(sections, nsections);
        return -2;
    }
    int rc = warmup_model_build(&files.policy, m, err, sizeof err);
    cfg_free(sections, nsections);
    return rc;
}

static const char GOOD[] =
    "policy = { warmup = {\n"
    "  schedules = ( { name = \"std\"; caps = \"100, 500 2k\"; shares = \"gmail=40%, yahoo = 25.5%\"; } );\n"
    "  pools = ( { name = \"news\"; sender_domains = [ \"News.Example.com\" ];\n"
    "              ips = ( { address = \"192.0.2.10\"; schedule = \"std\"; },\n"
    "                      { address = \"2001:db8::1\"; transport = \"out-v6\"; } ); },\n"
    "            { name = \"rest\"; default = true; ips = ( { address = \"192.0.2.20\"; } ); } );\n"
    "  health = { hard_bounce_max = \"2%\"; complaint_max = \"0.05%\"; };\n"
    "}; };\n";

static void a_good_configuration_builds(void **state)
{
    struct warmup_model m;
    assert_int_equal(build(GOOD, &m), 0);
    assert_int_equal(m.nschedules, 1);
    assert_int_equal(m.schedules[0].ncaps, 3);
    assert_int_equal(m.schedules[0].caps[2], 2000);
    assert_int_equal(m.schedules[0].share_ppm[provider_find(m.providers, "gmail")], 400000);
    assert_int_equal(m.schedules[0].share_ppm[provider_find(m.providers, "yahoo")], 255000);
    assert_int_equal(m.schedules[0].share_ppm[provider_find(m.providers, "other")], -1);
    assert_int_equal(m.npools, 2);
    assert_string_equal(m.pools[0].ips[0].transport, "smtp-192.0.2.10");
    assert_string_equal(m.pools[0].ips[1].transport, "out-v6");
    assert_null(m.pools[0].ips[1].schedule);
    assert_int_equal(m.health.hard_ppm, 20000);
    assert_int_equal(m.health.complaint_ppm, 500);
    assert_int_equal(m.health.soft_ppm, 30000); /* default 3% */
    assert_ptr_equal(warmup_model_pool_for(&m, "news.example.COM", 16), &m.pools[0]);
    assert_ptr_equal(warmup_model_pool_for(&m, "other.example", 13), &m.pools[1]);
    warmup_model_free(&m);
}

static void expect_error(const char *text, const char *needle)
{
    struct warmup_model m;
    int rc = build(text, &m);
    assert_true(rc < 0);
    if (strstr(err, needle) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void unknown_schedule_is_an_error(void **state)
{
    expect_error("policy = { warmup = { pools = ( { name = \"p\"; ips = ( { address = \"192.0.2.1\"; "
                 "schedule = \"nope\"; } ); } ); }; };",
                 "no schedule named \"nope\"");
}

static void bad_ip_is_an_error(void **state)
{
    expect_error("policy = { warmup = { pools = ( { name = \"p\"; ips = ( { address = \"192.0.2\"; } ); } ); }; };",
                 "is not an IP address");
}

static void same_ip_in_two_pools_is_an_error(void **state)
{
    expect_error("policy = { warmup = { pools = ( { name = \"a\"; ips = ( { address = \"192.0.2.1\"; } ); },"
                 "{ name = \"b\"; ips = ( { address = \"192.0.2.1\"; } ); } ); }; };",
                 "listed twice");
}

static void pool_name_with_a_brace_is_an_error(void **state)
{
    expect_error("policy = { warmup = { pools = ( { name = \"a}b\"; ips = ( { address = \"192.0.2.1\"; } ); } ); }; };",
                 "pool name");
}

static void two_default_pools_are_an_error(void **state)
{
    expect_error(
        "policy = { warmup = { pools = ( { name = \"a\"; default = true; ips = ( { address = \"192.0.2.1\"; } ); },"
        "{ name = \"b\"; default = true; ips = ( { address = \"192.0.2.2\"; } ); } ); }; };",
        "both default");
}

static void bad_caps_and_shares_are_errors(void **state)
{
    expect_error("policy = { warmup = { schedules = ( { name = \"s\"; caps = \"100, ten\"; } ); }; };", "caps");
    expect_error("policy = { warmup = { schedules = ( { name = \"s\"; caps = \"100\"; shares = \"aol=10%\"; } ); }; };",
                 "unknown provider");
    expect_error(
        "policy = { warmup = { schedules = ( { name = \"s\"; caps = \"100\"; shares = \"gmail=140%\"; } ); }; };",
        "bad percent");
}

static void bad_threshold_is_an_error(void **state)
{
    expect_error("policy = { warmup = { health = { complaint_max = \"a lot\"; }; }; };", "percentages");
}

static void duplicate_rate_rule_is_an_error(void **state)
{
    expect_error("policy = { rate_limits = ( { name = \"r\"; key = \"sender\"; limit = 1; },"
                 "{ name = \"r\"; key = \"sender\"; limit = 2; } ); };",
                 "defined twice");
}

static void unknown_key_in_the_file_is_reported_with_its_line(void **state)
{
    expect_error("policy = {\n  warmup = {\n    smoothing_hourz = 3;\n  };\n};\n", "test.conf:3");
}

static void default_rule_text_names_the_rule(void **state)
{
    struct warmup_model m;
    assert_int_equal(build("policy = { rate_limits = ( { name = \"per-user\"; key = \"sasl_user\"; "
                           "count = \"recipients\"; limit = 500; window = \"1h\"; } ); };",
                           &m),
                     0);
    assert_string_equal(m.rules[0].text,
                        "4.7.1 rate limit \"per-user\" reached (500 recipients per 3600s), try again later");
    warmup_model_free(&m);
}

static void percent_parser(void **state)
{
    assert_int_equal(warmup_parse_percent("1%"), 10000);
    assert_int_equal(warmup_parse_percent("0.1%"), 1000);
    assert_int_equal(warmup_parse_percent(" 0.05 %"), 500);
    assert_int_equal(warmup_parse_percent("3"), 30000);
    assert_int_equal(warmup_parse_percent("100%"), 1000000);
    assert_int_equal(warmup_parse_percent("101%"), -1);
    assert_int_equal(warmup_parse_percent("%"), -1);
    assert_int_equal(warmup_parse_percent("1%%"), -1);
    assert_int_equal(warmup_parse_percent(NULL), -1);
}

static void caps_parser(void **state)
{
    long long caps[4];
    assert_int_equal(warmup_parse_caps("100, 500,2000 10k", caps, 4), 4);
    assert_int_equal(caps[3], 10000);
    assert_int_equal(warmup_parse_caps("1,2,3,4,5", caps, 4), -1);
    assert_int_equal(warmup_parse_caps("", caps, 4), -1);
    assert_int_equal(warmup_parse_caps("0", caps, 4), -1);
    assert_int_equal(warmup_parse_caps("5x", caps, 4), -1);
}

static void caps_beyond_the_range_are_refused_without_overflow(void **state)
{
    long long caps[4];
    /* The "k" multiplier must not wrap around (the build uses -fno-strict-overflow, so
     * 18446744073709552 * 1000 wraps to 384 and was taken as a cap of 384). */
    assert_int_equal(warmup_parse_caps("18446744073709552k", caps, 4), -1);
    assert_int_equal(warmup_parse_caps("99999999999999999999k", caps, 4), -1);
    assert_int_equal(warmup_parse_caps("9223372036854776k", caps, 4), -1);
    assert_int_equal(warmup_parse_caps("1000000k", caps, 4), 1); /* 1e9: the largest cap */
    assert_int_equal(caps[0], 1000000000LL);
    assert_int_equal(warmup_parse_caps("1000001k", caps, 4), -1);
}

static void smoothing_window_must_end_by_midnight(void **state)
{
    /* Days are UTC days: a window running past 24:00 would never release the whole cap. */
    expect_error("policy = { warmup = { smoothing_start_hour = 12; smoothing_hours = 24; }; };",
                 "smoothing_start_hour + smoothing_hours");
    struct warmup_model m;
    assert_int_equal(build("policy = { warmup = { smoothing_start_hour = 6; smoothing_hours = 18; }; };", &m), 0);
    warmup_model_free(&m);
}

static void rate_window_must_be_whole_tenths(void **state)
{
    /* Windows are counted in ten sub-windows of window/10 s (rounded down): 15 s would act as 10 s. */
    expect_error("policy = { rate_limits = ( { name = \"r\"; key = \"sender\"; limit = 5; window = 15; } ); };",
                 "multiple of 10");
    struct warmup_model m;
    assert_int_equal(build("policy = { rate_limits = ( { name = \"r\"; key = \"sender\"; limit = 5; "
                           "window = \"90s\"; } ); };",
                           &m),
                     0);
    assert_int_equal(m.rules[0].window, 90);
    warmup_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_good_configuration_builds),
        cmocka_unit_test(unknown_schedule_is_an_error),
        cmocka_unit_test(bad_ip_is_an_error),
        cmocka_unit_test(same_ip_in_two_pools_is_an_error),
        cmocka_unit_test(pool_name_with_a_brace_is_an_error),
        cmocka_unit_test(two_default_pools_are_an_error),
        cmocka_unit_test(bad_caps_and_shares_are_errors),
        cmocka_unit_test(bad_threshold_is_an_error),
        cmocka_unit_test(duplicate_rate_rule_is_an_error),
        cmocka_unit_test(unknown_key_in_the_file_is_reported_with_its_line),
        cmocka_unit_test(default_rule_text_names_the_rule),
        cmocka_unit_test(percent_parser),
        cmocka_unit_test(caps_parser),
        cmocka_unit_test(caps_beyond_the_range_are_refused_without_overflow),
        cmocka_unit_test(smoothing_window_must_end_by_midnight),
        cmocka_unit_test(rate_window_must_be_whole_tenths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
