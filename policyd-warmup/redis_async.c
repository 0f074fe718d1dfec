/*
 * NAME
 *   redis_async.c - asynchronous Redis on libev (see redis_async.h).
 *
 * DESCRIPTION
 *   States: DOWN (waiting for the backoff timer), UP (connected or
 *   connecting; commands are queued by hiredis while connecting).  A watchdog
 *   timer drops a connection that does not connect within
 *   connect_timeout_ms or leaves commands unanswered for command_timeout_ms
 *   (a stopped or overloaded Redis): hiredis 0.14's async API has no timeouts
 *   of its own.  Dropping = redisAsyncFree(), which calls every pending
 *   callback with NULL; that must never happen inside a hiredis callback, so
 *   errors seen there only mark the context and the watchdog frees it.
 */
#include "redis_async.h"

#include <stdlib.h>
#include <string.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>

#include "argvec.h"
#include "buf.h"
#include "log.h"
#include "redis_backoff.h"
#include "xalloc.h"

struct aredis {
    struct ev_loop *loop;
    struct redis_conf conf;  /* strings owned */
    redisAsyncContext *ac;   /* NULL when DOWN */
    int connected;           /* connect callback said OK */
    int broken;              /* error seen inside a callback: free from the watchdog */
    ev_tstamp started;       /* when the current context was created */
    ev_tstamp last_progress; /* last reply (or send when idle) */
    size_t pending;
    long long backoff_ms; /* delay of the last retry; 0 = none since the last connect */
    ev_timer retry;       /* reconnect after backoff */
    ev_timer watchdog;
    char error[256];
    struct buf fmt;     /* scratch: the command being encoded */
    unsigned unflushed; /* commands queued since the last early write */
};

struct eval_call {
    struct aredis *ar;
    const struct redis_script *script;
    size_t nkeys, nargs;
    char *const *keys;
    char *const *args;
    const size_t *keylens, *arglens;
    aredis_cb cb;
    void *priv;
    int retried;
};

struct cmd_call {
    struct aredis *ar;
    aredis_cb cb;
    void *priv;
};

static void ar_connect(struct aredis *ar);
static void ar_set_error(struct aredis *ar, const char *what);

static void ar_set_error(struct aredis *ar, const char *what)
{
    snprintf(ar->error, sizeof ar->error, "%s", what);
}

/*
 * The one place a reconnection is scheduled: after the next delay of the
 * shared rule (redis_backoff_next: retry_min_ms, doubling up to
 * retry_max_ms; restarted by a successful connect), with retry_min_ms taken
 * as at least 1 ms so a socket that refuses at once cannot spin the loop.
 * Every failure path comes here, including a connect() that fails at once
 * (a missing unix socket), which used to retry at retry_min_ms forever.
 */
static void ar_schedule_retry(struct aredis *ar)
{
    long long min_ms = ar->conf.retry_min_ms > 0 ? ar->conf.retry_min_ms : 1;

    ar->backoff_ms = redis_backoff_next(ar->backoff_ms, min_ms, ar->conf.retry_max_ms);
    ev_timer_stop(ar->loop, &ar->retry);
    ev_timer_set(&ar->retry, (double)ar->backoff_ms / 1000.0, 0.);
    ev_timer_start(ar->loop, &ar->retry);
}

/* Frees the context (pending callbacks get NULL) and arms the reconnect timer. */
static void ar_drop(struct aredis *ar, const char *why)
{
    redisAsyncContext *ac = ar->ac;
    if (ac == NULL)
        return;
    if (why != NULL)
        ar_set_error(ar, why);
    ar->ac = NULL;
    ar->connected = 0;
    ar->broken = 0;
    ac->data = NULL;
    redisAsyncFree(ac);
    ar_schedule_retry(ar);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct aredis *ar = ac->data;
    if (ar == NULL)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context itself after a failed connect. */
        ar_set_error(ar, ac->errstr[0] ? ac->errstr : "connect failed");
        ar->ac = NULL;
        ar->connected = 0;
        ar_schedule_retry(ar);
        return;
    }
    ar->connected = 1;
    ar->backoff_ms = 0; /* the next failure waits retry_min_ms again */
    ar->error[0] = '\0';
    log_notice("redis: connected to %s", ar->conf.address);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct aredis *ar = ac->data;
    if (ar == NULL)
        return;
    /* The context is freed by hiredis after this callback. */
    ar_set_error(ar, ac->errstr[0] ? ac->errstr : "connection closed");
    ar->ac = NULL;
    ar->connected = 0;
    ar_schedule_retry(ar);
}

/* AUTH / SELECT answers: an error reply makes the connection useless. */
static void on_setup_reply(void *priv, const redisReply *reply)
{
    struct aredis *ar = priv;
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        log_error("redis: AUTH/SELECT on %s failed: %s", ar->conf.address, reply->str);
        ar_set_error(ar, "AUTH/SELECT failed");
        ar->broken = 1;
    }
}

