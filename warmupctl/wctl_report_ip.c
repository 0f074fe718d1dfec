/*
 * NAME
 *   wctl_report_ip.c - one sending IP's section of the `warmupctl report`
 *   page (see wctl_report_ip.h): volume chart, health against the limits,
 *   stage changes, top bounce categories, shaping effects.
 *
 * DESCRIPTION
 *   Rates are those of `status`: the last 24 hours of pf:hl: summed over
 *   the providers, over the recipients sent.  "soft" counts soft bounces
 *   and deferral DSNs (docs/redis-keys.md); "deferred at delivery" is the
 *   receivers' deferrals maillog-tap read in the MTA's log over the delivery
 *   attempts it counted, shown against the soft limit.  A rate exactly at its limit
 *   is shown as a warning (the daily evaluation holds the IP), above it as
 *   bad (pause, step back or hold, by rule).
 */
#include <stdio.h>
#include <string.h>

#include "wctl_fmt.h"
#include "wctl_report_ip.h"

const char *wctl_report_ip_rate_class(long long part, long long whole, long ppm)
{
    double lhs, rhs;

    if (whole <= 0)
        return "muted";
    lhs = (double)part * 1e6;
    rhs = (double)ppm * (double)whole;
    return lhs > rhs ? "bad" : lhs == rhs ? "warn" : "ok";
}

static void text_cell(struct buf *b, const char *s)
{
    buf_append_str(b, "<td>");
    wctl_report_esc(b, s);
    buf_append_str(b, "</td>");
}

static void title(const struct wip_row *r, size_t i, struct buf *b)
{
    const char *st = wctl_ipdata_state(r);

    buf_printf(b, "<section class=\"ip\" id=\"ip-%zu\" data-pool=\"", i + 1);
    wctl_report_esc(b, r->pool);
    buf_append_str(b, "\" data-ip=\"");
    wctl_report_esc(b, r->ip);
    buf_append_str(b, "\">\n<h2>");
    wctl_report_esc(b, r->pool);
    buf_append_str(b, " / ");
    wctl_report_esc(b, r->ip);
    buf_printf(b, " <span class=\"badge state-%s\">%s</span></h2>\n<p class=\"meta\">Schedule ", st, st);
    wctl_report_esc(b, r->schedule != NULL && r->schedule[0] != '\0' ? r->schedule : "(none)");
    buf_append_str(b, ", transport ");
    wctl_report_esc(b, r->transport != NULL ? r->transport : "(unknown)");
    if (r->has_state)
        buf_printf(b, "; stage %lld", r->stage);
    if (r->stage_since > 0)
        buf_printf(b, " since %ld", r->stage_since);
    if (r->start > 0)
        buf_printf(b, ", started %ld", r->start);
    if (r->last_eval > 0)
        buf_printf(b, ", last evaluated %ld", r->last_eval);
    buf_append_str(b, r->configured ? "." : "; not in this host's policy configuration (cap unknown).");
    buf_append_str(b, "</p>\n");
    if (r->paused) {
        char t[32];
        wctl_fmt_time(r->paused_at, t);
        buf_append_str(b, "<p class=\"bad pause\">Paused");
        if (r->paused_at > 0)
            buf_printf(b, " since %s UTC", t);
        buf_append_str(b, ": ");
        wctl_report_esc(b, r->paused_reason != NULL ? r->paused_reason : "no reason recorded");
        buf_append_str(b, "</p>\n");
    }
}

static void volume(const struct wrep_ip *x, struct buf *b)
{
    buf_printf(b,
               "<h3>Recipients per day against the cap (last %d days, UTC)</h3>\n"
               "<p class=\"legend\"><span><i class=\"sw\" style=\"background:#3f7fd0\"></i>sent</span>"
               "<span><i class=\"sw\" style=\"background:#c62828\"></i>over the cap</span>"
               "<span><i class=\"sw\" style=\"border-top:2px dashed #c62828;height:0\"></i>cap of the "
               "day's stage</span></p>\n",
               WREP_DAYS);
    wctl_report_svg_volume(x, b);
}

static void rate_row(struct buf *b, const char *what, long long part, long long whole, long ppm)
{
    const char *cls = wctl_report_ip_rate_class(part, whole, ppm);
    static const struct {
        const char *cls, *word;
    } WORDS[] = {
        { "muted", "no mail" },
        { "ok", "below the limit" },
        { "warn", "at the limit" },
        { "bad", "over the limit" },
    };
    const char *word = "";
    char pct[32];

    for (size_t i = 0; i < sizeof WORDS / sizeof WORDS[0]; i++)
        if (strcmp(WORDS[i].cls, cls) == 0)
            word = WORDS[i].word;
    wctl_fmt_percent(part, whole, pct);
    buf_printf(b,
               "<tr><td>%s</td><td class=\"n\">%lld / %lld</td><td class=\"n %s\">%s%s</td>"
               "<td class=\"n\">%.2f%%</td><td>",
               what, part, whole, cls, pct, whole > 0 ? "%" : "", ppm / 1e4);
    wctl_report_svg_gauge(part, whole, ppm, b);
    buf_printf(b, "</td><td class=\"%s\">%s</td></tr>\n", cls, word);
}

