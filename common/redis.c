/*
 * redis.c - synchronous Redis connection with backoff (see redis.h).
 *
 * Why a failed context is dropped: hiredis leaves a context that saw an I/O
 * or protocol error in an undefined state (a half-read reply may still be in
 * its buffer), so reusing it could pair a reply with the wrong command.
 * Why the backoff: when Redis is down a pipe command or a milter thread must
 * learn it in microseconds, not after a connect timeout per message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "redis.h"
#include "redis_backoff.h"
#include "xalloc.h"

#define REDIS_ARGV_MAX 64

struct redis_conn {
    struct redis_conf conf; /* strings owned */
    redisContext *ctx;      /* NULL while disconnected */
    char error[256];
    long long next_attempt_ms; /* monotonic time of the next allowed connect */
    long long delay_ms;        /* current backoff */
};

const struct cfg_option redis_conf_options[] = {
    CFG_ROW("address", CFG_STRING, redis_conf, address, "127.0.0.1:6379", 0, 1024,
            "unix:/path/to/redis.sock or HOST:PORT"),
    CFG_ROW("username", CFG_STRING, redis_conf, username, NULL, 0, 256, "ACL user name (Redis 6+), empty for none"),
    CFG_ROW("password", CFG_STRING, redis_conf, password, NULL, 0, 1024, "password (AUTH), empty for none"),
    CFG_ROW("db", CFG_INT, redis_conf, db, "0", 0, 1000000, "database number (SELECT)"),
    CFG_ROW("connect_timeout_ms", CFG_INT, redis_conf, connect_timeout_ms, "1000", 1, 60000, "connect timeout"),
    CFG_ROW("command_timeout_ms", CFG_INT, redis_conf, command_timeout_ms, "2000", 1, 60000,
            "timeout of one command round trip"),
    CFG_ROW("retry_min_ms", CFG_INT, redis_conf, retry_min_ms, "100", 0, 600000,
            "first reconnection delay after an error (doubles each failure)"),
    CFG_ROW("retry_max_ms", CFG_INT, redis_conf, retry_max_ms, "5000", 0, 600000, "longest reconnection delay"),
    CFG_ROW("key_prefix", CFG_STRING, redis_conf, key_prefix, "pf:", 0, 64,
            "prefix of every postflow key (several installations can share one Redis)"),
    CFG_END
};

static long long redis_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dup_or_null(const char *s)
{
    return s != NULL && *s != '\0' ? xstrdup(s) : NULL;
}

void redis_conf_copy(struct redis_conf *dst, const struct redis_conf *src)
{
    *dst = *src;
    dst->address = xstrdup(src->address != NULL && *src->address ? src->address : "127.0.0.1:6379");
    dst->username = dup_or_null(src->username);
    dst->password = dup_or_null(src->password);
    dst->key_prefix = xstrdup(src->key_prefix != NULL ? src->key_prefix : "");
    if (dst->connect_timeout_ms <= 0)
        dst->connect_timeout_ms = 1000;
    if (dst->command_timeout_ms <= 0)
        dst->command_timeout_ms = 2000;
}

void redis_conf_release(struct redis_conf *conf)
{
    free(conf->address);
    free(conf->username);
    free(conf->password);
    free(conf->key_prefix);
    conf->address = conf->username = conf->password = conf->key_prefix = NULL;
}

struct redis_conn *redis_new(const struct redis_conf *conf)
{
    struct redis_conn *rc = xcalloc(1, sizeof(*rc));

    redis_conf_copy(&rc->conf, conf);
    return rc;
}

static void redis_drop(struct redis_conn *rc)
{
    if (rc->ctx != NULL) {
        redisFree(rc->ctx);
        rc->ctx = NULL;
    }
}

void redis_free(struct redis_conn *rc)
{
    if (rc == NULL)
        return;
    redis_drop(rc);
    redis_conf_release(&rc->conf);
    free(rc);
}

static void redis_seterr(struct redis_conn *rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void redis_seterr(struct redis_conn *rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rc->error, sizeof(rc->error), fmt, ap);
    va_end(ap);
}

