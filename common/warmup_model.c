/*
 * NAME
 *   warmup_model.c - checks the policy configuration and builds the model.
 *
 * DESCRIPTION
 *   See warmup_model.h.  Names that end up in Redis keys (pool, rule, IP)
 *   are restricted to a conservative alphabet so that a key never needs
 *   quoting in redis-cli and never carries a hash-tag brace.
 */
#include "warmup_model.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static int token_ok(const char *s, const char *extra)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= WM_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || strchr(extra, c) != NULL))
            return 0;
    }
    return 1;
}

long warmup_parse_percent(const char *text)
{
    long whole = 0, frac = 0, scale = 10000; /* ppm per 1 percent */
    const char *p = text;
    int digits = 0;
    if (p == NULL)
        return -1;
    while (*p == ' ')
        p++;
    while (*p >= '0' && *p <= '9') {
        whole = whole * 10 + (*p++ - '0');
        if (whole > 100)
            return -1;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
            p++;
            digits++;
        }
    }
    while (*p == ' ')
        p++;
    if (*p == '%')
        p++;
    if (*p != '\0' || digits == 0)
        return -1;
    long ppm = whole * 10000 + frac;
    return ppm > 1000000 ? -1 : ppm;
}

int warmup_parse_caps(const char *text, long long *caps, size_t max)
{
    size_t n = 0;
    const char *p = text;
    if (p == NULL)
        return -1;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        char *end;
        if (*p < '0' || *p > '9')
            return -1;
        long long v = strtoll(p, &end, 10);
        if (*end == 'k' || *end == 'K') {
            if (v > 1000000000LL / 1000) /* checked before multiplying: no wrap-around */
                return -1;
            v *= 1000;
            end++;
        }
        if (v <= 0 || v > 1000000000LL || n >= max)
            return -1;
        if (*end != '\0' && *end != ',' && *end != ' ' && *end != '\t')
            return -1;
        caps[n++] = v;
        p = end;
    }
    return n == 0 ? -1 : (int)n;
}

static int build_schedule(const struct schedule_conf *sc, const struct provider_map *pm, struct wm_schedule *s,
                          char *err, size_t errlen)
{
    if (!token_ok(sc->name, "")) {
        snprintf(err, errlen, "schedule name \"%s\": use 1-64 of A-Z a-z 0-9 - _ .", sc->name ? sc->name : "");
        return -1;
    }
    snprintf(s->name, sizeof s->name, "%s", sc->name);
    int n = warmup_parse_caps(sc->caps, s->caps, WM_STAGES_MAX);
    if (n < 0) {
        snprintf(err, errlen, "schedule %s: caps \"%s\": want 1-%d positive numbers", sc->name,
                 sc->caps ? sc->caps : "", WM_STAGES_MAX);
        return -1;
    }
    s->ncaps = (size_t)n;
    for (size_t i = 0; i < PROVIDER_MAX; i++)
        s->share_ppm[i] = -1;
    if (sc->shares == NULL || sc->shares[0] == '\0')
        return 0;
    char *copy = xstrdup(sc->shares), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        char *eq = strchr(tok, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "schedule %s: share \"%s\": want provider=percent", sc->name, tok);
            rc = -1;
            break;
        }
        *eq = '\0';
        for (char *e = eq - 1; e >= tok && *e == ' '; e--)
            *e = '\0';
        int p = provider_find(pm, tok);
        long ppm = warmup_parse_percent(eq + 1);
        if (p < 0 || ppm < 0) {
            snprintf(err, errlen, "schedule %s: share \"%s=%s\": unknown provider or bad percent", sc->name, tok,
                     eq + 1);
            rc = -1;
            break;
        }
        s->share_ppm[p] = ppm;
    }
    free(copy);
    return rc;
}

static const struct wm_schedule *find_schedule(const struct warmup_model *m, const char *name)
{
    for (size_t i = 0; i < m->nschedules; i++)
        if (strcmp(m->schedules[i].name, name) == 0)
            return &m->schedules[i];
    return NULL;
}

static int ip_literal_ok(const char *s)
{
    unsigned char tmp[16];
    return s != NULL && (inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1);
}

