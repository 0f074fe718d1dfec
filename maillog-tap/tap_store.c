/*
 * tap_store.c - effects and alerts into Redis (see tap_store.h).
 */
#include "tap_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "shaping.h"
#include "xalloc.h"

#define POOL_IPS_MAX  4096
#define REFRESH_EVERY 30      /* seconds between registry reads */
#define MISS_RETRY_MS 300     /* at least this long between reads caused by an unknown IP */
#define MISS_GRACE_MS 2000    /* an unknown IP is settled by a read this long after its first miss */
#define ALERTS_MAXLEN "10000" /* the same cap bounce-proc uses */

/* Base counters per effect: 2 hours x 32 pool IPs of one netblock (the base of a larger
 * netblock is read from its first 32 IPs). */
#define BASE_KEYS_MAX 64

/* Keys per counter call (each brings 3 arguments; redis_eval takes any number):
 * one atomic script per 256 IP x provider x hour rows; a row may need a key in
 * each of a few pools. */
#define COUNT_KEYS_MAX 256
#define COUNT_ROW_KEYS 4
#define HEALTH_TTL     "691200" /* 8 days, as policyd-warmup keeps pf:hl: */

/* KEYS health keys; ARGV per key: delivered, deferred, rejected. */
static const char counts_lua[] = "local names = {'delivered', 'deferred', 'rejected'}\n"
                                 "for i = 1, #KEYS do\n"
                                 "  for j = 1, 3 do\n"
                                 "    local n = tonumber(ARGV[(i - 1) * 3 + j])\n"
                                 "    if n > 0 then redis.call('HINCRBY', KEYS[i], names[j], n) end\n"
                                 "  end\n"
                                 "  redis.call('EXPIRE', KEYS[i], " HEALTH_TTL ")\n"
                                 "end\n"
                                 "return #KEYS\n";

/* KEYS attribution records (pf:q:); returns ip, sender_domain of each ("" when absent). */
static const char attr_lua[] = "local out = {}\n"
                               "for i = 1, #KEYS do\n"
                               "  local v = redis.call('HMGET', KEYS[i], 'ip', 'sender_domain')\n"
                               "  out[#out + 1] = v[1] or ''\n"
                               "  out[#out + 1] = v[2] or ''\n"
                               "end\n"
                               "return out\n";
#define ATTR_BATCH 256

struct pool_ip {
    char ip[64];
    char pool[64];
    char transport[64];
    char netblock[SHAPING_NETBLOCK_MAX];
};

#define QID_CACHE 4096

struct qid_ip {
    char qid[64];
    char ip[64];      /* "" : the record has none */
    char domain[256]; /* its sender_domain, "" none */
};

#define MISS_MAX 1024

/* An IP or label the registry did not have, and when it was first missed. */
struct miss {
    char subject[64];
    long long since; /* monotonic ms */
};

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct tap_store {
    struct miss *miss; /* MISS_MAX */
    size_t nmiss;
    struct qid_ip *qcache; /* QID_CACHE entries, by hash of the queue id */
    struct redis_conn *redis;
    struct rkeys keys;
    struct redis_script script;
    struct redis_script counts;
    struct redis_script attr;
    char node[128];
    struct pool_ip *ips;
    size_t nips;
    long long refreshed;              /* wall time of the last good read, 0 never */
    long long tried;                  /* wall time of the last attempt */
    long long refreshed_ms, tried_ms; /* the same on the monotonic clock, ms */
    struct tap_store_stats st;
};

struct tap_store *tap_store_new(const struct redis_conf *conf, const char *node, char *err, size_t errlen)
{
    struct tap_store *s = xcalloc(1, sizeof *s);
    if (rkeys_init(&s->keys, conf->key_prefix) != 0) {
        snprintf(err, errlen, "redis.key_prefix is invalid");
        free(s);
        return NULL;
    }
    s->redis = redis_new(conf);
    s->script = (struct redis_script){ "shaping_write", shaping_write_lua, "" };
    redis_script_init(&s->script);
    s->counts = (struct redis_script){ "maillog_tap_counts", counts_lua, "" };
    redis_script_init(&s->counts);
    s->attr = (struct redis_script){ "maillog_tap_attribution", attr_lua, "" };
    redis_script_init(&s->attr);
    snprintf(s->node, sizeof s->node, "%s", node ? node : "unknown");
    s->ips = xcalloc(POOL_IPS_MAX, sizeof *s->ips);
    s->qcache = xcalloc(QID_CACHE, sizeof *s->qcache);
    s->miss = xcalloc(MISS_MAX, sizeof *s->miss);
    return s;
}

