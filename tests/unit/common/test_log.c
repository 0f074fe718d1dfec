/* test_log.c - unit tests of common/log.c: printable rendering, levels, line format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

static void printable_escapes_control_and_8bit_bytes(void **state)
{
    char out[LOG_PRINTABLE_MAX];
    const char in[] = "a\r\nb\\c\x01\xe9";

    log_printable(out, sizeof(out), in, sizeof(in) - 1);
    assert_string_equal(out, "a\\x0d\\x0ab\\\\c\\x01\\xe9");
}

static void printable_caps_long_text_with_marker(void **state)
{
    char out[16];
    char in[100];

    memset(in, 'x', sizeof(in));
    log_printable(out, sizeof(out), in, sizeof(in));
    assert_true(strlen(out) < sizeof(out));
    assert_string_equal(out + strlen(out) - 3, "...");
    assert_int_equal(strncmp(out, "xxxxxxxxx", 9), 0);
}

static void printable_never_splits_an_escape(void **state)
{
    char out[8];

    log_printable(out, sizeof(out), "\x01\x02\x03", 3);
    /* room for one escape (4) + "..." (3) + NUL */
    assert_string_equal(out, "\\x01...");
}

static void level_names_map_both_ways(void **state)
{
    assert_int_equal(log_level_from_name("debug"), LOG_LVL_DEBUG);
    assert_int_equal(log_level_from_name("WARNING"), LOG_LVL_WARNING);
    assert_int_equal(log_level_from_name("loud"), -1);
}

/* Captures what the module writes to stderr. */
static char *capture(void (*fn)(void))
{
    static char text[4096];
    int fds[2], saved;
    ssize_t n;

    assert_int_equal(pipe(fds), 0);
    saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    n = read(fds[0], text, sizeof(text) - 1);
    close(fds[0]);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

static void emit_lines(void)
{
    log_set_level(LOG_LVL_INFO);
    log_debug("hidden %d", 1);
    log_qid(LOG_LVL_WARNING, "4F2A1C", "visible %s", "warning");
    log_qid(LOG_LVL_INFO, NULL, "no queue");
}

static void levels_filter_inside_and_queue_id_comes_first(void **state)
{
    char *text;

    log_open("test", 1);
    text = capture(emit_lines);
    assert_null(strstr(text, "hidden"));
    assert_non_null(strstr(text, "warning: 4F2A1C: visible warning\n"));
    assert_non_null(strstr(text, "info: NOQUEUE: no queue\n"));
}

static void configure_rejects_out_of_range_values(void **state)
{
    struct log_conf conf = { 9, 0, 0 };

    assert_int_equal(log_configure(&conf), -1);
    conf.level = LOG_LVL_NOTICE;
    conf.facility = 99;
    assert_int_equal(log_configure(&conf), -1);
    conf.facility = 6; /* local3 */
    assert_string_equal(log_facility_names[6], "local3");
    assert_int_equal(log_configure(&conf), 0);
    assert_int_equal(log_get_level(), LOG_LVL_NOTICE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(printable_escapes_control_and_8bit_bytes),
        cmocka_unit_test(printable_caps_long_text_with_marker),
        cmocka_unit_test(printable_never_splits_an_escape),
        cmocka_unit_test(level_names_map_both_ways),
        cmocka_unit_test(levels_filter_inside_and_queue_id_comes_first),
        cmocka_unit_test(configure_rejects_out_of_range_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