static int build_ip(const struct warmup_model *m, const struct pool_conf *pc, const struct ip_conf *ic,
                    struct wm_ip *ip, char *err, size_t errlen)
{
    if (!ip_literal_ok(ic->address)) {
        snprintf(err, errlen, "pool %s: \"%s\" is not an IP address", pc->name, ic->address ? ic->address : "");
        return -1;
    }
    snprintf(ip->address, sizeof ip->address, "%s", ic->address);
    if (ic->transport != NULL && ic->transport[0] != '\0')
        snprintf(ip->transport, sizeof ip->transport, "%s", ic->transport);
    else
        snprintf(ip->transport, sizeof ip->transport, "smtp-%s", ic->address);
    if (!token_ok(ip->transport, ":")) {
        snprintf(err, errlen, "pool %s: transport \"%s\" has characters Postfix would not accept", pc->name,
                 ip->transport);
        return -1;
    }
    snprintf(ip->interface, sizeof ip->interface, "%s",
             ic->interface && ic->interface[0] ? ic->interface : ic->address);
    if (!token_ok(ip->interface, ":")) {
        snprintf(err, errlen, "pool %s: interface \"%s\" is invalid", pc->name, ip->interface);
        return -1;
    }
    ip->schedule = NULL;
    if (ic->schedule != NULL && ic->schedule[0] != '\0') {
        ip->schedule = find_schedule(m, ic->schedule);
        if (ip->schedule == NULL) {
            snprintf(err, errlen, "pool %s: IP %s: no schedule named \"%s\"", pc->name, ic->address, ic->schedule);
            return -1;
        }
    }
    return 0;
}

static int ip_seen(const struct warmup_model *m, const char *addr)
{
    for (size_t p = 0; p < m->npools; p++)
        for (size_t i = 0; i < m->pools[p].nips; i++)
            if (strcmp(m->pools[p].ips[i].address, addr) == 0)
                return 1;
    return 0;
}

static int domain_seen(const struct warmup_model *m, const char *d)
{
    return warmup_model_pool_for(m, d, strlen(d)) != NULL && warmup_model_pool_for(m, d, strlen(d)) != m->default_pool;
}

