/*
 * NAME
 *   wctl_table.h - text tables for warmupctl output (JSON: json.h).
 *
 * DESCRIPTION
 *   Every warmupctl read command prints either an aligned text table for
 *   people or JSON for programs (--json, through json.h).  Values shown come from Redis and
 *   therefore from mail (addresses, bounce details): the table replaces
 *   control bytes with '?', and JSON strings are escaped per RFC 8259 with
 *   invalid UTF-8 replaced by U+FFFD, so neither a terminal nor a JSON
 *   parser can be confused by hostile bytes.
 *
 *   All functions append to a struct buf (buf.h); nothing here writes to a
 *   file or allocates except through the buffer and the table's cells.
 */
#ifndef WCTL_TABLE_H
#define WCTL_TABLE_H

#include <stddef.h>

#include "buf.h"
#include "json.h"

#define WTABLE_MAX_COLS 16

struct wtable {
    size_t ncols;
    const char *head[WTABLE_MAX_COLS]; /* static strings */
    int right[WTABLE_MAX_COLS];        /* 1: right-aligned (numbers) */
    char **cells;                      /* owned: nrows * ncols strings */
    size_t nrows, cap;
};

/* heads: ncols static strings; right_mask bit i = column i right-aligned. */
void wctl_table_init(struct wtable *t, size_t ncols, const char *const *heads, unsigned right_mask);
/* Adds a row of ncols strings (copied; NULL shows as "-"). */
void wctl_table_add(struct wtable *t, const char *const *cols);
/* Renders header and rows, columns separated by two spaces, no trailing blanks. */
void wctl_table_render(const struct wtable *t, struct buf *b);
void wctl_table_free(struct wtable *t);

#endif
