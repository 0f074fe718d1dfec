/*
 * NAME
 *   sign_stdin.h - `milter-dkim --sign`: sign a message from a stream
 *
 * DESCRIPTION
 *   Reads one message (LF or CRLF line ends, kept as they are), writes it
 *   to out with the signature fields on top, through the same engine as
 *   the milter (mdkim_msg.c).  Used as an Exim transport_filter and for
 *   scripting.  The body is spooled to an unlinked temporary file, not
 *   kept in memory.  Every message read is written back: unsigned when it
 *   is skipped, or on a fault with on_error = accept.
 */
#ifndef POSTFLOW_SIGN_STDIN_H
#define POSTFLOW_SIGN_STDIN_H

#include <stdio.h>
#include <time.h>

#include "mdkim_snap.h"

/*
 * qid (may be NULL) is logged and feeds the trace header.
 * Returns PF_EXIT_OK, or PF_EXIT_TEMPFAIL (I/O error, or a fault with
 * on_error = tempfail: nothing useful was written).
 */
int sign_stream(const struct mdkim_snap *snap, FILE *in, FILE *out, const char *qid, time_t now);

#endif