static int build_pool(struct warmup_model *m, const struct pool_conf *pc, char *err, size_t errlen)
{
    struct wm_pool *pool = &m->pools[m->npools];
    if (!token_ok(pc->name, "")) {
        snprintf(err, errlen, "pool name \"%s\": use 1-64 of A-Z a-z 0-9 - _ .", pc->name ? pc->name : "");
        return -1;
    }
    for (size_t i = 0; i < m->npools; i++)
        if (strcmp(m->pools[i].name, pc->name) == 0) {
            snprintf(err, errlen, "pool \"%s\" defined twice", pc->name);
            return -1;
        }
    memset(pool, 0, sizeof *pool);
    snprintf(pool->name, sizeof pool->name, "%s", pc->name);
    const struct ip_conf *ics = pc->ips.items;
    pool->ips = xcalloc(pc->ips.count ? pc->ips.count : 1, sizeof *pool->ips);
    pool->domains = xcalloc(pc->sender_domains.count ? pc->sender_domains.count : 1, sizeof(char *));
    m->npools++; /* from here on, warmup_model_free() releases the pool */
    for (size_t i = 0; i < pc->ips.count; i++) {
        if (build_ip(m, pc, &ics[i], &pool->ips[i], err, errlen) < 0)
            return -1;
        if (ip_seen(m, pool->ips[i].address)) {
            snprintf(err, errlen, "IP %s is listed twice", pool->ips[i].address);
            return -1;
        }
        pool->nips = i + 1;
    }
    for (size_t i = 0; i < pc->sender_domains.count; i++) {
        const char *d = pc->sender_domains.items[i];
        if (!token_ok(d, "") || domain_seen(m, d)) {
            snprintf(err, errlen, "pool %s: sender domain \"%s\" is invalid or served by two pools", pc->name, d);
            return -1;
        }
        pool->domains[i] = xstrdup(d);
        for (char *c = pool->domains[i]; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        pool->ndomains = i + 1;
    }
    pool->is_default = pc->is_default;
    if (pc->is_default) {
        if (m->default_pool != NULL) {
            snprintf(err, errlen, "pools %s and %s are both default", m->default_pool->name, pc->name);
            return -1;
        }
        m->default_pool = pool;
    }
    return 0;
}

static int build_rule(const struct rate_rule_conf *rc, struct wm_rule *r, char *err, size_t errlen)
{
    if (!token_ok(rc->name, "")) {
        snprintf(err, errlen, "rate rule name \"%s\": use 1-64 of A-Z a-z 0-9 - _ .", rc->name ? rc->name : "");
        return -1;
    }
    snprintf(r->name, sizeof r->name, "%s", rc->name);
    if (rc->window % 10 != 0) {
        /* The script keeps ten sub-windows of window/10 seconds: anything else would be rounded down. */
        snprintf(err, errlen, "rate rule %s: window %llds must be a multiple of 10 s (it is counted in tenths)",
                 rc->name, rc->window);
        return -1;
    }
    r->key = rc->key;
    r->unit = rc->count;
    r->stage = rc->stage;
    r->action = rc->action;
    r->on_redis_down = rc->on_redis_down;
    r->limit = rc->limit;
    r->window = rc->window;
    if (rc->text != NULL && rc->text[0] != '\0') {
        if (strpbrk(rc->text, "\r\n") != NULL) {
            snprintf(err, errlen, "rate rule %s: text must be one line", rc->name);
            return -1;
        }
        snprintf(r->text, sizeof r->text, "%s", rc->text);
    } else {
        snprintf(r->text, sizeof r->text, "%s rate limit \"%s\" reached (%lld %s per %llds), try again later",
                 r->action == ACT_REJECT ? "5.7.1" : "4.7.1", rc->name, rc->limit, rate_unit_names[rc->count],
                 rc->window);
    }
    return 0;
}

static int build_health(const struct health_conf *hc, struct wm_health *h, char *err, size_t errlen)
{
    h->hard_ppm = warmup_parse_percent(hc->hard_bounce_max);
    h->soft_ppm = warmup_parse_percent(hc->soft_bounce_max);
    h->complaint_ppm = warmup_parse_percent(hc->complaint_max);
    if (h->hard_ppm < 0 || h->soft_ppm < 0 || h->complaint_ppm < 0) {
        snprintf(err, errlen, "warmup.health: thresholds are percentages like \"1%%\" or \"0.1%%\"");
        return -1;
    }
    h->min_volume_percent = hc->min_volume_percent;
    h->step_back = hc->step_back_on_bounces;
    h->min_provider_sent = hc->min_provider_sent;
    return 0;
}

static int build_all(const struct policy_conf *c, struct warmup_model *m, char *err, size_t errlen)
{
    const struct warmup_conf *w = &c->warmup;
    m->providers = provider_map_new(c->providers.items, c->providers.count, err, errlen);
    if (m->providers == NULL)
        return -1;
    if (build_health(&w->health, &m->health, err, errlen) < 0)
        return -1;
    if (w->smoothing_start_hour + w->smoothing_hours > 24) {
        /* Caps are per UTC day: a line still rising at midnight never reaches the cap. */
        snprintf(err, errlen,
                 "warmup: smoothing_start_hour + smoothing_hours = %lld: the smoothing must end by "
                 "24:00 UTC, when the daily counters start again",
                 w->smoothing_start_hour + w->smoothing_hours);
        return -1;
    }
    m->smooth_hours = w->smoothing_hours;
    m->smooth_start_hour = w->smoothing_start_hour;
    m->smooth_burst_percent = w->smoothing_burst_percent;
    const struct schedule_conf *scs = w->schedules.items;
    m->schedules = xcalloc(w->schedules.count ? w->schedules.count : 1, sizeof *m->schedules);
    for (size_t i = 0; i < w->schedules.count; i++) {
        if (build_schedule(&scs[i], m->providers, &m->schedules[i], err, errlen) < 0)
            return -1;
        if (find_schedule(m, scs[i].name) != NULL) {
            snprintf(err, errlen, "schedule \"%s\" defined twice", scs[i].name);
            return -1;
        }
        m->nschedules = i + 1;
    }
    const struct pool_conf *pcs = w->pools.items;
    m->pools = xcalloc(w->pools.count ? w->pools.count : 1, sizeof *m->pools);
    for (size_t i = 0; i < w->pools.count; i++)
        if (build_pool(m, &pcs[i], err, errlen) < 0)
            return -1;
    const struct rate_rule_conf *rcs = c->rate_limits.items;
    m->rules = xcalloc(c->rate_limits.count ? c->rate_limits.count : 1, sizeof *m->rules);
    for (size_t i = 0; i < c->rate_limits.count; i++) {
        if (build_rule(&rcs[i], &m->rules[i], err, errlen) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->rules[j].name, m->rules[i].name) == 0) {
                snprintf(err, errlen, "rate rule \"%s\" defined twice", m->rules[i].name);
                return -1;
            }
        m->nrules = i + 1;
    }
    return 0;
}

int warmup_model_build(const struct policy_conf *conf, struct warmup_model *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (build_all(conf, m, err, errlen) < 0) {
        warmup_model_free(m);
        return -1;
    }
    return 0;
}

void warmup_model_free(struct warmup_model *m)
{
    for (size_t p = 0; p < m->npools; p++) {
        for (size_t d = 0; d < m->pools[p].ndomains; d++)
            free(m->pools[p].domains[d]);
        free(m->pools[p].domains);
        free(m->pools[p].ips);
    }
    free(m->pools);
    free(m->schedules);
    free(m->rules);
    provider_map_free(m->providers);
    memset(m, 0, sizeof *m);
}

const struct wm_pool *warmup_model_pool_for(const struct warmup_model *m, const char *domain, size_t len)
{
    for (size_t p = 0; p < m->npools; p++)
        for (size_t d = 0; d < m->pools[p].ndomains; d++) {
            const char *e = m->pools[p].domains[d];
            if (strlen(e) == len && strncasecmp(e, domain, len) == 0)
                return &m->pools[p];
        }
    return m->default_pool;
}
