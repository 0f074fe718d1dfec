/*
 * NAME
 *   wctl_audit.c - the log line of each operator change (see wctl_audit.h).
 *
 * DESCRIPTION
 *   WHO comes from the real uid (getpwuid_r), not from $USER, which anyone
 *   can set.  SUDO_USER is added when the real uid is root: sudo sets it,
 *   and for root the variable tells nothing root could not fake anyway;
 *   it is made printable and capped like any other untrusted text.
 */
#include "wctl_audit.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const wctl_audit_names[] = { "syslog", "stderr", "none", NULL };

static void who_fill(char *out, size_t n)
{
    struct passwd pw, *res = NULL;
    char pwbuf[1024], sudo[64];
    uid_t uid = getuid();
    const char *su = getenv("SUDO_USER");

    if (getpwuid_r(uid, &pw, pwbuf, sizeof pwbuf, &res) == 0 && res != NULL)
        snprintf(out, n, "%s (uid %lu)", pw.pw_name, (unsigned long)uid);
    else
        snprintf(out, n, "uid %lu", (unsigned long)uid);
    if (uid == 0 && su != NULL && su[0] != '\0') {
        size_t len = strlen(out);
        log_printable(sudo, sizeof sudo, su, strlen(su));
        snprintf(out + len, n - len, " via sudo by %s", sudo);
    }
}

void wctl_audit_open(struct wctl *w, const struct log_conf *lc)
{
    who_fill(w->who, sizeof w->who);
    if (w->conf->audit_log == WAUDIT_NONE)
        return;
    /* The facility must be known before openlog(): configure, open, configure again is harmless. */
    log_configure(lc);
    log_open("warmupctl", w->conf->audit_log == WAUDIT_STDERR);
}

void wctl_audit(const struct wctl *w, const char *fmt, ...)
{
    char what[1024];
    va_list ap;

    if (w->conf == NULL || w->conf->audit_log == WAUDIT_NONE)
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    log_notice("change by %s on %s: %s", w->who, w->node, what);
}
