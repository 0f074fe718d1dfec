/*
 * NAME
 *   wctl_import_fmt.h - recognises suppression CSV formats and maps their rows.
 *
 * DESCRIPTION
 *   `warmupctl suppress import FILE.csv` accepts four layouts, told apart by
 *   the first record (column names are matched case-insensitively, ignoring
 *   blanks, '_' and '-'; columns may come in any order, extra columns are
 *   ignored):
 *
 *   postflow (ours, what `suppress export` writes)
 *       address,reason,time,detail      reason: hard|complaint|manual|
 *                                       unsubscribe|import (empty: import)
 *   Amazon SES, listing/export          EmailAddress,Reason,LastUpdateTime
 *                                       Reason BOUNCE -> hard, COMPLAINT ->
 *                                       complaint
 *   Amazon SES, bulk-import file        no header: address,BOUNCE|COMPLAINT
 *   SendGrid suppression downloads      email,created[,reason][,status][,ip]
 *       bounces (status 5.x.x)  -> hard       spam reports (ip)  -> complaint
 *       invalid emails (reason, no status) -> hard
 *       global unsubscribes (email,created) -> unsubscribe
 *       blocks / anything else with a status -> import
 *
 *   Times: Unix seconds, or ISO 8601 / RFC 3339 ("2024-05-01T10:20:30Z",
 *   "2024-05-01 10:20:30", "...+02:00", fractions ignored, a date alone);
 *   empty = the time of the import.  `--reason R` on the command line
 *   overrides the mapped reason for every row.
 *
 *   Pure: no I/O; the adapter (wctl_import.c) reads the file and writes
 *   Redis.
 */
#ifndef WCTL_IMPORT_FMT_H
#define WCTL_IMPORT_FMT_H

#include "wctl_addr.h"
#include "wctl_csv.h"

#define WIMP_DETAIL_MAX 200

enum wimp_format { WIMP_POSTFLOW, WIMP_SES, WIMP_SES_IMPORT, WIMP_SENDGRID };

struct wimp_layout {
    enum wimp_format fmt;
    int has_header; /* 1: the first record was the header (not data) */
    int col_addr, col_reason, col_time, col_detail, col_status, col_ip; /* -1 = absent */
};

struct wimp_entry {
    char address[WCTL_ADDR_MAX + 1];
    const char *reason; /* static: "hard", "complaint", ... */
    long long time;     /* Unix seconds, 0 = now */
    char detail[WIMP_DETAIL_MAX + 1];
};

/* Name of a format ("postflow", "ses", "ses-import", "sendgrid"). */
const char *wctl_import_fmt_name(enum wimp_format fmt);

/* Canonical reason for a user-typed one (case-insensitive), or NULL. */
const char *wctl_import_fmt_reason_canonical(const char *s, size_t n);

/* Looks at the first record; returns 0, or -1 with *why. */
int wctl_import_fmt_detect(const struct csv_record *first, struct wimp_layout *lay, const char **why);

/*
 * Maps one data record.  forced_reason (canonical, or NULL) overrides the
 * row's reason.  Returns 1 with *e filled, 0 for a record to skip silently
 * (every field empty), -1 with *why for a bad row.
 */
int wctl_import_fmt_map(const struct wimp_layout *lay, const struct csv_record *rec, const char *forced_reason,
                        struct wimp_entry *e, const char **why);

/* Parses a time (see above) into Unix seconds; empty gives 0.  -1 on error. */
int wctl_import_fmt_parse_time(const char *s, size_t n, long long *out);

/* Copies text into out (WIMP_DETAIL_MAX + 1), control bytes as '?', cut with "..." if long. */
void wctl_import_fmt_detail_copy(char *out, const char *s, size_t n);

#endif
