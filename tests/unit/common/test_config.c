/*
 * test_config.c - unit tests of common/config.c: typed tables, defaults,
 * file:line errors, unknown keys and sections, nested groups and lists.
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

#include "config.h"
#include "log.h"
#include "redis.h"

struct key_entry {
    char *name;
    char *selector;
    int algorithm;
};

struct limits {
    long long max_line;
    long long max_size;
};

struct sample_conf {
    int enabled;
    long long workers;
    char *socket;
    int mode;
    struct cfg_strlist domains;
    long long window;
    struct limits limits;
    struct cfg_list keys;
};

static const char *const modes[] = { "accept", "tempfail", NULL };
static const char *const algorithms[] = { "rsa-sha256", "ed25519-sha256", NULL };

static const struct cfg_option key_options[] = {
    CFG_ROW("name", CFG_STRING, key_entry, name, NULL, 0, 64, "key name", .required = 1),
    CFG_ROW("selector", CFG_STRING, key_entry, selector, "default", 0, 63, "selector"),
    CFG_ROW("algorithm", CFG_ENUM, key_entry, algorithm, "rsa-sha256", 0, 0, "algorithm", .choices = algorithms),
    CFG_END
};

static const struct cfg_option limit_options[] = {
    CFG_ROW("max_line", CFG_INT, limits, max_line, "998", 78, 1000000, "line"),
    CFG_ROW("max_size", CFG_SIZE, limits, max_size, "10M", 1024, 0, "size"), CFG_END
};

static const struct cfg_option sample_options[] = {
    CFG_ROW("enabled", CFG_BOOL, sample_conf, enabled, "true", 0, 0, "on/off"),
    CFG_ROW("workers", CFG_INT, sample_conf, workers, "4", 1, 64, "threads"),
    CFG_ROW("socket", CFG_STRING, sample_conf, socket, "inet:8891@127.0.0.1", 0, 200, "socket"),
    CFG_ROW("on_error", CFG_ENUM, sample_conf, mode, "accept", 0, 0, "mode", .choices = modes),
    CFG_ROW("domains", CFG_STRLIST, sample_conf, domains, "a.example,b.example", 0, 3, "domains"),
    CFG_ROW("window", CFG_DURATION, sample_conf, window, "1h", 1, 604800, "window"),
    CFG_ROW("limits", CFG_GROUP, sample_conf, limits, NULL, 0, 0, "limits", .sub = limit_options),
    CFG_ROW("keys", CFG_LIST, sample_conf, keys, NULL, 0, 8, "keys", .sub = key_options,
            .elem_size = sizeof(struct key_entry)),
    CFG_END
};

static struct sample_conf conf;
static struct redis_conf rconf;
static const struct cfg_section sections[] = {
    { "milter_dkim", sample_options, &conf },
    { "redis", redis_conf_options, &rconf },
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

static int setup(void **state)
{
    struct cfg_error err;

    memset(&conf, 0, sizeof(conf));
    memset(&rconf, 0, sizeof(rconf));
    assert_int_equal(cfg_defaults(sections, NSECTIONS, &err), 0);
    return 0;
}

static int teardown(void **state)
{
    cfg_free(sections, NSECTIONS);
    return 0;
}

static int load(const char *text, struct cfg_error *err)
{
    return cfg_load_string(text, "test.conf", sections, NSECTIONS, err);
}

static void defaults_fill_every_field(void **state)
{
    assert_int_equal(conf.enabled, 1);
    assert_int_equal(conf.workers, 4);
    assert_string_equal(conf.socket, "inet:8891@127.0.0.1");
    assert_int_equal(conf.mode, 0);
    assert_int_equal(conf.domains.count, 2);
    assert_string_equal(conf.domains.items[1], "b.example");
    assert_int_equal(conf.window, 3600);
    assert_int_equal(conf.limits.max_line, 998);
    assert_int_equal(conf.limits.max_size, 10 * 1024 * 1024);
    assert_int_equal(conf.keys.count, 0);
    assert_string_equal(rconf.address, "127.0.0.1:6379");
    assert_string_equal(rconf.key_prefix, "pf:");
}

static void file_values_override_defaults(void **state)
{
    struct cfg_error err;
    const char *text = "milter_dkim = {\n"
                       "  enabled = false;\n"
                       "  workers = 16;\n"
                       "  on_error = \"tempfail\";\n"
                       "  domains = [\"x.example\"];\n"
                       "  window = \"5m\";\n"
                       "  limits = { max_size = \"64K\"; };\n"
                       "  keys = ( { name = \"k1\"; algorithm = \"ed25519-sha256\"; },\n"
                       "           { name = \"k2\"; selector = \"s2\"; } );\n"
                       "};\n"
                       "redis = { address = \"unix:/run/redis.sock\"; db = 2; };\n"
                       "policy = { anything = \"other program's section is skipped\"; };\n";

    assert_int_equal(load(text, &err), 0);
    assert_int_equal(conf.enabled, 0);
    assert_int_equal(conf.workers, 16);
    assert_int_equal(conf.mode, 1);
    assert_int_equal(conf.domains.count, 1);
    assert_int_equal(conf.window, 300);
    assert_int_equal(conf.limits.max_size, 65536);
    assert_int_equal(conf.limits.max_line, 998);
    assert_int_equal(conf.keys.count, 2);
    {
        struct key_entry *k = conf.keys.items;

        assert_string_equal(k[0].name, "k1");
        assert_string_equal(k[0].selector, "default");
        assert_int_equal(k[0].algorithm, 1);
        assert_string_equal(k[1].selector, "s2");
    }
    assert_string_equal(rconf.address, "unix:/run/redis.sock");
    assert_int_equal(rconf.db, 2);
}

static void expect_error(const char *text, const char *expected)
{
    struct cfg_error err;

    err.text[0] = '\0';
    assert_int_equal(load(text, &err), -1);
    if (strstr(err.text, expected) == NULL)
        fail_msg("error \"%s\" does not contain \"%s\"", err.text, expected);
}

static void unknown_key_is_reported_with_file_and_line(void **state)
{
    expect_error("milter_dkim = {\n  workers = 2;\n  wrokers = 3;\n};\n",
                 "test.conf:3: unknown key 'wrokers' in milter_dkim");
}

static void unknown_section_is_an_error(void **state)
{
    expect_error("\nmilterdkim = { workers = 2; };\n", "test.conf:2: unknown section 'milterdkim'");
}

static void out_of_range_values_are_errors(void **state)
{
    expect_error("milter_dkim = {\n workers = 65;\n};", "test.conf:2: 'workers' = 65 is out of range [1, 64]");
    expect_error("milter_dkim = { limits = {\n max_size = 10;\n}; };",
                 "test.conf:2: 'max_size' = 10 must be at least 1024");
    expect_error("milter_dkim = { domains = [\"a\",\"b\",\"c\",\"d\"]; };", "'domains' has 4 elements");
}

static void wrong_types_are_errors(void **state)
{
    expect_error("milter_dkim = { workers = \"many\"; };", "'workers' must be an integer, not a string");
    expect_error("milter_dkim = { enabled = 1; };", "'enabled' must be true or false");
    expect_error("milter_dkim = { on_error = \"drop\"; };", "\"drop\" is not one of: accept, tempfail");
    expect_error("milter_dkim = { window = \"5 minutes\"; };", "is not a valid duration");
    expect_error("milter_dkim = 3;", "section 'milter_dkim' must be a group");
}

static void list_elements_are_checked_and_required_keys_enforced(void **state)
{
    expect_error("milter_dkim = { keys = ( { selector = \"s\"; } ); };", "missing required key 'name'");
    expect_error("milter_dkim = { keys = ( { name = \"k\"; colour = 1; } ); };", "unknown key 'colour'");
}

static void syntax_errors_name_the_line(void **state)
{
    expect_error("milter_dkim = {\n workers = 2;\n name = = 3;\n};", "test.conf:3: syntax error");
}

static void overlong_strings_are_rejected_not_truncated(void **state)
{
    char text[400];
    char longsock[256];

    memset(longsock, 'x', sizeof(longsock) - 1);
    longsock[sizeof(longsock) - 1] = '\0';
    snprintf(text, sizeof(text), "milter_dkim = { socket = \"%s\"; };", longsock);
    expect_error(text, "'socket' is longer than 200 bytes");
}

static void missing_file_is_a_clear_error(void **state)
{
    struct cfg_error err;

    assert_int_equal(cfg_load_file("/nonexistent/postflow.conf", sections, NSECTIONS, &err), -1);
    assert_non_null(strstr(err.text, "/nonexistent/postflow.conf: cannot read"));
}

static void absent_file_means_defaults_unless_it_must_exist(void **state)
{
    struct cfg_error err;

    conf.workers = 99;
    assert_int_equal(cfg_load_defaults_and_file("/nonexistent/postflow.conf", 0, sections, NSECTIONS, &err), 0);
    assert_int_equal(conf.workers, 4); /* defaults applied */
    assert_int_equal(cfg_load_defaults_and_file("/nonexistent/postflow.conf", 1, sections, NSECTIONS, &err), -1);
    assert_non_null(strstr(err.text, "/nonexistent/postflow.conf: cannot read"));
}

