/*
 * redis_backoff.h - the reconnection delay of both Redis layers, one rule.
 *
 * DESCRIPTION
 *	After a failed connect or a lost connection, a Redis layer waits before
 *	trying again, so a dead Redis costs no connect timeout per request:
 *	retry_min_ms after the first failure, then twice the previous delay for
 *	each further failure, never more than retry_max_ms (a retry_max_ms below
 *	retry_min_ms counts as retry_min_ms).  A successful connect starts the
 *	sequence again.  No jitter (neither layer ever had one): each process
 *	holds one connection, so a Redis restart meets at most one reconnect
 *	per process per step.
 *
 *	The sync layer (redis.c) applies the delay as "calls fail at once until
 *	then"; the async layer (policyd-warmup/redis_async.c) as a timer, with
 *	a retry_min_ms of at least 1 ms, since a zero timer on a socket that
 *	refuses at once would spin the event loop.
 *
 * USERS
 *	redis, policyd-warmup (redis_async).
 */
#ifndef POSTFLOW_REDIS_BACKOFF_H
#define POSTFLOW_REDIS_BACKOFF_H

/*
 * The delay (ms) to wait after one more failure, given the delay used after
 * the previous one (current_ms; 0 or less = no failure since the last
 * successful connect).  Pure; never overflows (the doubling stops at the cap).
 */
long long redis_backoff_next(long long current_ms, long long min_ms, long long max_ms);

#endif
