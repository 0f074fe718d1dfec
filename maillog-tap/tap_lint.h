/*
 * tap_lint.h - the shaping-rule linter: every rule against a corpus of
 * real receiver replies.
 *
 * DESCRIPTION
 *	KumoMTA shipped Gmail rules that could never fire (field notes §0.2).
 *	The linter makes that a test failure.  For each reply of the corpus
 *	(tests/data/receiver-replies.txt: PROVIDER TAB SOURCE TAB REPLY) it
 *	finds the winning rule the way the follower does (provider tier, then
 *	the * tier, first match) and reports:
 *	  - a rule that wins no reply (dead, or shadowed by an earlier rule);
 *	  - two rules of the same tier matching one reply with different
 *	    effects or keys (the file order would decide silently);
 *	  - a reply the shared classifier calls our own fault whose winning
 *	    rule does anything but alert;
 *	  - a rule or a corpus line naming a provider the follower does not
 *	    know (a rule scoped to a provider that never occurs never fires);
 *	  - a corpus line without a source.
 *
 * USERS
 *	maillog_tap_main.c (--lint-rules), test_tap_rules.c.
 *
 * OWNERSHIP
 *	Borrows everything it is given; writes its findings to `out`.
 */
#ifndef MAILLOG_TAP_LINT_H
#define MAILLOG_TAP_LINT_H

#include <stdio.h>

#include "reply_class.h"
#include "tap_provider.h"
#include "tap_rules.h"

struct tap_lint_stats {
    FILE *list; /* in: when set, one line per reply: its winning rule and verdict */
    size_t samples;
    size_t matched; /* samples some rule won */
    size_t errors;
};

/* Lints rules against the corpus file; returns the number of errors (also
 * in st), or -1 when the corpus cannot be read (reported on out).  st->list
 * is read, the counters are set. */
int tap_lint(const struct tap_rules *rules, const struct reply_rules *classifier, const struct tap_provider *tp,
             const char *corpus_path, FILE *out, struct tap_lint_stats *st);

#endif
