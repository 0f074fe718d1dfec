/*
 * reply_rules.h - the classifier's rule set: one rule per line of a rule
 * file (conf/bounce-rules.conf), parsed, checked and compiled with PCRE2.
 *
 * DESCRIPTION
 *	Line format (fields separated by blanks; the pattern is the rest of
 *	the line, between the first and the last slash):
 *	    NAME  PROVIDER  STATUS  CATEGORY  CLASS  FLAGS  /PCRE2 pattern/
 *	PROVIDER "*" or a provider name (provider.h); STATUS "*", a class
 *	digit ("5"), an enhanced-code prefix by components ("5.7", "4.7.28"),
 *	or a basic code ("550"); CATEGORY from reply_vocab.h; CLASS hard, soft,
 *	unknown or auto (the category's default); FLAGS "-" or a comma list of
 *	our_fault, weak (only over a vague or missing status code), not_rcpt
 *	(not when the answer is known to be to RCPT TO) and limited=ip|netblock|dkim_domain|spf_domain|url_domain.  Patterns are
 *	case-insensitive, byte-wise (no UTF-8 mode).  Directives:
 *	    replace      drop every rule loaded before this file
 *	    drop NAME    drop one earlier rule
 *	"#" starts a comment line.  A rule whose NAME exists already replaces
 *	it in place; new rules of a configured file go before the earlier
 *	rules, so configuration is tried first.
 *
 * USERS
 *	reply_class.c (matching), tests and fuzz_reply_rules.c.
 *
 * OWNERSHIP
 *	The set owns every rule and compiled pattern; reply_rules_free()
 *	frees all.  Read-only after loading: any number of threads may
 *	classify with one set (match data is per call).
 */
#ifndef POSTFLOW_REPLY_RULES_H
#define POSTFLOW_REPLY_RULES_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdbool.h>
#include <stddef.h>

#include "reply_class.h"

#define REPLY_RULES_LINE_MAX    1024      /* bytes per rule line */
#define REPLY_RULES_FILE_MAX    (1 << 20) /* bytes per rule file */
#define REPLY_RULES_MAX         4096      /* rules per set */
#define REPLY_RULE_NAME_MAX     48
#define REPLY_RULE_PROVIDER_MAX 24
#define REPLY_RULE_STATUS_MAX   12

#define REPLY_RULE_CLASS_AUTO (-1) /* otherwise an enum reply_class */

struct reply_rule {
    char name[REPLY_RULE_NAME_MAX];
    char provider[REPLY_RULE_PROVIDER_MAX]; /* "" = any */
    char status[REPLY_RULE_STATUS_MAX];     /* "" = any */
    int basic;                              /* status is this basic code (550), or 0 */
    const char *category;                   /* static, from reply_vocab */
    int cls;                                /* enum reply_class or REPLY_RULE_CLASS_AUTO */
    bool our_fault, weak, not_rcpt;
    const char *limited; /* static or NULL */
    char *pattern;       /* owned, the source text */
    pcre2_code *re;      /* owned */
};

struct reply_rules {
    struct reply_rule *v; /* owned array */
    size_t n, cap;
    bool jit; /* patterns are JIT-compiled (reply_rules_jit) */
};

/* The built-in rule text (conf/bounce-rules.conf, reply_rules_default.c). */
extern const char reply_rules_default_text[];

/* Parses text[0..len) as a rule file named `label` (for messages) into
 * rules.  Returns 0, or -1 with err "LABEL:LINE: what" and rules unchanged. */
int reply_rules_load_text(struct reply_rules *rules, const char *label, const char *text, size_t len, char *err,
                          size_t errsize);

/* An empty set (for tests and callers that load only files). */
struct reply_rules *reply_rules_new(void);

#endif
