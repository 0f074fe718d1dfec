/*
 * NAME
 *   policy_plan.c - request -> script call (see policy_plan.h); the reply ->
 *   action half is policy_answer.c.
 *
 * DESCRIPTION
 *   Stage rules:
 *   RCPT            suppression (address, then @domain), rate rules with
 *                   stage rcpt.  messages/bytes count once per message (the
 *                   first RCPT of an instance), recipients once per RCPT.
 *   END-OF-MESSAGE  rate rules with stage end_of_message (recipient_count
 *                   and size are final there), then warm-up: the pool of the
 *                   sender domain, every IP with its budget for now, one
 *                   health key per provider of the message, and the
 *                   attribution record when a queue id is known.
 *   Other states get DUNNO without asking Redis.
 */
#include "policy_plan.h"

#include "shaping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warmup_decide.h"
#include "xalloc.h"

#define MAX_PROVS PROVIDER_MAX

static void add_arg(struct plan *p, const char *s)
{
    argvec_add_str(&p->mem.av, s);
}

static void add_argll(struct plan *p, long long v)
{
    argvec_add_ll(&p->mem.av, v);
}

static void add_key(struct plan *p, const char *key, int len)
{
    argvec_add(&p->mem.kv, key, (size_t)len);
}

void policy_plan_free(struct plan *p)
{
    struct plan_memory *m = &p->mem;
    argvec_free(&m->kv);
    argvec_free(&m->hv);
    argvec_free(&m->av);
    free(m->argp);
    free(m->argl);
    memset(m, 0, sizeof *m);
    p->keys = p->args = NULL;
    p->keylens = p->arglens = NULL;
    p->nkeys = p->nargs = 0;
}

/* Points keys/args at the arenas: KEYS, then the header arguments followed by the others. */
static void plan_seal(struct plan *p)
{
    struct plan_memory *m = &p->mem;
    size_t n = m->hv.n + m->av.n;
    char *const *h = argvec_seal(&m->hv), *const *a = argvec_seal(&m->av);
    if (n > m->argcap) {
        m->argp = xrealloc(m->argp, n * sizeof *m->argp);
        m->argl = xrealloc(m->argl, n * sizeof *m->argl);
        m->argcap = n;
    }
    if (m->hv.n > 0) { /* (an empty argvec has no arrays, and memcpy from NULL is undefined) */
        memcpy(m->argp, h, m->hv.n * sizeof *h);
        memcpy(m->argl, m->hv.len, m->hv.n * sizeof *m->argl);
    }
    if (m->av.n > 0) {
        memcpy(m->argp + m->hv.n, a, m->av.n * sizeof *a);
        memcpy(m->argl + m->hv.n, m->av.len, m->av.n * sizeof *m->argl);
    }
    p->keys = argvec_seal(&m->kv);
    p->keylens = m->kv.len;
    p->nkeys = m->kv.n;
    p->args = m->argp;
    p->arglens = m->argl;
    p->nargs = n;
}

void policy_plan_msg_reset(struct msg_state *ms)
{
    memset(ms, 0, sizeof *ms);
}

size_t policy_plan_ip_cache_base(const struct warmup_model *m, const struct wm_pool *pool)
{
    size_t base = 0;
    for (size_t i = 0; i < m->npools && &m->pools[i] != pool; i++)
        base += m->pools[i].nips;
    return base;
}

/* The domain of an address view (after the last '@'), empty when none. */
static struct mail_view domain_of(const struct mail_view *addr)
{
    struct mail_view d = { NULL, 0 };
    if (addr->ptr == NULL)
        return d;
    for (size_t i = addr->len; i > 0; i--)
        if (addr->ptr[i - 1] == '@') {
            d.ptr = addr->ptr + i;
            d.len = addr->len - i;
            return d;
        }
    return d;
}

static int view_nonempty(const struct mail_view *v)
{
    return v->ptr != NULL && v->len > 0;
}

static void track_instance(const struct policy_request *req, struct msg_state *ms)
{
    const struct mail_view *in = &req->attr[PA_INSTANCE];
    if (in->ptr != NULL && in->len > 0 && in->len < sizeof ms->instance && ms->instance_len == in->len &&
        memcmp(ms->instance, in->ptr, in->len) == 0)
        return;
    policy_plan_msg_reset(ms);
    if (in->ptr != NULL && in->len > 0 && in->len < sizeof ms->instance) {
        memcpy(ms->instance, in->ptr, in->len);
        ms->instance_len = in->len;
    }
}

