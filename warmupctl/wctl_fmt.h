/*
 * NAME
 *   wctl_fmt.h - how warmupctl renders one suppression entry and small
 *   values (times, percentages), shared by the suppress commands.
 *
 * DESCRIPTION
 *   Pure: fills buffers only.  A suppression entry here is the HASH of
 *   docs/redis-keys.md (pf:sup:{address}) read back into strings.
 */
#ifndef WCTL_FMT_H
#define WCTL_FMT_H

#include "buf.h"

struct wsup_entry {
    const char *address; /* lowercased, as in the key */
    const char *reason;  /* NULL when the field is missing */
    const char *source;
    const char *detail;
    const char *queue_id;
    long long time;       /* 0 when missing */
    const char *category; /* bounce-proc's verdict (NULL when missing) */
    const char *status;
    const char *why; /* the rule that decided */
};

/* "2026-11-28 10:20:30" (UTC) into out[20 + 1]; "-" for 0. */
void wctl_fmt_time(long long t, char out[32]);

/* "0.25" (two decimals) of part/whole*100 into out; "-" when whole is 0. */
void wctl_fmt_percent(long long part, long long whole, char out[32]);

/* {"address":..,"reason":..,"source":..,"time":..,"detail":..,"queue_id":..} */
void wctl_fmt_sup_json(struct buf *b, const struct wsup_entry *e);

/* address,reason,time,detail + "\n" (the postflow CSV format). */
void wctl_fmt_sup_csv(struct buf *b, const struct wsup_entry *e);
/* The header line of that format. */
#define WFMT_SUP_CSV_HEADER "address,reason,time,detail\n"

#endif
