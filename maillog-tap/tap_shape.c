/*
 * tap_shape.c - trigger windows and effect starts (see tap_shape.h).
 *
 * Windows are 12 buckets of window/12 seconds: the sum over the buckets
 * still inside the window.  That is exact to one bucket, bounded in memory,
 * and needs no per-event timestamps.
 */
#include "tap_shape.h"

#include "shaping.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tap_text.h"
#include "xalloc.h"

#define NBUCKETS      12
#define STATE_KEY_MAX (TAP_KEY_VALUE_MAX + 64)

struct window {
    long long start[NBUCKETS];
    long long n[NBUCKETS];
};

struct state {
    char key[STATE_KEY_MAX]; /* "rule|value|provider"; "" = free */
    struct window matches;
    struct window total;
    long long until; /* running effect (or alert dedup) end */
    int step;
};

struct tap_shape {
    const struct tap_rules *rules;
    struct state *slots; /* TAP_SHAPE_STATES, open addressing */
    size_t used;
    size_t untracked;
};

static long long width_of(long long window)
{
    long long w = window / NBUCKETS;
    return w > 0 ? w : 1;
}

static void window_add(struct window *w, long long window, long long now)
{
    long long b = now / width_of(window);
    int i = (int)(b % NBUCKETS);
    if (w->start[i] != b) {
        w->start[i] = b;
        w->n[i] = 0;
    }
    w->n[i]++;
}

static long long window_sum(const struct window *w, long long window, long long now)
{
    long long b = now / width_of(window), sum = 0;
    for (int i = 0; i < NBUCKETS; i++)
        if (w->start[i] <= b && w->start[i] > b - NBUCKETS)
            sum += w->n[i];
    return sum;
}

struct tap_shape *tap_shape_new(const struct tap_rules *rules)
{
    struct tap_shape *sh = xcalloc(1, sizeof(*sh));
    sh->rules = rules;
    sh->slots = xcalloc(TAP_SHAPE_STATES, sizeof(*sh->slots));
    return sh;
}

void tap_shape_free(struct tap_shape *sh)
{
    if (sh == NULL)
        return;
    free(sh->slots);
    free(sh);
}

size_t tap_shape_untracked(const struct tap_shape *sh)
{
    return sh->untracked;
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The state of key, created when absent; NULL when the table is full. */
static struct state *state_get(struct tap_shape *sh, const char *key)
{
    size_t i = (size_t)(fnv(key) % TAP_SHAPE_STATES);
    for (size_t probe = 0; probe < TAP_SHAPE_STATES; probe++, i = (i + 1) % TAP_SHAPE_STATES) {
        struct state *s = &sh->slots[i];
        if (s->key[0] == '\0') {
            if (sh->used >= TAP_SHAPE_STATES * 3 / 4) { /* keep probes short */
                sh->untracked++;
                return NULL;
            }
            snprintf(s->key, sizeof(s->key), "%s", key);
            sh->used++;
            return s;
        }
        if (strcmp(s->key, key) == 0)
            return s;
    }
    sh->untracked++;
    return NULL;
}

static void copy_view(struct tap_str v, char *out, size_t outsize)
{
    size_t n = v.n < outsize - 1 ? v.n : outsize - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v.p[i];
        out[i] = (c < 0x21 || c > 0x7e || c == '|') ? '_' : (char)c; /* keys stay one printable token */
    }
    out[n] = '\0';
}

static void ip_value(const struct tap_event *ev, char *out, size_t outsize)
{
    if (ev->source_ip.p != NULL && ev->source_ip.n > 0)
        copy_view(ev->source_ip, out, outsize);
    else if (ev->transport.p != NULL && ev->transport.n > 0)
        copy_view(ev->transport, out, outsize);
    else
        snprintf(out, outsize, "?");
}

static void netblock_value(const struct tap_event *ev, char *out, size_t outsize)
{
    if (ev->source_ip.p == NULL || shaping_netblock(ev->source_ip.p, ev->source_ip.n, out, outsize) < 0)
        ip_value(ev, out, outsize);
}

/* "... your DKIM domain news.example.org. To protect ..." -> news.example.org */
static void named_domain(const struct tap_event *ev, const char *phrase, char *out, size_t outsize)
{
    snprintf(out, outsize, "?");
    struct tap_str r = ev->reply;
    const char *p = r.p ? tap_find(r.p, r.n, phrase) : NULL;
    if (p == NULL)
        return;
    p += strlen(phrase);
    const char *end = r.p + r.n, *q = p;
    while (q < end && q - p < TAP_KEY_VALUE_MAX - 1 &&
           ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '.' || *q == '-'))
        q++;
    while (q > p && q[-1] == '.')
        q--;
    if (q - p < 3 || memchr(p, '.', (size_t)(q - p)) == NULL || (size_t)(q - p) >= outsize)
        return;
    for (size_t i = 0; i < (size_t)(q - p); i++)
        out[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
    out[q - p] = '\0';
}