/* The provider with the most recipients in the message state, or of `recipient`. */
static size_t main_provider(const struct plan_env *env, const struct msg_state *ms)
{
    size_t best = provider_count(env->model->providers) - 1;
    long long most = 0;
    for (size_t i = 0; i < provider_count(env->model->providers); i++)
        if (ms->provider_rcpts[i] > most) {
            most = ms->provider_rcpts[i];
            best = i;
        }
    return best;
}

struct msg_facts {
    int is_rcpt;
    struct mail_view sender, sender_domain, rcpt, rcpt_domain;
    size_t provider; /* RCPT: of the recipient; EOM: main provider */
    long long rcpts; /* EOM: recipients of the message */
    long long size;
    int first_rcpt; /* RCPT: first of its message */
    char provider_name[PROVIDER_NAME_MAX];
    /* EOM: the message's providers and their recipients (message_providers()) */
    size_t nprov;
    size_t pidx[MAX_PROVS];
    long long pcnt[MAX_PROVS];
};

/* Providers of the message with their recipient counts. */
static size_t message_providers(const struct plan_env *env, const struct msg_state *ms, const struct msg_facts *f,
                                size_t *idx, long long *cnt)
{
    size_t n = 0;
    for (size_t i = 0; i < provider_count(env->model->providers); i++)
        if (ms->provider_rcpts[i] > 0) {
            idx[n] = i;
            cnt[n++] = ms->provider_rcpts[i];
        }
    if (n == 0) { /* no RCPT seen (Exim, or policy only at end of data) */
        idx[0] = f->provider;
        cnt[0] = f->rcpts;
        n = 1;
    }
    return n;
}

static int rule_value(const struct wm_rule *r, const struct policy_request *req, const struct msg_facts *f,
                      const struct msg_state *ms, struct mail_view *out)
{
    switch (r->key) {
    case RK_SENDER: *out = f->sender; break;
    case RK_SENDER_DOMAIN: *out = f->sender_domain; break;
    case RK_SASL_USER: *out = req->attr[PA_SASL_USERNAME]; break;
    case RK_CLIENT_ADDRESS: *out = req->attr[PA_CLIENT_ADDRESS]; break;
    case RK_RECIPIENT_DOMAIN:
        *out = f->rcpt_domain;
        if (!f->is_rcpt && !view_nonempty(out) && ms->first_domain[0] != '\0') {
            out->ptr = ms->first_domain;
            out->len = strlen(ms->first_domain);
        }
        break;
    case RK_PROVIDER:
        out->ptr = f->provider_name;
        out->len = strlen(f->provider_name);
        break;
    default: return -1;
    }
    return view_nonempty(out) ? 0 : -1;
}

static long long rule_amount(const struct wm_rule *r, const struct msg_facts *f)
{
    if (f->is_rcpt) {
        switch (r->unit) {
        case RU_MESSAGES: return f->first_rcpt ? 1 : 0;
        case RU_RECIPIENTS: return 1;
        default: return f->first_rcpt ? f->size : 0;
        }
    }
    switch (r->unit) {
    case RU_MESSAGES: return 1;
    case RU_RECIPIENTS: return f->rcpts;
    default: return f->size;
    }
}

/* One bucket of rule i for value v: a key, limit, window and amount for the script. */
static void plan_bucket(const struct plan_env *env, struct plan *p, size_t i, const struct mail_view *v,
                        long long amount)
{
    const struct wm_rule *r = &env->model->rules[i];
    char key[RKEY_MAX];
    if (p->nrules >= sizeof p->rule_index / sizeof p->rule_index[0])
        return;
    int n = rkey_ratelimit(env->keys, key, r->name, v->ptr, v->len);
    if (n < 0)
        return; /* a value unfit for a key (spaces, control bytes): not counted */
    add_key(p, key, n);
    add_argll(p, r->limit);
    add_argll(p, r->window);
    add_argll(p, amount);
    p->rule_index[p->nrules++] = i;
    if (r->on_redis_down == ON_DOWN_CLOSED)
        p->any_closed = 1;
}

/*
 * A provider rule at END-OF-MESSAGE: one bucket per provider of the message,
 * each charged its own recipients (a message to 2 gmail and 1 microsoft
 * recipients adds 2 to gmail and 1 to microsoft, not 3 to the main one).
 */
static void plan_provider_buckets(const struct plan_env *env, const struct msg_facts *f, struct plan *p, size_t i)
{
    const struct wm_rule *r = &env->model->rules[i];
    for (size_t j = 0; j < f->nprov; j++) {
        const char *name = provider_name(env->model->providers, f->pidx[j]);
        struct mail_view v = { name, strlen(name) };
        plan_bucket(env, p, i, &v, r->unit == RU_RECIPIENTS ? f->pcnt[j] : rule_amount(r, f));
    }
}

