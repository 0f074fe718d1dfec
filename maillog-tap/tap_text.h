/*
 * tap_text.h - small bounded scanners shared by the log-line parsers:
 * timestamps, the last line's code of a (joined) multi-line SMTP reply,
 * and the SMTP command a reply answered.
 *
 * DESCRIPTION
 *	Log lines are untrusted bytes (a receiver chooses its reply text, and a
 *	local user can write to syslog).  Every function here takes a pointer
 *	and a length, never reads past it, never needs a NUL, and never
 *	allocates.
 *
 *	Timestamps: BSD syslog and Postfix maillog_file ("Nov 28 11:39:45",
 *	optionally ".123456") carry no year; the year is the one that puts the
 *	time closest before `ref` (the replay's clock or the file's mtime), so
 *	a December line read in January lands in the old year.  RFC 3339
 *	("2026-11-28T11:39:45.123+01:00", rsyslog high precision) and Exim's
 *	"2026-11-28 11:39:45" (optionally followed by " +0100") carry it.
 *
 * USERS
 *	tap_postfix.c, tap_exim.c.
 *
 * OWNERSHIP
 *	No allocation; views point into the caller's bytes.
 */
#ifndef MAILLOG_TAP_TEXT_H
#define MAILLOG_TAP_TEXT_H

#include <stddef.h>

#include "tap_event.h"

/* "Mmm dd HH:MM:SS[.frac]" at p; returns bytes used (0 = not a timestamp). */
size_t tap_time_bsd(const char *p, size_t n, long long ref, long long *out);
/* "YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|(+|-)hh[:]mm| (+|-)hhmm]"; returns bytes used or 0. */
size_t tap_time_iso(const char *p, size_t n, long long *out);

/* Unix seconds of a UTC civil time (no range checks beyond the obvious). */
long long tap_time_utc(int year, int mon, int day, int hh, int mm, int ss);

/*
 * The reply in text[0..n) as a receiver wrote it, lines joined by spaces
 * (Postfix) or "\n" escapes (Exim): "421-4.7.28 ... 421 4.7.28 ...".
 * Sets *code to the basic code of the LAST line (the one without '-'),
 * and *dsn to that line's enhanced code when it has one.  *code = 0 when
 * the text does not start with a code.
 */
void tap_reply_code(const char *text, size_t n, int *code, struct tap_str *dsn);

/*
 * Unfolds a joined multi-line reply for pattern matching: copies
 * text[0..n) to out (at most outsize - 1 bytes, NUL-terminated), dropping
 * the code prefix ("421-4.7.28 ", "421 4.7.28 ") of every continuation line
 * and turning Exim's "\n" escapes into spaces, so "unusual rate of 421-4.7.0
 * unsolicited mail" reads "unusual rate of unsolicited mail".  The first
 * line's code stays.  Returns the length written; a reply longer than
 * outsize - 1 is cut (the caller sizes out for its longest line).
 */
size_t tap_reply_unfold(const char *text, size_t n, char *out, size_t outsize);

/* Static canonical command name for an SMTP stage phrase ("end of DATA",
 * "RCPT TO", "MAIL FROM:<a>", "pipelined MAIL FROM", "initial connection",
 * "EHLO" ...), or NULL. */
const char *tap_command_name(const char *p, size_t n);

/* Case-insensitive search of needle (NUL-terminated) in p[0..n); NULL if absent. */
const char *tap_find(const char *p, size_t n, const char *needle);
/* Same, the last occurrence. */
const char *tap_find_last(const char *p, size_t n, const char *needle);

/* True when s[0..n) is a dotted IPv4 address or an IPv6 literal (hex digits, ':' and '.'). */
int tap_is_ip(const char *s, size_t n);

#endif
