/*
 * NAME
 *   wctl_prom.h - Prometheus text exposition format (version 0.0.4) writer.
 *
 * DESCRIPTION
 *   `warmupctl metrics` prints one file for node_exporter's textfile
 *   collector (or any scraper).  The format rules kept here:
 *     - a metric family is announced once by "# HELP name text" and
 *       "# TYPE name counter|gauge", then all its samples, contiguously;
 *     - metric and label names match [a-zA-Z_:][a-zA-Z0-9_:]* and
 *       [a-zA-Z_][a-zA-Z0-9_]*; label values escape \, " and newline as
 *       \\, \" and \n; HELP text escapes \ and newline;
 *     - values are integers or floats ("+Inf" for unlimited);
 *     - every line ends in "\n", including the last.
 *   Callers emit families in order; wctl_prom_* does not reorder.
 */
#ifndef WCTL_PROM_H
#define WCTL_PROM_H

#include <stddef.h>

#include "buf.h"

struct wprom_label {
    const char *name;  /* a valid label name (static) */
    const char *value; /* any bytes, escaped on output */
};

/* 1 when name is a valid metric name. */
int wctl_prom_name_ok(const char *name);

/*
 * Turns any text into a metric-name fragment in out (size outsize): letters,
 * digits and '_' kept (uppercase lowered), other bytes become '_'.
 * Returns 0, or -1 when the result would be empty or not fit.
 */
int wctl_prom_sanitize(const char *in, char *out, size_t outsize);

/* "# HELP" and "# TYPE" lines; type is "counter" or "gauge". */
void wctl_prom_family(struct buf *b, const char *name, const char *type, const char *help);

/* One sample with an integer value. */
void wctl_prom_sample_ll(struct buf *b, const char *name, const struct wprom_label *labels, size_t nlabels,
                         long long value);
/* One sample with a float value (+Inf/-Inf/NaN allowed). */
void wctl_prom_sample_d(struct buf *b, const char *name, const struct wprom_label *labels, size_t nlabels,
                        double value);

#endif
