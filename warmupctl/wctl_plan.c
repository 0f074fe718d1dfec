/*
 * NAME
 *   wctl_plan.c - what this host's policy config says about an IP: today's
 *   cap, the smoothed budget, and the configured IPs Redis does not list.
 *
 * DESCRIPTION
 *   warmupctl reads the `policy` section with policyd-warmup's own tables
 *   and checks it into the same struct warmup_model (warmup_model.c), so
 *   the cap shown is computed by the daemon's code (warmup_cap,
 *   warmup_budget), never by a second copy of the rules.  An IP that is in
 *   Redis but not in this host's config (another node's pool) shows an
 *   unknown cap; an IP without a schedule is warm (unlimited).
 */
#include <string.h>
#include <strings.h>

#include "warmup_decide.h"
#include "warmup_model.h"
#include "wctl_ipdata.h"

static const struct wm_ip *find_ip(const struct warmup_model *m, const char *pool, const char *ip)
{
    if (m == NULL)
        return NULL;
    for (size_t p = 0; p < m->npools; p++) {
        if (strcmp(m->pools[p].name, pool) != 0)
            continue;
        for (size_t i = 0; i < m->pools[p].nips; i++)
            if (strcasecmp(m->pools[p].ips[i].address, ip) == 0)
                return &m->pools[p].ips[i];
    }
    return NULL;
}

void wctl_plan_cap(const struct wctl *w, struct wip_row *r)
{
    const struct wm_ip *ip = find_ip(w->model, r->pool, r->ip);
    long long cap;

    r->configured = ip != NULL;
    if (ip == NULL) {
        r->cap = r->budget = WIP_CAP_UNKNOWN;
        return;
    }
    cap = warmup_cap(ip->schedule, (long)r->stage);
    if (cap == WM_UNLIMITED) {
        r->cap = r->budget = WIP_CAP_UNLIMITED;
        return;
    }
    r->cap = cap;
    r->budget =
        warmup_budget(cap, w->now, w->model->smooth_hours, w->model->smooth_start_hour, w->model->smooth_burst_percent);
}

void wctl_plan_add_configured(const struct wctl *w, struct wip_list *l, size_t *cap,
                              void (*add)(struct wip_list *l, size_t *cap, const char *pool, const char *ip,
                                          const char *transport))
{
    const struct warmup_model *m = w->model;
    size_t known = l->n;

    if (m == NULL)
        return;
    for (size_t p = 0; p < m->npools; p++)
        for (size_t i = 0; i < m->pools[p].nips; i++) {
            const struct wm_ip *ip = &m->pools[p].ips[i];
            int seen = 0;
            for (size_t k = 0; k < known && !seen; k++)
                seen = strcmp(l->rows[k].pool, m->pools[p].name) == 0 && strcasecmp(l->rows[k].ip, ip->address) == 0;
            if (!seen)
                add(l, cap, m->pools[p].name, ip->address, ip->transport);
        }
}
