/*
 * tap_follow.h - follow a growing log file through rotation, and
 * checkpoint the position so a restart neither skips nor recounts a line.
 *
 * DESCRIPTION
 *	A follower hands complete lines (up to the '\n') to a callback; a
 *	trailing partial line waits for its end.  After reading to the end of
 *	the file, a poll looks at the path again:
 *	  - rename rotation (logrotate's default, `postfix logrotate`): the
 *	    path names a new inode.  The old file is read to its end (the
 *	    writer may still have appended to it after the rename), a final
 *	    partial line of it is delivered, then the new file is read from
 *	    its first byte;
 *	  - copytruncate: the same inode, now shorter than our offset.  Read
 *	    again from 0.  Lines written between our last read and the
 *	    truncation are lost: that race is copytruncate's, logrotate
 *	    documents it; prefer rename rotation.
 *	The checkpoint is the device, inode and offset after the last line
 *	delivered.  Opening with a checkpoint resumes at that offset when the
 *	path is still that inode; when it is not (rotated while we were
 *	down), the rotated file PATH.1 is looked for by inode, its rest is
 *	read first, then the path from its start; when neither is that inode,
 *	the path is read from its start and `lost_rotation` says so.
 *	Checkpoints are written atomically (temporary file, fsync, rename).
 *
 *	The caller decides when to save a checkpoint: after the lines it was
 *	given are durably accounted for (for the Redis writer: after the
 *	writes succeeded), never before, so a crash repeats at most the lines
 *	since the last save, and counting is idempotent per (queue id,
 *	recipient, time) on the Redis side.
 *
 * USERS
 *	maillog_tap_main.c (--follow); the unit tests.
 *
 * OWNERSHIP
 *	tap_follow_open() returns a follower the caller closes with
 *	tap_follow_close().  A line passed to the callback is valid during the
 *	call only.
 */
#ifndef MAILLOG_TAP_FOLLOW_H
#define MAILLOG_TAP_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tap_checkpoint {
    unsigned long long dev;
    unsigned long long ino;
    long long offset;
};

struct tap_follow;

/* Called once per complete line (without its '\n'). */
typedef void (*tap_follow_line_fn)(const char *line, size_t len, void *ctx);

/*
 * Opens path.  With cp (may be NULL) resumes as described above; without
 * it, from_start reads from the first byte, otherwise from the end.
 * Returns NULL with err set when the path cannot be opened.
 */
struct tap_follow *tap_follow_open(const char *path, const struct tap_checkpoint *cp, bool from_start, char *err,
                                   size_t errlen);
void tap_follow_close(struct tap_follow *f);

/* Reads what is there, following a rotation; returns the number of lines
 * delivered, or -1 on a read error (err set; the follower stays usable). */
long tap_follow_poll(struct tap_follow *f, tap_follow_line_fn fn, void *ctx, char *err, size_t errlen);

/* The position after the last line delivered. */
void tap_follow_checkpoint(const struct tap_follow *f, struct tap_checkpoint *cp);

/* Counters: lines cut as longer than TAP_LINE_MAX, rotations seen, and
 * whether a checkpoint's file could not be found at open. */
size_t tap_follow_overlong(const struct tap_follow *f);
size_t tap_follow_rotations(const struct tap_follow *f);
bool tap_follow_lost_rotation(const struct tap_follow *f);

/* Save (atomically) / load a checkpoint file.  Return 0, or -1 with err. */
int tap_checkpoint_save(const char *path, const struct tap_checkpoint *cp, char *err, size_t errlen);
int tap_checkpoint_load(const char *path, struct tap_checkpoint *cp, char *err, size_t errlen);

#endif
