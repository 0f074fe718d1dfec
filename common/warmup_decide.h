/*
 * NAME
 *   warmup_decide.h - the pure warm-up arithmetic: days, caps, smoothing,
 *   candidate budgets and the daily health verdict.
 *
 * DESCRIPTION
 *   No I/O and no clock: every function takes the time as an argument, so
 *   unit tests drive it with a fake clock and the daemon with its own
 *   (real time + the test-only clock_offset).  The Lua script only checks
 *   and adds the numbers computed here; the numbers themselves (how much
 *   of today's cap an IP may have used by now, whether yesterday was
 *   healthy) are decided in C where they can be tested.
 */
#ifndef WARMUP_DECIDE_H
#define WARMUP_DECIDE_H

#include <time.h>

#include "warmup_model.h"

#define WM_UNLIMITED (-1LL)

/* yyyymmdd of a Unix time (UTC). */
long warmup_day(long long t);
/* Unix hour number (t / 3600). */
long long warmup_hour(long long t);

/* The daily cap of a stage: caps[stage], or WM_UNLIMITED past the last stage or without schedule. */
long long warmup_cap(const struct wm_schedule *s, long stage);

/*
 * How much of `cap` may be used by time t: the cap spread evenly over
 * smooth_hours from smooth_start_hour (UTC), plus burst_percent of the cap
 * ahead of that line, never more than the cap.  Before the start hour only
 * the burst is available.  cap WM_UNLIMITED stays unlimited; smooth_hours 0
 * returns the cap.
 */
long long warmup_budget(long long cap, long long t, long long smooth_hours, long long start_hour,
                        long long burst_percent);

/* The share of a provider in a cap (ppm of the schedule), WM_UNLIMITED when it has none. */
long long warmup_share(const struct wm_schedule *s, size_t provider, long long cap);

/* One day (or 24 hours) of counters of one IP and one provider, or of all providers summed. */
struct wm_day_counts {
    long long sent, hard, soft, complaint;
};

/*
 * The counters of one IP for the judged period: one entry per provider of
 * the provider map (names borrowed, valid as long as the map).  The total is
 * not stored: the verdict sums the providers itself, so it cannot disagree.
 */
struct wm_ip_counts {
    size_t nproviders; /* <= PROVIDER_MAX */
    const char *name[PROVIDER_MAX];
    struct wm_day_counts provider[PROVIDER_MAX];
};

/* All providers of c summed into *total. */
void warmup_counts_total(const struct wm_ip_counts *c, struct wm_day_counts *total);

enum wm_verdict { WM_ADVANCE, WM_HOLD, WM_STEP_BACK, WM_PAUSE, WM_KEEP };

struct wm_evaluation {
    enum wm_verdict verdict;
    long new_stage;
    char reason[200];
};

/*
 * The once-a-day verdict for an IP at `stage` (cap of that stage `cap`).
 * Receivers judge reputation per provider, so the rates are judged for the
 * total of all providers AND for every provider that sent at least
 * h->min_provider_sent (a provider with less mail is too little evidence:
 * one complaint in 50 messages must not pause an IP; it still counts in the
 * total).  In order, the first rule that matches any of those wins:
 * complaints over the limit pause; hard bounces over the limit step back
 * (or hold, per config); soft bounces over the limit hold; a rate exactly at
 * a limit holds (a healthy day stays below every limit); too little volume
 * (of the total) holds; otherwise advance (an IP past its last stage is
 * kept: WM_KEEP).  Within a rule the total is looked at first, then the
 * providers in map order; the reason names the provider ("gmail:
 * complaints 0.50% of 400 over the limit (all providers 0.05% of 4000)").
 * A day with no mail holds.  A negative stage (hand-edited state) is judged
 * as stage 0, as warmup_cap() caps it.
 */
void warmup_evaluate(const struct wm_health *h, long stage, size_t nstages, long long cap, const struct wm_ip_counts *c,
                     struct wm_evaluation *out);

/*
 * The rolling check between daily evaluations: 1 when the complaints of the
 * last 24 hours (c: those hours summed per provider) are over the limit, by
 * the same rule as the daily verdict (strictly over complaint_ppm, for the
 * total or for a provider with at least min_provider_sent); the reason
 * ("gmail: complaints 0.50% of 400 over the limit (...)") goes to reason[n].
 */
int warmup_complaints_over(const struct wm_health *h, const struct wm_ip_counts *c, char *reason, size_t n);

const char *warmup_verdict_name(enum wm_verdict v);

#endif