static void plan_rules(const struct plan_env *env, const struct policy_request *req, const struct msg_facts *f,
                       const struct msg_state *ms, struct plan *p, int stage)
{
    for (size_t i = 0; i < env->model->nrules; i++) {
        const struct wm_rule *r = &env->model->rules[i];
        struct mail_view v;
        if (r->stage != stage)
            continue;
        if (r->key == RK_PROVIDER && !f->is_rcpt)
            plan_provider_buckets(env, f, p, i);
        else if (rule_value(r, req, f, ms, &v) == 0)
            plan_bucket(env, p, i, &v, rule_amount(r, f));
    }
}

static void plan_suppression(const struct plan_env *env, const struct msg_facts *f, struct plan *p, size_t *nsup)
{
    char key[RKEY_MAX], dom[RKEY_VALUE_MAX + 2];
    int n;
    if (!env->suppression_on || !view_nonempty(&f->rcpt))
        return;
    if ((n = rkey_suppression(env->keys, key, f->rcpt.ptr, f->rcpt.len)) > 0) {
        add_key(p, key, n);
        (*nsup)++;
    }
    if (env->suppression_domain && view_nonempty(&f->rcpt_domain) && f->rcpt_domain.len < sizeof dom - 1) {
        dom[0] = '@';
        memcpy(dom + 1, f->rcpt_domain.ptr, f->rcpt_domain.len);
        if ((n = rkey_suppression(env->keys, key, dom, f->rcpt_domain.len + 1)) > 0) {
            add_key(p, key, n);
            (*nsup)++;
        }
    }
    if (*nsup > 0 && env->suppression_down == ON_DOWN_CLOSED)
        p->any_closed = 1;
}

/*
 * KEYS and ARGV of one candidate IP: its state, today's counters and one
 * health key per provider of the message; its address, netblock, group (1 warming,
 * 2 warm), the stage the plan assumes (the script answers "stale" when Redis
 * has another) and its budget for now, in total and per provider share.
 */
static int plan_warmup_ip(const struct plan_env *env, const struct wm_pool *pool, const struct wm_ip *ip,
                          const struct ip_cache_entry *e, const size_t *pidx, size_t np, struct plan *p)
{
    const struct warmup_model *m = env->model;
    char key[RKEY_MAX];
    int n;
    long stage = e != NULL && e->known ? e->stage : 0; /* what the script must find */
    long eff = stage < 0 ? 0 : stage;
    long long cap = warmup_cap(ip->schedule, eff);
    int group = ip->schedule != NULL && (size_t)eff < ip->schedule->ncaps ? 1 : 2;
    if ((n = rkey_ip_state(env->keys, key, pool->name, ip->address)) < 0)
        return -1;
    add_key(p, key, n);
    if ((n = rkey_ip_day(env->keys, key, pool->name, ip->address, warmup_day(env->now))) < 0)
        return -1;
    add_key(p, key, n);
    for (size_t j = 0; j < np; j++) {
        n = rkey_health(env->keys, key, pool->name, ip->address, provider_name(m->providers, pidx[j]),
                        warmup_hour(env->now));
        if (n < 0)
            return -1;
        add_key(p, key, n);
    }
    char netblock[SHAPING_NETBLOCK_MAX];
    shaping_netblock(ip->address, strlen(ip->address), netblock, sizeof netblock);
    add_arg(p, ip->address);
    add_arg(p, netblock);
    add_argll(p, group);
    add_argll(p, stage);
    add_argll(p, warmup_budget(cap, env->now, m->smooth_hours, m->smooth_start_hour, m->smooth_burst_percent));
    for (size_t j = 0; j < np; j++) {
        long long share = warmup_share(ip->schedule, pidx[j], cap);
        add_argll(p, warmup_budget(share, env->now, m->smooth_hours, m->smooth_start_hour, m->smooth_burst_percent));
    }
    return 0;
}

