/*
 * redis_script.h - a Lua script as Redis runs it: its source, its SHA-1,
 * and how to recognise "the server does not know it".
 *
 * DESCRIPTION
 *	Both Redis layers send scripts as EVALSHA and fall back when the
 *	server answers NOSCRIPT (restart, SCRIPT FLUSH, failover): the sync
 *	layer (redis.h) with SCRIPT LOAD and one retry, the async layer
 *	(policyd-warmup/redis_async.h) with one EVAL.  What they share lives
 *	here, once: the struct a script is declared with, the SHA-1 Redis
 *	names it by (computed locally, so no SCRIPT LOAD is needed before the
 *	first call), and the NOSCRIPT test.
 *
 * USERS
 *	redis (redis_eval), policyd-warmup (redis_async and every script it
 *	runs: policy_server, warmup_job), warmupctl, maillog-tap,
 *	inbound_store, inbound_reclassify.
 *
 * OWNERSHIP
 *	A struct redis_script does not own its strings: name and body are
 *	usually string literals (or the generated *_lua arrays) and must
 *	outlive every call made with the script.
 */
#ifndef POSTFLOW_REDIS_SCRIPT_H
#define POSTFLOW_REDIS_SCRIPT_H

#include <hiredis/hiredis.h>

struct redis_script {
    const char *name; /* for logs: "policy_decide"; may be NULL when nothing logs it */
    const char *body; /* Lua source, NUL-terminated */
    char sha[41];     /* lowercase hex SHA-1 of body, filled by redis_script_init */
};

/* Fills script->sha from script->body (OpenSSL EVP SHA-1, 40 lowercase hex digits). */
void redis_script_init(struct redis_script *script);

/* 1 when reply is Redis's NOSCRIPT error (the script is not in its cache), else 0; NULL gives 0. */
int redis_script_is_noscript(const redisReply *reply);

#endif
