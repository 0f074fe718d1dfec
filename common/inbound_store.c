/*
 * inbound_store.c - an inbound report's Redis actions in one script (see inbound_store.h).
 */
#include "inbound_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "inbound_decide.h"
#include "log.h"
#include "xalloc.h"

#define HEALTH_TTL    "691200" /* 8 days, as pf:hl: (docs/redis-keys.md) */
#define ALERTS_MAXLEN "10000"

/*
 * KEYS: stream, alerts, counters, then per recipient seen, sup, sb, hl, dh ("-" = none).
 * ARGV: seen_ttl, stream_maxlen, now, n, node, source, soft_window,
 *       soft_ttl, then per recipient (21 each):
 *       rcpt type class category status detail queue_id ip provider
 *       suppress count soft(0 none|1 count|2 reset) alert verified why
 *       sender_domain esc_count esc_span diagnostic dsn_action command
 */
static const char STORE_LUA[] =
    "local now, n = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local soft_window, soft_ttl = tonumber(ARGV[7]), tonumber(ARGV[8])\n"
    "local rank = {soft=1, unsubscribe=2, hard=3, import=3, manual=4, complaint=5}\n"
    "local dup_n, sup_n, cnt_n, esc_n, al_n, st_n = 0, 0, 0, 0, 0, 0\n"
    "local function suppress(key, reason, ttl, a)\n"
    "  local cur = redis.call('HGET', key, 'reason')\n"
    "  if cur and (rank[cur] or 4) >= rank[reason] then\n"
    "    if cur == reason then redis.call('HSET', key, 'last', now) end\n"
    "    return 0\n"
    "  end\n"
    "  redis.call('HSET', key, 'reason', reason, 'source', ARGV[6], 'time', now, 'last', now,\n"
    "    'detail', ARGV[a+6], 'category', ARGV[a+4], 'status', ARGV[a+5], 'why', ARGV[a+15])\n"
    "  redis.call('HSETNX', key, 'first', now)\n"
    "  if ARGV[a+7] ~= '' then redis.call('HSET', key, 'queue_id', ARGV[a+7]) end\n"
    "  if ARGV[a+8] ~= '' then redis.call('HSET', key, 'ip', ARGV[a+8], 'provider', ARGV[a+9]) end\n"
    "  if ttl > 0 then redis.call('EXPIRE', key, ttl) else redis.call('PERSIST', key) end\n"
    "  return 1\n"
    "end\n"
    "for i = 0, n - 1 do\n"
    "  local k, a = 4 + i * 5, 8 + i * 21\n"
    "  local seen, sup, sb, hl, dh = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]\n"
    "  if redis.call('EXISTS', seen) == 1 then\n"
    "    dup_n = dup_n + 1\n"
    "  else\n"
    "    local why_sup, count, soft = ARGV[a+10], ARGV[a+11], ARGV[a+12]\n"
    "    if why_sup ~= '' and sup ~= '-' then sup_n = sup_n + suppress(sup, why_sup, 0, a) end\n"
    "    local esc_count, esc_span = tonumber(ARGV[a+17]), tonumber(ARGV[a+18])\n"
    "    if soft == '1' and sb ~= '-' then\n"
    "      local c = redis.call('HINCRBY', sb, 'n', 1)\n"
    "      redis.call('HSETNX', sb, 'first', now)\n"
    "      redis.call('HSET', sb, 'last', now, 'category', ARGV[a+4])\n"
    "      redis.call('EXPIRE', sb, soft_window)\n"
    "      local first = tonumber(redis.call('HGET', sb, 'first'))\n"
    "      if esc_count > 0 and c >= esc_count and now - first >= esc_span and sup ~= '-' then\n"
    "        local s = suppress(sup, 'soft', soft_ttl, a)\n"
    "        if s == 1 then\n"
    "          redis.call('HSET', sup, 'detail', string.sub(c .. ' soft bounces (' .. ARGV[a+4] .. ') since ' ..\n"
    "            first .. ', last ' .. ARGV[a+5], 1, 200))\n"
    "          redis.call('DEL', sb)\n"
    "        end\n"
    "        esc_n = esc_n + s\n"
    "      end\n"
    "    elseif soft == '2' and sb ~= '-' then\n"
    "      redis.call('DEL', sb)\n"
    "    end\n"
    "    if count ~= '' then\n"
    "      if hl ~= '-' then redis.call('HINCRBY', hl, count, 1); redis.call('EXPIRE', hl, " HEALTH_TTL ") end\n"
    "      if dh ~= '-' then redis.call('HINCRBY', dh, count, 1); redis.call('EXPIRE', dh, " HEALTH_TTL ") end\n"
    "      if hl ~= '-' or dh ~= '-' then cnt_n = cnt_n + 1 end\n"
    "    end\n"
    "    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'time', now, 'node', ARGV[5],\n"
    "      'source', ARGV[6], 'type', ARGV[a+2], 'recipient', ARGV[a+1], 'class', ARGV[a+3],\n"
    "      'category', ARGV[a+4], 'status', ARGV[a+5], 'why', ARGV[a+15], 'queue_id', ARGV[a+7],\n"
    "      'ip', ARGV[a+8], 'provider', ARGV[a+9], 'sender_domain', ARGV[a+16], 'verified', ARGV[a+14],\n"
    "      'action', why_sup, 'diagnostic', ARGV[a+19], 'dsn_action', ARGV[a+20], 'command', ARGV[a+21])\n"
    "    st_n = st_n + 1\n"
    "    redis.call('HINCRBY', KEYS[3], ARGV[a+2] .. '|' .. ARGV[a+3] .. '|' .. ARGV[a+4] .. '|' ..\n"
    "      (ARGV[a+14] == '1' and 'verified' or 'unverified'), 1)\n"
    "    if ARGV[a+13] == '1' then\n"
    "      redis.call('XADD', KEYS[2], 'MAXLEN', '~', " ALERTS_MAXLEN ", '*', 'time', now, 'node', ARGV[5],\n"
    "        'source', ARGV[6], 'type', ARGV[a+2], 'recipient', ARGV[a+1], 'category', ARGV[a+4],\n"
    "        'status', ARGV[a+5], 'why', ARGV[a+15], 'ip', ARGV[a+8], 'provider', ARGV[a+9],\n"
    "        'sender_domain', ARGV[a+16], 'verified', ARGV[a+14], 'diagnostic', ARGV[a+19])\n"
    "      al_n = al_n + 1\n"
    "    end\n"
    "    redis.call('SET', seen, '1', 'EX', ARGV[1])\n"
    "  end\n"
    "end\n"
    "return {dup_n, sup_n, cnt_n, esc_n, al_n, st_n}\n";

