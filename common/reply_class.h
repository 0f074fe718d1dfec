/*
 * reply_class.h - classify a receiver's answer (status code + text) into a
 * category, a class and an our-fault flag, saying which rule decided.
 *
 * DESCRIPTION
 *	One classifier for every place postflow hears a receiver: the
 *	per-recipient blocks of a DSN or a non-standard bounce (bounce-proc), and
 *	the replies in the MTA's delivery log (maillog-tap).  Input: an enhanced
 *	status code (RFC 3463, "5.1.1", may be absent), a basic SMTP code (550,
 *	may be 0), the diagnostic text (any bytes, bounded by the caller), and
 *	the provider of the recipient's domain (may be NULL).
 *
 *	Rules come from a data file (conf/bounce-rules.conf, compiled in as the
 *	default, extendable and overridable by configuration).  Text evidence
 *	(rate limiting, reputation, policy, mailbox full, ...) wins over a bare
 *	status code; the enhanced code decides otherwise; the basic code last.
 *	Every verdict names the deciding rule in `why`, for example
 *	    text:/mailbox (is )?full/ over status 5.2.2
 *	    status:5.1.1
 *	    basic:550 (no enhanced code, no text rule)
 *
 *	`our_fault` marks answers that mean the sender's own setup is broken
 *	(Gmail 5.7.23 PTR, .26/.27 SPF, .30 DKIM, .31/.40 DMARC, .32 alignment,
 *	Microsoft 550 5.7.515, TLS required, ...): operators are paged, the
 *	recipient is never suppressed for them.
 *
 * USERS
 *	bounce-proc (bounce_*.c), fbl-proc (none yet), maillog-tap.
 *
 * OWNERSHIP
 *	A struct reply_rules is owned by its creator and freed with
 *	reply_rules_free(); it is read-only after loading, so any number of
 *	classifications may share it.  A struct reply_verdict is caller storage;
 *	its string pointers point at static storage or into the rule set (valid
 *	while the rule set lives).
 */
#ifndef POSTFLOW_REPLY_CLASS_H
#define POSTFLOW_REPLY_CLASS_H

#include <stdbool.h>
#include <stddef.h>

#define REPLY_WHY_MAX 160

enum reply_class {
    REPLY_CLASS_UNKNOWN = 0,
    REPLY_CLASS_SOFT,
    REPLY_CLASS_HARD,
};

struct reply_verdict {
    const char *category; /* DESIGN.md vocabulary, e.g. "userunknown"; never NULL */
    enum reply_class cls;
    bool our_fault;
    const char *limited;     /* NULL, or ip|netblock|dkim_domain|spf_domain|url_domain */
    const char *rule;        /* the deciding rule's name (for maillog-tap's "rule"), never NULL */
    bool weak;               /* decided by a weak rule or by the codes alone: a structural fact
                              * (the command answered, the diagnostic's type) may outrank it */
    char why[REPLY_WHY_MAX]; /* NUL-terminated, printable */
};

struct reply_input {
    const char *status; /* enhanced status "X.Y.Z" or NULL */
    int smtp_code;      /* 250..599, or 0 when unknown */
    const char *text;   /* diagnostic text, may be NULL */
    size_t text_len;
    const char *provider; /* "gmail", "microsoft", ... or NULL */
    const char *action;   /* DSN Action (failed|delayed|delivered|relayed|expanded) or NULL */
    bool text_is_notice;  /* text is a notice's own words, not the receiver's answer: an
                           * undecided verdict stays "undefined", never "onhold" */
    const char *command;  /* SMTP command answered ("RCPT", "DATA", ...) or NULL (added for
                                * "user unknown" after DATA = a filter: the RCPT was accepted) */
};

struct reply_rules;

/* The compiled-in default rules; NULL only on a bug (err says which line). */
struct reply_rules *reply_rules_default(char *err, size_t errsize);
/* Adds (or, with the file's "replace" directive, overrides) rules from a file.
 * Returns 0, or -1 with err = "FILE:LINE: what is wrong". */
int reply_rules_load_file(struct reply_rules *rules, const char *path, char *err, size_t errsize);
void reply_rules_free(struct reply_rules *rules);
/* JIT-compiles every pattern (and those loaded later): worth it for
 * long-running or batch use; a one-message pipe run starts faster without. */
void reply_rules_jit(struct reply_rules *rules);

/* Classifies one answer.  Never fails: with no evidence the verdict is
 * category "undefined", class unknown, why "none". */
void reply_classify(const struct reply_rules *rules, const struct reply_input *in, struct reply_verdict *out);

const char *reply_class_name(enum reply_class cls);
/* True when nothing decided the verdict ("undefined" or "onhold"). */
bool reply_undecided(const struct reply_verdict *v); /* "hard" | "soft" | "unknown" */

#endif
