/*
 * test_wctl_csv.c - the CSV reader: RFC 4180 quoting, multi-line fields,
 * line numbers of bad records, resynchronisation, and the writer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wctl_csv.h"

static void assert_field(const struct csv_record *r, size_t i, const char *want)
{
    assert_true(i < r->nfields);
    assert_int_equal(r->f[i].len, strlen(want));
    assert_memory_equal(r->f[i].ptr, want, r->f[i].len);
}

static enum csv_status split(const char *s, char *work, struct csv_record *r)
{
    size_t n = strlen(s);
    memcpy(work, s, n + 1);
    return wctl_csv_split(work, n, r);
}

static void splits_plain_fields_and_trims_blanks(void **state)
{
    char w[256];
    struct csv_record r;
    (void)state;
    assert_int_equal(split("a@b.c, COMPLAINT ,,x", w, &r), CSV_OK);
    assert_int_equal(r.nfields, 4);
    assert_field(&r, 0, "a@b.c");
    assert_field(&r, 1, "COMPLAINT");
    assert_field(&r, 2, "");
    assert_field(&r, 3, "x");
}

static void unquotes_commas_quotes_and_newlines(void **state)
{
    char w[256];
    struct csv_record r;
    (void)state;
    assert_int_equal(split("\"a,b\", \"say \"\"hi\"\"\" ,\"line1\nline2\",\"\"", w, &r), CSV_OK);
    assert_int_equal(r.nfields, 4);
    assert_field(&r, 0, "a,b");
    assert_field(&r, 1, "say \"hi\"");
    assert_field(&r, 2, "line1\nline2");
    assert_field(&r, 3, "");
}

static void rejects_stray_and_unterminated_quotes(void **state)
{
    char w[256];
    struct csv_record r;
    (void)state;
    assert_int_equal(split("ab\"c,d", w, &r), CSV_ERR_QUOTE);
    assert_int_equal(split("\"ab\"c,d", w, &r), CSV_ERR_AFTER_QUOTE);
    assert_int_equal(split("\"abc,d", w, &r), CSV_ERR_UNTERMINATED);
}

static void rejects_too_many_fields_and_nul(void **state)
{
    char w[256];
    struct csv_record r;
    char many[200] = "";
    (void)state;
    for (int i = 0; i < CSV_MAX_FIELDS; i++)
        strcat(many, "x,");
    strcat(many, "x");
    assert_int_equal(split(many, w, &r), CSV_ERR_FIELDS);
    memcpy(w, "a\0b", 3);
    assert_int_equal(wctl_csv_split(w, 3, &r), CSV_ERR_NUL);
}

static void detects_incomplete_records(void **state)
{
    (void)state;
    assert_true(wctl_csv_record_complete("a,\"b\",c", 7));
    assert_false(wctl_csv_record_complete("a,\"b", 4));
    assert_true(wctl_csv_record_complete("\"x\"\"y\"", 6));
    assert_true(wctl_csv_record_complete("ab\"c,d", 6));     /* a stray quote opens nothing */
    assert_false(wctl_csv_record_complete("a, \"b,\nc", 8)); /* blanks before the quote */
}

static void reader_joins_quoted_lines_and_counts_lines(void **state)
{
    static const char text[] = "\xEF\xBB\xBF"
                               "address,reason\r\n"
                               "\r\n"
                               "\"multi\nline\",hard\n"
                               "last@x.example,manual";
    FILE *fp = fmemopen((void *)text, sizeof text - 1, "r");
    struct csv_reader rd;
    struct csv_record r;
    unsigned long line;
    enum csv_status st;
    (void)state;
    wctl_csv_reader_init(&rd, fp, 0);
    assert_int_equal(wctl_csv_reader_next(&rd, &r, &line, &st), 1);
    assert_int_equal(line, 1);
    assert_field(&r, 0, "address"); /* BOM removed */
    assert_field(&r, 1, "reason");  /* CR removed */
    assert_int_equal(wctl_csv_reader_next(&rd, &r, &line, &st), 1);
    assert_int_equal(line, 3); /* empty line 2 skipped */
    assert_field(&r, 0, "multi\nline");
    assert_int_equal(wctl_csv_reader_next(&rd, &r, &line, &st), 1);
    assert_int_equal(line, 5);
    assert_field(&r, 0, "last@x.example"); /* no final newline */
    assert_int_equal(wctl_csv_reader_next(&rd, &r, &line, &st), 0);
    wctl_csv_reader_free(&rd);
    fclose(fp);
}

