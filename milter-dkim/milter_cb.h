/*
 * NAME
 *   milter_cb.h - the libmilter adapter of milter-dkim
 *
 * DESCRIPTION
 *   milter_cb_register() registers the callbacks with libmilter.  The
 *   callbacks feed mdkim_msg.c and turn its results into header insertions
 *   and verdicts.  Replies: the filter asks the MTA (xxfi_negotiate) not to
 *   wait for a reply after connect, MAIL, each header, end of headers and
 *   each body chunk (SMFIP_NR_*), so a message costs one round trip, at
 *   end of message.  Any fault ends in the configured on_error verdict
 *   (accept unsigned, or tempfail), logged with the queue id.
 */
#ifndef POSTFLOW_MILTER_CB_H
#define POSTFLOW_MILTER_CB_H

/* Returns 0, or -1 when libmilter refuses the registration. */
int milter_cb_register(void);

#endif
