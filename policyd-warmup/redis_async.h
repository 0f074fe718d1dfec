/*
 * NAME
 *   redis_async.h - one asynchronous Redis connection on a libev loop.
 *
 * DESCRIPTION
 *   The event-loop counterpart of common/redis.h (hiredis async + its libev
 *   adapter).  Commands are pipelined on one connection; each gets exactly
 *   one callback, with the reply, or with NULL when Redis is unavailable
 *   (connection refused, lost, or no answer within command_timeout_ms).
 *   After an error the hiredis context is thrown away, never reused, and a
 *   new connection is tried after a backoff that doubles from retry_min_ms
 *   to retry_max_ms (common/redis_backoff.h, the sync layer's rule); until then aredis_command() fails at once (returns -1,
 *   no callback), so an outage costs no time per request.  AUTH and SELECT
 *   are sent first on every new connection.
 *
 *   aredis_eval() sends EVALSHA and, on a NOSCRIPT error (Redis restarted,
 *   SCRIPT FLUSH, failover), the same call as EVAL, which also loads the
 *   script: the caller sees one reply either way.
 *
 *   Callbacks never run inside aredis_command()/aredis_eval(); they run
 *   from the loop (or from aredis_free(), with NULL).  The argv strings of
 *   an eval must stay valid until its callback (needed for the NOSCRIPT
 *   retry); replies are owned by hiredis and valid only during the callback.
 */
#ifndef REDIS_ASYNC_H
#define REDIS_ASYNC_H

#include <stddef.h>
#include <ev.h>
#include <hiredis/hiredis.h>

#include "redis.h"
#include "redis_script.h"

struct aredis;
typedef void (*aredis_cb)(void *priv, const redisReply *reply);

/* Copies conf; starts connecting at once.  Free with aredis_free(). */
struct aredis *aredis_new(struct ev_loop *loop, const struct redis_conf *conf);
/* Fails every pending command (callbacks get NULL), then frees. */
void aredis_free(struct aredis *ar);

int aredis_connected(const struct aredis *ar);
/* The last connection error ("" when none); valid until the next loop iteration. */
const char *aredis_last_error(const struct aredis *ar);
/* Commands sent and not yet answered. */
size_t aredis_pending(const struct aredis *ar);

/* Sends a command; 0, or -1 when Redis is unavailable now (cb not called). argvlen may be NULL. */
int aredis_command(struct aredis *ar, aredis_cb cb, void *priv, int argc, const char **argv, const size_t *argvlen);

/*
 * EVALSHA s keys... args..., each string with its length (keylens,
 * arglens: an argvec's len array fits); the arrays and strings must stay
 * valid until cb runs.  s is declared and its sha filled as for the sync
 * layer (redis_script.h: struct redis_script, redis_script_init()).  Returns 0, or -1 when unavailable now (cb not
 * called).
 */
int aredis_eval(struct aredis *ar, const struct redis_script *s, size_t nkeys, char *const *keys, const size_t *keylens,
                size_t nargs, char *const *args, const size_t *arglens, aredis_cb cb, void *priv);

#endif
