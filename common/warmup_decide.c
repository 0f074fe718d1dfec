/*
 * NAME
 *   warmup_decide.c - warm-up arithmetic (see warmup_decide.h).
 */
#include "warmup_decide.h"

#include <stdio.h>

long warmup_day(long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    return (long)(tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

long long warmup_hour(long long t)
{
    return t >= 0 ? t / 3600 : (t - 3599) / 3600;
}

long long warmup_cap(const struct wm_schedule *s, long stage)
{
    if (s == NULL)
        return WM_UNLIMITED;
    if (stage < 0) /* a hand-edited state: treat as the first stage */
        stage = 0;
    return (size_t)stage < s->ncaps ? s->caps[stage] : WM_UNLIMITED;
}

long long warmup_budget(long long cap, long long t, long long smooth_hours, long long start_hour,
                        long long burst_percent)
{
    if (cap == WM_UNLIMITED || smooth_hours <= 0)
        return cap;
    long long into_day = t % 86400;
    if (into_day < 0)
        into_day += 86400;
    long long since = into_day - start_hour * 3600;
    if (since < 0)
        since = 0;
    long long span = smooth_hours * 3600;
    /* Even line: cap * since / span, rounded down; computed without overflow for caps < 1e9. */
    long long line = since >= span ? cap : (cap * since) / span;
    long long burst = (cap * burst_percent + 99) / 100;
    long long allowed = line + burst;
    return allowed > cap ? cap : allowed;
}

long long warmup_share(const struct wm_schedule *s, size_t provider, long long cap)
{
    if (s == NULL || cap == WM_UNLIMITED || provider >= PROVIDER_MAX || s->share_ppm[provider] < 0)
        return WM_UNLIMITED;
    return cap * s->share_ppm[provider] / 1000000;
}

/* rate (ppm) of part in whole > limit ppm, without floating point. */
static int over(long long part, long long whole, long limit_ppm)
{
    return whole > 0 && part * 1000000 > (long long)limit_ppm * whole;
}

/* The rate is at the limit or above (and not zero): a healthy day stays below every limit. */
static int reached(long long part, long long whole, long limit_ppm)
{
    return whole > 0 && part > 0 && part * 1000000 >= (long long)limit_ppm * whole;
}

static void pct(char *out, size_t n, long long part, long long whole)
{
    long long bp =
        whole > 0 ? (part * 10000 + whole / 2) / whole : 0; /* basis points, rounded half up as warmupctl shows them */
    snprintf(out, n, "%lld.%02lld%%", bp / 100, bp % 100);
}

void warmup_counts_total(const struct wm_ip_counts *c, struct wm_day_counts *total)
{
    struct wm_day_counts t = { 0, 0, 0, 0 };
    for (size_t i = 0; i < c->nproviders && i < PROVIDER_MAX; i++) {
        t.sent += c->provider[i].sent;
        t.hard += c->provider[i].hard;
        t.soft += c->provider[i].soft;
        t.complaint += c->provider[i].complaint;
    }
    *total = t;
}

enum wm_field { WF_COMPLAINT, WF_HARD, WF_SOFT };

static const char *const field_names[] = { "complaints", "hard bounces", "soft bounces" };

static long long field_of(const struct wm_day_counts *c, enum wm_field f)
{
    return f == WF_COMPLAINT ? c->complaint : f == WF_HARD ? c->hard : c->soft;
}

static long limit_of(const struct wm_health *h, enum wm_field f)
{
    return f == WF_COMPLAINT ? h->complaint_ppm : f == WF_HARD ? h->hard_ppm : h->soft_ppm;
}

/*
 * The scope a rule matched: the total (provider -1) or one provider with
 * enough mail.  The reason text is built from it.
 */
struct wm_match {
    long provider; /* -1: all providers */
    enum wm_field field;
};

/*
 * Is `field` over (at_limit 0) or exactly at (at_limit 1) its limit for the
 * total or for one provider judged on its own?  The total first, then the
 * providers in map order; the first match goes to *m.
 */
static int find_match(const struct wm_health *h, const struct wm_ip_counts *c, const struct wm_day_counts *total,
                      enum wm_field field, int at_limit, struct wm_match *m)
{
    long limit = limit_of(h, field);
    for (long i = -1; i < (long)c->nproviders && i < PROVIDER_MAX; i++) {
        const struct wm_day_counts *d = i < 0 ? total : &c->provider[i];
        if (i >= 0 && d->sent < h->min_provider_sent)
            continue; /* too little mail to judge this provider alone: only the total counts */
        long long part = field_of(d, field);
        if (at_limit ? reached(part, d->sent, limit) : over(part, d->sent, limit)) {
            m->provider = i;
            m->field = field;
            return 1;
        }
    }
    return 0;
}

/* "gmail: complaints 0.50% of 400 over the limit (all providers 0.05% of 4000)" into out[n]. */
static void match_reason(const struct wm_ip_counts *c, const struct wm_day_counts *total, const struct wm_match *m,
                         const char *what, char *out, size_t n)
{
    char r[24], rt[24];
    const struct wm_day_counts *d = m->provider < 0 ? total : &c->provider[m->provider];
    pct(r, sizeof r, field_of(d, m->field), d->sent);
    if (m->provider < 0) {
        snprintf(out, n, "%s %s of %lld %s", field_names[m->field], r, d->sent, what);
        return;
    }
    pct(rt, sizeof rt, field_of(total, m->field), total->sent);
    snprintf(out, n, "%s: %s %s of %lld %s (all providers %s of %lld)",
             c->name[m->provider] ? c->name[m->provider] : "?", field_names[m->field], r, d->sent, what, rt,
             total->sent);
}

int warmup_complaints_over(const struct wm_health *h, const struct wm_ip_counts *c, char *reason, size_t n)
{
    struct wm_day_counts total;
    struct wm_match m;
    warmup_counts_total(c, &total);
    if (!find_match(h, c, &total, WF_COMPLAINT, 0, &m))
        return 0;
    match_reason(c, &total, &m, "over the limit", reason, n);
    return 1;
}

void warmup_evaluate(const struct wm_health *h, long stage, size_t nstages, long long cap, const struct wm_ip_counts *c,
                     struct wm_evaluation *out)
{
    struct wm_day_counts total;
    struct wm_match m;
    warmup_counts_total(c, &total);
    if (stage < 0) /* a hand-edited state: capped as stage 0 (warmup_cap), so judged as stage 0 */
        stage = 0;
    out->new_stage = stage;
    if (find_match(h, c, &total, WF_COMPLAINT, 0, &m)) {
        out->verdict = WM_PAUSE;
        match_reason(c, &total, &m, "over the limit", out->reason, sizeof out->reason);
        return;
    }
    if (find_match(h, c, &total, WF_HARD, 0, &m)) {
        out->verdict = h->step_back && stage > 0 ? WM_STEP_BACK : WM_HOLD;
        if (out->verdict == WM_STEP_BACK)
            out->new_stage = stage - 1;
        match_reason(c, &total, &m, "over the limit", out->reason, sizeof out->reason);
        return;
    }
    if (find_match(h, c, &total, WF_SOFT, 0, &m)) {
        out->verdict = WM_HOLD;
        match_reason(c, &total, &m, "over the limit", out->reason, sizeof out->reason);
        return;
    }
    /* Exactly at a limit: not over it (no pause, no step back) but not healthy either
     * (DESIGN: a day advances only with hard < 1%, soft < 3%, complaints < 0.1%). */
    if (find_match(h, c, &total, WF_COMPLAINT, 1, &m) || find_match(h, c, &total, WF_HARD, 1, &m) ||
        find_match(h, c, &total, WF_SOFT, 1, &m)) {
        out->verdict = WM_HOLD;
        match_reason(c, &total, &m, "at the limit (a healthy day stays below it)", out->reason, sizeof out->reason);
        return;
    }
    if ((size_t)stage >= nstages) {
        out->verdict = WM_KEEP;
        snprintf(out->reason, sizeof out->reason, "warm (past the last stage), %lld sent", total.sent);
        return;
    }
    long long need = cap == WM_UNLIMITED ? 0 : (cap * h->min_volume_percent + 99) / 100;
    if (total.sent == 0 || total.sent < need) {
        out->verdict = WM_HOLD;
        snprintf(out->reason, sizeof out->reason, "volume %lld below %lld (%lld%% of cap %lld)", total.sent, need,
                 h->min_volume_percent, cap);
        return;
    }
    out->verdict = WM_ADVANCE;
    out->new_stage = stage + 1;
    snprintf(out->reason, sizeof out->reason, "healthy day: %lld sent, %lld hard, %lld soft, %lld complaints",
             total.sent, total.hard, total.soft, total.complaint);
}

const char *warmup_verdict_name(enum wm_verdict v)
{
    switch (v) {
    case WM_ADVANCE: return "advance";
    case WM_HOLD: return "hold";
    case WM_STEP_BACK: return "stepback";
    case WM_PAUSE: return "pause";
    case WM_KEEP: return "keep";
    }
    return "?";
}
