/*
 * tap_exim.h - parse one Exim 4.96 main-log line into a struct tap_event.
 *
 * DESCRIPTION
 *	Delivery lines of Exim's mainlog (spec chapter "Log files"):
 *
 *	  2026-11-28 10:00:00 1wN9t2-00000002BQv-3hr9 => a@gmail.com
 *	      R=dnslookup T=remote_smtp H=gmail-smtp-in.l.google.com [142.250.102.27]
 *	      I=[192.0.2.10] X=TLS1.3:... CV=yes K C="250 2.0.0 OK ... - gsmtp"
 *	  ... == a@gmail.com R=dnslookup T=remote_smtp defer (-44)
 *	      H=gmail-smtp-in.l.google.com [142.250.102.27]: SMTP error from remote
 *	      mail server after end of data: 421-4.7.28 ...\n421 4.7.28 ... - gsmtp
 *	  ... ** b@gmail.com R=dnslookup T=remote_smtp H=... [...]: SMTP error from
 *	      remote mail server after RCPT TO:<b@gmail.com>: 550-5.1.1 ...
 *
 *	"=>" and "->" are sent, "==" deferred, "**" failed (bounced).  Message
 *	ids of 4.96 (1gLZgZ-0001a5-ME) and 4.97+ (1wN9t2-00000002BQv-3hr9) are
 *	read; the timestamp may carry milliseconds and a " +0100" zone
 *	(log_timezone) and be followed by "[pid]".  Exim writes a reply's line
 *	breaks as the two characters "\n"; the last line's code counts.
 *
 *	The sending IP is I=[ip] (log_selector +outgoing_interface, together
 *	with +incoming_interface, field notes addendum); the transport label is
 *	T= (a per-IP transport such as remote_smtp_ip2).  A line with H= is a
 *	remote outcome; "retry time not reached" deferrals repeat an earlier
 *	answer (TAP_LINE_REPEAT); other lines without H= (routing failures,
 *	local deliveries) are TAP_LINE_LOCAL, except an smtp-transport defer
 *	with an errno (connection refused / timed out), which is an outcome
 *	without a remote reply.
 *
 * USERS
 *	tap_replay.c, the unit tests, the fuzz target.
 *
 * OWNERSHIP
 *	The event's views point into `line`; nothing is allocated.
 */
#ifndef MAILLOG_TAP_EXIM_H
#define MAILLOG_TAP_EXIM_H

#include <stddef.h>

#include "tap_event.h"

/* Parses line[0..n) (trailing CR/LF ignored); fills *ev and returns ev->kind. */
enum tap_kind tap_exim_parse(const char *line, size_t n, struct tap_event *ev);

#endif
