/*
 * test_tap_follow.c - unit tests of the log follower and its checkpoint
 * (maillog-tap/tap_follow.c), on real files in a temporary directory:
 * growing files and partial lines, rename rotation with lines still
 * written to the old file, copytruncate, restart from a checkpoint
 * (nothing skipped, nothing repeated), restart across a rotation (the
 * rest of PATH.1 first), overlong lines, and checkpoint files.  Every
 * scenario checks that the lines delivered equal the lines written.
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

#include "tap_event.h"
#include "tap_follow.h"

static char dir[64], logpath[96], rotated[100], cppath[96];

struct seen {
    char text[8192];
    size_t len;
    long lines;
};

static void collect(const char *line, size_t len, void *ctx)
{
    struct seen *s = ctx;
    s->lines++;
    if (s->len + len + 2 < sizeof(s->text)) {
        memcpy(s->text + s->len, line, len);
        s->len += len;
        s->text[s->len++] = '|';
        s->text[s->len] = '\0';
    }
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/tap-follow-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(logpath, sizeof(logpath), "%s/maillog", dir);
    snprintf(rotated, sizeof(rotated), "%s/maillog.1", dir);
    snprintf(cppath, sizeof(cppath), "%s/checkpoint", dir);
    return 0;
}

static int teardown(void **state)
{
    unlink(logpath);
    unlink(rotated);
    unlink(cppath);
    rmdir(dir);
    return 0;
}

static void append(const char *path, const char *text)
{
    FILE *fp = fopen(path, "a");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void reset(void)
{
    unlink(logpath);
    unlink(rotated);
    unlink(cppath);
}

static long poll_into(struct tap_follow *f, struct seen *s)
{
    char err[256];
    long n = tap_follow_poll(f, collect, s, err, sizeof(err));
    if (n < 0)
        fail_msg("%s", err);
    return n;
}

static void test_growing_file_and_partial_lines(void **state)
{
    reset();
    append(logpath, "a\nb\nc\n");
    char err[256];
    struct tap_follow *f = tap_follow_open(logpath, NULL, true, err, sizeof(err));
    assert_non_null(f);
    struct seen s = { .len = 0 };
    assert_int_equal(poll_into(f, &s), 3);
    append(logpath, "d\nhalf");
    assert_int_equal(poll_into(f, &s), 1);
    struct tap_checkpoint cp;
    tap_follow_checkpoint(f, &cp);
    assert_int_equal(cp.offset, 8); /* after "d\n": the partial line is not ours yet */
    append(logpath, "-line\n");
    assert_int_equal(poll_into(f, &s), 1);
    assert_string_equal(s.text, "a|b|c|d|half-line|");
    assert_int_equal(poll_into(f, &s), 0);
    tap_follow_close(f);
    /* without --from-start: only what is written after the open */
    f = tap_follow_open(logpath, NULL, false, err, sizeof(err));
    struct seen t = { .len = 0 };
    assert_int_equal(poll_into(f, &t), 0);
    append(logpath, "new\n");
    assert_int_equal(poll_into(f, &t), 1);
    assert_string_equal(t.text, "new|");
    tap_follow_close(f);
}

static void test_rename_rotation_reads_the_old_file_to_its_end(void **state)
{
    reset();
    append(logpath, "1\n2\n");
    char err[256];
    struct tap_follow *f = tap_follow_open(logpath, NULL, true, err, sizeof(err));
    struct seen s = { .len = 0 };
    assert_int_equal(poll_into(f, &s), 2);
    append(logpath, "3\n4-unterminated");
    assert_int_equal(rename(logpath, rotated), 0);
    append(rotated, "\n5\n"); /* the writer still had the old file open */
    append(logpath, "6\n7\n");
    assert_int_equal(poll_into(f, &s), 5);
    assert_string_equal(s.text, "1|2|3|4-unterminated|5|6|7|");
    assert_int_equal(tap_follow_rotations(f), 1);
    /* rotated away and the new file not created yet: nothing, no error */
    assert_int_equal(rename(logpath, rotated), 0);
    assert_int_equal(poll_into(f, &s), 0);
    append(logpath, "8\n");
    assert_int_equal(poll_into(f, &s), 1);
    assert_int_equal(s.lines, 8);
    tap_follow_close(f);
}

static void test_copytruncate(void **state)
{
    reset();
    append(logpath, "first line\nsecond line\n");
    char err[256];
    struct tap_follow *f = tap_follow_open(logpath, NULL, true, err, sizeof(err));
    struct seen s = { .len = 0 };
    assert_int_equal(poll_into(f, &s), 2);
    assert_int_equal(truncate(logpath, 0), 0);
    append(logpath, "x\ny\n");
    assert_int_equal(poll_into(f, &s), 2);
    assert_string_equal(s.text, "first line|second line|x|y|");
    assert_int_equal(tap_follow_rotations(f), 1);
    tap_follow_close(f);
}