static struct redis_script store_script = { "inbound_store", STORE_LUA, "" };

void inbound_digest(const char *data, size_t len, char out[INBOUND_DIGEST_HEX])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < mdlen && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
}

/* Growing argv with owned strings. */
struct argv_list {
    char **v;
    size_t n, cap;
};

static void push(struct argv_list *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = xstrdup(s ? s : "");
}

static void push_num(struct argv_list *l, long long v)
{
    char b[32];
    snprintf(b, sizeof(b), "%lld", v);
    push(l, b);
}

static void release(struct argv_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static void push_key(struct argv_list *l, int len, const char *key)
{
    push(l, len > 0 ? key : "-");
}

/* What makes a recipient line the same event when it comes again: the
 * returned message (its Message-ID, else its queue id) with the recipient,
 * action and status; without either, the report's own bytes. */
static void rcpt_digest(const struct inbound_report *r, const struct inbound_rcpt *rc, const char *report_digest,
                        char out[INBOUND_DIGEST_HEX])
{
    const char *id = r->original.message_id ? r->original.message_id : r->original.queue_id;
    char text[2400];
    snprintf(text, sizeof(text), "%s\n%s\n%s\n%s\n%s\n%s", inbound_kind_name(r->kind), id ? id : report_digest,
             rc->recipient ? rc->recipient : "", rc->action ? rc->action : "", rc->status ? rc->status : "",
             rc->feedback_type ? rc->feedback_type : "");
    inbound_digest(text, strlen(text), out);
}

static void rcpt_keys(const struct inbound_store_ctx *ctx, const struct inbound_report *r,
                      const struct inbound_rcpt *rc, const struct inbound_action *act,
                      const struct inbound_attr_result *a, const char *provider, long long hour,
                      const char *report_digest, struct argv_list *keys)
{
    char key[RKEY_MAX], digest[INBOUND_DIGEST_HEX];
    rcpt_digest(r, rc, report_digest, digest);
    rkey_seen(ctx->rkeys, key, digest);
    push(keys, key);
    const char *addr = rc->recipient;
    size_t alen = addr ? strlen(addr) : 0;
    int len =
        (act->suppress || act->soft == INBOUND_SOFT_COUNT) && addr ? rkey_suppression(ctx->rkeys, key, addr, alen) : -1;
    push_key(keys, len, key);
    len = act->soft != INBOUND_SOFT_NONE && addr ? rkey_soft_bounces(ctx->rkeys, key, addr, alen) : -1;
    push_key(keys, len, key);
    len = act->count && a->ip[0] && a->pool[0] ? rkey_health(ctx->rkeys, key, a->pool, a->ip, provider, hour) : -1;
    push_key(keys, len, key);
    len =
        act->count && a->sender_domain[0] ? rkey_domain_health(ctx->rkeys, key, a->sender_domain, provider, hour) : -1;
    push_key(keys, len, key);
}

static void rcpt_args(const struct inbound_conf *conf, const struct inbound_report *r, const struct inbound_rcpt *rc,
                      const struct inbound_action *act, const struct inbound_attr_result *a, const char *provider,
                      struct argv_list *args)
{
    char detail[200];
    const char *cat = rc->classified ? rc->verdict.category : "";
    const char *ft = rc->feedback_type ? rc->feedback_type : r->feedback_type;
    if (r->kind == INBOUND_COMPLAINT || r->kind == INBOUND_AUTHFAIL)
        snprintf(detail, sizeof(detail), "%s", ft ? ft : "abuse");
    else
        snprintf(detail, sizeof(detail), "%s %s", rc->status ? rc->status : "-", cat);
    push(args, rc->recipient);
    push(args, inbound_kind_name(r->kind));
    push(args, rc->classified ? reply_class_name(rc->verdict.cls) : "");
    push(args, r->kind == INBOUND_COMPLAINT ? (ft ? ft : "abuse") : cat);
    push(args, rc->status);
    push(args, detail);
    push(args, a->queue_id);
    push(args, a->ip);
    push(args, provider);
    push(args, act->suppress);
    push(args, act->count);
    push(args, act->soft == INBOUND_SOFT_COUNT ? "1" : act->soft == INBOUND_SOFT_RESET ? "2" : "0");
    push(args, act->alert ? "1" : "0");
    push(args, a->view.verified ? "1" : "0");
    push(args, rc->classified ? rc->verdict.why : act->why);
    push(args, a->sender_domain);
    const struct inbound_escalation *esc =
        act->soft == INBOUND_SOFT_COUNT ? inbound_escalation_find(&conf->soft_escalate, cat) : NULL;
    push_num(args, esc ? esc->count : 0);
    push_num(args, esc ? esc->span : 0);
    char diag[512];
    snprintf(diag, sizeof(diag), "%s", rc->diagnostic ? rc->diagnostic : "");
    push(args, diag);
    push(args, rc->action);
    push(args, rc->command);
}

int inbound_store_apply(const struct inbound_store_ctx *ctx, const struct inbound_report *r,
                        const struct inbound_attr_result *a, const char *digest, time_t now,
                        struct inbound_store_result *res)
{
    memset(res, 0, sizeof(*res));
    if (store_script.sha[0] == '\0')
        redis_script_init(&store_script);
    struct argv_list keys = { 0 }, args = { 0 };
    char key[RKEY_MAX];
    bool complaint = r->kind == INBOUND_COMPLAINT || r->kind == INBOUND_AUTHFAIL;
    rkey_inbound_stream(ctx->rkeys, key, complaint ? RKEY_STREAM_COMPLAINTS : RKEY_STREAM_BOUNCES);
    push(&keys, key);
    rkey_inbound_stream(ctx->rkeys, key, RKEY_STREAM_ALERTS);
    push(&keys, key);
    rkey_inbound_counters(ctx->rkeys, key, ctx->program);
    push(&keys, key);
    const struct inbound_conf *c = ctx->conf;
    push_num(&args, c->seen_ttl);
    push_num(&args, c->stream_maxlen);
    push_num(&args, (long long)now);
    push_num(&args, 0); /* n, set below */
    push(&args, ctx->node);
    push(&args, ctx->program);
    push_num(&args, c->soft_escalate_window);
    push_num(&args, c->soft_suppress_ttl);
    long long hour = (long long)now / 3600, n = 0;
    struct inbound_rcpt none;
    memset(&none, 0, sizeof(none));
    size_t nrcpts = r->nrcpts;
    bool recipientless = nrcpts == 0 && complaint; /* a redacted complaint still counts */
    for (size_t i = 0; i < (recipientless ? 1 : nrcpts); i++) {
        const struct inbound_rcpt *rc = recipientless ? &none : &r->rcpts[i];
        struct inbound_action act;
        inbound_decide(r, rc, a->view.verified, c->accept_unverified, c->suppress_unsubscribe, &act);
        if (r->kind == INBOUND_AUTOREPLY && act.soft == INBOUND_SOFT_NONE)
            continue;
        const char *provider = inbound_attr_provider(ctx->attr, a, rc->recipient);
        rcpt_keys(ctx, r, rc, &act, a, provider, hour, digest, &keys);
        rcpt_args(c, r, rc, &act, a, provider, &args);
        n++;
    }
    free(args.v[3]);
    char nb[32];
    snprintf(nb, sizeof(nb), "%lld", n);
    args.v[3] = xstrdup(nb);
    int rc = 0;
    redisReply *rep = redis_eval(ctx->redis, &store_script, (int)keys.n, (const char **)keys.v, NULL, (int)args.n,
                                 (const char **)args.v, NULL);
    if (rep == NULL) {
        log_msg(LOG_LVL_ERROR, "%s: Redis unavailable (%s): exit 75, the MTA retries", ctx->program,
                redis_last_error(ctx->redis));
        rc = -1;
    } else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 6) {
        long long dups = 0;
        long long *f[] = { &dups, &res->suppressed, &res->counted, &res->escalated, &res->alerts, &res->streamed };
        for (size_t i = 0; i < 6; i++)
            *f[i] = rep->element[i]->type == REDIS_REPLY_INTEGER ? rep->element[i]->integer : 0;
        res->duplicate = n > 0 && dups == n;
    } else {
        log_msg(LOG_LVL_ERROR, "%s: Redis script inbound_store: %s", ctx->program,
                rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
        rc = -1;
    }
    redis_reply_free(rep);
    release(&keys);
    release(&args);
    return rc;
}
