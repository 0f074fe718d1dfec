/*
 * tap_classify.h - what a delivery outcome means: the shared reply
 * classifier (common/reply_class.h) applied to one struct tap_event.
 *
 * DESCRIPTION
 *	Builds the classifier's input from a log line: the enhanced code the
 *	MTA logged (dsn=, or the reply's own for Exim), the basic code of the
 *	reply's last line, the reply text (the remote server's words when
 *	there are some, else the MTA's own explanation: "connect to ...:
 *	Connection timed out"), the provider, the DSN action a DSN would carry
 *	(deferred -> "delayed", bounced -> "failed", sent -> "delivered") and
 *	the SMTP command answered.  bounce-proc classifies the same texts when
 *	they come back in a DSN, so a reply means the same thing in both.
 *
 * USERS
 *	tap_replay.c, tap_rules_lint.c, the fuzz target.
 *
 * OWNERSHIP
 *	The verdict's strings are static or point into the rule set (see
 *	reply_class.h); `provider` points into the tap_provider table.
 */
#ifndef MAILLOG_TAP_CLASSIFY_H
#define MAILLOG_TAP_CLASSIFY_H

#include "reply_class.h"
#include "tap_event.h"
#include "tap_provider.h"

struct tap_verdict {
    const char *provider; /* never NULL ("other") */
    struct reply_verdict reply;
};

/* The DSN action for a status: "delayed" | "failed" | "delivered" | NULL. */
const char *tap_action_of(enum tap_status st);

/* The text a rule or the classifier judges: reply, else the MTA's words. */
struct tap_str tap_judged_text(const struct tap_event *ev);

void tap_classify(const struct reply_rules *rules, const struct tap_provider *tp, const struct tap_event *ev,
                  struct tap_verdict *out);

#endif
