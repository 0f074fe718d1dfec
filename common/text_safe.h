/*
 * text_safe.h - untrusted bytes rendered as printable, capped ASCII text.
 *
 * DESCRIPTION
 *	The one rule postflow uses wherever bytes it did not write (a peer's
 *	address, a header, a reason read back from Redis, an operator's
 *	argument) end up in a log line, an SMTP reply or a terminal:
 *
 *	  - bytes 0x20..0x7e are copied, except the backslash;
 *	  - the backslash becomes "\\", so every "\" in the output starts an
 *	    escape and the rendering can be read back without doubt;
 *	  - every other byte (controls, DEL, and every byte >= 0x80, so also
 *	    UTF-8 and C1 controls) becomes "\xNN", two lower-case hex digits;
 *	  - an escape is never cut; when the whole rendering does not fit in
 *	    the buffer, it stops at an escape boundary and ends in "..." (when
 *	    the buffer has room for it, i.e. at least 4 bytes).
 *
 *	The output is ASCII without line breaks, so it can neither forge a log
 *	line or a reply line nor drive a terminal.  NUL bytes in the input are
 *	data (rendered "\x00"), not the end.
 *
 * USERS
 *	log.c (log_printable(), which adds the configured log cap),
 *	policyd-warmup (policy_plan.c: suppression reason and detail read from
 *	Redis into the 550 reply), warmupctl (wctl_suppress.c, wctl_ip.c,
 *	wctl_counters.c: operator arguments and Redis text shown on stdout and
 *	stderr).
 *
 * OWNERSHIP
 *	The caller owns both buffers; nothing is allocated.
 */
#ifndef POSTFLOW_TEXT_SAFE_H
#define POSTFLOW_TEXT_SAFE_H

#include <stddef.h>

/*
 * Renders in[0..inlen) into out (outsize bytes) by the rule above; out is
 * always NUL-terminated when outsize > 0.  Returns out.
 */
char *text_safe(char *out, size_t outsize, const char *in, size_t inlen);

#endif
