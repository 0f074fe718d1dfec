/*
 * NAME
 *   wctl_report_data.c - what `warmupctl report` reads from Redis (see
 *   wctl_report.h): the status rows, the volume of the last days, the
 *   stage of each day, the latest events and the bounce categories.
 *
 * DESCRIPTION
 *   Round trips: those of `status` (wctl_ipdata_collect), WREP_DAYS HMGETs
 *   per IP, one XREVRANGE of pf:events, one of pf:bounces, then the
 *   effects (wctl_report_fx.c).  The streams are read newest first and
 *   bounded (WREP_EVENTS_READ, WREP_BOUNCES_READ).
 *
 *   The stage of a past day is the "to" stage of the last event of the IP
 *   before that day ended, else the "from" stage of the oldest kept event
 *   after it, else today's stage; its cap comes from the policy config
 *   through wctl_plan_cap(), the daemon's own arithmetic.
 */
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "warmup_decide.h"
#include "warmup_model.h"
#include "wctl_report.h"
#include "xalloc.h"

#define DAY_SECONDS 86400LL
#define STAGE_MAX   1000000LL /* a larger "stage" is garbage, not history */

void wctl_report_copy(char *out, size_t outsize, const char *s)
{
    size_t n;

    if (outsize == 0)
        return;
    if (s == NULL)
        s = "";
    n = strnlen(s, outsize - 1);
    if (s[n] != '\0') /* cut: back off to a sequence start */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* ---- volume by day -------------------------------------------------------- */

static int read_days(struct wctl *w, const struct wip_row *r, struct wrep_ip *ip)
{
    for (int k = 0; k < WREP_DAYS; k++) {
        struct wrep_day *d = &ip->days[WREP_DAYS - 1 - k];
        char key[RKEY_MAX];
        const char *argv[] = { "HMGET", key, "all", "msgs" };
        redisReply *h;

        d->day = warmup_day(w->now - k * DAY_SECONDS);
        d->stage = -1;
        d->cap = WIP_CAP_UNKNOWN;
        if (rkey_ip_day(&w->keys, key, r->pool, r->ip, d->day) < 0)
            continue;
        if ((h = wctl_cmd(w, 4, argv, NULL)) == NULL)
            return -1;
        if (h->type == REDIS_REPLY_ARRAY && h->elements == 2) {
            d->has_data = h->element[0]->type == REDIS_REPLY_STRING || h->element[1]->type == REDIS_REPLY_STRING;
            if (h->element[0]->type == REDIS_REPLY_STRING)
                d->used = strtoll(h->element[0]->str, NULL, 10);
            if (h->element[1]->type == REDIS_REPLY_STRING)
                d->msgs = strtoll(h->element[1]->str, NULL, 10);
        }
        redis_reply_free(h);
    }
    return 0;
}

/* A stage field ("3"), or -1 when it is not a plain number. */
static long long stage_of(const char *s)
{
    char *end;
    long long v;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    v = strtoll(s, &end, 10);
    return *end == '\0' && v <= STAGE_MAX ? v : -1;
}

static long long stage_at(const struct wip_row *r, const struct wrep_ip *ip, long long end)
{
    for (size_t i = 0; i < ip->nev; i++) /* newest first */
        if (ip->ev[i].time < end && stage_of(ip->ev[i].to) >= 0)
            return stage_of(ip->ev[i].to);
    for (size_t i = ip->nev; i-- > 0;) /* all kept events are later: the oldest's "from" */
        if (stage_of(ip->ev[i].from) >= 0)
            return stage_of(ip->ev[i].from);
    return r->has_state ? r->stage : (r->configured ? 0 : -1);
}

static void day_caps(const struct wctl *w, const struct wip_row *r, struct wrep_ip *ip)
{
    long long today_start = w->now - w->now % DAY_SECONDS;

    for (int k = 0; k < WREP_DAYS; k++) {
        struct wrep_day *d = &ip->days[WREP_DAYS - 1 - k];
        struct wip_row probe = *r; /* shallow: wctl_plan_cap reads pool/ip, sets cap */

        d->stage = k == 0 && r->has_state ? r->stage : stage_at(r, ip, today_start - (k - 1) * DAY_SECONDS);
        if (d->stage < 0)
            continue;
        probe.stage = d->stage;
        wctl_plan_cap(w, &probe);
        d->cap = probe.cap;
    }
}

/* ---- events --------------------------------------------------------------- */

static const char *field(const redisReply *f, const char *name)
{
    const char *v = wctl_hash_get(f, name);
    return v != NULL ? v : "";
}

static void event_add(struct wrep *rep, const redisReply *f)
{
    const char *pool = field(f, "pool"), *ip = field(f, "ip");

    for (size_t i = 0; i < rep->ips.n; i++) {
        struct wrep_ip *x = &rep->ip[i];
        struct wrep_event *e;
        if (x->nev == WREP_IP_EVENTS || strcmp(rep->ips.rows[i].pool, pool) != 0 ||
            strcmp(rep->ips.rows[i].ip, ip) != 0)
            continue;
        e = &x->ev[x->nev++];
        e->time = wctl_hash_ll(f, "time", 0);
        wctl_report_copy(e->event, sizeof e->event, field(f, "event"));
        wctl_report_copy(e->from, sizeof e->from, field(f, "from"));
        wctl_report_copy(e->to, sizeof e->to, field(f, "to"));
        wctl_report_copy(e->node, sizeof e->node, field(f, "node"));
        wctl_report_copy(e->reason, sizeof e->reason, field(f, "reason"));
    }
}

/* Calls fn for the fields of each of the newest `count` entries of a stream. */
static int read_stream(struct wctl *w, const char *key, long count,
                       void (*fn)(struct wrep *rep, const redisReply *fields), struct wrep *rep)
{
    char n[32];
    const char *argv[] = { "XREVRANGE", key, "+", "-", "COUNT", n };
    redisReply *r;

    snprintf(n, sizeof n, "%ld", count);
    if ((r = wctl_cmd(w, 6, argv, NULL)) == NULL)
        return -1;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 && e->element[1]->type == REDIS_REPLY_ARRAY)
            fn(rep, e->element[1]);
    }
    redis_reply_free(r);
    return 0;
}