void tap_store_free(struct tap_store *s)
{
    if (s == NULL)
        return;
    redis_free(s->redis);
    free(s->ips);
    free(s->qcache);
    free(s->miss);
    free(s);
}

const struct tap_store_stats *tap_store_stats(const struct tap_store *s)
{
    return &s->st;
}

static void copy_str(char *out, size_t outsize, const char *p, size_t n)
{
    if (n >= outsize)
        n = outsize - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* One pool's IPs into the table (HGETALL ip -> transport). */
static int read_pool(struct tap_store *s, const char *pool, size_t *n)
{
    char key[RKEY_MAX];
    if (rkey_pool(&s->keys, key, pool) < 0)
        return 0;
    redisReply *r = redis_command(s->redis, "HGETALL", key, (char *)NULL);
    if (r == NULL)
        return -1;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements && *n < POOL_IPS_MAX; i += 2) {
        const redisReply *a = r->element[i], *t = r->element[i + 1];
        if (a->type != REDIS_REPLY_STRING || t->type != REDIS_REPLY_STRING)
            continue;
        struct pool_ip *e = &s->ips[(*n)++];
        copy_str(e->ip, sizeof e->ip, a->str, a->len);
        copy_str(e->pool, sizeof e->pool, pool, strlen(pool));
        copy_str(e->transport, sizeof e->transport, t->str, t->len);
        shaping_netblock(e->ip, strlen(e->ip), e->netblock, sizeof e->netblock);
    }
    redis_reply_free(r);
    return 0;
}

static int refresh(struct tap_store *s, long long now)
{
    char key[RKEY_MAX];
    s->tried = now;
    s->tried_ms = mono_ms();
    rkey_pools(&s->keys, key);
    redisReply *r = redis_command(s->redis, "SMEMBERS", key, (char *)NULL);
    if (r == NULL)
        return -1;
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && rc == 0; i++) {
        char pool[64];
        if (r->element[i]->type != REDIS_REPLY_STRING)
            continue;
        copy_str(pool, sizeof pool, r->element[i]->str, r->element[i]->len);
        rc = read_pool(s, pool, &n);
    }
    redis_reply_free(r);
    if (rc < 0)
        return -1;
    s->nips = n;
    s->refreshed = now;
    s->refreshed_ms = s->tried_ms;
    return 0;
}

/* Does entry e carry fx's subject (an IP, a transport label, a netblock)? */
static bool entry_matches(const struct pool_ip *e, const struct tap_fx *fx, bool netblock)
{
    const char *subj = fx->subject;
    if (netblock && strchr(subj, '/') != NULL)
        return strcmp(e->netblock, subj) == 0;
    return strcasecmp(e->ip, subj) == 0 || strcmp(e->transport, subj) == 0 ||
           (fx->ip[0] != '\0' && strcasecmp(e->ip, fx->ip) == 0);
}

/*
 * Where one effect goes: its detail key, its index and field, and the
 * counters its slow-down base is read from (previous hour's, then the
 * current hour's).
 */
struct fx_target {
    char detail[RKEY_MAX], index[RKEY_MAX], field[SHAPING_FIELD_MAX];
    char base[BASE_KEYS_MAX][RKEY_MAX];
    size_t nbase;
};

