/*
 * reply_status.h - what an enhanced status code (RFC 3463) or a basic SMTP
 * reply code (RFC 5321 §4.2.3) says on its own.
 *
 * DESCRIPTION
 *	The fallback of the classifier when no text rule decided: every code
 *	of the IANA "SMTP Enhanced Status Codes" registry (subject X.0 ... X.7,
 *	details up to X.7.30) has a category; provider codes outside the
 *	registry (Gmail 5.7.31/.32/.40, ...) too.  An unregistered detail falls
 *	back to its subject's X.Y.0 entry.  Entries are "vague" when the code
 *	says little (X.Y.0, 5.7.1): weak text rules may override only those.
 *
 * USERS
 *	reply_class.c.
 *
 * OWNERSHIP
 *	Returned entries are static.
 */
#ifndef POSTFLOW_REPLY_STATUS_H
#define POSTFLOW_REPLY_STATUS_H

#include <stdbool.h>

struct reply_status_entry {
    const char *category;
    bool vague;     /* weak text rules may override */
    bool our_fault; /* our own setup is broken (auth, PTR) */
    bool exact;     /* the detail itself is in the table */
};

/* Looks up subject.detail (the class digit does not change the category). */
void reply_status_lookup(int subject, int detail, struct reply_status_entry *out);

/* Category of a basic reply code (250..599) used without an enhanced code;
 * NULL when the code is not one this table knows. */
const char *reply_status_basic(int code);

#endif
