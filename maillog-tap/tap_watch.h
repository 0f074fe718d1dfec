/*
 * tap_watch.h - the follow loop of --follow: poll the log (tap_follow.c),
 * feed the replay (tap_replay.c), save the checkpoint, until SIGINT or
 * SIGTERM.
 *
 * DESCRIPTION
 *	The thin I/O edge around the pure parts: signals, sleeping, the
 *	checkpoint file.  The checkpoint is saved after the JSON of the lines
 *	read is written and flushed (the Redis writer will save it after its
 *	writes succeeded), so a restart repeats nothing that was printed and
 *	skips nothing that was not.  Stops cleanly on SIGINT/SIGTERM: the last
 *	lines are printed, the checkpoint saved, then the rates and summary.
 *
 * USERS
 *	maillog_tap_main.c.
 *
 * OWNERSHIP
 *	Borrows the replay state; opens and closes its own follower.
 */
#ifndef MAILLOG_TAP_WATCH_H
#define MAILLOG_TAP_WATCH_H

#include <stdbool.h>
#include <stdio.h>

#include "tap_replay.h"

/* checkpoint may be NULL (no file is written then).  Returns 0, or -1 on an
 * open/read/checkpoint error (reported on stderr). */
int tap_watch(struct tap_replay *r, const char *path, const char *checkpoint, bool from_start, int interval_ms,
              FILE *out);

#endif
