/*
 * tap_watch.h - the follow loop of --follow: poll the log (tap_follow.c),
 * feed the replay (tap_replay.c), save the checkpoint, until SIGINT or
 * SIGTERM.
 *
 * DESCRIPTION
 *	The thin I/O edge around the pure parts: signals, sleeping, the
 *	checkpoint file.  The checkpoint is saved after the JSON of the lines
 *	read is written and flushed and, with a sink (the Redis writer), only
 *	once the sink says every effect of those lines is stored, so a restart
 *	repeats nothing that was printed or stored and skips nothing that was
 *	not.  Stops cleanly on SIGINT/SIGTERM: the last
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

/*
 * Where effects go before the checkpoint may move (the Redis writer).
 * drain() returns 0 when every effect of the lines read so far is stored,
 * -1 when some still wait (the checkpoint then stays where it was, and
 * drain is called again at the next poll); full() true makes the loop read
 * no more lines until drain succeeds.
 */
struct tap_watch_sink {
    int (*drain)(void *ctx);
    bool (*full)(void *ctx);
    void *ctx;
};

/* checkpoint may be NULL (no file is written then); sink may be NULL (the
 * dry run: nothing to wait for).  Returns 0, or -1 on an open/read/checkpoint
 * error (reported on stderr). */
int tap_watch(struct tap_replay *r, const char *path, const char *checkpoint, bool from_start, int interval_ms,
              FILE *out, const struct tap_watch_sink *sink);

#endif
