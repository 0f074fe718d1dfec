/*
 * test_inbound_batch.c - unit tests of the batch reader
 * (common/inbound_batch.h): mbox splitting, and a directory holding files
 * and a maildir (cur/ and new/ read, tmp/ skipped), built under a mkdtemp
 * directory and removed afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "inbound_batch.h"

static void mbox_split_at_from_lines(void **state)
{
    static const char mbox[] = "From a@example.org Mon Jan  1 00:00:00 2024\n"
                               "Subject: one\n"
                               "\n"
                               "body one\n"
                               "From here on, not a separator (no empty line before)\n"
                               "\n"
                               "From b@example.org Mon Jan  1 00:00:01 2024\n"
                               "Subject: two\n"
                               "\n"
                               ">From quoted\n"
                               "\n"
                               "From c@example.org Mon Jan  1 00:00:02 2024\n"
                               "Subject: three\n";
    size_t starts[8];
    size_t n = inbound_mbox_split(mbox, sizeof(mbox) - 1, starts, 8);
    assert_int_equal(n, 3);
    assert_int_equal(starts[0], 0);
    assert_memory_equal(mbox + starts[1], "From b@", 7);
    assert_memory_equal(mbox + starts[2], "From c@", 7);
    /* max bounds what is written, not what is counted */
    size_t one[1];
    assert_int_equal(inbound_mbox_split(mbox, sizeof(mbox) - 1, one, 1), 3);
    assert_int_equal(one[0], 0);
}

static void not_an_mbox(void **state)
{
    static const char msg[] = "Subject: plain message\n\nFrom the start of a line, but not an mbox\n";
    size_t starts[4];
    assert_int_equal(inbound_mbox_split(msg, sizeof(msg) - 1, starts, 4), 0);
    assert_int_equal(inbound_mbox_split("", 0, starts, 4), 0);
    assert_int_equal(inbound_mbox_split("From", 4, starts, 4), 0);
}

static char root[64];

static void put(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void sub(const char *rel)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    assert_int_equal(mkdir(path, 0700), 0);
}

static void directory_and_maildir(void **state)
{
    snprintf(root, sizeof(root), "/tmp/pf-batch-XXXXXX");
    assert_non_null(mkdtemp(root));
    put("a.eml", "Subject: a\n\nA\n");
    put("b.eml", "Subject: b\n\nB\n");
    sub("md");
    sub("md/cur");
    sub("md/new");
    sub("md/tmp");
    put("md/cur/1.host:2,S", "Subject: cur\n\nC\n");
    put("md/new/2.host", "Subject: new\n\nN\n");
    put("md/tmp/3.host", "Subject: tmp (being written)\n\nT\n");
    put("box.mbox", "From x@example.org Mon Jan  1 00:00:00 2024\nSubject: m1\n\n1\n\n"
                    "From y@example.org Mon Jan  1 00:00:00 2024\nSubject: m2\n\n2\n");

    char err[256] = "";
    char *paths[] = { root };
    struct inbound_batch *b = inbound_batch_open(paths, 1, err, sizeof(err));
    assert_non_null(b);
    assert_int_equal(inbound_batch_files(b), 5); /* a, b, box, cur/1, new/2: not tmp/3 */
    assert_true(inbound_batch_bytes(b) > 0);
    struct inbound_message m;
    int rc;
    size_t count = 0, mbox_msgs = 0;
    bool seen_cur = false, seen_new = false, seen_a = false;
    size_t last_offset = 0;
    while ((rc = inbound_batch_next(b, &m, err, sizeof(err))) != 0) {
        assert_int_equal(rc, 1);
        count++;
        assert_true(m.offset >= last_offset);
        last_offset = m.offset;
        assert_null(memmem(m.data, m.len, "tmp (being", 10));
        if (memmem(m.data, m.len, "Subject: cur", 12) != NULL)
            seen_cur = true;
        if (memmem(m.data, m.len, "Subject: new", 12) != NULL)
            seen_new = true;
        if (memmem(m.data, m.len, "Subject: a\n", 11) != NULL)
            seen_a = true;
        if (strstr(m.name, "box.mbox") != NULL) {
            mbox_msgs++;
            assert_non_null(strchr(m.name, ':')); /* "path:N" */
            assert_memory_equal(m.data, "From ", 5);
            /* each message of the mbox on its own */
            assert_int_equal(memmem(m.data + 1, m.len - 1, "\nFrom ", 6) == NULL, 1);
            m.data[0] = 'f'; /* private mapping: writable, the file stays as it is */
        }
    }
    inbound_batch_close(b);
    assert_int_equal(count, 6);
    assert_int_equal(mbox_msgs, 2);
    assert_true(seen_cur && seen_new && seen_a);

    char path[256];
    snprintf(path, sizeof(path), "%s/box.mbox", root);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fgetc(fp), 'F');
    fclose(fp);

    /* a path that does not exist: NULL with a reason */
    char *missing[] = { "/nonexistent/pf-batch" };
    err[0] = '\0';
    assert_null(inbound_batch_open(missing, 1, err, sizeof(err)));
    assert_true(err[0] != '\0');

    static const char *const files[] = { "a.eml",         "b.eml",         "box.mbox", "md/cur/1.host:2,S",
                                         "md/new/2.host", "md/tmp/3.host", NULL };
    for (const char *const *f = files; *f != NULL; f++) {
        snprintf(path, sizeof(path), "%s/%s", root, *f);
        unlink(path);
    }
    static const char *const dirs[] = { "md/cur", "md/new", "md/tmp", "md", "", NULL };
    for (const char *const *d = dirs; *d != NULL; d++) {
        snprintf(path, sizeof(path), "%s/%s", root, *d);
        rmdir(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mbox_split_at_from_lines),
        cmocka_unit_test(not_an_mbox),
        cmocka_unit_test(directory_and_maildir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