static void test_restart_from_checkpoint_neither_skips_nor_repeats(void **state)
{
    reset();
    append(logpath, "l1\nl2\nl3\n");
    char err[256];
    struct tap_follow *f = tap_follow_open(logpath, NULL, true, err, sizeof(err));
    struct seen s = { .len = 0 };
    assert_int_equal(poll_into(f, &s), 3);
    struct tap_checkpoint cp, back;
    tap_follow_checkpoint(f, &cp);
    assert_int_equal(tap_checkpoint_save(cppath, &cp, err, sizeof(err)), 0);
    tap_follow_close(f);
    append(logpath, "l4\nl5\n"); /* written while we were down */
    assert_int_equal(tap_checkpoint_load(cppath, &back, err, sizeof(err)), 0);
    assert_true(back.dev == cp.dev && back.ino == cp.ino && back.offset == cp.offset);
    f = tap_follow_open(logpath, &back, false, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(poll_into(f, &s), 2);
    assert_string_equal(s.text, "l1|l2|l3|l4|l5|");
    assert_int_equal(s.lines, 5); /* the lines written, each once */
    assert_false(tap_follow_lost_rotation(f));
    tap_follow_close(f);
}

static void test_restart_across_a_rotation(void **state)
{
    reset();
    append(logpath, "a1\na2\n");
    char err[256];
    struct tap_follow *f = tap_follow_open(logpath, NULL, true, err, sizeof(err));
    struct seen s = { .len = 0 };
    assert_int_equal(poll_into(f, &s), 2);
    struct tap_checkpoint cp;
    tap_follow_checkpoint(f, &cp);
    tap_follow_close(f);
    /* down: more lines, a rotation, lines in the new file */
    append(logpath, "a3\n");
    assert_int_equal(rename(logpath, rotated), 0);
    append(logpath, "b1\nb2\n");
    f = tap_follow_open(logpath, &cp, false, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(poll_into(f, &s), 3);
    assert_string_equal(s.text, "a1|a2|a3|b1|b2|");
    assert_false(tap_follow_lost_rotation(f));
    tap_follow_close(f);
    /* two rotations while down: PATH.1 is not our file either; start over and say so */
    unlink(rotated);
    struct tap_checkpoint gone = cp;
    gone.ino += 1000003;
    f = tap_follow_open(logpath, &gone, false, err, sizeof(err));
    assert_non_null(f);
    assert_true(tap_follow_lost_rotation(f));
    struct seen t = { .len = 0 };
    assert_int_equal(poll_into(f, &t), 2);
    tap_follow_close(f);
}

static void test_overlong_lines_are_skipped_and_counted(void **state)
{
    reset();
    char *big = malloc(TAP_LINE_MAX + 100);
    memset(big, 'x', TAP_LINE_MAX + 98);
    big[TAP_LINE_MAX + 98] = '\n';
    big[TAP_LINE_MAX + 99] = '\0';
    append(logpath, "before\n");
    append(logpath, big);
    append(logpath, "after\n");
    free(big);
    char err[256];
    struct tap_follow *f = tap_follow_open(logpath, NULL, true, err, sizeof(err));
    struct seen s = { .len = 0 };
    assert_int_equal(poll_into(f, &s), 2);
    assert_string_equal(s.text, "before|after|");
    assert_int_equal(tap_follow_overlong(f), 1);
    tap_follow_close(f);
}

static void test_checkpoint_files(void **state)
{
    reset();
    char err[256];
    struct tap_checkpoint cp;
    assert_int_equal(tap_checkpoint_load(cppath, &cp, err, sizeof(err)), -1);
    append(cppath, "offset 12\n");
    assert_int_equal(tap_checkpoint_load(cppath, &cp, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a maillog-tap checkpoint"));
    struct tap_checkpoint w = { 2049, 1234567, 987654321 };
    assert_int_equal(tap_checkpoint_save(cppath, &w, err, sizeof(err)), 0);
    assert_int_equal(tap_checkpoint_load(cppath, &cp, err, sizeof(err)), 0);
    assert_true(cp.dev == 2049 && cp.ino == 1234567 && cp.offset == 987654321);
    assert_int_equal(access("/tmp/no-such-dir-tap/x.tmp", F_OK), -1);
    assert_int_equal(tap_checkpoint_save("/tmp/no-such-dir-tap/x", &w, err, sizeof(err)), -1);
    assert_null(tap_follow_open("/tmp/no-such-dir-tap/log", NULL, true, err, sizeof(err)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_growing_file_and_partial_lines),
        cmocka_unit_test(test_rename_rotation_reads_the_old_file_to_its_end),
        cmocka_unit_test(test_copytruncate),
        cmocka_unit_test(test_restart_from_checkpoint_neither_skips_nor_repeats),
        cmocka_unit_test(test_restart_across_a_rotation),
        cmocka_unit_test(test_overlong_lines_are_skipped_and_counted),
        cmocka_unit_test(test_checkpoint_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
