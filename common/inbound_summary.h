/*
 * inbound_summary.h - batch runs: a progress line on a terminal (count,
 * rate, ETA by bytes) and the summary table at the end (per kind, and per
 * category x class).
 *
 * USERS
 *	inbound_driver.c.
 */
#ifndef POSTFLOW_INBOUND_SUMMARY_H
#define POSTFLOW_INBOUND_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "inbound_report.h"

#define SUMMARY_ROWS_MAX 64

struct inbound_summary {
    size_t messages, bytes_total, errors, duplicates, suppressed, escalated;
    size_t kinds[5]; /* by enum inbound_kind */
    struct {
        const char *category;
        size_t hard, soft, unknown;
    } rows[SUMMARY_ROWS_MAX];
    size_t nrows;
    double started, last_draw; /* monotonic seconds */
    bool progress;             /* draw the progress line (stderr is a terminal) */
};

void inbound_summary_init(struct inbound_summary *s, size_t bytes_total, bool progress);
void inbound_summary_add(struct inbound_summary *s, const struct inbound_report *r);
/* Redraws the progress line at most 5 times a second; bytes_done = offset reached. */
void inbound_summary_progress(struct inbound_summary *s, size_t bytes_done);
/* Clears the progress line and prints the table to out. */
void inbound_summary_print(struct inbound_summary *s, FILE *out);

#endif