static void ar_connect(struct aredis *ar)
{
    const char *addr = ar->conf.address ? ar->conf.address : "127.0.0.1:6379";
    redisAsyncContext *ac;
    if (strncmp(addr, "unix:", 5) == 0) {
        ac = redisAsyncConnectUnix(addr + 5);
    } else {
        char host[256];
        const char *colon = strrchr(addr, ':');
        int port = 6379;
        size_t hl = colon ? (size_t)(colon - addr) : strlen(addr);
        if (hl >= sizeof host)
            hl = sizeof host - 1;
        if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') { /* [::1]:6379 */
            addr++;
            hl -= 2;
        }
        memcpy(host, addr, hl);
        host[hl] = '\0';
        if (colon) {
            char *end;
            long v = strtol(colon + 1, &end, 10);
            port = end != colon + 1 && *end == '\0' && v > 0 && v <= 65535 ? (int)v : -1;
        }
        ac = redisAsyncConnect(host, port);
    }
    if (ac == NULL || ac->err) {
        ar_set_error(ar, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        ar_schedule_retry(ar);
        return;
    }
    ac->data = ar;
    redisLibevAttach(ar->loop, ac);
    /* Replies first: within one loop iteration, answering the requests Redis has decided
     * comes before reading new ones (libev runs higher priorities first).  The adapter's
     * watchers are initialised but not started yet, as ev_set_priority() requires. */
    redisLibevEvents *lev = ac->ev.data;
    ev_set_priority(&lev->rev, EV_MAXPRI);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    ar->ac = ac;
    ar->connected = 0;
    ar->broken = 0;
    ar->started = ev_now(ar->loop);
    ar->last_progress = ar->started;
    if (ar->conf.password != NULL && ar->conf.password[0] != '\0') {
        const char *argv[3] = { "AUTH", ar->conf.username, ar->conf.password };
        int have_user = ar->conf.username != NULL && ar->conf.username[0] != '\0';
        if (!have_user)
            argv[1] = ar->conf.password;
        aredis_command(ar, on_setup_reply, ar, have_user ? 3 : 2, argv, NULL);
    }
    if (ar->conf.db != 0) {
        char db[24];
        snprintf(db, sizeof db, "%lld", ar->conf.db);
        const char *argv[2] = { "SELECT", db };
        aredis_command(ar, on_setup_reply, ar, 2, argv, NULL);
    }
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct aredis *ar = w->data;
    if (ar->ac == NULL)
        ar_connect(ar);
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct aredis *ar = w->data;
    ev_tstamp now = ev_now(loop);
    if (ar->ac == NULL)
        return;
    if (ar->broken) {
        ar_drop(ar, NULL);
    } else if (!ar->connected && now - ar->started > (double)ar->conf.connect_timeout_ms / 1000.0) {
        ar_drop(ar, "connect timeout");
    } else if (ar->pending > 0 && now - ar->last_progress > (double)ar->conf.command_timeout_ms / 1000.0) {
        log_warning("redis: no reply for %lld ms with %zu commands pending; reconnecting", ar->conf.command_timeout_ms,
                    ar->pending);
        ar_drop(ar, "command timeout");
    }
}

struct aredis *aredis_new(struct ev_loop *loop, const struct redis_conf *conf)
{
    struct aredis *ar = xcalloc(1, sizeof *ar);
    ar->loop = loop;
    buf_init(&ar->fmt, 0);
    redis_conf_copy(&ar->conf, conf);
    ev_timer_init(&ar->retry, on_retry, 0., 0.);
    ar->retry.data = ar;
    double tick = (double)(conf->command_timeout_ms < conf->connect_timeout_ms ? conf->command_timeout_ms
                                                                               : conf->connect_timeout_ms) /
                  4000.0;
    ev_timer_init(&ar->watchdog, on_watchdog, tick, tick);
    ar->watchdog.data = ar;
    ev_timer_start(loop, &ar->watchdog);
    ar_connect(ar);
    return ar;
}

void aredis_free(struct aredis *ar)
{
    if (ar == NULL)
        return;
    ev_timer_stop(ar->loop, &ar->retry);
    ev_timer_stop(ar->loop, &ar->watchdog);
    if (ar->ac != NULL) {
        redisAsyncContext *ac = ar->ac;
        ar->ac = NULL;
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    redis_conf_release(&ar->conf);
    buf_free(&ar->fmt);
    free(ar);
}

int aredis_connected(const struct aredis *ar)
{
    return ar->ac != NULL && ar->connected && !ar->broken;
}

const char *aredis_last_error(const struct aredis *ar)
{
    return ar->error;
}

size_t aredis_pending(const struct aredis *ar)
{
    return ar->pending;
}

static int ar_usable(struct aredis *ar)
{
    return ar->ac != NULL && !ar->broken && !(ar->ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING));
}

static void on_cmd_reply(redisAsyncContext *ac, void *r, void *priv)
{
    struct cmd_call *call = priv;
    struct aredis *ar = call->ar;
    ar->pending--;
    ar->last_progress = ev_now(ar->loop);
    call->cb(call->priv, r);
    free(call);
}