static int write_key(struct tap_store *s, const struct fx_target *t, const struct tap_fx *fx, const char *subject,
                     long long now)
{
    char until[32], factor[32], floor_[32], step[32], since[32], clean[32], now_s[32], origin[192];
    snprintf(until, sizeof until, "%lld", fx->until);
    snprintf(now_s, sizeof now_s, "%lld", now);
    snprintf(factor, sizeof factor, "%.4f", fx->factor);
    snprintf(floor_, sizeof floor_, "%lld", fx->floor);
    snprintf(step, sizeof step, "%d", fx->step > 0 ? fx->step : 1);
    snprintf(since, sizeof since, "%lld", fx->start);
    snprintf(clean, sizeof clean, "%lld", fx->clean);
    snprintf(origin, sizeof origin, "maillog-tap@%s", s->node);
    const char *args[17] = { fx->action, until,        now_s,        factor, floor_,  step,
                             fx->rule,   fx->reason,   fx->evidence, since,  origin,  subject,
                             fx->kind,   fx->provider, fx->queue_id, clean,  t->field };
    const char *keys[2 + BASE_KEYS_MAX] = { t->detail, t->index };
    for (size_t i = 0; i < t->nbase; i++)
        keys[2 + i] = t->base[i];
    redisReply *r = redis_eval(s->redis, &s->script, (int)(2 + t->nbase), keys, NULL, 17, args, NULL);
    if (r == NULL) {
        s->st.failures++;
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        log_error("redis: writing effect %s failed: %s", t->detail, r->str);
        redis_reply_free(r);
        s->st.failures++;
        return -1;
    }
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
        s->st.written++;
        log_notice("effect %s %s %s x %s until %lld (rule %s, %s)", fx->action, fx->kind, subject, fx->provider,
                   fx->until, fx->rule, fx->evidence);
    } else {
        s->st.kept++;
    }
    redis_reply_free(r);
    return 0;
}

static int write_alert(struct tap_store *s, const struct tap_fx *fx, long long now)
{
    char key[RKEY_MAX], when[32];
    rkey_inbound_stream(&s->keys, key, RKEY_STREAM_ALERTS);
    snprintf(when, sizeof when, "%lld", now);
    const char *argv[] = { "XADD",
                           key,
                           "MAXLEN",
                           "~",
                           ALERTS_MAXLEN,
                           "*",
                           "time",
                           when,
                           "node",
                           s->node,
                           "source",
                           "maillog-tap",
                           "type",
                           "delivery",
                           "recipient",
                           fx->recipient,
                           "category",
                           fx->category,
                           "status",
                           fx->status,
                           "why",
                           fx->why,
                           "ip",
                           fx->ip[0] ? fx->ip : fx->transport,
                           "provider",
                           fx->provider,
                           "sender_domain",
                           "",
                           "verified",
                           "1",
                           "diagnostic",
                           fx->reason,
                           "queue_id",
                           fx->queue_id,
                           "rule",
                           fx->rule };
    redisReply *r = redis_command_argv(s->redis, (int)(sizeof argv / sizeof argv[0]), argv, NULL);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        if (r != NULL)
            log_error("redis: XADD %s failed: %s", key, r->str);
        redis_reply_free(r);
        s->st.failures++;
        return -1;
    }
    redis_reply_free(r);
    s->st.alerts++;
    log_warning("alert %s x %s (rule %s): %s", fx->ip[0] ? fx->ip : fx->transport, fx->provider, fx->rule, fx->why);
    return 0;
}

static int domain_target(const struct tap_store *s, const struct tap_fx *fx, const char *domain, long long now,
                         struct fx_target *t)
{
    long long hour = now / 3600;
    memset(t, 0, sizeof *t);
    t->nbase = 2;
    return rkey_shaping_domain(&s->keys, t->detail, domain, fx->kind, fx->provider, fx->action) < 0 ||
                   rkey_shaping_domain_index(&s->keys, t->index, domain) < 0 ||
                   shaping_index_field(t->field, sizeof t->field, fx->action, fx->kind, fx->provider) < 0 ||
                   rkey_domain_health(&s->keys, t->base[0], domain, fx->provider, hour - 1) < 0 ||
                   rkey_domain_health(&s->keys, t->base[1], domain, fx->provider, hour) < 0
               ? -1
               : 0;
}

