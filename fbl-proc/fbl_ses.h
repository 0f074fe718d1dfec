/*
 * fbl_ses.h - Amazon SES complaint notifications delivered by mail (an SNS
 * email subscription): the JSON body read into an inbound report.
 *
 * DESCRIPTION
 *	The body is one JSON object, either the SES notification itself
 *	({"notificationType":"Complaint","complaint":{...},"mail":{...}}, the
 *	"email" SNS protocol) or SNS's envelope around it
 *	({"Type":"Notification","Message":"<the notification as a JSON
 *	string>"}, "email-json"); text after the object (SNS's footer) is
 *	ignored.  Only notificationType "Complaint" is a report here (Bounce
 *	and Delivery notifications are not complaints).  Read:
 *	    complaint.complainedRecipients[].emailAddress   one recipient each
 *	    complaint.complaintFeedbackType                 the feedback type
 *	        (SES sets it only when the mailbox provider sent an ARF report;
 *	        a Complaint without it is still a recipient's complaint: abuse)
 *	    complaint.userAgent, complaint.arrivalDate      user_agent, arrival_date
 *	    mail.source                                     original_mail_from
 *	    mail.commonHeaders.messageId, mail.headers[] (Message-ID,
 *	        X-Postflow-Trace, From, Subject, DKIM-Signature d=)
 *	                                                    the original's identity
 *
 * USERS
 *	fbl_parse.c.
 */
#ifndef POSTFLOW_FBL_SES_H
#define POSTFLOW_FBL_SES_H

#include <stdbool.h>
#include <stddef.h>

#include "inbound_report.h"

#define FBL_SES_VALUES_MAX 20000 /* JSON scalars read per notification */

/* Reads text[0..n) into r when it is an SES complaint notification
 * (r->kind, format "ses", recipients).  Returns true when it was one. */
bool fbl_ses_read(const char *text, size_t n, struct inbound_report *r);

#endif
