/*
 * NAME
 *   wctl_ipdata.h - the warm-up state of every sending IP, read from Redis
 *   for `status` and `metrics`.
 *
 * DESCRIPTION
 *   wctl_ipdata_collect() lists the pools (pf:pools) and their IPs (pf:pool:{p}),
 *   then per IP reads the state hash, today's cap counters and, per
 *   provider, the last 24 hourly health hashes (summed by one Lua call per
 *   IP x provider; the keys share the pool's hash tag).  The pure
 *   renderers (wctl_status_render_*, wctl_metrics_render_*) turn the
 *   result into text, JSON or Prometheus lines, so they are unit-tested
 *   without Redis.
 */
#ifndef WCTL_IPDATA_H
#define WCTL_IPDATA_H

#include "buf.h"
#include "wctl.h"

#define WIP_CAP_UNKNOWN   (-1) /* no schedule known for the IP on this host */
#define WIP_CAP_UNLIMITED (-2) /* past the last stage of its schedule */

struct wip_health {
    char provider[64];
    long long sent, hard, soft, complaint;   /* last 24 hours */
    long long delivered, deferred, rejected; /* receivers' answers in the MTA's log (maillog-tap) */
};

struct wip_row {
    char *pool, *ip, *transport; /* owned */
    int has_state;               /* the ip state hash exists */
    long long stage;
    int paused;
    char *paused_reason; /* owned, or NULL */
    long long paused_at;
    char *schedule; /* owned, or NULL */
    long start, stage_since, last_eval;
    long long cap;        /* today's cap, or WIP_CAP_* */
    long long budget;     /* of it usable by now (smoothing), or WIP_CAP_* */
    int configured;       /* the IP is in this host's policy config */
    long long used, msgs; /* today: recipients, messages */
    long long sent24, hard24, soft24, complaint24;
    long long delivered24, deferred24, rejected24;
    size_t nprov;
    struct wip_health prov[WCTL_MAX_PROVIDERS];
};

struct wip_list {
    struct wip_row *rows; /* owned */
    size_t n;
    long day; /* yyyymmdd the "today" values belong to */
    long long now;
};

/* Reads everything; 0, or -1 (reported, w->status set).  Free with wctl_ipdata_free(). */
int wctl_ipdata_collect(struct wctl *w, struct wip_list *out);
void wctl_ipdata_free(struct wip_list *l);

/*
 * "paused"; "warm" (past its schedule, or no schedule); "new" (on a
 * schedule, no state hash yet: the daemon has not sent through it); else
 * "warming".
 */
const char *wctl_ipdata_state(const struct wip_row *r);

/* Renders the status table / JSON document. */
void wctl_status_render_table(const struct wip_list *l, struct buf *b);
void wctl_status_render_json(const struct wip_list *l, struct buf *b);

/* Fills today's cap and budget of a row from the policy config (wctl_plan.c). */
void wctl_plan_cap(const struct wctl *w, struct wip_row *r);
/*
 * Adds the pools/IPs of the policy config that Redis does not list yet
 * (a daemon that never ran with this config).  add(w, l, cap, pool, ip,
 * transport) appends a row.  (wctl_plan.c)
 */
void wctl_plan_add_configured(const struct wctl *w, struct wip_list *l, size_t *cap,
                              void (*add)(struct wip_list *l, size_t *cap, const char *pool, const char *ip,
                                          const char *transport));

#endif