static enum tap_key_kind resolve_key(enum tap_key_kind k, const struct tap_verdict *v)
{
    if (k != TAP_KEY_LIMITED)
        return k;
    const char *l = v ? v->reply.limited : NULL;
    if (l == NULL)
        return TAP_KEY_IP;
    if (strcmp(l, "netblock") == 0)
        return TAP_KEY_NETBLOCK;
    if (strcmp(l, "dkim_domain") == 0)
        return TAP_KEY_DKIM_DOMAIN;
    if (strcmp(l, "spf_domain") == 0)
        return TAP_KEY_SPF_DOMAIN;
    if (strcmp(l, "url_domain") == 0)
        return TAP_KEY_URL_DOMAIN;
    return TAP_KEY_IP;
}

void tap_shape_key_value(enum tap_key_kind kind, const struct tap_event *ev, char *out, size_t outsize)
{
    switch (kind) {
    case TAP_KEY_NETBLOCK: netblock_value(ev, out, outsize); break;
    case TAP_KEY_DKIM_DOMAIN: named_domain(ev, "dkim domain ", out, outsize); break;
    case TAP_KEY_SPF_DOMAIN: named_domain(ev, "spf domain ", out, outsize); break;
    case TAP_KEY_URL_DOMAIN: snprintf(out, outsize, "?"); break;
    default: ip_value(ev, out, outsize); break;
    }
}

static size_t rule_index(const struct tap_rules *rules, const struct tap_rule *r)
{
    for (size_t i = 0; i < tap_rules_count(rules); i++)
        if (tap_rules_at(rules, i) == r)
            return i;
    return (size_t)-1;
}

/* Rate rules count per transport x provider (see DESCRIPTION), others per their key. */
static struct state *rule_state(struct tap_shape *sh, size_t idx, const char *value, const char *provider)
{
    char key[STATE_KEY_MAX];
    snprintf(key, sizeof(key), "%zu|%s|%s", idx, value, provider);
    return state_get(sh, key);
}

static bool fire(const struct tap_rule *r, struct state *s, long long now, struct tap_shape_effect *eff)
{
    enum tap_effect_kind kind = eff->kind;
    switch (kind) {
    case TAP_EFFECT_SUSPEND:
    case TAP_EFFECT_HOLD:
        if (now < s->until)
            return false; /* the running effect stands */
        s->until = now + r->effect.duration;
        break;
    case TAP_EFFECT_SLOW:
        s->step = now < s->until ? s->step + 1 : 1;
        s->until = now + r->effect.clean;
        eff->step = s->step;
        eff->floor = r->effect.floor;
        eff->factor = 1.0;
        for (int i = 0; i < s->step && eff->factor > 1e-6; i++)
            eff->factor *= r->effect.factor;
        break;
    case TAP_EFFECT_ALERT: {
        if (now < s->until)
            return false;
        long long quiet = r->trigger.window > 3600 ? r->trigger.window : 3600;
        s->until = now + quiet;
        break;
    }
    }
    eff->start = now;
    eff->until = s->until;
    if (r->trigger.kind == TAP_TRIGGER_COUNT)
        memset(&s->matches, 0, sizeof(s->matches)); /* count afresh */
    return true;
}

bool tap_shape_observe(struct tap_shape *sh, const struct tap_event *ev, const struct tap_verdict *v,
                       const struct tap_rule *rule, long long now, struct tap_shape_effect *eff)
{
    const char *provider = v && v->provider ? v->provider : "other";
    char ipval[TAP_KEY_VALUE_MAX];
    ip_value(ev, ipval, sizeof(ipval));
    /* denominators of every rate rule of this provider */
    for (size_t i = 0; i < tap_rules_count(sh->rules); i++) {
        const struct tap_rule *r = tap_rules_at(sh->rules, i);
        if (r->trigger.kind != TAP_TRIGGER_RATE || !tap_rule_scoped(r, provider))
            continue;
        struct state *s = rule_state(sh, i, ipval, provider);
        if (s != NULL)
            window_add(&s->total, r->trigger.window, now);
    }
    if (rule == NULL)
        return false;
    size_t idx = rule_index(sh->rules, rule);
    if (idx == (size_t)-1)
        return false;
    memset(eff, 0, sizeof(*eff));
    eff->rule = rule;
    eff->provider = provider;
    eff->key = resolve_key(rule->key, v);
    tap_shape_key_value(eff->key, ev, eff->value, sizeof(eff->value));
    bool our_fault = v != NULL && v->reply.our_fault;
    eff->kind = tap_rules_effect_for(rule, our_fault);
    eff->demoted = eff->kind != rule->effect.kind;
    struct state *s = rule_state(sh, idx, rule->trigger.kind == TAP_TRIGGER_RATE ? ipval : eff->value, provider);
    if (s == NULL)
        return false;
    bool fired = false;
    switch (rule->trigger.kind) {
    case TAP_TRIGGER_IMMEDIATE:
        eff->count = 1;
        fired = true;
        break;
    case TAP_TRIGGER_COUNT:
        window_add(&s->matches, rule->trigger.window, now);
        eff->count = window_sum(&s->matches, rule->trigger.window, now);
        fired = eff->count >= rule->trigger.count;
        break;
    case TAP_TRIGGER_RATE:
        window_add(&s->matches, rule->trigger.window, now);
        eff->count = window_sum(&s->matches, rule->trigger.window, now);
        eff->total = window_sum(&s->total, rule->trigger.window, now);
        fired = eff->total >= rule->trigger.min_volume &&
                (double)eff->count * 100.0 >= rule->trigger.percent * (double)eff->total;
        break;
    }
    return fired && fire(rule, s, now, eff);
}