/* The envelope sender's domain of the message that fired fx (pf:q:, field sender_domain) into out. */
static bool attributed_domain(struct tap_store *s, const struct tap_fx *fx, char *out, size_t outsize)
{
    char key[RKEY_MAX];
    if (fx->queue_id[0] == '\0' || rkey_attribution(&s->keys, key, fx->queue_id, strlen(fx->queue_id)) <= 0)
        return false;
    redisReply *r = redis_command(s->redis, "HGET", key, "sender_domain", (char *)NULL);
    bool ok = r != NULL && r->type == REDIS_REPLY_STRING && r->len > 0 && r->len < outsize;
    if (ok)
        copy_str(out, outsize, r->str, r->len);
    redis_reply_free(r);
    return ok;
}

/*
 * An effect on the domain the reply names (Gmail: "your DKIM domain d"), and,
 * when the message that fired it went out under another envelope sender's
 * domain (a bounce subdomain), on that one too: policyd-warmup sees only the
 * envelope sender, so that is the key it can honour.
 */
static int write_domain(struct tap_store *s, const struct tap_fx *fx, long long now)
{
    struct fx_target t;
    if (strcmp(fx->subject, "?") == 0 || domain_target(s, fx, fx->subject, now, &t) < 0) {
        log_info("effect %s %s x %s (rule %s): the reply names no domain, not stored", fx->action, fx->kind,
                 fx->provider, fx->rule);
        s->st.dropped++;
        return 0;
    }
    if (write_key(s, &t, fx, fx->subject, now) < 0)
        return -1;
    char envelope[256];
    if (attributed_domain(s, fx, envelope, sizeof envelope) && strcasecmp(envelope, fx->subject) != 0 &&
        domain_target(s, fx, envelope, now, &t) == 0)
        return write_key(s, &t, fx, envelope, now);
    return 0;
}

/*
 * subject (an IP or a transport label) matched no pool IP.  Returns 0 when
 * that is settled (the registry was read again after the first miss: the
 * IP is in no pool), 1 when the caller must wait: a policy daemon that just
 * started registers its pools on its first tick, so the registry is read
 * again (every MISS_RETRY_MS) until a read MISS_GRACE_MS after the first
 * miss still lacks it; only then is anything dropped.
 */
static int unknown_subject(struct tap_store *s, const char *subject, long long now)
{
    size_t i = 0;
    while (i < s->nmiss && strcmp(s->miss[i].subject, subject) != 0)
        i++;
    if (i == s->nmiss) {
        if (s->nmiss == MISS_MAX)
            s->nmiss = i = 0; /* forget them all: each is looked up once more */
        copy_str(s->miss[i].subject, sizeof s->miss[i].subject, subject, strlen(subject));
        s->miss[i].since = mono_ms();
        s->nmiss++;
    }
    if (s->refreshed_ms >= s->miss[i].since + MISS_GRACE_MS)
        return 0;
    if (mono_ms() - s->tried_ms >= MISS_RETRY_MS && refresh(s, now) < 0)
        s->st.failures++;
    return 1;
}

/*
 * The target of an effect on e's IP (or netblock) in e's pool; the base
 * counters are the health keys of every IP of that pool the subject covers.
 */
static int target_for(const struct tap_store *s, const struct pool_ip *e, const char *subject, bool netblock,
                      const struct tap_fx *fx, long long now, struct fx_target *t)
{
    long long hour = now / 3600;
    memset(t, 0, sizeof *t);
    if (rkey_shaping(&s->keys, t->detail, e->pool, subject, fx->provider, fx->action) < 0 ||
        rkey_shaping_index(&s->keys, t->index, e->pool) < 0 ||
        shaping_index_field(t->field, sizeof t->field, fx->action, subject, fx->provider) < 0)
        return -1;
    for (int h = 0; h < 2; h++) {
        size_t first = t->nbase;
        for (size_t i = 0; i < s->nips && t->nbase < BASE_KEYS_MAX; i++) {
            const struct pool_ip *o = &s->ips[i];
            if (strcmp(o->pool, e->pool) != 0 || strcmp(netblock ? o->netblock : o->ip, subject) != 0 ||
                t->nbase - first >= BASE_KEYS_MAX / 2)
                continue;
            if (rkey_health(&s->keys, t->base[t->nbase], o->pool, o->ip, fx->provider, hour - 1 + h) > 0)
                t->nbase++;
        }
    }
    if (t->nbase % 2 != 0)
        t->nbase = 0;
    return 0;
}