static void printed_config_loads_back_identically(void **state)
{
    struct cfg_error err;
    char path[] = "/tmp/pf-config-test-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");

    assert_int_equal(load("milter_dkim = { workers = 9; limits = { max_size = \"8G\"; };"
                          " keys = ( { name = \"k\\\"q\"; } ); };",
                          &err),
                     0);
    cfg_print(f, sections, NSECTIONS);
    fclose(f);
    cfg_free(sections, NSECTIONS);
    memset(&conf, 0, sizeof(conf));
    cfg_defaults(sections, NSECTIONS, &err);
    if (cfg_load_file(path, sections, NSECTIONS, &err) != 0)
        fail_msg("%s", err.text);
    unlink(path);
    assert_int_equal(conf.workers, 9);
    assert_int_equal(conf.limits.max_size, 8LL * 1024 * 1024 * 1024); /* 64-bit value survives */
    assert_int_equal(conf.keys.count, 1);
    assert_string_equal(((struct key_entry *)conf.keys.items)[0].name, "k\"q");
}

static void durations_and_sizes_parse_suffixes(void **state)
{
    assert_int_equal(cfg_parse_duration("90"), 90);
    assert_int_equal(cfg_parse_duration("90s"), 90);
    assert_int_equal(cfg_parse_duration("2h"), 7200);
    assert_int_equal(cfg_parse_duration("1w"), 604800);
    assert_int_equal(cfg_parse_duration("1y"), -1);
    assert_int_equal(cfg_parse_duration("-5"), -1);
    assert_int_equal(cfg_parse_duration(""), -1);
    assert_int_equal(cfg_parse_size("1G"), 1073741824LL);
    assert_int_equal(cfg_parse_size("99999999999999999999"), -1);
    assert_int_equal(cfg_parse_size("9999999999999G"), -1);
}

