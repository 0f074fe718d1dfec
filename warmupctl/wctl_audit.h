/*
 * NAME
 *   wctl_audit.h - one log line per operator change made with warmupctl.
 *
 * DESCRIPTION
 *   ip pause|resume|set-stage|reset and suppress add|remove|import change
 *   what policyd-warmup enforces; each change is written to the log
 *   (common/log.h, level notice, `log` section of postflow.conf) as
 *       change by WHO on NODE: WHAT: OLD -> NEW [(REASON)]
 *   so that `grep warmupctl /var/log/mail.log` answers "who paused this IP,
 *   and when".  WHO is the login name of the real uid (and the sudo user
 *   when run through sudo).  The destination is warmupctl.audit_log:
 *   syslog (default), stderr or none.  Read commands log nothing.
 */
#ifndef WCTL_AUDIT_H
#define WCTL_AUDIT_H

#include "log.h"
#include "wctl.h"

/* warmupctl.audit_log choices, in the order of wctl_audit_names. */
enum { WAUDIT_SYSLOG = 0, WAUDIT_STDERR, WAUDIT_NONE };
extern const char *const wctl_audit_names[];

/* Opens the log per conf->audit_log and lc, and fills w->who. */
void wctl_audit_open(struct wctl *w, const struct log_conf *lc);

/* Logs "change by WHO on NODE: " + the formatted text (notice), unless audit_log is none. */
void wctl_audit(const struct wctl *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
