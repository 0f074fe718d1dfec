/*
 * fuzz_wctl_import.c - libFuzzer target for warmupctl's suppression import
 * parsing: the CSV reader (line joining, quoting, limits), layout detection
 * and row mapping (addresses, reasons, times, details).
 *
 * Checks that every field view lies inside the reader's record buffer and
 * that every mapped entry is an address the key schema accepts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_keys.h"
#include "wctl_import_fmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *fp;
    struct csv_reader rd;
    struct csv_record rec;
    struct wimp_layout lay;
    int have = 0;

    if (size == 0)
        return 0;
    fp = fmemopen((void *)data, size, "r");
    if (fp == NULL)
        return 0;
    wctl_csv_reader_init(&rd, fp, 4096);
    for (;;) {
        unsigned long line;
        enum csv_status st;
        const char *why;
        struct wimp_entry e;
        int got = wctl_csv_reader_next(&rd, &rec, &line, &st);

        if (got == 0 || got == -2)
            break;
        if (got < 0)
            continue;
        for (size_t i = 0; i < rec.nfields; i++)
            if (rec.f[i].ptr < rd.rec.data || rec.f[i].ptr + rec.f[i].len > rd.rec.data + rd.rec.len)
                abort();
        if (!have) {
            if (wctl_import_fmt_detect(&rec, &lay, &why) < 0)
                break;
            have = 1;
            if (lay.has_header)
                continue;
        }
        if (wctl_import_fmt_map(&lay, &rec, NULL, &e, &why) == 1) {
            if (!rkey_value_ok(e.address, strlen(e.address)) || strlen(e.detail) > WIMP_DETAIL_MAX)
                abort();
        }
    }
    wctl_csv_reader_free(&rd);
    fclose(fp);
    return 0;
}
