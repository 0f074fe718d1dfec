/*
 * NAME
 *   wctl_metrics.c - `warmupctl metrics [FILE] [--json]`: Prometheus text
 *   exposition of the warm-up state and of every policyd-warmup's counters.
 *
 * DESCRIPTION
 *   Families (labels in braces):
 *     postflow_warmup_ip_stage{pool,ip}               gauge
 *     postflow_warmup_ip_paused{pool,ip}              gauge (1 paused)
 *     postflow_warmup_ip_cap{pool,ip}                 gauge (+Inf past the
 *                                                     schedule; absent when unknown)
 *     postflow_warmup_ip_used_today{pool,ip}          gauge (recipients)
 *     postflow_warmup_ip_messages_today{pool,ip}      gauge
 *     postflow_warmup_sent_24h{pool,ip,provider}      gauge
 *     postflow_warmup_hard_bounces_24h{...}           gauge
 *     postflow_warmup_soft_bounces_24h{...}           gauge
 *     postflow_warmup_complaints_24h{...}             gauge
 *     postflow_delivery_{delivered,deferred,rejected}_24h{pool,ip,provider}
 *                                                     gauge: the receivers' answers
 *                                                     at delivery time (maillog-tap)
 *     postflow_policyd_<counter>_total{node}          counter, one per field
 *                                                     of pf:metrics:<node>
 *     postflow_policyd_started_timestamp_seconds{node}, ..._updated_...  gauge
 *     postflow_warmupctl_collected_timestamp_seconds  gauge
 *     postflow_inbound_events_total{program,type,class,category,verified}
 *                                                     counter (wctl_inbound.c)
 *     postflow_domain_sent_24h{domain,provider}       gauge (wctl_domain.c)
 *     postflow_domain_complaints_24h{domain,provider} gauge
 *     postflow_shaping_effects{action,provider}       gauge (wctl_shaping_report.c)
 *   With FILE the text is written to FILE.tmp.PID and renamed, as the
 *   node_exporter textfile collector requires (it must never read half a
 *   file).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "wctl_cmds.h"
#include "wctl_domain.h"
#include "wctl_inbound.h"
#include "wctl_metrics.h"
#include "wctl_shaping.h"
#include "wctl_table.h"
#include "wctl_prom.h"
#include "xalloc.h"

/* The counters docs/redis-keys.md lists, with their help text. */
static const struct {
    const char *field, *help;
} KNOWN[] = {
    { "requests", "policy requests answered" },
    { "requests_rcpt", "requests at RCPT TO" },
    { "requests_eom", "requests at END-OF-MESSAGE" },
    { "connections", "client connections accepted" },
    { "protocol_errors", "malformed requests (connection closed without reply)" },
    { "suppressed", "recipients rejected because they are suppressed" },
    { "rate_limited", "requests deferred or rejected by a rate limit" },
    { "warmup_steered", "messages steered to a sending IP" },
    { "warmup_no_budget", "messages deferred because no IP had budget left" },
    { "warmup_shaped", "messages deferred because a shaping effect shut out every IP" },
    { "redis_errors", "Redis errors and timeouts" },
    { "redis_down_open", "requests answered DUNNO because Redis was down (fail-open)" },
    { "redis_down_closed", "requests deferred because Redis was down (fail-closed)" },
};

/* ---- reading pf:metrics:<node> -------------------------------------------- */

struct node_scan {
    struct wnode_list *l;
    size_t cap;
    size_t plen; /* length of "pf:metrics:" */
};

