/*
 * NAME
 *   wctl_report_fx.c - the shaping effects shown by `warmupctl report`
 *   (see wctl_report.h).
 *
 * DESCRIPTION
 *   An effect is one HASH (fields action, kind, subject, provider, since,
 *   until, rule, reason, evidence, origin, ...):
 *       <prefix>fx:{<pool>}:<subject>:<provider>:<action>     on an IP or a netblock
 *       <prefix>fxd:{<domain>}:<kind>:<provider>:<action>     on a sender domain
 *   found with SCAN MATCH "<prefix>fx:{*}:*" and "<prefix>fxd:{*}:*" (the
 *   pool index <prefix>fx:{<pool>} has no ":" after its tag and is not
 *   matched).  The tag is the text between the first "{" and the next "}".
 *   An effect is active while until > now; a slow effect past its until
 *   still ramps back up and is kept as "ramping"; other expired ones (their
 *   TTL not yet run out) are left out.  Zero effects is the normal case.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wctl_report.h"
#include "xalloc.h"

struct fx_scan {
    struct wrep *rep;
    size_t cap;
    int domain;
};

static void tag_of(const char *key, char *out, size_t outsize)
{
    const char *open = strchr(key, '{'), *close = open != NULL ? strchr(open, '}') : NULL;
    char tmp[RKEY_MAX];
    size_t n;

    out[0] = '\0';
    if (close == NULL)
        return;
    n = (size_t)(close - open - 1);
    if (n >= sizeof tmp)
        n = sizeof tmp - 1;
    memcpy(tmp, open + 1, n);
    tmp[n] = '\0';
    wctl_report_copy(out, outsize, tmp);
}

static struct wrep_fx *fx_slot(struct fx_scan *s)
{
    struct wrep *rep = s->rep;

    if (rep->nfx == WREP_FX_MAX) {
        rep->fx_dropped++;
        return NULL;
    }
    if (rep->nfx == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        rep->fx = xrealloc(rep->fx, s->cap * sizeof *rep->fx);
    }
    return &rep->fx[rep->nfx];
}

static void fx_fill(struct wrep_fx *f, const redisReply *h)
{
    static const struct {
        const char *name;
        size_t off, size;
    } TEXT[] = {
#define T(m) { #m, offsetof(struct wrep_fx, m), sizeof(((struct wrep_fx *)0)->m) }
        T(action), T(kind), T(subject), T(provider), T(rule), T(origin), T(evidence), T(reason),
#undef T
    };

    for (size_t i = 0; i < sizeof TEXT / sizeof TEXT[0]; i++)
        wctl_report_copy((char *)f + TEXT[i].off, TEXT[i].size, wctl_hash_get(h, TEXT[i].name));
    f->since = wctl_hash_ll(h, "since", 0);
    f->until = wctl_hash_ll(h, "until", 0);
}

static int fx_add(struct wctl *w, const char *key, struct fx_scan *s)
{
    const char *argv[] = { "HGETALL", key };
    struct wrep_fx f;
    redisReply *h;

    if ((h = wctl_cmd(w, 2, argv, NULL)) == NULL)
        return -1;
    memset(&f, 0, sizeof f);
    f.domain = s->domain;
    tag_of(key, f.tag, sizeof f.tag);
    if (h->type == REDIS_REPLY_ARRAY && h->elements > 0)
        fx_fill(&f, h);
    redis_reply_free(h);
    if (f.action[0] == '\0')
        return 0; /* gone since SCAN, or not an effect */
    f.ramping = f.until <= w->now;
    if (f.ramping && strcmp(f.action, "slow") != 0)
        return 0;                            /* expired, its TTL not yet run out */
    for (size_t i = 0; i < s->rep->nfx; i++) /* SCAN may repeat a key */
        if (memcmp(&s->rep->fx[i], &f, sizeof f) == 0)
            return 0;
    struct wrep_fx *slot = fx_slot(s);
    if (slot != NULL) {
        *slot = f;
        s->rep->nfx++;
    }
    return 0;
}

static int fx_page(struct wctl *w, redisReply **keys, size_t nkeys, void *arg)
{
    for (size_t i = 0; i < nkeys; i++)
        if (fx_add(w, keys[i]->str, arg) < 0)
            return -1;
    return 0;
}

static int cmp_fx(const void *a, const void *b)
{
    const struct wrep_fx *x = a, *y = b;
    int c;

    if (x->domain != y->domain)
        return x->domain - y->domain;
    if ((c = strcmp(x->tag, y->tag)) != 0 || (c = strcmp(x->subject, y->subject)) != 0 ||
        (c = strcmp(x->provider, y->provider)) != 0)
        return c;
    return strcmp(x->action, y->action);
}

int wctl_report_fx_collect(struct wctl *w, struct wrep *rep)
{
    static const char *const FAMILY[] = { "fx", "fxd" };
    struct fx_scan s = { rep, 0, 0 };

    for (int d = 0; d < 2; d++) {
        char pat[RKEY_MAX];
        snprintf(pat, sizeof pat, "%s%s:{*}:*", w->keys.prefix, FAMILY[d]);
        s.domain = d;
        if (wctl_scan(w, pat, fx_page, &s) < 0)
            return -1;
    }
    if (rep->nfx > 1)
        qsort(rep->fx, rep->nfx, sizeof *rep->fx, cmp_fx);
    return 0;
}

/* 1 when address ip lies in net ("192.0.2.0/24", "2001:db8::/32"). */
static int in_netblock(const char *ip, const char *net)
{
    unsigned char a[16], n[16];
    char base[64];
    const char *slash = strchr(net, '/');
    char *end;
    long bits;
    int af = strchr(ip, ':') != NULL ? AF_INET6 : AF_INET;
    size_t len = af == AF_INET6 ? 16 : 4;

    if (slash == NULL || (size_t)(slash - net) >= sizeof base)
        return 0;
    memcpy(base, net, (size_t)(slash - net));
    base[slash - net] = '\0';
    bits = strtol(slash + 1, &end, 10);
    if (*end != '\0' || slash[1] == '\0' || bits < 0 || bits > (long)len * 8 || inet_pton(af, ip, a) != 1 ||
        inet_pton(af, base, n) != 1)
        return 0;
    for (long i = 0; i < bits; i++) {
        unsigned char m = (unsigned char)(0x80u >> (i % 8));
        if ((a[i / 8] & m) != (n[i / 8] & m))
            return 0;
    }
    return 1;
}

int wctl_report_fx_applies(const struct wrep_fx *f, const struct wip_row *r)
{
    if (f->domain || strcmp(f->tag, r->pool) != 0)
        return 0;
    if (strcmp(f->kind, "netblock") == 0)
        return in_netblock(r->ip, f->subject);
    return strcasecmp(f->subject, r->ip) == 0;
}