static int plan_warmup(const struct plan_env *env, const struct policy_request *req, const struct msg_state *ms,
                       const struct msg_facts *f, const struct ip_cache *cache, struct plan *p)
{
    const struct warmup_model *m = env->model;
    const struct wm_pool *pool;
    char key[RKEY_MAX];
    const size_t *pidx = f->pidx;
    const long long *pcnt = f->pcnt;
    int n;

    if (!env->warmup_on || !view_nonempty(&f->sender_domain) ||
        (pool = warmup_model_pool_for(m, f->sender_domain.ptr, f->sender_domain.len)) == NULL || pool->nips == 0)
        return 0;
    if (env->warmup_down == ON_DOWN_CLOSED)
        p->any_closed = 1;
    p->pool = pool;
    size_t np = f->nprov;
    for (size_t j = 0; j < np; j++) {
        add_arg(p, provider_name(m->providers, pidx[j]));
        add_argll(p, pcnt[j]);
    }
    /* the shaping indexes: the pool's, and the sender domain's when it fits a key */
    char dom[RKEY_VALUE_MAX + 1] = "";
    if (f->sender_domain.len < sizeof dom) {
        memcpy(dom, f->sender_domain.ptr, f->sender_domain.len);
        dom[f->sender_domain.len] = '\0';
    }
    if ((n = rkey_shaping_index(env->keys, key, pool->name)) > 0) {
        add_key(p, key, n);
        p->nfx_keys++;
        if (dom[0] != '\0' && (n = rkey_shaping_domain_index(env->keys, key, dom)) > 0) {
            add_key(p, key, n);
            p->nfx_keys++;
        }
    }
    size_t base = policy_plan_ip_cache_base(m, pool);
    for (size_t i = 0; i < pool->nips; i++) {
        const struct ip_cache_entry *e = base + i < cache->count ? &cache->entries[base + i] : NULL;
        if (plan_warmup_ip(env, pool, &pool->ips[i], e, pidx, np, p) < 0)
            return -1;
    }
    /* the sender domain's health keys, one per provider of the message, for its
     * `sent` (bounce-proc and fbl-proc count its bounces and complaints there):
     * all of them or none (a domain unfit for a key) */
    if (dom[0] != '\0') {
        size_t ok = 0;
        for (size_t j = 0; j < np; j++)
            ok += rkey_domain_health(env->keys, key, dom, provider_name(m->providers, pidx[j]), warmup_hour(env->now)) >
                  0;
        for (size_t j = 0; ok == np && j < np; j++) {
            n = rkey_domain_health(env->keys, key, dom, provider_name(m->providers, pidx[j]), warmup_hour(env->now));
            add_key(p, key, n);
        }
        p->ndomain_keys = ok == np ? np : 0;
    }
    const struct mail_view *qid = &req->attr[PA_QUEUE_ID];
    if (view_nonempty(qid) && qid->len < sizeof p->qid &&
        (n = rkey_attribution(env->keys, key, qid->ptr, qid->len)) > 0) {
        add_key(p, key, n);
        memcpy(p->qid, qid->ptr, qid->len);
        p->qid[qid->len] = '\0';
    }
    return (int)np;
}

static void facts_fill(const struct plan_env *env, const struct policy_request *req, const struct msg_state *ms,
                       int is_rcpt, struct msg_facts *f)
{
    unsigned long long v = 0;
    memset(f, 0, sizeof *f);
    f->is_rcpt = is_rcpt;
    f->sender = req->attr[PA_SENDER];
    f->sender_domain = domain_of(&f->sender);
    f->rcpt = req->attr[PA_RECIPIENT];
    f->rcpt_domain = domain_of(&f->rcpt);
    /* RCPT: the recipient's provider.  END-OF-MESSAGE: the one most recipients seen at RCPT
     * have, else that of the recipient attribute (one-recipient messages, Exim), else "other". */
    if (!is_rcpt && ms->rcpts_seen > 0)
        f->provider = main_provider(env, ms);
    else
        f->provider = provider_lookup(env->model->providers, f->rcpt_domain.ptr, f->rcpt_domain.len);
    snprintf(f->provider_name, sizeof f->provider_name, "%s", provider_name(env->model->providers, f->provider));
    f->rcpts = 1;
    if (policy_view_ulong(&req->attr[PA_RECIPIENT_COUNT], 1000000, &v) == 0 && v > 0)
        f->rcpts = (long long)v;
    if (!is_rcpt && ms->rcpts_seen > f->rcpts)
        f->rcpts = ms->rcpts_seen;
    if (policy_view_ulong(&req->attr[PA_SIZE], 1ULL << 50, &v) == 0)
        f->size = (long long)v;
    f->first_rcpt = ms->rcpts_seen == 0;
    if (!is_rcpt)
        f->nprov = message_providers(env, ms, f, f->pidx, f->pcnt);
}