static int node_add(struct wctl *w, const char *key, size_t len, struct node_scan *s)
{
    char name[RKEY_MAX], again[RKEY_MAX];
    const char *argv[] = { "HGETALL", key };
    struct wnode *nd;
    redisReply *h;
    size_t n = len - s->plen;

    memcpy(name, key + s->plen, n);
    name[n] = '\0';
    if (rkey_metrics(&w->keys, again, name) < 0 || strcmp(again, key) != 0)
        return 0; /* not a metrics key after all */
    for (size_t i = 0; i < s->l->n; i++)
        if (strcmp(s->l->nodes[i].name, name) == 0)
            return 0; /* SCAN may repeat a key */
    if ((h = wctl_cmd(w, 2, argv, NULL)) == NULL)
        return -1;
    if (s->l->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->l->nodes = xrealloc(s->l->nodes, s->cap * sizeof *s->l->nodes);
    }
    nd = &s->l->nodes[s->l->n++];
    memset(nd, 0, sizeof *nd);
    nd->name = xstrdup(name);
    if (h->type == REDIS_REPLY_ARRAY && h->elements >= 2) {
        nd->field = xcalloc(h->elements / 2, sizeof(char *));
        nd->value = xcalloc(h->elements / 2, sizeof(long long));
        for (size_t i = 0; i + 1 < h->elements; i += 2) {
            char *end;
            long long v;
            if (h->element[i]->type != REDIS_REPLY_STRING || h->element[i + 1]->type != REDIS_REPLY_STRING)
                continue;
            v = strtoll(h->element[i + 1]->str, &end, 10);
            if (end == h->element[i + 1]->str || *end != '\0')
                continue; /* only numbers are metrics */
            nd->field[nd->n] = xstrdup(h->element[i]->str);
            nd->value[nd->n++] = v;
        }
    }
    redis_reply_free(h);
    return 0;
}

static int node_page(struct wctl *w, redisReply **keys, size_t nkeys, void *arg)
{
    struct node_scan *s = arg;

    for (size_t i = 0; i < nkeys; i++)
        if (keys[i]->len > s->plen && node_add(w, keys[i]->str, keys[i]->len, s) < 0)
            return -1;
    return 0;
}

static int cmp_node(const void *a, const void *b)
{
    return strcmp(((const struct wnode *)a)->name, ((const struct wnode *)b)->name);
}

int wctl_metrics_node_collect(struct wctl *w, struct wnode_list *out)
{
    char pat[RKEY_MAX];
    struct node_scan s;
    int plen;

    memset(out, 0, sizeof *out);
    plen = rkey_metrics_pattern(&w->keys, pat);
    if (plen < 1 || pat[plen - 1] != '*')
        return -1;
    s.l = out;
    s.cap = 0;
    s.plen = (size_t)plen - 1;
    if (wctl_scan(w, pat, node_page, &s) < 0) {
        wctl_metrics_node_free(out);
        return -1;
    }
    if (out->n > 1)
        qsort(out->nodes, out->n, sizeof *out->nodes, cmp_node);
    return 0;
}

void wctl_metrics_node_free(struct wnode_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        for (size_t j = 0; j < l->nodes[i].n; j++)
            free(l->nodes[i].field[j]);
        free(l->nodes[i].field);
        free(l->nodes[i].value);
        free(l->nodes[i].name);
    }
    free(l->nodes);
    memset(l, 0, sizeof *l);
}

/* ---- rendering ------------------------------------------------------------ */

enum ipval { IV_STAGE, IV_PAUSED, IV_CAP, IV_USED, IV_MSGS };

static void ip_family(const struct wip_list *l, struct buf *b, const char *name, const char *help, enum ipval v)
{
    int any = 0;

    for (size_t i = 0; i < l->n; i++) {
        const struct wip_row *r = &l->rows[i];
        struct wprom_label lab[2] = { { "pool", r->pool }, { "ip", r->ip } };
        if ((v == IV_STAGE && !r->has_state) || (v == IV_CAP && r->cap == WIP_CAP_UNKNOWN))
            continue;
        if (!any)
            wctl_prom_family(b, name, "gauge", help);
        any = 1;
        switch (v) {
        case IV_STAGE: wctl_prom_sample_ll(b, name, lab, 2, r->stage); break;
        case IV_PAUSED: wctl_prom_sample_ll(b, name, lab, 2, r->paused); break;
        case IV_CAP:
            if (r->cap == WIP_CAP_UNLIMITED)
                wctl_prom_sample_d(b, name, lab, 2, INFINITY);
            else
                wctl_prom_sample_ll(b, name, lab, 2, r->cap);
            break;
        case IV_USED: wctl_prom_sample_ll(b, name, lab, 2, r->used); break;
        case IV_MSGS: wctl_prom_sample_ll(b, name, lab, 2, r->msgs); break;
        }
    }
}

enum hval { HV_SENT, HV_HARD, HV_SOFT, HV_COMPLAINT, HV_DELIVERED, HV_DEFERRED, HV_REJECTED };

