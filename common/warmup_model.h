/*
 * NAME
 *   warmup_model.h - the checked, numeric form of the policy configuration.
 *
 * DESCRIPTION
 *   warmup_model_build() turns struct policy_conf (text as written by the
 *   operator) into the tables the decision code uses: schedules with their
 *   caps per stage and provider shares (parts per million), pools with their
 *   IPs and sender domains, rate rules, health thresholds, and the provider
 *   map.  Every cross-reference and every string that will become part of a
 *   Redis key or an MTA reply is checked here, once, at load time; errors
 *   name the offending item.  The model is immutable after building and is
 *   replaced as a whole on SIGHUP.
 */
#ifndef WARMUP_MODEL_H
#define WARMUP_MODEL_H

#include <stddef.h>

#include "policy_conf.h"
#include "provider.h"

#define WM_NAME_MAX   65
#define WM_STAGES_MAX 32

struct wm_schedule {
    char name[WM_NAME_MAX];
    long long caps[WM_STAGES_MAX]; /* recipients per day, per stage */
    size_t ncaps;
    long share_ppm[PROVIDER_MAX]; /* per provider index; -1 = no own share */
};

struct wm_ip {
    char address[WM_NAME_MAX];
    char transport[WM_NAME_MAX];
    char interface[WM_NAME_MAX];
    const struct wm_schedule *schedule; /* NULL: warm, no cap */
};

struct wm_pool {
    char name[WM_NAME_MAX];
    struct wm_ip *ips; /* owned */
    size_t nips;
    char **domains; /* owned, lowercase */
    size_t ndomains;
    int is_default;
};

struct wm_rule {
    char name[WM_NAME_MAX];
    int key, unit, stage, action, on_redis_down;
    long long limit, window;
    char text[256];
};

struct wm_health {
    long hard_ppm, soft_ppm, complaint_ppm;
    long long min_volume_percent;
    int step_back;
    long long min_provider_sent; /* a provider is judged on its own from this many sent */
};

struct warmup_model {
    struct wm_schedule *schedules; /* owned */
    size_t nschedules;
    struct wm_pool *pools; /* owned */
    size_t npools;
    const struct wm_pool *default_pool; /* or NULL */
    struct wm_rule *rules;              /* owned */
    size_t nrules;
    struct wm_health health;
    long long smooth_hours, smooth_start_hour, smooth_burst_percent;
    struct provider_map *providers; /* owned */
};

/* Builds *m from conf.  Returns 0, or -1 with a message in err (m left empty). */
int warmup_model_build(const struct policy_conf *conf, struct warmup_model *m, char *err, size_t errlen);
void warmup_model_free(struct warmup_model *m);

/* The pool serving a sender domain (case-insensitive), else the default pool, else NULL. */
const struct wm_pool *warmup_model_pool_for(const struct warmup_model *m, const char *domain, size_t len);

/* "1%", "0.1%", "0.05 %", "2" (percent) -> parts per million; -1 when invalid or > 100%. */
long warmup_parse_percent(const char *text);
/* "100, 500 2000" -> caps[]; returns the count, or -1 (bad number, none, too many). */
int warmup_parse_caps(const char *text, long long *caps, size_t max);

#endif