/* Records a failure: drops the context and schedules the next attempt. */
static void redis_fail(struct redis_conn *rc)
{
    redis_drop(rc);
    rc->delay_ms = redis_backoff_next(rc->delay_ms, rc->conf.retry_min_ms, rc->conf.retry_max_ms);
    rc->next_attempt_ms = redis_now_ms() + rc->delay_ms;
}

static struct timeval ms_to_tv(long long ms)
{
    struct timeval tv;

    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return tv;
}

/* Sends a setup command on a fresh context; returns 0 if it got a non-error reply. */
static int redis_setup_command(struct redis_conn *rc, int argc, const char **argv, const char *what)
{
    redisReply *r = redisCommandArgv(rc->ctx, argc, argv, NULL);

    if (r == NULL) {
        redis_seterr(rc, "%s: %s", what, rc->ctx->errstr);
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        redis_seterr(rc, "%s refused: %.*s", what, (int)r->len, r->str);
        freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

static redisContext *redis_open(const struct redis_conf *conf, char *err, size_t errsize)
{
    struct timeval tv = ms_to_tv(conf->connect_timeout_ms);
    const char *addr = conf->address;
    redisContext *ctx;

    if (strncmp(addr, "unix:", 5) == 0) {
        ctx = redisConnectUnixWithTimeout(addr + 5, tv);
    } else {
        char host[256];
        const char *colon = strrchr(addr, ':');
        long port = 6379;
        size_t hlen = colon != NULL ? (size_t)(colon - addr) : strlen(addr);

        if (colon != NULL) {
            char *end;

            port = strtol(colon + 1, &end, 10);
            if (*end != '\0' || port <= 0 || port > 65535) {
                snprintf(err, errsize, "bad Redis address \"%s\" (want unix:/path or host:port)", addr);
                return NULL;
            }
        }
        if (hlen == 0 || hlen >= sizeof(host)) {
            snprintf(err, errsize, "bad Redis address \"%s\"", addr);
            return NULL;
        }
        memcpy(host, addr, hlen);
        host[hlen] = '\0';
        /* [::1]:6379 */
        if (host[0] == '[' && host[hlen - 1] == ']') {
            memmove(host, host + 1, hlen - 2);
            host[hlen - 2] = '\0';
        }
        ctx = redisConnectWithTimeout(host, (int)port, tv);
    }
    if (ctx == NULL) {
        snprintf(err, errsize, "connect to %s: out of memory", addr);
        return NULL;
    }
    if (ctx->err) {
        snprintf(err, errsize, "connect to %s: %s", addr, ctx->errstr);
        redisFree(ctx);
        return NULL;
    }
    return ctx;
}

int redis_connect(struct redis_conn *rc)
{
    char dbtext[32];
    struct timeval tv;

    if (rc->ctx != NULL)
        return 0;
    if (rc->next_attempt_ms != 0 && redis_now_ms() < rc->next_attempt_ms)
        return -1; /* still backing off; rc->error keeps the cause */
    rc->ctx = redis_open(&rc->conf, rc->error, sizeof(rc->error));
    if (rc->ctx == NULL) {
        redis_fail(rc);
        return -1;
    }
    tv = ms_to_tv(rc->conf.command_timeout_ms);
    redisSetTimeout(rc->ctx, tv);
    if (rc->conf.password != NULL) {
        const char *auth_user[] = { "AUTH", rc->conf.username, rc->conf.password };
        const char *auth_pass[] = { "AUTH", rc->conf.password };
        int ok = rc->conf.username != NULL ? redis_setup_command(rc, 3, auth_user, "AUTH")
                                           : redis_setup_command(rc, 2, auth_pass, "AUTH");
        if (ok < 0) {
            redis_fail(rc);
            return -1;
        }
    }
    if (rc->conf.db != 0) {
        const char *select[] = { "SELECT", dbtext };

        snprintf(dbtext, sizeof(dbtext), "%lld", rc->conf.db);
        if (redis_setup_command(rc, 2, select, "SELECT") < 0) {
            redis_fail(rc);
            return -1;
        }
    }
    rc->error[0] = '\0';
    rc->delay_ms = 0;
    rc->next_attempt_ms = 0;
    return 0;
}

int redis_is_connected(const struct redis_conn *rc)
{
    return rc->ctx != NULL;
}

const char *redis_last_error(const struct redis_conn *rc)
{
    return rc->error;
}

long long redis_retry_in_ms(const struct redis_conn *rc)
{
    long long now;

    if (rc->ctx != NULL || rc->next_attempt_ms == 0)
        return 0;
    now = redis_now_ms();
    return rc->next_attempt_ms > now ? rc->next_attempt_ms - now : 0;
}

redisReply *redis_command_argv(struct redis_conn *rc, int argc, const char **argv, const size_t *argvlen)
{
    redisReply *r;

    if (redis_connect(rc) < 0)
        return NULL;
    r = redisCommandArgv(rc->ctx, argc, argv, argvlen);
    if (r == NULL) {
        redis_seterr(rc, "redis %s: %s failed: %s", rc->conf.address, argc > 0 ? argv[0] : "command", rc->ctx->errstr);
        redis_fail(rc);
        return NULL;
    }
    return r;
}

redisReply *redis_command(struct redis_conn *rc, const char *arg0, ...)
{
    const char *argv[REDIS_ARGV_MAX];
    int argc = 0;
    va_list ap;
    const char *a;

    va_start(ap, arg0);
    for (a = arg0; a != NULL && argc < REDIS_ARGV_MAX; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    return redis_command_argv(rc, argc, argv, NULL);
}

redisReply *redis_eval(struct redis_conn *rc, struct redis_script *script, int nkeys, const char **keys,
                       const size_t *keylens, int nargs, const char **args, const size_t *arglens)
{
    const char *argv_stack[REDIS_ARGV_MAX + 3];
    size_t lens_stack[REDIS_ARGV_MAX + 3];
    const char **argv = argv_stack;
    size_t *lens = lens_stack;
    char nkeys_text[16];
    redisReply *r;
    int i, argc = 0;

    if (nkeys < 0 || nargs < 0 || nkeys > REDIS_EVAL_ARGS_MAX || nargs > REDIS_EVAL_ARGS_MAX - nkeys) {
        redis_seterr(rc, "script %s: %d keys and %d arguments (at most %d together)", script->name, nkeys, nargs,
                     REDIS_EVAL_ARGS_MAX);
        return NULL;
    }
    if (nkeys + nargs > REDIS_ARGV_MAX) { /* a large batch: the vectors on the heap, freed below */
        argv = xmalloc((size_t)(nkeys + nargs + 3) * sizeof *argv);
        lens = xmalloc((size_t)(nkeys + nargs + 3) * sizeof *lens);
    }
    if (script->sha[0] == '\0')
        redis_script_init(script);
    snprintf(nkeys_text, sizeof(nkeys_text), "%d", nkeys);
    argv[argc] = "EVALSHA";
    lens[argc++] = 7;
    argv[argc] = script->sha;
    lens[argc++] = 40;
    argv[argc] = nkeys_text;
    lens[argc++] = strlen(nkeys_text);
    for (i = 0; i < nkeys; i++, argc++) {
        argv[argc] = keys[i];
        lens[argc] = keylens != NULL ? keylens[i] : strlen(keys[i]);
    }
    for (i = 0; i < nargs; i++, argc++) {
        argv[argc] = args[i];
        lens[argc] = arglens != NULL ? arglens[i] : strlen(args[i]);
    }
    r = redis_command_argv(rc, argc, argv, lens);
    if (r != NULL && redis_script_is_noscript(r)) {
        /* The server lost its script cache (restart, SCRIPT FLUSH, failover): load and retry once. */
        freeReplyObject(r);
        const char *load[] = { "SCRIPT", "LOAD", script->body };
        redisReply *lr = redis_command_argv(rc, 3, load, NULL);
        if (lr == NULL || lr->type == REDIS_REPLY_ERROR) {
            if (lr != NULL) /* an answer: the script does not compile */
                redis_seterr(rc, "SCRIPT LOAD %s: %.*s", script->name, (int)lr->len, lr->str);
            r = lr;
        } else {
            freeReplyObject(lr);
            r = redis_command_argv(rc, argc, argv, lens);
        }
    }
    if (argv != argv_stack) {
        free(argv);
        free(lens);
    }
    return r;
}

void redis_reply_free(redisReply *reply)
{
    if (reply != NULL)
        freeReplyObject(reply);
}
