/*
 * xalloc.h - allocation that never returns NULL.
 *
 * As Postfix's mymalloc(): callers never test for NULL.  On exhaustion the
 * process logs once and exits PF_EXIT_TEMPFAIL (75), which makes the MTA retry
 * a pipe delivery and treats a daemon as unavailable (milter_default_action,
 * smtpd_policy_service_default_action): memory trouble never loses mail.
 * A program may install another handler with xalloc_set_failure_handler().
 */
#ifndef POSTFLOW_XALLOC_H
#define POSTFLOW_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Returns a NUL-terminated copy; caller frees. */
char *xstrdup(const char *s);
/* Copies len bytes and appends a NUL; caller frees. */
char *xstrndup(const char *s, size_t len);

/* Called instead of the default (log + _exit(75)); must not return. */
void xalloc_set_failure_handler(void (*handler)(size_t requested));

#endif
