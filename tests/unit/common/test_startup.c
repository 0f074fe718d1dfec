/* test_startup.c - shared start-up: absent default file, explicit bad file, -n output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "exitcodes.h"
#include "log.h"
#include "startup.h"

static struct log_conf lc;
static const struct cfg_section sections[] = { { "log", log_conf_options, &lc } };

static char *write_temp(const char *text)
{
    static char path[64];
    int fd;

    snprintf(path, sizeof(path), "/tmp/pf-startup-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void explicit_missing_file_is_a_config_error(void **state)
{
    log_open("test", 1);
    assert_int_equal(startup_load_config("test", "/nonexistent/x.conf", sections, 1), PF_EXIT_CONFIG);
    cfg_free(sections, 1);
}

static void bad_value_is_a_config_error_and_good_file_applies_log_level(void **state)
{
    char *path = write_temp("log = { level = \"loud\"; };\n");

    assert_int_equal(startup_load_config("test", path, sections, 1), PF_EXIT_CONFIG);
    cfg_free(sections, 1);
    unlink(path);
    path = write_temp("log = { level = \"debug\"; };\n");
    assert_int_equal(startup_load_config("test", path, sections, 1), PF_EXIT_OK);
    assert_int_equal(log_get_level(), LOG_LVL_DEBUG);
    assert_int_equal(startup_check_only("test", path, sections, 1, 0), PF_EXIT_OK);
    cfg_free(sections, 1);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(explicit_missing_file_is_a_config_error),
        cmocka_unit_test(bad_value_is_a_config_error_and_good_file_applies_log_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
