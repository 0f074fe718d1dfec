/*
 * tap_attempts.h - is this outcome a new message or one more attempt?
 *
 * DESCRIPTION
 *	Postfix and Exim log every delivery attempt; a retry of the same
 *	queue id x recipient is one more attempt, not a new message.  The set
 *	remembers the messages still in flight (seen, not yet sent or bounced)
 *	as 64-bit fingerprints of (queue id, recipient); a final outcome
 *	removes its entry, so memory follows the deferred backlog, not the
 *	log's length.  Fingerprints can collide (about 1 in 2^64 per pair):
 *	a collision makes one new message count as a retry.  Bounded: past
 *	`limit` entries new messages are counted but not remembered
 *	(`untracked`).
 *
 * USERS
 *	tap_replay.c.
 *
 * OWNERSHIP
 *	tap_attempts_new() returns a set the caller frees with
 *	tap_attempts_free().
 */
#ifndef MAILLOG_TAP_ATTEMPTS_H
#define MAILLOG_TAP_ATTEMPTS_H

#include <stdbool.h>
#include <stddef.h>

struct tap_attempts;

struct tap_attempts *tap_attempts_new(size_t limit);
void tap_attempts_free(struct tap_attempts *a);

/*
 * Records one outcome of (qid, rcpt); final = sent or bounced (the message
 * leaves the set).  Returns true when this is the first attempt seen.
 */
bool tap_attempts_add(struct tap_attempts *a, const char *qid, size_t qlen, const char *rcpt, size_t rlen, bool final);

size_t tap_attempts_inflight(const struct tap_attempts *a);
size_t tap_attempts_untracked(const struct tap_attempts *a);

#endif
