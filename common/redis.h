/*
 * redis.h - a synchronous Redis connection for postflow programs (hiredis).
 *
 * One struct redis_conn per thread/process.  It connects lazily, applies
 * AUTH (password or ACL user+password) and SELECT, and sets connect and
 * command timeouts.  hiredis contexts that report an error are never reused:
 * after any I/O or protocol error the context is freed, the error is kept in
 * redis_last_error(), and reconnection is attempted on a later call only once
 * the backoff delay (redis_backoff.h: doubling from retry_min_ms up to
 * retry_max_ms) has passed; in between, calls fail at once without touching
 * the network, so a dead Redis costs no timeouts per message.
 *
 * Commands are always built from argv arrays (redisCommandArgv): user text is
 * never a format string.  Scripts are sent as EVALSHA; on NOSCRIPT (restart,
 * SCRIPT FLUSH, failover) the script is loaded and the call retried once.
 *
 * Replies returned to the caller are owned by the caller: free with
 * redis_reply_free() (freeReplyObject).  A NULL return means "Redis
 * unavailable or protocol error": callers map it to their fail-open /
 * fail-closed policy or to exit 75.  Error replies (-ERR ...) are returned as
 * REDIS_REPLY_ERROR replies, not NULL: they are answers, not outages.
 */
#ifndef POSTFLOW_REDIS_H
#define POSTFLOW_REDIS_H

#include <stddef.h>
#include <hiredis/hiredis.h>
#include "config.h"
#include "redis_script.h"

struct redis_conf {
    char *address;  /* "unix:/run/redis/redis.sock" or "127.0.0.1:6379" */
    char *username; /* ACL user, or NULL */
    char *password; /* or NULL */
    long long db;
    long long connect_timeout_ms;
    long long command_timeout_ms;
    long long retry_min_ms;
    long long retry_max_ms;
    char *key_prefix; /* prepended to every key, e.g. "pf:" */
};

/* Option table for the `redis` section (bind to a struct redis_conf). */
extern const struct cfg_option redis_conf_options[];

/*
 * Deep-copies src into dst (dst's strings are then owned by dst): address defaults to
 * 127.0.0.1:6379, empty username/password become NULL, timeouts get their defaults when unset.
 * Release with redis_conf_release().  Shared by the sync and the async (policyd-warmup) connections.
 */
void redis_conf_copy(struct redis_conf *dst, const struct redis_conf *src);
void redis_conf_release(struct redis_conf *conf);

struct redis_conn;

/* conf is copied; the connection does not connect until first use. Caller frees with redis_free(). */
struct redis_conn *redis_new(const struct redis_conf *conf);
void redis_free(struct redis_conn *rc);

/* Connects now if needed; returns 0 or -1 (see redis_last_error). */
int redis_connect(struct redis_conn *rc);
int redis_is_connected(const struct redis_conn *rc);
/* Last connection/protocol error, "" when none. Valid until the next call on rc. */
const char *redis_last_error(const struct redis_conn *rc);

/* argv/argvlen as redisCommandArgv; argvlen may be NULL for NUL-terminated strings. */
redisReply *redis_command_argv(struct redis_conn *rc, int argc, const char **argv, const size_t *argvlen);
/* Convenience: NULL-terminated list of C strings. */
redisReply *redis_command(struct redis_conn *rc, const char *arg0, ...) __attribute__((sentinel));

/*
 * EVALSHA with NOSCRIPT fallback (SCRIPT LOAD then retry once). keys/args as argv,
 * any number of them up to REDIS_EVAL_ARGS_MAX together (a batch past 64 costs one
 * allocation).  struct redis_script and redis_script_init() are in redis_script.h (shared with the async layer);
 * a script whose sha is still "" gets it computed here.
 */
#define REDIS_EVAL_ARGS_MAX 100000
redisReply *redis_eval(struct redis_conn *rc, struct redis_script *script, int nkeys, const char **keys,
                       const size_t *keylens, int nargs, const char **args, const size_t *arglens);

void redis_reply_free(redisReply *reply);

/* Backoff: ms until the next reconnection attempt is allowed (0 = now). */
long long redis_retry_in_ms(const struct redis_conn *rc);

#endif
