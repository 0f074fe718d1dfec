/*
 * mail_scan.h - the resumable header-section scanner behind mail_header.h
 * (internal to common/: use mail_header.h).
 *
 * DESCRIPTION
 *	A byte-at-a-time state machine over a buffer the caller owns.  All
 *	positions are offsets into that buffer; `base_off` is the offset of
 *	buffer byte 0 in the whole input (the incremental parser drops bytes
 *	it no longer needs and shifts the scanner with mail_scan_shift()).
 *	mail_scan_step() resumes exactly where it stopped, so pushing one byte
 *	at a time costs the same as pushing everything at once.
 */
#ifndef POSTFLOW_MAIL_SCAN_H
#define POSTFLOW_MAIL_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "mail_header.h"
#include "mail_limits.h"

enum mail_scan_state {
    MAIL_SCAN_BOL,      /* at the start of a line, no field pending */
    MAIL_SCAN_BLANK_CR, /* CR at the start of a line: an empty line if LF follows */
    MAIL_SCAN_NAME,     /* inside a field name */
    MAIL_SCAN_NAME_WSP, /* whitespace between field name and colon */
    MAIL_SCAN_VALUE,    /* inside a value line */
    MAIL_SCAN_EOL,      /* after a value line's LF: folded line or next field? */
    MAIL_SCAN_END,
    MAIL_SCAN_ERROR
};

struct mail_scan {
    struct mail_limits lim;
    enum mail_scan_state st;
    size_t base_off;    /* input offset of buffer byte 0 */
    size_t pos;         /* next byte to examine */
    size_t field_start; /* current field (NAME .. EOL states) */
    size_t name_end;
    size_t colon;
    size_t line_start;
    size_t line_no; /* 1-based line of `pos` */
    size_t nfields;
    size_t body_offset; /* buffer offset, valid in END */
    bool has_separator;
    /* Field blocks: a line of only whitespace ends the section instead of
     * continuing the field (needs the whole input: eof must be true). */
    bool ws_line_ends;
    struct mail_error_info err; /* input offsets, valid in ERROR */
    size_t fail_start;          /* ERROR: buffer offset of the field or line that failed */
};

enum mail_scan_result {
    MAIL_SCAN_NEED_MORE,
    MAIL_SCAN_FIELD,
    MAIL_SCAN_DONE,
    MAIL_SCAN_FAIL,
    MAIL_SCAN_CONTINUE /* internal to mail_scan.c: never returned by mail_scan_step() */
};

void mail_scan_init(struct mail_scan *s, const struct mail_limits *limits);

/*
 * Examines buf[pos..len).  eof says no byte will ever follow buf[len-1].
 * On MAIL_SCAN_FIELD fills *f (views into buf, offset = input offset).
 */
enum mail_scan_result mail_scan_step(struct mail_scan *s, const char *buf, size_t len, bool eof, struct mail_field *f);

/* Oldest buffer offset the scanner still needs (start of a pending field). */
size_t mail_scan_keep_from(const struct mail_scan *s);

/* The caller dropped the first n buffer bytes (n <= mail_scan_keep_from()). */
void mail_scan_shift(struct mail_scan *s, size_t n);

/* True for errors that mean "this is not a header line" rather than a
 * limit: lenient callers (MIME parts, DSN blocks) may recover from them. */
bool mail_scan_error_is_syntax(enum mail_error code);

#endif
