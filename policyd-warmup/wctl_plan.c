/*
 * NAME
 *   wctl_plan.c - today's cap of an IP, for status and metrics.
 *
 * DESCRIPTION
 *   The cap comes from the IP's schedule, which lives in the `policy`
 *   section of postflow.conf (policyd-warmup's tables).  Until warmupctl
 *   reads those tables the cap is reported as unknown ("-", JSON null);
 *   used, 24 h counts and rates are exact either way because they are read
 *   from Redis.
 */
#include "wctl_ipdata.h"

void wip_plan_cap(const struct wctl *w, struct wip_row *r)
{
    (void)w;
    r->cap = WIP_CAP_UNKNOWN;
}
