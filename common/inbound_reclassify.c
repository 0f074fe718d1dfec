/*
 * inbound_reclassify.c - re-judge stored bounce events (see inbound_reclassify.h).
 */
#include "inbound_reclassify.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "log.h"

#define PAGE 500

/* Suppress hard unless an entry of equal or stronger rank exists. */
static const char UNSUPPRESS_LUA[] =
    "local r = redis.call('HMGET', KEYS[1], 'reason', 'source', 'queue_id', 'status')\n"
    "if r[1] ~= 'hard' or r[2] ~= ARGV[1] then return 0 end\n"
    "if (ARGV[2] ~= '' and r[3] == ARGV[2]) or (ARGV[2] == '' and r[4] == ARGV[3]) then\n"
    "  redis.call('DEL', KEYS[1]) return 1 end\n"
    "return 0\n";
static const char SUPPRESS_LUA[] =
    "local cur = redis.call('HGET', KEYS[1], 'reason')\n"
    "if cur and cur ~= 'soft' and cur ~= 'unsubscribe' then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'reason', 'hard', 'source', ARGV[1], 'time', ARGV[2], 'last', ARGV[2],\n"
    "  'detail', ARGV[3], 'category', ARGV[4], 'status', ARGV[5], 'why', ARGV[6])\n"
    "redis.call('HSETNX', KEYS[1], 'first', ARGV[2])\n"
    "if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'queue_id', ARGV[7]) end\n"
    "redis.call('PERSIST', KEYS[1])\n"
    "return 1\n";
static struct redis_script unsuppress_script = { "reclassify_unsuppress", UNSUPPRESS_LUA, "" };
static struct redis_script suppress_script = { "reclassify_suppress", SUPPRESS_LUA, "" };

struct event {
    const char *recipient, *type, *cls, *category, *status, *diagnostic, *dsn_action, *command;
    const char *queue_id, *verified, *action, *time;
};

static const char *field(const redisReply *kv, const char *name)
{
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && strcmp(kv->element[i]->str, name) == 0)
            return kv->element[i + 1]->type == REDIS_REPLY_STRING ? kv->element[i + 1]->str : "";
    return "";
}

static int leading_code(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((p == s || !isdigit((unsigned char)p[-1])) && (p[0] == '4' || p[0] == '5') &&
            isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) && !isdigit((unsigned char)p[3]))
            return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    return 0;
}

static void report(const struct inbound_reclassify_ctx *ctx, const char *id, const struct event *e,
                   const struct reply_verdict *v, const char *done)
{
    if (!ctx->json)
        return;
    struct buf b;
    buf_init(&b, 0);
    buf_append_char(&b, '{');
    json_key(&b, "type", 1);
    json_cstr(&b, "reclassified");
    json_key(&b, "id", 0);
    json_cstr(&b, id);
    json_key(&b, "recipient", 0);
    json_cstr(&b, e->recipient);
    json_key(&b, "old_class", 0);
    json_cstr(&b, e->cls);
    json_key(&b, "old_category", 0);
    json_cstr(&b, e->category);
    json_key(&b, "class", 0);
    json_cstr(&b, reply_class_name(v->cls));
    json_key(&b, "category", 0);
    json_cstr(&b, v->category);
    json_key(&b, "why", 0);
    json_cstr(&b, v->why);
    json_key(&b, "done", 0);
    json_cstr(&b, done);
    buf_append_str(&b, "}\n");
    fwrite(b.data, 1, b.len, ctx->out);
    buf_free(&b);
}

