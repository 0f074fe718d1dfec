/*
 * NAME
 *   wctl_ip.c - `warmupctl ip pause|resume|set-stage|reset IP [...]`.
 *
 * DESCRIPTION
 *   Operator changes to the warm-up state hash of one IP
 *   (pf:ip:{pool}:ip, docs/redis-keys.md), each followed by an event in the
 *   pf:events stream (fields time, node, pool, ip, event, from, to,
 *   reason), so the daemon's own changes and the operators' read as one
 *   history (`XREVRANGE pf:events + - COUNT 20`).
 *
 *     pause      paused=1, paused_reason="operator[: TEXT]", paused_at=now
 *     resume     paused=0, resumed_at=now, paused_reason and paused_at removed
 *                (policyd-warmup's complaint watch counts hours after resumed_at)
 *     set-stage  stage=N, stage_since=today, last_eval=yesterday
 *     reset      stage=0, start=stage_since=today, last_eval=yesterday,
 *                paused=0, resumed_at=now (warm-up starts again from the first day's cap)
 *
 *   last_eval=yesterday tells policyd-warmup that yesterday's health was
 *   already judged, so a stage the operator just set is not advanced or
 *   stepped back on the strength of traffic sent before the change.
 *
 *   The state change is one Lua call (read old stage and pause flag, write
 *   the new ones) so it cannot interleave with the daemon's daily
 *   evaluation; the event is appended after it, and a change line with the
 *   old and new stage and pause flag is logged (wctl_audit.c).
 *
 *   The IP's pool is found in this host's policy config and in the Redis
 *   registry (pf:pools, pf:pool:{p}, written by policyd-warmup); --pool
 *   names it explicitly (needed when the IP is in several pools, or in
 *   neither place yet).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exitcodes.h"
#include "text_safe.h"
#include "warmup_model.h"
#include "wctl_audit.h"
#include "wctl_cmds.h"
#include "wctl_table.h"
#include "wctl_suppress.h"

#define STAGE_MAX 1000

static struct redis_script IP_CHANGE = {
    "warmupctl_ip_change",
    "local k = KEYS[1]\n"
    "local op = ARGV[1]\n"
    "local old = redis.call('HGET', k, 'stage') or ''\n"
    "local was = redis.call('HGET', k, 'paused') or '0'\n"
    "if op == 'pause' then\n"
    "  redis.call('HSET', k, 'paused', '1', 'paused_reason', ARGV[2], 'paused_at', ARGV[3])\n"
    "elseif op == 'resume' then\n"
    "  redis.call('HSET', k, 'paused', '0', 'resumed_at', ARGV[3])\n"
    "  redis.call('HDEL', k, 'paused_reason', 'paused_at')\n"
    "elseif op == 'set-stage' then\n"
    "  redis.call('HSET', k, 'stage', ARGV[2], 'stage_since', ARGV[4], 'last_eval', ARGV[5])\n"
    "elseif op == 'reset' then\n"
    "  redis.call('HSET', k, 'stage', '0', 'start', ARGV[4], 'stage_since', ARGV[4],\n"
    "             'last_eval', ARGV[5], 'paused', '0', 'resumed_at', ARGV[3])\n"
    "  redis.call('HDEL', k, 'paused_reason', 'paused_at')\n"
    "else\n"
    "  return redis.error_reply('unknown operation ' .. op)\n"
    "end\n"
    "return {old, was, redis.call('HGET', k, 'stage') or ''}\n",
    ""
};

/* Pools that list the IP: this host's policy config, then the Redis registry. */
struct pool_hits {
    char names[4][RKEY_MAX];
    size_t n;
};

static void hit(struct pool_hits *h, const char *pool)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->names[i], pool) == 0)
            return;
    if (h->n < 4)
        snprintf(h->names[h->n++], RKEY_MAX, "%s", pool);
}

static void config_hits(const struct warmup_model *m, const char *ip, struct pool_hits *h)
{
    for (size_t p = 0; m != NULL && p < m->npools; p++)
        for (size_t i = 0; i < m->pools[p].nips; i++)
            if (strcasecmp(m->pools[p].ips[i].address, ip) == 0)
                hit(h, m->pools[p].name);
}

