/*
 * tap_replay.h - replay delivery-log files: one JSON line per receiver
 * outcome and per effect the rules would start, then a summary of rates.
 *
 * USERS
 *	maillog_tap_main.c (--dry-run --json).
 *
 * OWNERSHIP
 *	Borrows rules, classifier, provider table and the file names.
 */
#ifndef MAILLOG_TAP_REPLAY_H
#define MAILLOG_TAP_REPLAY_H

#include <stddef.h>
#include <stdio.h>

#include "reply_class.h"
#include "tap_provider.h"
#include "tap_rules.h"

struct tap_replay_opts {
    int from_start;   /* read each file from its first byte (the only mode built yet) */
    int exim;         /* the files are Exim main logs (default: Postfix) */
};

/* Returns 0, or -1 when a file cannot be read (reported on stderr). */
int tap_replay_files(const struct tap_rules *rules, const struct reply_rules *classifier,
                     const struct tap_provider *tp, const struct tap_replay_opts *opts,
                     char **files, size_t nfiles, FILE *out);

#endif