/* One entry; -1 on a Redis failure. */
static int one(const struct inbound_reclassify_ctx *ctx, const char *id, const redisReply *kv,
               struct inbound_reclassify_result *res)
{
    struct event e = {
        field(kv, "recipient"), field(kv, "type"),       field(kv, "class"),      field(kv, "category"),
        field(kv, "status"),    field(kv, "diagnostic"), field(kv, "dsn_action"), field(kv, "command"),
        field(kv, "queue_id"),  field(kv, "verified"),   field(kv, "action"),     field(kv, "time"),
    };
    if (strcmp(e.type, "bounce") != 0 || e.recipient[0] == '\0')
        return 0;
    res->events++;
    struct reply_input in = {
        .status = e.status[0] ? e.status : NULL,
        .smtp_code = leading_code(e.diagnostic),
        .text = e.diagnostic,
        .text_len = strlen(e.diagnostic),
        .action = e.dsn_action[0] ? e.dsn_action : NULL,
        .command = e.command[0] ? e.command : NULL,
    };
    struct reply_verdict v;
    reply_classify(ctx->rules, &in, &v);
    const char *new_cls = reply_class_name(v.cls);
    if (strcmp(new_cls, e.cls) == 0 && strcmp(v.category, e.category) == 0)
        return 0;
    res->changed++;
    const char *done = "reported";
    char key[RKEY_MAX];
    bool was_hard = strcmp(e.cls, "hard") == 0, now_hard = v.cls == REPLY_CLASS_HARD;
    bool acts = strcmp(e.verified, "1") == 0 || ctx->conf->accept_unverified;
    if (rkey_suppression(ctx->rkeys, key, e.recipient, strlen(e.recipient)) < 0 || was_hard == now_hard || !acts) {
        report(ctx, id, &e, &v, done);
        return 0;
    }
    if (ctx->dry_run) {
        report(ctx, id, &e, &v, was_hard ? "would unsuppress" : "would suppress");
        return 0;
    }
    redisReply *rep;
    if (was_hard) {
        const char *keys[] = { key }, *args[] = { ctx->program, e.queue_id, e.status };
        rep = redis_eval(ctx->redis, &unsuppress_script, 1, keys, NULL, 3, args, NULL);
    } else {
        char detail[200];
        snprintf(detail, sizeof(detail), "%s %s", e.status[0] ? e.status : "-", v.category);
        const char *keys[] = { key },
                   *args[] = { ctx->program, e.time, detail, v.category, e.status, v.why, e.queue_id };
        rep = redis_eval(ctx->redis, &suppress_script, 1, keys, NULL, 7, args, NULL);
    }
    if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
        log_msg(LOG_LVL_ERROR, "reclassify: Redis: %s",
                rep ? (rep->type == REDIS_REPLY_ERROR ? rep->str : "bad reply") : redis_last_error(ctx->redis));
        redis_reply_free(rep);
        return -1;
    }
    if (rep->integer == 1) {
        done = was_hard ? "unsuppressed" : "suppressed";
        if (was_hard)
            res->unsuppressed++;
        else
            res->suppressed++;
    }
    redis_reply_free(rep);
    report(ctx, id, &e, &v, done);
    return 0;
}

int inbound_reclassify_stream(const struct inbound_reclassify_ctx *ctx, struct inbound_reclassify_result *res)
{
    memset(res, 0, sizeof(*res));
    if (unsuppress_script.sha[0] == '\0') {
        redis_script_init(&unsuppress_script);
        redis_script_init(&suppress_script);
    }
    char stream[RKEY_MAX], start[64] = "-", page[16];
    rkey_inbound_stream(ctx->rkeys, stream, RKEY_STREAM_BOUNCES);
    snprintf(page, sizeof(page), "%d", PAGE);
    for (;;) {
        redisReply *rep = redis_command(ctx->redis, "XRANGE", stream, start, "+", "COUNT", page, NULL);
        if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
            log_msg(LOG_LVL_ERROR, "reclassify: XRANGE %s: %s", stream,
                    rep && rep->type == REDIS_REPLY_ERROR ? rep->str : redis_last_error(ctx->redis));
            redis_reply_free(rep);
            return -1;
        }
        size_t n = rep->elements;
        for (size_t i = 0; i < n; i++) {
            const redisReply *ent = rep->element[i];
            if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2 || ent->element[0]->type != REDIS_REPLY_STRING ||
                ent->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            if (one(ctx, ent->element[0]->str, ent->element[1], res) != 0) {
                redis_reply_free(rep);
                return -1;
            }
            snprintf(start, sizeof(start), "(%s", ent->element[0]->str); /* exclusive: the next page */
        }
        redis_reply_free(rep);
        if (n < PAGE)
            return 0;
    }
}
