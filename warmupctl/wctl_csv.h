/*
 * NAME
 *   wctl_csv.h - a bounded RFC 4180 CSV reader and writer for warmupctl.
 *
 * DESCRIPTION
 *   Suppression lists move between systems as CSV (SES and SendGrid exports,
 *   our own `suppress export`).  The reader is lenient where real exports
 *   differ and strict where a mistake would corrupt data:
 *
 *     - fields separated by ',', records by LF or CRLF; a field in double
 *       quotes may contain ',', CR, LF and "" (a quote);
 *     - blanks around an unquoted field are trimmed ("a@b.c, COMPLAINT" as
 *       in the SES bulk-import example), blanks before an opening or after a
 *       closing quote are ignored;
 *     - a quote inside an unquoted field, text after a closing quote, a NUL
 *       byte, an unterminated quote, more than CSV_MAX_FIELDS fields or a
 *       record longer than the limit make that record bad: the reader
 *       reports it with its line number and goes on with the next record;
 *     - a UTF-8 byte-order mark at the start of the input and empty lines
 *       are skipped.
 *
 *   wctl_csv_split() is the pure core (works on a buffer in place); the
 *   csv_reader adapter reads records from a FILE, joining the physical lines
 *   of a quoted field.  Field views point into the reader's buffer and are
 *   valid until the next wctl_csv_reader_next() call.
 */
#ifndef WCTL_CSV_H
#define WCTL_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"

#define CSV_MAX_FIELDS         32
#define CSV_RECORD_MAX_DEFAULT 65536

struct csv_field {
    const char *ptr;
    size_t len;
};

struct csv_record {
    struct csv_field f[CSV_MAX_FIELDS];
    size_t nfields;
};

enum csv_status {
    CSV_OK = 0,
    CSV_ERR_QUOTE = -1,        /* quote inside an unquoted field */
    CSV_ERR_AFTER_QUOTE = -2,  /* text after a closing quote */
    CSV_ERR_UNTERMINATED = -3, /* quoted field not closed */
    CSV_ERR_FIELDS = -4,       /* more than CSV_MAX_FIELDS fields */
    CSV_ERR_NUL = -5,          /* NUL byte */
    CSV_ERR_LONG = -6          /* record longer than the reader's limit */
};

/* A short English text for a status. */
const char *wctl_csv_strerror(enum csv_status st);

/*
 * 1 when rec[0..len) is a complete record, 0 when a quoted field (one that
 * starts with '"') is still open and continues on the next line.
 */
int wctl_csv_record_complete(const char *rec, size_t len);

/*
 * Splits one complete record rec[0..len) (without its line end) into
 * fields, unquoting in place: the bytes of rec are changed and the field
 * views point into them.  An empty record yields one empty field.
 */
enum csv_status wctl_csv_split(char *rec, size_t len, struct csv_record *out);

struct csv_reader {
    FILE *fp;       /* not owned */
    struct buf rec; /* current record */
    char *line;     /* one physical line, owned; at most max_record + 3 bytes */
    size_t linecap;
    unsigned long lines_read; /* physical lines consumed so far */
    size_t max_record;
    int at_start;
};

/* max_record 0 means CSV_RECORD_MAX_DEFAULT.  The reader does not own fp. */
void wctl_csv_reader_init(struct csv_reader *r, FILE *fp, size_t max_record);
void wctl_csv_reader_free(struct csv_reader *r);

/*
 * Reads the next non-empty record.  Returns 1 with *out filled, 0 at end of
 * input, -1 for a bad record (status in *st; the reader has skipped it and
 * can be called again), -2 for a read error (errno set).  *lineno gets the
 * line number of the record's first line (1-based).
 */
int wctl_csv_reader_next(struct csv_reader *r, struct csv_record *out, unsigned long *lineno, enum csv_status *st);

/* Appends one field to b, quoted when it holds ',', '"', CR, LF or edge blanks. */
int wctl_csv_write_field(struct buf *b, const char *s, size_t len);

#endif