static void health_family(const struct wip_list *l, struct buf *b, const char *name, const char *help, enum hval v)
{
    int any = 0;

    for (size_t i = 0; i < l->n; i++) {
        const struct wip_row *r = &l->rows[i];
        for (size_t p = 0; p < r->nprov; p++) {
            const struct wip_health *h = &r->prov[p];
            struct wprom_label lab[3] = { { "pool", r->pool }, { "ip", r->ip }, { "provider", h->provider } };
            const long long vals[] = {
                h->sent, h->hard, h->soft, h->complaint, h->delivered, h->deferred, h->rejected
            };
            long long x = vals[v];
            if (!any)
                wctl_prom_family(b, name, "gauge", help);
            any = 1;
            wctl_prom_sample_ll(b, name, lab, 3, x);
        }
    }
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Metric name of a node field; -1 when the field cannot be one. */
static int node_metric_name(const char *field, char *out, size_t outsize)
{
    char frag[128];

    if (wctl_prom_sanitize(field, frag, sizeof frag) < 0)
        return -1;
    if (strcmp(field, "started") == 0 || strcmp(field, "updated") == 0)
        snprintf(out, outsize, "postflow_policyd_%s_timestamp_seconds", frag);
    else
        snprintf(out, outsize, "postflow_policyd_%s_total", frag);
    return wctl_prom_name_ok(out) ? 0 : -1;
}

static void node_families(const struct wnode_list *nl, struct buf *b)
{
    size_t total = 0, nf = 0;
    const char **fields;

    for (size_t i = 0; i < nl->n; i++)
        total += nl->nodes[i].n;
    fields = xcalloc(total + 1, sizeof *fields);
    for (size_t i = 0; i < nl->n; i++)
        for (size_t j = 0; j < nl->nodes[i].n; j++)
            fields[nf++] = nl->nodes[i].field[j];
    qsort(fields, nf, sizeof *fields, cmp_cstr);
    for (size_t f = 0; f < nf; f++) {
        char name[200], help[200];
        int ts;
        if (f > 0 && strcmp(fields[f], fields[f - 1]) == 0)
            continue;
        if (node_metric_name(fields[f], name, sizeof name) < 0)
            continue;
        ts = strcmp(fields[f], "started") == 0 || strcmp(fields[f], "updated") == 0;
        snprintf(help, sizeof help, "policyd-warmup counter %s", fields[f]);
        for (size_t k = 0; k < sizeof KNOWN / sizeof KNOWN[0]; k++)
            if (strcmp(KNOWN[k].field, fields[f]) == 0)
                snprintf(help, sizeof help, "policyd-warmup: %s", KNOWN[k].help);
        if (ts)
            snprintf(help, sizeof help, "policyd-warmup: Unix time the instance %s its counters",
                     strcmp(fields[f], "started") == 0 ? "started" : "last wrote");
        wctl_prom_family(b, name, ts ? "gauge" : "counter", help);
        for (size_t i = 0; i < nl->n; i++)
            for (size_t j = 0; j < nl->nodes[i].n; j++)
                if (strcmp(nl->nodes[i].field[j], fields[f]) == 0) {
                    struct wprom_label lab[1] = { { "node", nl->nodes[i].name } };
                    wctl_prom_sample_ll(b, name, lab, 1, nl->nodes[i].value[j]);
                }
    }
    free(fields);
}

void wctl_metrics_render_prom(const struct wip_list *l, const struct wnode_list *nl, struct buf *b)
{
    ip_family(l, b, "postflow_warmup_ip_stage", "warm-up stage of the sending IP (0 = first)", IV_STAGE);
    ip_family(l, b, "postflow_warmup_ip_paused", "1 when the sending IP is paused", IV_PAUSED);
    ip_family(l, b, "postflow_warmup_ip_cap", "daily cap of the sending IP today (recipients)", IV_CAP);
    ip_family(l, b, "postflow_warmup_ip_used_today", "recipients sent through the IP today (UTC)", IV_USED);
    ip_family(l, b, "postflow_warmup_ip_messages_today", "messages sent through the IP today (UTC)", IV_MSGS);
    health_family(l, b, "postflow_warmup_sent_24h", "recipients sent in the last 24 hours", HV_SENT);
    health_family(l, b, "postflow_warmup_hard_bounces_24h", "hard bounces in the last 24 hours", HV_HARD);
    health_family(l, b, "postflow_warmup_soft_bounces_24h", "soft bounces in the last 24 hours", HV_SOFT);
    health_family(l, b, "postflow_warmup_complaints_24h", "complaints in the last 24 hours", HV_COMPLAINT);
    health_family(l, b, "postflow_delivery_deferred_24h", "deferrals receivers answered, 24 h", HV_DEFERRED);
    health_family(l, b, "postflow_delivery_delivered_24h", "deliveries receivers accepted, 24 h", HV_DELIVERED);
    health_family(l, b, "postflow_delivery_rejected_24h", "rejections at delivery time, 24 h", HV_REJECTED);
    node_families(nl, b);
    wctl_prom_family(b, "postflow_warmupctl_collected_timestamp_seconds", "gauge",
                     "Unix time warmupctl read these values from Redis");
    wctl_prom_sample_ll(b, "postflow_warmupctl_collected_timestamp_seconds", NULL, 0, l->now);
}

void wctl_metrics_nodes_json(const struct wnode_list *nl, struct buf *b)
{
    buf_append_char(b, '{');
    for (size_t i = 0; i < nl->n; i++) {
        json_key(b, nl->nodes[i].name, i == 0);
        buf_append_char(b, '{');
        for (size_t j = 0; j < nl->nodes[i].n; j++) {
            json_key(b, nl->nodes[i].field[j], j == 0);
            buf_printf(b, "%lld", nl->nodes[i].value[j]);
        }
        buf_append_char(b, '}');
    }
    buf_append_char(b, '}');
}

void wctl_metrics_render_json(const struct wip_list *l, const struct wnode_list *nl, struct buf *b)
{
    buf_append_str(b, "{\"status\":");
    wctl_status_render_json(l, b);
    buf_append_str(b, ",\"nodes\":");
    wctl_metrics_nodes_json(nl, b);
    buf_append_str(b, "}\n");
}

int wctl_metrics_cmd(struct wctl *w, const struct wctl_args *a)
{
    struct wip_list l;
    struct wnode_list nl;
    struct buf text;
    int rc = PF_EXIT_OK;

    if (wctl_ipdata_collect(w, &l) < 0)
        return w->status ? w->status : PF_EXIT_FAILURE;
    if (wctl_metrics_node_collect(w, &nl) < 0) {
        wctl_ipdata_free(&l);
        return w->status ? w->status : PF_EXIT_FAILURE;
    }
    struct wnode_list inbound;
    if (wctl_inbound_collect(w, &inbound) < 0) {
        wctl_metrics_node_free(&nl);
        wctl_ipdata_free(&l);
        return w->status ? w->status : PF_EXIT_FAILURE;
    }
    struct wdom_list dom;
    if (wctl_domain_collect(w, &dom) < 0) {
        wctl_metrics_node_free(&inbound);
        wctl_metrics_node_free(&nl);
        wctl_ipdata_free(&l);
        return w->status ? w->status : PF_EXIT_FAILURE;
    }
    buf_init(&text, 0);
    if (w->json) {
        wctl_metrics_render_json(&l, &nl, &text);
        /* the inbound counters and the domains join the object: reopen its closing brace */
        if (text.len >= 2 && text.data[text.len - 2] == '}' && text.data[text.len - 1] == '\n') {
            text.len -= 2;
            wctl_inbound_render_json(&inbound, &text);
            buf_append_char(&text, ',');
            wctl_domain_render_json(&dom, &text);
            buf_append_str(&text, "}\n");
        }
    } else {
        wctl_metrics_render_prom(&l, &nl, &text);
        wctl_inbound_render_prom(&inbound, &text);
        wctl_domain_render_prom(&dom, &text);
    }
    wctl_domain_free(&dom);
    wctl_metrics_node_free(&inbound);
    if (wctl_shaping_metrics(w, &text) < 0)
        rc = w->status ? w->status : PF_EXIT_FAILURE;
    else if (a->npos > 1) {
        if (wctl_write_file(a->pos[1], &text) < 0)
            rc = PF_EXIT_FAILURE;
    } else {
        buf_append(&w->out, text.data, text.len);
    }
    buf_free(&text);
    wctl_metrics_node_free(&nl);
    wctl_ipdata_free(&l);
    return rc;
}