int aredis_command(struct aredis *ar, aredis_cb cb, void *priv, int argc, const char **argv, const size_t *argvlen)
{
    if (!ar_usable(ar))
        return -1;
    struct cmd_call *call = xmalloc(sizeof *call);
    call->ar = ar;
    call->cb = cb;
    call->priv = priv;
    if (ar->pending == 0)
        ar->last_progress = ev_now(ar->loop);
    if (redisAsyncCommandArgv(ar->ac, on_cmd_reply, call, argc, argv, argvlen) != REDIS_OK) {
        free(call);
        return -1;
    }
    ar->pending++;
    return 0;
}

static int eval_send(struct eval_call *call, int full);

static void on_eval_reply(redisAsyncContext *ac, void *r, void *priv)
{
    struct eval_call *call = priv;
    struct aredis *ar = call->ar;
    const redisReply *reply = r;
    ar->pending--;
    ar->last_progress = ev_now(ar->loop);
    if (!call->retried && redis_script_is_noscript(reply)) {
        call->retried = 1;
        if (eval_send(call, 1) == 0)
            return;
        reply = NULL;
    }
    call->cb(call->priv, reply);
    free(call);
}

/*
 * hiredis writes its output buffer when the loop next sees the socket
 * writable: after every event of this loop iteration.  When many clients'
 * requests arrive together, Redis would then idle until the last of them is
 * planned, and the daemon idle while Redis runs the whole batch.  Writing
 * every AREDIS_FLUSH_EVERY commands lets the two work at the same time.
 * redisBufferWrite() runs no callback; an error stays in the context and
 * hiredis handles it (disconnect, callbacks with NULL) from the loop.
 */
#define AREDIS_FLUSH_EVERY 8

static void ar_flush_early(struct aredis *ar)
{
    int done = 0;
    if (++ar->unflushed < AREDIS_FLUSH_EVERY || !ar->connected)
        return;
    ar->unflushed = 0;
    if (ar->ac->c.err == 0)
        (void)redisBufferWrite(&ar->ac->c, &done);
}

/* Appends a RESP header line (MARK, the number, CRLF): '*' for an array, '$' for a bulk string. */
static int resp_count(struct buf *b, char mark, size_t count)
{
    char num[24];
    size_t n = argvec_fmt_ll(num, (long long)count);
    return buf_append_char(b, mark) | buf_append(b, num, n) | buf_append(b, "\r\n", 2);
}

/* Appends one RESP bulk string ("$len\r\n" s "\r\n").  Nonzero when the buffer refused a byte. */
static int resp_bulk(struct buf *b, const char *s, size_t len)
{
    return resp_count(b, '$', len) | buf_append(b, s, len) | buf_append(b, "\r\n", 2);
}

/*
 * EVALSHA (or EVAL) as one RESP command, encoded here rather than by
 * redisAsyncCommandArgv(): its per-argument strlen, printf-style formatting
 * and allocations cost more than the rest of the send.
 */
static int eval_send(struct eval_call *call, int full)
{
    struct aredis *ar = call->ar;
    struct buf *b = &ar->fmt;
    char num[24];
    int bad;
    if (!ar_usable(ar))
        return -1;
    buf_reset(b);
    bad = resp_count(b, '*', 3 + call->nkeys + call->nargs);
    if (full)
        bad |= resp_bulk(b, "EVAL", 4) | resp_bulk(b, call->script->body, strlen(call->script->body));
    else
        bad |= resp_bulk(b, "EVALSHA", 7) | resp_bulk(b, call->script->sha, 40);
    bad |= resp_bulk(b, num, argvec_fmt_ll(num, (long long)call->nkeys));
    for (size_t i = 0; i < call->nkeys; i++)
        bad |= resp_bulk(b, call->keys[i], call->keylens[i]);
    for (size_t i = 0; i < call->nargs; i++)
        bad |= resp_bulk(b, call->args[i], call->arglens[i]);
    if (bad) /* never send a cut command: Redis would read the next one as its rest */
        return -1;
    if (ar->pending == 0)
        ar->last_progress = ev_now(ar->loop);
    if (redisAsyncFormattedCommand(ar->ac, on_eval_reply, call, b->data, b->len) != REDIS_OK)
        return -1;
    ar->pending++;
    ar_flush_early(ar);
    return 0;
}

int aredis_eval(struct aredis *ar, const struct redis_script *s, size_t nkeys, char *const *keys, const size_t *keylens,
                size_t nargs, char *const *args, const size_t *arglens, aredis_cb cb, void *priv)
{
    struct eval_call *call = xcalloc(1, sizeof *call);
    call->ar = ar;
    call->script = s;
    call->nkeys = nkeys;
    call->nargs = nargs;
    call->keys = keys;
    call->keylens = keylens;
    call->args = args;
    call->arglens = arglens;
    call->cb = cb;
    call->priv = priv;
    if (eval_send(call, 0) < 0) {
        free(call);
        return -1;
    }
    return 0;
}