static int registry_hits(struct wctl *w, const char *ip, struct pool_hits *h)
{
    char key[RKEY_MAX], pkey[RKEY_MAX];
    const char *argv[] = { "SMEMBERS", key };
    redisReply *pools;

    rkey_pools(&w->keys, key);
    if ((pools = wctl_cmd(w, 2, argv, NULL)) == NULL)
        return -1;
    for (size_t i = 0; pools->type == REDIS_REPLY_ARRAY && i < pools->elements; i++) {
        const char *p = pools->element[i]->str;
        const char *hx[] = { "HEXISTS", pkey, ip };
        redisReply *r;
        if (pools->element[i]->type != REDIS_REPLY_STRING || rkey_pool(&w->keys, pkey, p) < 0)
            continue;
        if ((r = wctl_cmd(w, 3, hx, NULL)) == NULL) {
            redis_reply_free(pools);
            return -1;
        }
        if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
            hit(h, p);
        redis_reply_free(r);
    }
    redis_reply_free(pools);
    return 0;
}

/* Finds the one pool of ip into pool (size RKEY_MAX).  0, or -1 (reported). */
static int find_pool(struct wctl *w, const char *ip, char *pool, size_t poolsize)
{
    struct pool_hits h;

    h.n = 0;
    config_hits(w->model, ip, &h);
    if (registry_hits(w, ip, &h) < 0)
        return -1;
    if (h.n > 1) {
        wctl_err("%s is in several pools (%s, %s%s): name one with --pool", ip, h.names[0], h.names[1],
                 h.n > 2 ? ", ..." : "");
        w->status = PF_EXIT_USAGE;
        return -1;
    }
    if (h.n == 0) {
        wctl_err("%s is in no pool of this host's policy config nor of the Redis registry; "
                 "name one with --pool",
                 ip);
        w->status = PF_EXIT_FAILURE;
        return -1;
    }
    snprintf(pool, poolsize, "%s", h.names[0]);
    return 0;
}

static int add_event(struct wctl *w, const char *pool, const char *ip, const char *event, const char *from,
                     const char *to, const char *reason)
{
    char key[RKEY_MAX], ts[32];
    const char *argv[] = { "XADD", key,  "MAXLEN", "~",     "10000", "*",    "time", ts,   "node", w->node,  "pool",
                           pool,   "ip", ip,       "event", event,   "from", from,   "to", to,     "reason", reason };
    redisReply *r;

    rkey_events(&w->keys, key);
    snprintf(ts, sizeof ts, "%lld", w->now);
    if ((r = wctl_cmd(w, (int)(sizeof argv / sizeof argv[0]), argv, NULL)) == NULL)
        return -1;
    redis_reply_free(r);
    return 0;
}

static const char *reply_str(const redisReply *r, size_t i)
{
    if (r->type != REDIS_REPLY_ARRAY || i >= r->elements || r->element[i]->type != REDIS_REPLY_STRING)
        return "";
    return r->element[i]->str;
}

/* Checks the IP operand: an IPv4 or IPv6 address, written lowercase into out. */
static int ip_arg(const char *s, char out[INET6_ADDRSTRLEN + 1])
{
    unsigned char bin[16];
    size_t n = strlen(s);

    if (n == 0 || n > INET6_ADDRSTRLEN || (inet_pton(AF_INET, s, bin) != 1 && inet_pton(AF_INET6, s, bin) != 1)) {
        char safe[WCTL_SAFE_MAX];
        text_safe(safe, sizeof safe, s, n);
        wctl_err("\"%s\" is not an IPv4 or IPv6 address", safe);
        return -1;
    }
    for (size_t i = 0; i <= n; i++)
        out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    return 0;
}

/* A stage read back from Redis: a number, null when absent, else a string. */
static void json_stage(struct buf *b, const char *v)
{
    size_t n = strlen(v);

    if (n == 0)
        buf_append_str(b, "null");
    else if (n < 10 && strspn(v, "0123456789") == n)
        buf_append_str(b, v);
    else
        json_cstr(b, v);
}