/* ---- bounce categories ------------------------------------------------------ */

static void cat_count(struct wrep_ip *x, const char *name)
{
    x->bounces++;
    for (size_t c = 0; c < x->ncats; c++)
        if (strcmp(x->cats[c].name, name) == 0) {
            x->cats[c].n++;
            return;
        }
    if (x->ncats == WREP_CATS) {
        x->cats_other++;
        return;
    }
    wctl_report_copy(x->cats[x->ncats].name, sizeof x->cats[x->ncats].name, name);
    x->cats[x->ncats++].n = 1;
}

static void bounce_add(struct wrep *rep, const redisReply *f)
{
    const char *cat = field(f, "category"), *ip = field(f, "ip");
    int found = 0;

    if (strcmp(field(f, "type"), "bounce") != 0 || wctl_hash_ll(f, "time", 0) < rep->now - WREP_DAYS * DAY_SECONDS)
        return;
    rep->bounces_read++;
    for (size_t i = 0; i < rep->ips.n; i++)
        if (ip[0] != '\0' && strcmp(rep->ips.rows[i].ip, ip) == 0) {
            cat_count(&rep->ip[i], cat[0] != '\0' ? cat : "unclassified");
            found = 1;
        }
    rep->bounces_unattributed += !found;
}

static int cmp_cat(const void *a, const void *b)
{
    const struct wrep_cat *x = a, *y = b;

    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* ---- the whole report ----------------------------------------------------- */

static int collect_streams(struct wctl *w, struct wrep *rep)
{
    char key[RKEY_MAX];

    rkey_events(&w->keys, key);
    if (read_stream(w, key, WREP_EVENTS_READ, event_add, rep) < 0)
        return -1;
    if (rkey_inbound_stream(&w->keys, key, RKEY_STREAM_BOUNCES) < 0)
        return 0;
    return read_stream(w, key, WREP_BOUNCES_READ, bounce_add, rep);
}

int wctl_report_collect(struct wctl *w, struct wrep *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->now = w->now;
    wctl_report_copy(rep->node, sizeof rep->node, w->node);
    rep->hard_ppm = w->model->health.hard_ppm;
    rep->soft_ppm = w->model->health.soft_ppm;
    rep->complaint_ppm = w->model->health.complaint_ppm;
    if (wctl_ipdata_collect(w, &rep->ips) < 0)
        return -1;
    rep->ip = xcalloc(rep->ips.n + 1, sizeof *rep->ip);
    for (size_t i = 0; i < rep->ips.n; i++)
        if (read_days(w, &rep->ips.rows[i], &rep->ip[i]) < 0)
            goto fail;
    if (collect_streams(w, rep) < 0)
        goto fail;
    for (size_t i = 0; i < rep->ips.n; i++) {
        day_caps(w, &rep->ips.rows[i], &rep->ip[i]);
        qsort(rep->ip[i].cats, rep->ip[i].ncats, sizeof rep->ip[i].cats[0], cmp_cat);
    }
    if (wctl_report_fx_collect(w, rep) < 0)
        goto fail;
    return 0;
fail:
    wctl_report_free(rep);
    return -1;
}

void wctl_report_free(struct wrep *rep)
{
    wctl_ipdata_free(&rep->ips);
    free(rep->ip);
    free(rep->fx);
    memset(rep, 0, sizeof *rep);
}