static void reader_reports_bad_record_and_goes_on(void **state)
{
    static const char text[] = "a,b\"c\nok@x.example,hard\n\"never closed,x\n";
    FILE *fp = fmemopen((void *)text, sizeof text - 1, "r");
    struct csv_reader rd;
    struct csv_record r;
    unsigned long line;
    enum csv_status st;
    (void)state;
    wctl_csv_reader_init(&rd, fp, 0);
    assert_int_equal(wctl_csv_reader_next(&rd, &r, &line, &st), -1);
    assert_int_equal(line, 1);
    assert_int_equal(st, CSV_ERR_QUOTE);
    assert_int_equal(wctl_csv_reader_next(&rd, &r, &line, &st), 1);
    assert_int_equal(line, 2);
    assert_field(&r, 0, "ok@x.example");
    assert_int_equal(wctl_csv_reader_next(&rd, &r, &line, &st), -1);
    assert_int_equal(line, 3);
    assert_int_equal(st, CSV_ERR_UNTERMINATED);
    assert_int_equal(wctl_csv_reader_next(&rd, &r, &line, &st), 0);
    wctl_csv_reader_free(&rd);
    fclose(fp);
}

static void reader_bounds_a_record_and_resynchronises(void **state)
{
    /* An unbalanced quote would swallow the file: the limit stops it. */
    static const char text[] = "\"open,aaaaaaaaaa\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\nnext@x.example,hard\n";
    FILE *fp = fmemopen((void *)text, sizeof text - 1, "r");
    struct csv_reader rd;
    struct csv_record r;
    unsigned long line;
    enum csv_status st;
    (void)state;
    wctl_csv_reader_init(&rd, fp, 32);
    assert_int_equal(wctl_csv_reader_next(&rd, &r, &line, &st), -1);
    assert_int_equal(st, CSV_ERR_LONG);
    assert_int_equal(line, 1);
    assert_int_equal(wctl_csv_reader_next(&rd, &r, &line, &st), 1);
    assert_int_equal(line, 3);
    assert_field(&r, 0, "next@x.example");
    wctl_csv_reader_free(&rd);
    fclose(fp);
}

static void reader_memory_stays_bounded_on_one_huge_line(void **state)
{
    /* 8 MiB without a line end, then a good record: the reader must not hold the
     * whole line in memory to find out that it is too long. */
    size_t big = 8u << 20;
    char *text = malloc(big + 64);
    assert_non_null(text);
    memset(text, 'a', big);
    size_t n = big + (size_t)snprintf(text + big, 64, "\nnext@x.example,hard\n");
    FILE *fp = fmemopen(text, n, "r");
    struct csv_reader rd;
    struct csv_record r;
    unsigned long line;
    enum csv_status st;
    (void)state;
    wctl_csv_reader_init(&rd, fp, 1024);
    assert_int_equal(wctl_csv_reader_next(&rd, &r, &line, &st), -1);
    assert_int_equal(st, CSV_ERR_LONG);
    assert_true(rd.linecap <= 4096); /* not the 8 MiB line */
    assert_true(rd.rec.cap <= 4096);
    assert_int_equal(wctl_csv_reader_next(&rd, &r, &line, &st), 1);
    assert_int_equal(line, 2);
    assert_field(&r, 0, "next@x.example");
    assert_int_equal(wctl_csv_reader_next(&rd, &r, &line, &st), 0);
    wctl_csv_reader_free(&rd);
    fclose(fp);
    free(text);
}

static void writer_quotes_only_when_needed_and_round_trips(void **state)
{
    struct buf b;
    struct csv_record r;
    static const char *vals[] = { "plain", "with,comma", "say \"x\"", "two\nlines", " edge", "" };
    (void)state;
    buf_init(&b, 0);
    for (size_t i = 0; i < 6; i++) {
        if (i > 0)
            buf_append_char(&b, ',');
        wctl_csv_write_field(&b, vals[i], strlen(vals[i]));
    }
    assert_string_equal(b.data, "plain,\"with,comma\",\"say \"\"x\"\"\",\"two\nlines\",\" edge\",");
    assert_int_equal(wctl_csv_split(b.data, b.len, &r), CSV_OK);
    assert_int_equal(r.nfields, 6);
    for (size_t i = 0; i < 6; i++)
        assert_field(&r, i, vals[i]);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splits_plain_fields_and_trims_blanks),
        cmocka_unit_test(unquotes_commas_quotes_and_newlines),
        cmocka_unit_test(rejects_stray_and_unterminated_quotes),
        cmocka_unit_test(rejects_too_many_fields_and_nul),
        cmocka_unit_test(detects_incomplete_records),
        cmocka_unit_test(reader_joins_quoted_lines_and_counts_lines),
        cmocka_unit_test(reader_reports_bad_record_and_goes_on),
        cmocka_unit_test(reader_bounds_a_record_and_resynchronises),
        cmocka_unit_test(reader_memory_stays_bounded_on_one_huge_line),
        cmocka_unit_test(writer_quotes_only_when_needed_and_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