static int parse_stage(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*s == '\0' || *end != '\0' || v < 0 || v > STAGE_MAX) {
        wctl_err("stage must be a number from 0 to %d, not \"%s\"", STAGE_MAX, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* The operands of an ip command, checked. */
struct ip_op {
    const char *op; /* "pause", "resume", "set-stage", "reset" */
    char ip[INET6_ADDRSTRLEN + 1];
    char stage[32];   /* set-stage: the new stage */
    char reason[400]; /* "operator[: TEXT]" */
};

static int ip_op_parse(const struct wctl_args *a, struct ip_op *o)
{
    memset(o, 0, sizeof *o);
    o->op = a->pos[1];
    if (ip_arg(a->pos[2], o->ip) < 0)
        return -1;
    if (strcmp(o->op, "set-stage") == 0) {
        long st;
        if (parse_stage(a->pos[3], &st) < 0)
            return -1;
        snprintf(o->stage, sizeof o->stage, "%ld", st);
    }
    if (a->reason == NULL) {
        snprintf(o->reason, sizeof o->reason, "operator");
        return 0;
    }
    for (const char *p = a->reason; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            wctl_err("--reason contains a control byte");
            return -1;
        }
    if (strlen(a->reason) > 200) {
        wctl_err("--reason is longer than 200 bytes");
        return -1;
    }
    snprintf(o->reason, sizeof o->reason, "operator: %s", a->reason);
    return 0;
}

static void ip_print(struct wctl *w, const struct ip_op *o, const char *pool, const char *from, const char *to,
                     int was_paused)
{
    if (w->json) {
        buf_append_str(&w->out, "{\"pool\":");
        json_cstr(&w->out, pool);
        buf_append_str(&w->out, ",\"ip\":");
        json_cstr(&w->out, o->ip);
        buf_printf(&w->out, ",\"event\":\"%s\",\"from\":", o->op);
        json_stage(&w->out, from);
        buf_append_str(&w->out, ",\"to\":");
        json_stage(&w->out, to);
        buf_printf(&w->out, ",\"was_paused\":%s}\n", was_paused ? "true" : "false");
    } else if (strcmp(o->op, "pause") == 0) {
        buf_printf(&w->out, "%s (pool %s) paused%s\n", o->ip, pool, was_paused ? " (was already paused)" : "");
    } else if (strcmp(o->op, "resume") == 0) {
        buf_printf(&w->out, "%s (pool %s) resumed%s\n", o->ip, pool, was_paused ? "" : " (was not paused)");
    } else {
        buf_printf(&w->out, "%s (pool %s) stage %s -> %s\n", o->ip, pool, from[0] ? from : "none", to);
    }
}

/* The change line: stage and pause flag before -> after, whatever the operation touched. */
static void ip_audit(const struct wctl *w, const struct ip_op *o, const char *pool, const redisReply *r)
{
    char shown[LOG_PRINTABLE_MAX];
    const char *from = reply_str(r, 0), *to = reply_str(r, 2);
    const char *was = strcmp(reply_str(r, 1), "1") == 0 ? "1" : "0";
    const char *now = strcmp(o->op, "pause") == 0 ? "1" : strcmp(o->op, "set-stage") == 0 ? was : "0";

    log_printable(shown, sizeof shown, pool, strlen(pool));
    wctl_audit(w, "ip %s %s (pool %s): stage %s -> %s, paused %s -> %s (%s)", o->op, o->ip, shown,
               from[0] ? from : "none", to[0] ? to : "none", was, now, o->reason);
}

int wctl_ip_cmd(struct wctl *w, const struct wctl_args *a)
{
    struct ip_op o;
    char pool[RKEY_MAX], key[RKEY_MAX], today[16], yesterday[16], now[32];
    const char *args[5], *keys[1] = { key };
    redisReply *r;
    int rc = PF_EXIT_OK;

    if (ip_op_parse(a, &o) < 0)
        return PF_EXIT_USAGE;
    if (a->pool != NULL)
        snprintf(pool, sizeof pool, "%s", a->pool);
    else if (find_pool(w, o.ip, pool, sizeof pool) < 0)
        return w->status ? w->status : PF_EXIT_FAILURE;
    if (rkey_ip_state(&w->keys, key, pool, o.ip) < 0) {
        wctl_err("pool name \"%s\" cannot be part of a key", pool);
        return PF_EXIT_USAGE;
    }
    snprintf(now, sizeof now, "%lld", w->now);
    snprintf(today, sizeof today, "%ld", wctl_day(w->now));
    snprintf(yesterday, sizeof yesterday, "%ld", wctl_day(w->now - 86400));
    args[0] = o.op;
    args[1] = strcmp(o.op, "pause") == 0 ? o.reason : o.stage;
    args[2] = now;
    args[3] = today;
    args[4] = yesterday;
    if ((r = wctl_eval(w, &IP_CHANGE, 1, keys, 5, args)) == NULL)
        return w->status ? w->status : PF_EXIT_FAILURE;
    if (add_event(w, pool, o.ip, o.op, reply_str(r, 0), reply_str(r, 2), o.reason) < 0) {
        wctl_err("the state of %s was changed but its event was not recorded", o.ip);
        rc = w->status ? w->status : PF_EXIT_FAILURE;
    } else {
        ip_print(w, &o, pool, reply_str(r, 0), reply_str(r, 2), strcmp(reply_str(r, 1), "1") == 0);
    }
    ip_audit(w, &o, pool, r);
    redis_reply_free(r);
    return rc;
}