static void health(const struct wrep *rep, const struct wip_row *r, struct buf *b)
{
    buf_append_str(b, "<h3>Health, last 24 hours</h3>\n<table class=\"rates\">\n<tr><th>Rate</th>"
                      "<th class=\"n\">Count / sent</th><th class=\"n\">Rate</th><th class=\"n\">Limit</th>"
                      "<th></th><th></th></tr>\n");
    rate_row(b, "hard bounces", r->hard24, r->sent24, rep->hard_ppm);
    rate_row(b, "soft bounces", r->soft24, r->sent24, rep->soft_ppm);
    rate_row(b, "complaints", r->complaint24, r->sent24, rep->complaint_ppm);
    /* maillog-tap's count of the receivers' answers: deferrals over delivery attempts, against the soft limit */
    rate_row(b, "deferred at delivery", r->deferred24, r->delivered24 + r->deferred24 + r->rejected24, rep->soft_ppm);
    buf_append_str(b, "</table>\n");
}

static void events(const struct wrep_ip *x, struct buf *b)
{
    buf_append_str(b, "<h3>Stage changes and warm-up events</h3>\n");
    if (x->nev == 0) {
        buf_append_str(b, "<p class=\"muted\">No events.</p>\n");
        return;
    }
    buf_append_str(b, "<table class=\"events\">\n<tr><th>Time (UTC)</th><th>Event</th><th>Stage</th>"
                      "<th>Node</th><th>Reason</th></tr>\n");
    for (size_t i = 0; i < x->nev; i++) {
        const struct wrep_event *e = &x->ev[i];
        char t[32];
        wctl_fmt_time(e->time, t);
        buf_printf(b, "<tr><td>%s</td>", t);
        text_cell(b, e->event);
        buf_append_str(b, "<td>");
        wctl_report_esc(b, e->from);
        if (strcmp(e->from, e->to) != 0) {
            buf_append_str(b, " &rarr; ");
            wctl_report_esc(b, e->to);
        }
        buf_append_str(b, "</td>");
        text_cell(b, e->node);
        text_cell(b, e->reason);
        buf_append_str(b, "</tr>\n");
    }
    buf_append_str(b, "</table>\n");
}

static void categories(const struct wrep_ip *x, struct buf *b)
{
    long long rest = x->cats_other;

    buf_printf(b, "<h3>Top bounce categories (last %d days)</h3>\n", WREP_DAYS);
    if (x->bounces == 0) {
        buf_append_str(b, "<p class=\"muted\">No bounces.</p>\n");
        return;
    }
    buf_append_str(b, "<table class=\"categories\">\n<tr><th>Category</th><th class=\"n\">Bounces</th>"
                      "<th class=\"n\">Share</th></tr>\n");
    for (size_t c = 0; c < x->ncats; c++) {
        char pct[32];
        if (c >= WREP_TOP_CATS) {
            rest += x->cats[c].n;
            continue;
        }
        wctl_fmt_percent(x->cats[c].n, x->bounces, pct);
        buf_append_str(b, "<tr>");
        text_cell(b, x->cats[c].name);
        buf_printf(b, "<td class=\"n\">%lld</td><td class=\"n\">%s%%</td></tr>\n", x->cats[c].n, pct);
    }
    if (rest > 0)
        buf_printf(b, "<tr><td class=\"muted\">other categories</td><td class=\"n\">%lld</td><td></td></tr>\n", rest);
    buf_append_str(b, "</table>\n");
}

static void effect_row(const struct wrep_fx *f, long long now, struct buf *b)
{
    char since[32], until[32];

    wctl_fmt_time(f->since, since);
    wctl_fmt_time(f->until, until);
    buf_printf(b, "<tr class=\"effect\"><td><span class=\"badge %s\">", f->ramping ? "state-new" : "state-paused");
    wctl_report_esc(b, f->action);
    buf_printf(b, "%s</span></td>", f->ramping ? ", ramping" : "");
    text_cell(b, f->domain ? "domain" : "pool");
    text_cell(b, f->tag);
    text_cell(b, f->kind);
    text_cell(b, f->subject);
    text_cell(b, f->provider);
    buf_printf(b, "<td>%s</td><td>%s", since, until);
    if (!f->ramping)
        buf_printf(b, " <span class=\"muted\">(%lld min left)</span>", (f->until - now + 59) / 60);
    buf_append_str(b, "</td>");
    text_cell(b, f->rule);
    text_cell(b, f->evidence);
    text_cell(b, f->reason);
    text_cell(b, f->origin);
    buf_append_str(b, "</tr>\n");
}

void wctl_report_ip_effects(const struct wrep *rep, const struct wip_row *r, struct buf *b)
{
    size_t n = 0;

    for (size_t i = 0; i < rep->nfx; i++) {
        if (r != NULL && !wctl_report_fx_applies(&rep->fx[i], r))
            continue;
        if (n++ == 0)
            buf_append_str(b, "<table class=\"effects\">\n<tr><th>Action</th><th>On</th><th>Pool / domain</th>"
                              "<th>Kind</th><th>Subject</th><th>Provider</th><th>Since (UTC)</th>"
                              "<th>Until (UTC)</th><th>Rule</th><th>Evidence</th><th>Reply</th><th>Origin</th>"
                              "</tr>\n");
        effect_row(&rep->fx[i], rep->now, b);
    }
    buf_append_str(b, n > 0 ? "</table>\n" : "<p class=\"muted\">No shaping effect on this IP.</p>\n");
}

void wctl_report_ip_section(const struct wrep *rep, size_t i, struct buf *b)
{
    const struct wip_row *r = &rep->ips.rows[i];

    title(r, i, b);
    volume(&rep->ip[i], b);
    health(rep, r, b);
    events(&rep->ip[i], b);
    categories(&rep->ip[i], b);
    buf_append_str(b, "<h3>Shaping effects</h3>\n");
    wctl_report_ip_effects(rep, r, b);
    buf_append_str(b, "</section>\n");
}