static void header_args(const struct plan_env *env, struct plan *p, const struct msg_facts *f, size_t nsup, int nprov,
                        int has_attr)
{
    struct argvec *h = &p->mem.hv;
    argvec_reset(h);
    argvec_add_ll(h, env->now);
    argvec_add_str(h, p->is_rcpt ? "rcpt" : "eom");
    argvec_add_ll(h, (long long)nsup);
    argvec_add_ll(h, (long long)p->nrules);
    if (p->is_rcpt) /* the RCPT script (policy_rcpt_lua) needs no more */
        return;
    argvec_add_ll(h, p->pool ? (long long)p->pool->nips : 0);
    argvec_add_ll(h, nprov);
    argvec_add_ll(h, warmup_day(env->now));
    argvec_add_ll(h, warmup_day(env->now - 86400));
    argvec_add_ll(h, has_attr ? env->attribution_ttl : 0LL);
    argvec_add_ll(h, f->rcpts);
    argvec_add_str(h, env->node);
    argvec_add_str(h, p->pool ? p->pool->name : "");
    argvec_add(h, f->sender_domain.ptr ? f->sender_domain.ptr : "", f->sender_domain.len);
    argvec_add_str(h, nprov > 1 ? "mixed" : f->provider_name);
    argvec_add(h, f->sender.ptr ? f->sender.ptr : "", f->sender.len);
    argvec_add_ll(h, warmup_hour(env->now));
    /* the recipient, when the message has exactly one (bulk mail): a redacted
     * complaint about it can still name it (the attribution record's rcpt) */
    if (f->rcpts == 1 && view_nonempty(&f->rcpt) && f->rcpt.len <= RKEY_VALUE_MAX)
        argvec_add(h, f->rcpt.ptr, f->rcpt.len);
    else
        argvec_add_str(h, "");
    argvec_add_ll(h, (long long)p->ndomain_keys);
    argvec_add_ll(h, (long long)p->nfx_keys);
}

int policy_plan_build(const struct plan_env *env, const struct policy_request *req, struct msg_state *ms,
                      const struct ip_cache *cache, struct plan *p)
{
    struct msg_facts f;
    size_t nsup = 0;
    int nprov = 0;
    const struct mail_view *st = &req->attr[PA_PROTOCOL_STATE];

    /* Start afresh but keep the memory of the last build. */
    struct plan_memory mem = p->mem;
    memset(p, 0, sizeof *p);
    p->mem = mem;
    argvec_reset(&p->mem.kv);
    argvec_reset(&p->mem.hv);
    argvec_reset(&p->mem.av);
    p->kind = PLAN_ANSWER;
    p->outcome = OUT_DUNNO;
    snprintf(p->action, sizeof p->action, "DUNNO");
    p->is_exim = policy_view_ieq(&req->attr[PA_MTA], "exim");
    p->is_rcpt = policy_view_ieq(st, "RCPT");
    if (!p->is_rcpt && !policy_view_ieq(st, "END-OF-MESSAGE"))
        return 0;
    track_instance(req, ms);
    facts_fill(env, req, ms, p->is_rcpt, &f);
    if (p->is_rcpt) {
        if (!view_nonempty(&f.rcpt))
            return -1;
        p->rcpt_provider = f.provider;
        if (f.rcpt_domain.len < sizeof p->rcpt_domain) {
            memcpy(p->rcpt_domain, f.rcpt_domain.ptr ? f.rcpt_domain.ptr : "", f.rcpt_domain.len);
            p->rcpt_domain[f.rcpt_domain.len] = '\0';
        }
        plan_suppression(env, &f, p, &nsup);
        plan_rules(env, req, &f, ms, p, RS_RCPT);
    } else {
        plan_rules(env, req, &f, ms, p, RS_EOM);
        nprov = plan_warmup(env, req, ms, &f, cache, p);
        if (nprov < 0)
            return -1;
    }
    if (p->mem.kv.n == 0)
        return 0;
    /* Header arguments go first: build them now that the counts are known. */
    header_args(env, p, &f, nsup, nprov, p->qid[0] != '\0' && p->pool != NULL);
    plan_seal(p);
    p->kind = PLAN_SCRIPT;
    return 0;
}

void policy_plan_commit_rcpt(const struct plan *p, struct msg_state *ms)
{
    if (!p->is_rcpt)
        return;
    ms->rcpts_seen++;
    if (p->rcpt_provider < PROVIDER_MAX)
        ms->provider_rcpts[p->rcpt_provider]++;
    if (ms->first_domain[0] == '\0')
        snprintf(ms->first_domain, sizeof ms->first_domain, "%s", p->rcpt_domain);
}