/* An effect on an IP or its netblock: one key per pool the IP is in. */
static int write_ip(struct tap_store *s, const struct tap_fx *fx, long long now)
{
    bool netblock = strcmp(fx->kind, "netblock") == 0;
    {
        if ((s->refreshed == 0 || now - s->refreshed >= REFRESH_EVERY) && refresh(s, now) < 0) {
            s->st.failures++;
            return -1;
        }
        size_t found = 0;
        for (size_t i = 0; i < s->nips; i++) {
            const struct pool_ip *e = &s->ips[i];
            if (!entry_matches(e, fx, netblock))
                continue;
            const char *subject = netblock ? e->netblock : e->ip;
            bool dup = false; /* one key per pool x subject: a netblock has several IPs */
            for (size_t j = 0; j < i && !dup; j++)
                dup = entry_matches(&s->ips[j], fx, netblock) && strcmp(s->ips[j].pool, e->pool) == 0 &&
                      strcmp(netblock ? s->ips[j].netblock : s->ips[j].ip, subject) == 0;
            struct fx_target t;
            if (dup || subject[0] == '\0' || target_for(s, e, subject, netblock, fx, now, &t) < 0)
                continue;
            if (write_key(s, &t, fx, subject, now) < 0)
                return -1;
            found++;
        }
        if (found > 0)
            return 0;
    }
    if (unknown_subject(s, fx->ip[0] ? fx->ip : fx->subject, now) > 0)
        return 1;
    log_warning("effect %s %s %s x %s (rule %s): the IP is in no warm-up pool (pf:pools), not stored", fx->action,
                fx->kind, fx->subject, fx->provider, fx->rule);
    s->st.dropped++;
    return 0;
}

int tap_store_drain(struct tap_store *s, struct tap_fxq *q, long long now)
{
    const struct tap_fx *fx;
    while ((fx = tap_fxq_peek(q)) != NULL) {
        int rc;
        if (strcmp(fx->action, "alert") == 0)
            rc = write_alert(s, fx, now);
        else if (fx->until <= now) {
            s->st.dropped++; /* over before Redis came back */
            rc = 0;
        } else if (strcmp(fx->kind, "ip") == 0 || strcmp(fx->kind, "netblock") == 0)
            rc = write_ip(s, fx, now);
        else
            rc = write_domain(s, fx, now);
        if (rc != 0)
            return rc < 0 ? -1 : 1;
        tap_fxq_pop(q);
    }
    return 0;
}

/* ---- outcome counters ----------------------------------------------------- */

struct count_call {
    char keys[COUNT_KEYS_MAX][RKEY_MAX];
    char args[COUNT_KEYS_MAX * 3][24];
    size_t n;
};

static int refresh_if_old(struct tap_store *s, long long now)
{
    if (s->refreshed != 0 && now - s->refreshed < REFRESH_EVERY)
        return 0;
    return refresh(s, now);
}

/* The pool IPs a row belongs to into call (as many as fit); returns how many. */
static size_t row_keys(const struct tap_store *s, const struct tap_count_row *row, struct count_call *call)
{
    size_t added = 0;
    if (row->domain[0] != '\0') { /* a sender-domain row: its pf:dh: key, no registry */
        if (rkey_domain_health(&s->keys, call->keys[call->n], row->domain, row->provider, row->hour) <= 0)
            return 0;
        for (int f = 0; f < TAP_COUNT_FIELDS; f++)
            snprintf(call->args[call->n * 3 + f], sizeof call->args[0], "%lld", row->n[f]);
        call->n++;
        return 1;
    }
    for (size_t i = 0; i < s->nips && call->n < COUNT_KEYS_MAX; i++) {
        const struct pool_ip *e = &s->ips[i];
        bool same = row->ip[0] != '\0' ? strcasecmp(e->ip, row->ip) == 0 : strcmp(e->transport, row->transport) == 0;
        if (!same || rkey_health(&s->keys, call->keys[call->n], e->pool, e->ip, row->provider, row->hour) <= 0)
            continue;
        for (int f = 0; f < TAP_COUNT_FIELDS; f++)
            snprintf(call->args[call->n * 3 + f], sizeof call->args[0], "%lld", row->n[f]);
        call->n++;
        added++;
    }
    return added;
}

