/*
 * NAME
 *   wctl_status.c - `warmupctl status [--json]`: one line per sending IP.
 *
 * DESCRIPTION
 *   Columns: pool, IP, stage, today's cap / used / left, 24 h sent, hard %,
 *   soft %, complaint %, state.  Rates are over the recipients sent in the
 *   last 24 hours ("-" when nothing was sent); cap shows "-" when this
 *   host's config does not know the IP's schedule and "unlimited" past the
 *   last stage.  JSON gives the same values as numbers (rates as fractions
 *   of 1, null when undefined) plus the per-provider counts.
 *
 *   Then the sender domains (wctl_domain.h): per domain x provider the
 *   24 h sent, complaints and complaint rate against the 0.1 % / 0.3 %
 *   thresholds, as a second table, or "domains":[...] in the JSON object.
 *
 *   Last the active shaping effects (wctl_shaping.h): their count and one
 *   line each (no section when there is none, like the domains);
 *   "shaping":[...] in the JSON object.
 */
#include <stdio.h>
#include <string.h>

#include "exitcodes.h"
#include "wctl_cmds.h"
#include "wctl_domain.h"
#include "wctl_fmt.h"
#include "wctl_ipdata.h"
#include "wctl_shaping.h"
#include "wctl_table.h"

static void cap_text(long long cap, char out[32])
{
    if (cap == WIP_CAP_UNLIMITED)
        snprintf(out, 32, "unlimited");
    else if (cap < 0)
        snprintf(out, 32, "-");
    else
        snprintf(out, 32, "%lld", cap);
}

static void left_text(const struct wip_row *r, char out[32])
{
    if (r->cap == WIP_CAP_UNLIMITED)
        snprintf(out, 32, "unlimited");
    else if (r->cap < 0)
        snprintf(out, 32, "-");
    else
        snprintf(out, 32, "%lld", r->cap > r->used ? r->cap - r->used : 0);
}

void wctl_status_render_table(const struct wip_list *l, struct buf *b)
{
    static const char *const heads[] = { "POOL",    "IP",    "STAGE", "CAP",    "USED",   "LEFT",
                                         "SENT24H", "HARD%", "SOFT%", "COMPL%", "DEFER%", "STATE" };
    struct wtable t;

    /* numbers right-aligned: columns 2..10 */
    wctl_table_init(&t, 12, heads, 0x7FCu);
    for (size_t i = 0; i < l->n; i++) {
        const struct wip_row *r = &l->rows[i];
        char stage[32], cap[32], used[32], left[32], sent[32], hard[32], soft[32], compl [32], defer[32];
        const char *cols[12];

        if (r->has_state)
            snprintf(stage, sizeof stage, "%lld", r->stage);
        else
            snprintf(stage, sizeof stage, "-");
        cap_text(r->cap, cap);
        snprintf(used, sizeof used, "%lld", r->used);
        left_text(r, left);
        snprintf(sent, sizeof sent, "%lld", r->sent24);
        wctl_fmt_percent(r->hard24, r->sent24, hard);
        wctl_fmt_percent(r->soft24, r->sent24, soft);
        wctl_fmt_percent(r->complaint24, r->sent24, compl );
        wctl_fmt_percent(r->deferred24, r->delivered24 + r->deferred24 + r->rejected24, defer);
        cols[0] = r->pool;
        cols[1] = r->ip;
        cols[2] = stage;
        cols[3] = cap;
        cols[4] = used;
        cols[5] = left;
        cols[6] = sent;
        cols[7] = hard;
        cols[8] = soft;
        cols[9] = compl ;
        cols[10] = defer;
        cols[11] = wctl_ipdata_state(r);
        wctl_table_add(&t, cols);
    }
    wctl_table_render(&t, b);
    wctl_table_free(&t);
}

static void json_ll_or_null(struct buf *b, const char *key, long long v, int present)
{
    json_key(b, key, 0);
    if (present)
        buf_printf(b, "%lld", v);
    else
        buf_append_str(b, "null");
}

static void json_rate(struct buf *b, const char *key, long long part, long long whole)
{
    json_key(b, key, 0);
    if (whole > 0)
        buf_printf(b, "%.6f", (double)part / (double)whole);
    else
        buf_append_str(b, "null");
}

