/*
 * tap_rules.h - traffic-shaping rules: parse the rule file, match a
 * receiver's reply against it.
 *
 * DESCRIPTION
 *	A rule says: for replies from PROVIDER whose text matches PATTERN,
 *	when TRIGGER fires for one key (IP, netblock, DKIM domain, ...) x
 *	provider, start EFFECT on that key x provider.  The file format is
 *	documented at the top of conf/shaping-rules.conf (the shipped
 *	defaults) and in docs/maillog-tap.md; one rule per line:
 *
 *	    NAME  PROVIDER  TRIGGER  EFFECT  KEY  /PATTERN/
 *
 *	Matching: the rules scoped to the reply's provider are tried first,
 *	in file order, then the "*" rules; the first match wins (so a
 *	provider's own rule shadows a generic one on purpose).  Patterns are
 *	PCRE2, case-insensitive, over bytes, with a match limit so a hostile
 *	reply cannot make matching slow.
 *
 *	Our own setup is never a reason to slow down: a rule whose effect is
 *	not "alert" is demoted to "alert" when the classifier says the reply
 *	is our fault (tap_rules_effect_for()), and the linter reports such
 *	rules (tap_lint.h).
 *
 * USERS
 *	tap_shape.c, tap_lint.c, maillog_tap_main.c, the unit tests.
 *
 * OWNERSHIP
 *	tap_rules_load_*() return a rule set owned by the caller, freed with
 *	tap_rules_free().  Rule pointers are valid while the set lives.  A set
 *	holds one PCRE2 match block: match from one thread at a time.
 */
#ifndef MAILLOG_TAP_RULES_H
#define MAILLOG_TAP_RULES_H

#include <stdbool.h>
#include <stddef.h>

#define TAP_RULE_NAME_MAX  64
#define TAP_RULES_MAX      512
#define TAP_RULE_LINE_MAX  4096
#define TAP_RULE_PROVIDERS 8

enum tap_trigger_kind {
    TAP_TRIGGER_IMMEDIATE = 1, /* every matching reply */
    TAP_TRIGGER_COUNT,         /* N matching replies within window */
    TAP_TRIGGER_RATE,          /* matching / all outcomes >= percent over window, with >= min outcomes */
};

enum tap_effect_kind {
    TAP_EFFECT_SUSPEND = 1, /* no mail on key x provider for duration */
    TAP_EFFECT_SLOW,        /* hourly rate x factor (>= floor/h), one step back up per clean period */
    TAP_EFFECT_HOLD,        /* no warm-up stage advance for duration */
    TAP_EFFECT_ALERT,       /* operators only */
};

enum tap_key_kind {
    TAP_KEY_IP = 1,
    TAP_KEY_NETBLOCK,
    TAP_KEY_DKIM_DOMAIN,
    TAP_KEY_SPF_DOMAIN,
    TAP_KEY_URL_DOMAIN,
    TAP_KEY_LIMITED, /* what the reply says it limits (classifier's `limited`), else ip */
};

struct tap_trigger {
    enum tap_trigger_kind kind;
    long long count;      /* COUNT: N */
    double percent;       /* RATE: threshold, 0 < p <= 100 */
    long long min_volume; /* RATE: outcomes needed in the window */
    long long window;     /* seconds (COUNT, RATE) */
};

struct tap_effect {
    enum tap_effect_kind kind;
    long long duration; /* SUSPEND, HOLD: seconds */
    double factor;      /* SLOW: 0 < factor < 1 */
    long long floor;    /* SLOW: messages per hour never gone below */
    long long clean;    /* SLOW: seconds without a match before one step back up */
};

struct tap_rule {
    char name[TAP_RULE_NAME_MAX];
    int line;          /* in its file */
    size_t nproviders; /* 0 = "*" */
    char providers[TAP_RULE_PROVIDERS][32];
    struct tap_trigger trigger;
    struct tap_effect effect;
    enum tap_key_kind key;
    char *pattern; /* owned, as written between the slashes */
    void *re;      /* pcre2_code * */
};

struct tap_rules;

/* Parse a rule file / a NUL-terminated text (origin names it in errors).
 * Return NULL with err = "ORIGIN:LINE: what is wrong". */
struct tap_rules *tap_rules_load_file(const char *path, char *err, size_t errlen);
struct tap_rules *tap_rules_load_text(const char *text, const char *origin, char *err, size_t errlen);
void tap_rules_free(struct tap_rules *rules);

size_t tap_rules_count(const struct tap_rules *rules);
const struct tap_rule *tap_rules_at(const struct tap_rules *rules, size_t i);

/* True when the rule applies to provider (NULL = "other"). */
bool tap_rule_scoped(const struct tap_rule *r, const char *provider);
/* True when the rule's pattern matches text[0..n). */
bool tap_rule_matches(const struct tap_rules *rules, const struct tap_rule *r, const char *text, size_t n);

/* The winning rule for a reply from provider, or NULL. */
const struct tap_rule *tap_rules_match(const struct tap_rules *rules, const char *provider, const char *text, size_t n);

/* Same over a reply as logged: continuation-line code prefixes are removed
 * first (tap_reply_unfold()), which is the text the patterns are written for. */
const struct tap_rule *tap_rules_match_reply(const struct tap_rules *rules, const char *provider, const char *reply,
                                             size_t n);

/* True when two rules would do the same thing (effect with its parameters, and key). */
bool tap_rules_same_effect(const struct tap_rule *a, const struct tap_rule *b);

/* The effect to apply: the rule's, demoted to alert when our_fault. */
enum tap_effect_kind tap_rules_effect_for(const struct tap_rule *r, bool our_fault);

const char *tap_effect_name(enum tap_effect_kind k);   /* suspend | slow | hold | alert */
const char *tap_key_name(enum tap_key_kind k);         /* ip | netblock | ... | limited */
const char *tap_trigger_name(enum tap_trigger_kind k); /* immediate | count | rate */

/* "90", "90s", "10m", "2h", "1d", "1w" -> seconds; -1 when malformed or <= 0. */
long long tap_duration(const char *s, size_t n);

#endif