static int send_counts(struct tap_store *s, const struct count_call *call)
{
    const char *keys[COUNT_KEYS_MAX], *args[COUNT_KEYS_MAX * 3];
    for (size_t i = 0; i < call->n; i++) {
        keys[i] = call->keys[i];
        for (int f = 0; f < 3; f++)
            args[i * 3 + f] = call->args[i * 3 + f];
    }
    redisReply *r = redis_eval(s->redis, &s->counts, (int)call->n, keys, NULL, (int)call->n * 3, args, NULL);
    int rc = r != NULL && r->type == REDIS_REPLY_INTEGER ? 0 : -1;
    if (r != NULL && r->type == REDIS_REPLY_ERROR)
        log_error("redis: adding delivery counters failed: %s", r->str);
    redis_reply_free(r);
    if (rc < 0)
        s->st.failures++;
    return rc;
}

static int resolve_qids(struct tap_store *s, struct tap_counts *c);

int tap_store_counts(struct tap_store *s, struct tap_counts *c, long long now)
{
    if (c->n == 0)
        return 0;
    if (refresh_if_old(s, now) < 0 || resolve_qids(s, c) < 0) {
        s->st.failures++;
        return -1;
    }
    static struct count_call call;
    size_t done = 0;
    while (done < c->n) {
        call.n = 0;
        size_t upto = done;
        long long outcomes = 0;
        bool waiting = false;
        for (; upto < c->n && call.n + COUNT_ROW_KEYS <= COUNT_KEYS_MAX; upto++) {
            const struct tap_count_row *row = &c->rows[upto];
            long long total = row->n[0] + row->n[1] + row->n[2];
            if (row->qid[0] != '\0')
                continue; /* its message names no sender domain */
            if (row_keys(s, row, &call) > 0)
                outcomes += row->domain[0] ? 0 : total;
            else if (row->domain[0] != '\0')
                continue; /* a domain unfit for a key: not counted */
            else if (unknown_subject(s, row->ip[0] ? row->ip : row->transport, now) == 0)
                s->st.unpooled += total;
            else {
                waiting = true; /* wait for the registry (unknown_subject) */
                break;
            }
        }
        if (call.n > 0 && send_counts(s, &call) < 0) {
            tap_counts_drop_first(c, done); /* the rows written are gone; the rest waits */
            return -1;
        }
        s->st.counted += outcomes;
        done = upto;
        if (waiting) {
            tap_counts_drop_first(c, done);
            return 1;
        }
    }
    tap_counts_clear(c);
    return 0;
}

/* ---- attribution ----------------------------------------------------------- */

static struct qid_ip *qcache_slot(struct tap_store *s, const char *qid, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)qid[i]) * 16777619u;
    return &s->qcache[h % QID_CACHE];
}

static bool qcache_holds(const struct qid_ip *e, const char *qid, size_t n)
{
    return strlen(e->qid) == n && memcmp(e->qid, qid, n) == 0;
}

/* Fills a cache slot from the record's two fields (replies of HMGET or of attr_lua). */
static void qcache_fill(struct qid_ip *e, const char *qid, size_t n, const redisReply *ip, const redisReply *dom)
{
    memcpy(e->qid, qid, n);
    e->qid[n] = '\0';
    e->ip[0] = e->domain[0] = '\0';
    if (ip->type == REDIS_REPLY_STRING)
        copy_str(e->ip, sizeof e->ip, ip->str, ip->len);
    if (dom->type == REDIS_REPLY_STRING)
        copy_str(e->domain, sizeof e->domain, dom->str, dom->len);
}

