#!/bin/sh
# gen-reply-rules.sh - turns conf/bounce-rules.conf into
# common/reply_rules_default.c, the classifier's compiled-in default rules.
#
# DESCRIPTION
#	Run after editing conf/bounce-rules.conf:
#	    sh scripts/gen-reply-rules.sh > common/reply_rules_default.c
#	tests/unit/common/test_reply_rules.c fails while the two disagree.
# USERS
#	the classifier's maintainers.
# OWNERSHIP
#	classifier branch.
set -eu
conf=${1:-conf/bounce-rules.conf}
cat <<'HEAD'
/*
 * reply_rules_default.c - the classifier's default rules, compiled in.
 *
 * DESCRIPTION
 *	GENERATED from conf/bounce-rules.conf by scripts/gen-reply-rules.sh:
 *	edit the conf file and regenerate, never this file.  A unit test
 *	checks that this text equals the conf file byte for byte.
 *
 * USERS
 *	reply_rules.c (reply_rules_default).
 *
 * OWNERSHIP
 *	Static, read-only.
 */
#include "reply_rules.h"

/* generated data: clang-format leaves it as written (make lint) */
/* clang-format off */
const char reply_rules_default_text[] =
HEAD
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' -e '$s/$/;/' "$conf"
echo '/* clang-format on */'