static void log_section_table_accepts_names(void **state)
{
    struct log_conf lc;
    const struct cfg_section ls[] = { { "log", log_conf_options, &lc } };
    struct cfg_error err;

    memset(&lc, 0, sizeof(lc));
    assert_int_equal(cfg_defaults(ls, 1, &err), 0);
    assert_int_equal(lc.level, LOG_LVL_INFO);
    assert_int_equal(cfg_load_string("log = { level = \"debug\"; facility = \"local5\"; };", "t", ls, 1, &err), 0);
    assert_int_equal(lc.level, LOG_LVL_DEBUG);
    assert_string_equal(log_facility_names[lc.facility], "local5");
    assert_int_equal(cfg_load_string("log = { level = \"chatty\"; };", "t", ls, 1, &err), -1);
    cfg_free(ls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(defaults_fill_every_field, setup, teardown),
        cmocka_unit_test_setup_teardown(file_values_override_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_key_is_reported_with_file_and_line, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_section_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_range_values_are_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_types_are_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(list_elements_are_checked_and_required_keys_enforced, setup, teardown),
        cmocka_unit_test_setup_teardown(syntax_errors_name_the_line, setup, teardown),
        cmocka_unit_test_setup_teardown(overlong_strings_are_rejected_not_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_file_is_a_clear_error, setup, teardown),
        cmocka_unit_test_setup_teardown(absent_file_means_defaults_unless_it_must_exist, setup, teardown),
        cmocka_unit_test_setup_teardown(printed_config_loads_back_identically, setup, teardown),
        cmocka_unit_test(durations_and_sizes_parse_suffixes),
        cmocka_unit_test(log_section_table_accepts_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