/* The cached attribution record of queue id qid[0..n), read when not cached; NULL: Redis down or no key. */
static const struct qid_ip *attribution(struct tap_store *s, const char *qid, size_t n)
{
    char key[RKEY_MAX];
    if (n == 0 || n >= sizeof s->qcache[0].qid || rkey_attribution(&s->keys, key, qid, n) <= 0)
        return NULL;
    struct qid_ip *e = qcache_slot(s, qid, n);
    if (!qcache_holds(e, qid, n)) {
        redisReply *r = redis_command(s->redis, "HMGET", key, "ip", "sender_domain", (char *)NULL);
        if (r == NULL)
            return NULL; /* Redis down: unknown, not cached */
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2)
            qcache_fill(e, qid, n, r->element[0], r->element[1]);
        redis_reply_free(r);
        if (!qcache_holds(e, qid, n))
            return NULL;
    }
    return e;
}

/* A row waiting for its message's domain gets it (domain set, qid cleared), or none (it stays a qid row:
 * not counted). */
static void row_resolved(struct tap_count_row *r, const char *domain)
{
    if (domain[0] == '\0') {
        memset(r->n, 0, sizeof r->n);
        return;
    }
    copy_str(r->domain, sizeof r->domain, domain, strlen(domain));
    r->qid[0] = '\0';
}

static int resolve_batch(struct tap_store *s, struct tap_counts *c, const char **kv, const size_t *rows, size_t n)
{
    redisReply *r = redis_eval(s->redis, &s->attr, (int)n, kv, NULL, 0, NULL, NULL);
    bool ok = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 * n;
    for (size_t j = 0; ok && j < n; j++) {
        struct tap_count_row *row = &c->rows[rows[j]];
        size_t qn = strlen(row->qid);
        struct qid_ip *e = qcache_slot(s, row->qid, qn);
        qcache_fill(e, row->qid, qn, r->element[2 * j], r->element[2 * j + 1]);
        row_resolved(row, e->domain);
    }
    if (!ok) {
        if (r != NULL && r->type == REDIS_REPLY_ERROR)
            log_error("redis: reading attribution records failed: %s", r->str);
        s->st.failures++;
    }
    redis_reply_free(r);
    return ok ? 0 : -1;
}

/*
 * The sender-domain rows still keyed by queue id become domain rows: from the
 * cache, else from one script call per ATTR_BATCH records (not one round trip
 * per message on the read path).  -1 when Redis failed (those rows wait).
 */
static int resolve_qids(struct tap_store *s, struct tap_counts *c)
{
    static char keys[ATTR_BATCH][RKEY_MAX];
    const char *kv[ATTR_BATCH];
    size_t rows[ATTR_BATCH], n = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct tap_count_row *row = &c->rows[i];
        size_t qn = strlen(row->qid);
        if (qn == 0 || row->domain[0] != '\0')
            continue;
        const struct qid_ip *e = qcache_slot(s, row->qid, qn);
        if (qcache_holds(e, row->qid, qn)) {
            row_resolved(row, e->domain);
            continue;
        }
        if (rkey_attribution(&s->keys, keys[n], row->qid, qn) <= 0) {
            row_resolved(row, "");
            continue;
        }
        kv[n] = keys[n];
        rows[n++] = i;
        if (n == ATTR_BATCH) {
            if (resolve_batch(s, c, kv, rows, n) < 0)
                return -1;
            n = 0;
        }
    }
    return n > 0 ? resolve_batch(s, c, kv, rows, n) : 0;
}

bool tap_store_attributed_ip(struct tap_store *s, const char *qid, size_t n, char *ip, size_t ipsize)
{
    const struct qid_ip *e = attribution(s, qid, n);
    if (e == NULL || e->ip[0] == '\0' || strlen(e->ip) >= ipsize)
        return false;
    memcpy(ip, e->ip, strlen(e->ip) + 1);
    s->st.attributed++;
    return true;
}
