/*
 * NAME
 *   mdkim_stats.h - milter-dkim's counters
 *
 * DESCRIPTION
 *   Process-wide atomic counters: messages signed, signatures made,
 *   messages skipped by reason, internal errors, body bytes hashed.
 *   mdkim_stats_write() renders them as "name value" lines (the format the
 *   metrics work scrapes) into a file replaced atomically.
 */
#ifndef POSTFLOW_MDKIM_STATS_H
#define POSTFLOW_MDKIM_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "mdkim_msg.h"

void mdkim_stats_signed(unsigned signatures, uint64_t body_bytes);
void mdkim_stats_skipped(enum mdkim_skip reason);
void mdkim_stats_error(void);
void mdkim_stats_reload(int ok);

/* Writes all counters, one "milter_dkim_NAME VALUE" line each. */
void mdkim_stats_print(FILE *out);
/* Writes them to path via a temporary file and rename(). 0 or -1 (errno). */
int mdkim_stats_write(const char *path);

#endif