static void json_row(const struct wip_row *r, struct buf *b)
{
    buf_append_char(b, '{');
    json_key(b, "pool", 1);
    json_cstr(b, r->pool);
    json_key(b, "ip", 0);
    json_cstr(b, r->ip);
    json_key(b, "transport", 0);
    json_cstr(b, r->transport);
    json_ll_or_null(b, "stage", r->stage, r->has_state);
    json_key(b, "state", 0);
    json_cstr(b, wctl_ipdata_state(r));
    json_key(b, "paused_reason", 0);
    json_cstr(b, r->paused ? r->paused_reason : NULL);
    json_ll_or_null(b, "paused_at", r->paused_at, r->paused && r->paused_at > 0);
    json_key(b, "schedule", 0);
    json_cstr(b, r->schedule);
    json_ll_or_null(b, "start", r->start, r->start > 0);
    json_ll_or_null(b, "stage_since", r->stage_since, r->stage_since > 0);
    json_ll_or_null(b, "last_eval", r->last_eval, r->last_eval > 0);
    /* cap: a number, null (unknown here) or "unlimited" */
    json_key(b, "cap", 0);
    if (r->cap >= 0)
        buf_printf(b, "%lld", r->cap);
    else
        buf_append_str(b, r->cap == WIP_CAP_UNLIMITED ? "\"unlimited\"" : "null");
    json_key(b, "budget_now", 0);
    if (r->budget >= 0)
        buf_printf(b, "%lld", r->budget);
    else
        buf_append_str(b, r->budget == WIP_CAP_UNLIMITED ? "\"unlimited\"" : "null");
    json_key(b, "configured", 0);
    buf_append_str(b, r->configured ? "true" : "false");
    json_ll_or_null(b, "used", r->used, 1);
    json_ll_or_null(b, "left", r->cap > r->used ? r->cap - r->used : 0, r->cap >= 0);
    json_ll_or_null(b, "messages", r->msgs, 1);
    json_ll_or_null(b, "sent_24h", r->sent24, 1);
    json_ll_or_null(b, "hard_24h", r->hard24, 1);
    json_ll_or_null(b, "soft_24h", r->soft24, 1);
    json_ll_or_null(b, "complaints_24h", r->complaint24, 1);
    json_rate(b, "hard_rate", r->hard24, r->sent24);
    json_rate(b, "soft_rate", r->soft24, r->sent24);
    json_rate(b, "complaint_rate", r->complaint24, r->sent24);
    json_ll_or_null(b, "delivered_24h", r->delivered24, 1);
    json_ll_or_null(b, "deferred_24h", r->deferred24, 1);
    json_ll_or_null(b, "rejected_24h", r->rejected24, 1);
    json_rate(b, "deferral_rate", r->deferred24, r->delivered24 + r->deferred24 + r->rejected24);
    json_key(b, "providers", 0);
    buf_append_char(b, '{');
    for (size_t p = 0; p < r->nprov; p++) {
        const struct wip_health *h = &r->prov[p];
        json_key(b, h->provider, p == 0);
        buf_printf(b,
                   "{\"sent_24h\":%lld,\"hard_24h\":%lld,\"soft_24h\":%lld,\"complaints_24h\":%lld,"
                   "\"delivered_24h\":%lld,\"deferred_24h\":%lld,\"rejected_24h\":%lld}",
                   h->sent, h->hard, h->soft, h->complaint, h->delivered, h->deferred, h->rejected);
    }
    buf_append_str(b, "}}");
}

void wctl_status_render_json(const struct wip_list *l, struct buf *b)
{
    buf_printf(b, "{\"time\":%lld,\"day\":%ld,\"ips\":[", l->now, l->day);
    for (size_t i = 0; i < l->n; i++) {
        if (i > 0)
            buf_append_char(b, ',');
        json_row(&l->rows[i], b);
    }
    buf_append_str(b, "]}");
}

int wctl_status_cmd(struct wctl *w, const struct wctl_args *a)
{
    struct wip_list l;
    struct wdom_list d;

    if (wctl_ipdata_collect(w, &l) < 0)
        return w->status ? w->status : PF_EXIT_FAILURE;
    struct wfx_list fx;
    if (wctl_domain_collect(w, &d) < 0 || wctl_shaping_collect(w, &fx) < 0) {
        wctl_domain_free(&d); /* collect leaves an empty list when it fails */
        wctl_ipdata_free(&l);
        return w->status ? w->status : PF_EXIT_FAILURE;
    }
    if (w->json) {
        wctl_status_render_json(&l, &w->out);
        /* the domains join the object: reopen its closing brace */
        if (w->out.len > 0 && w->out.data[w->out.len - 1] == '}') {
            w->out.len--;
            buf_append_char(&w->out, ',');
            wctl_domain_render_json(&d, &w->out);
            buf_append_char(&w->out, ',');
            wctl_shaping_render_status_json(&fx, w->now, &w->out);
            buf_append_char(&w->out, '}');
        }
        buf_append_char(&w->out, '\n');
    } else {
        if (l.n == 0)
            buf_append_str(&w->out, "no pools registered in Redis (policyd-warmup registers them at start)\n");
        else
            wctl_status_render_table(&l, &w->out);
        wctl_domain_render_table(&d, &w->out);
        wctl_shaping_render_status(&fx, w->now, &w->out);
    }
    wctl_shaping_free(&fx);
    wctl_domain_free(&d);
    wctl_ipdata_free(&l);
    return PF_EXIT_OK;
}
