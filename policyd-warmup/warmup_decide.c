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
    if (stage < 0)          /* a hand-edited state: treat as the first stage */
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
    long long bp = whole > 0 ? part * 10000 / whole : 0;   /* basis points */
    snprintf(out, n, "%lld.%02lld%%", bp / 100, bp % 100);
}

int warmup_complaints_over(const struct wm_health *h, const struct wm_day_counts *c, char *reason, size_t n)
{
    char r[24];
    if (!over(c->complaint, c->sent, h->complaint_ppm))
        return 0;
    pct(r, sizeof r, c->complaint, c->sent);
    snprintf(reason, n, "complaints %s of %lld over the limit", r, c->sent);
    return 1;
}

void warmup_evaluate(const struct wm_health *h, long stage, size_t nstages, long long cap,
                     const struct wm_day_counts *c, struct wm_evaluation *out)
{
    char r[24];
    if (stage < 0)          /* a hand-edited state: capped as stage 0 (warmup_cap), so judged as stage 0 */
        stage = 0;
    out->new_stage = stage;
    if (warmup_complaints_over(h, c, out->reason, sizeof out->reason)) {
        out->verdict = WM_PAUSE;
        return;
    }
    if (over(c->hard, c->sent, h->hard_ppm)) {
        pct(r, sizeof r, c->hard, c->sent);
        out->verdict = h->step_back && stage > 0 ? WM_STEP_BACK : WM_HOLD;
        if (out->verdict == WM_STEP_BACK)
            out->new_stage = stage - 1;
        snprintf(out->reason, sizeof out->reason, "hard bounces %s of %lld over the limit", r, c->sent);
        return;
    }
    if (over(c->soft, c->sent, h->soft_ppm)) {
        pct(r, sizeof r, c->soft, c->sent);
        out->verdict = WM_HOLD;
        snprintf(out->reason, sizeof out->reason, "soft bounces %s of %lld over the limit", r, c->sent);
        return;
    }
    /* Exactly at a limit: not over it (no pause, no step back) but not healthy either
     * (DESIGN: a day advances only with hard < 1%, soft < 3%, complaints < 0.1%). */
    const char *at = reached(c->complaint, c->sent, h->complaint_ppm) ? "complaints"
                   : reached(c->hard, c->sent, h->hard_ppm) ? "hard bounces"
                   : reached(c->soft, c->sent, h->soft_ppm) ? "soft bounces" : NULL;
    if (at != NULL) {
        long long part = at[0] == 'c' ? c->complaint : at[0] == 'h' ? c->hard : c->soft;
        pct(r, sizeof r, part, c->sent);
        out->verdict = WM_HOLD;
        snprintf(out->reason, sizeof out->reason, "%s %s of %lld at the limit (a healthy day stays below it)", at,
                 r, c->sent);
        return;
    }
    if ((size_t)stage >= nstages) {
        out->verdict = WM_KEEP;
        snprintf(out->reason, sizeof out->reason, "warm (past the last stage), %lld sent", c->sent);
        return;
    }
    long long need = cap == WM_UNLIMITED ? 0 : (cap * h->min_volume_percent + 99) / 100;
    if (c->sent == 0 || c->sent < need) {
        out->verdict = WM_HOLD;
        snprintf(out->reason, sizeof out->reason, "volume %lld below %lld (%lld%% of cap %lld)", c->sent, need,
                 h->min_volume_percent, cap);
        return;
    }
    out->verdict = WM_ADVANCE;
    out->new_stage = stage + 1;
    snprintf(out->reason, sizeof out->reason, "healthy day: %lld sent, %lld hard, %lld soft, %lld complaints",
             c->sent, c->hard, c->soft, c->complaint);
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
