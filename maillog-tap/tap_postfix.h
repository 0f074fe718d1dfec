/*
 * tap_postfix.h - parse one Postfix log line into a struct tap_event.
 *
 * DESCRIPTION
 *	Reads the delivery lines of smtp(8), lmtp(8), error(8), local(8) and
 *	pipe(8) as syslog or Postfix's own maillog_file (postlogd, 3.4+)
 *	write them:
 *
 *	  Nov 28 11:39:45 mx1 postfix/smtp-192.0.2.10/smtp[10712]: 7A8F9A72501:
 *	    to=<a@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25,
 *	    delay=1.2, delays=0.1/0/0.5/0.6, dsn=4.7.28, status=deferred (host
 *	    gmail-smtp-in.l.google.com[142.250.1.27] said: 421-4.7.28 ... 421
 *	    4.7.28 ... - gsmtp (in reply to end of DATA command))
 *
 *	(one line; the timestamp may also be RFC 3339).  The syslog tag names
 *	the per-IP transport: with "-o syslog_name=postfix/smtp-192.0.2.10"
 *	(conf/master.cf.snippet) the tag is "postfix/smtp-192.0.2.10/smtp",
 *	the transport label "smtp-192.0.2.10" and the source IP 192.0.2.10;
 *	with "-o syslog_name=postfix-ip2" the tag is "postfix-ip2/smtp" and the
 *	label "postfix-ip2" (the IP then comes from configuration or the
 *	pf:q: attribution record, not from the line).
 *
 *	What counts as a receiver's answer (field notes, "Pitfalls"):
 *	  - only smtp/lmtp lines with to= are outcomes; the text is the remote
 *	    reply when it is "host H[ip] said: ...", "host H[ip] refused to
 *	    talk to me: ...", or the reply of a status=sent line;
 *	  - "delivery temporarily suspended: ..." (error(8) once qmgr marked the
 *	    destination dead) repeats an earlier reply: TAP_LINE_REPEAT;
 *	  - a multi-line reply joined by spaces keeps the last line's code;
 *	  - "(in reply to end of DATA command)" names the command; a reply
 *	    without it (greeting, "refused to talk to me") is CONNECT.
 *
 * USERS
 *	tap_replay.c, the unit tests, the fuzz target.
 *
 * OWNERSHIP
 *	The event's views point into `line`; nothing is allocated.
 */
#ifndef MAILLOG_TAP_POSTFIX_H
#define MAILLOG_TAP_POSTFIX_H

#include <stddef.h>

#include "tap_event.h"

/*
 * Parses line[0..n) (no newline needed; a trailing CR/LF is ignored).  `ref`
 * is the Unix time used to give a BSD timestamp its year (see tap_text.h).
 * Fills *ev (always: kind TAP_LINE_OTHER for anything that is not a Postfix
 * delivery line) and returns ev->kind.
 */
enum tap_kind tap_postfix_parse(const char *line, size_t n, long long ref, struct tap_event *ev);

#endif
