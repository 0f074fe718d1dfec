/*
 * NAME
 *   wctl_report_html.c - the page of `warmupctl report` (see
 *   wctl_report.h): head and style, the summary of every IP, the paused
 *   IPs, the shaping effects; the per-IP sections are wctl_report_ip.c.
 *
 * DESCRIPTION
 *   One self-contained HTML5 document: inline CSS and SVG, no script, no
 *   external reference; a Content-Security-Policy meta element forbids
 *   scripts and fetches, so even a string that escaped escaping could not
 *   run or call out.  Every text from Redis goes through wctl_report_esc().
 */
#include <stdio.h>
#include <string.h>

#include "wctl_fmt.h"
#include "wctl_report.h"
#include "wctl_report_ip.h"

static const char STYLE[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:16px;color:#1d2430}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 8px}h3{font-size:14px;margin:14px 0 4px}"
    ".meta{color:#5a6472;margin:0 0 16px}"
    "table{border-collapse:collapse;margin:4px 0 8px}th,td{padding:3px 8px;border-bottom:1px solid #e3e6ea;"
    "text-align:left;vertical-align:top}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    "section.ip{border:1px solid #d5d9df;border-radius:6px;padding:12px 14px;margin:14px 0}"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;color:#fff;background:#6b7685}"
    ".state-paused{background:#c62828}.state-warming{background:#ef8c00}.state-warm{background:#2e7d32}"
    ".state-new{background:#1565c0}"
    ".ok{color:#2e7d32}.warn{color:#ef8c00;font-weight:600}.bad{color:#c62828;font-weight:600}"
    ".muted{color:#7a8492}"
    "svg.chart{width:100%;max-width:720px;height:auto;display:block}"
    "svg .bar{fill:#3f7fd0}svg .bar.over{fill:#c62828}"
    "svg .cap{stroke:#c62828;stroke-width:2;stroke-dasharray:5 3}"
    "svg .grid{stroke:#e3e6ea}svg .axis{stroke:#5a6472}"
    "svg .ylab{font-size:11px;text-anchor:end;fill:#5a6472}svg .xlab{font-size:11px;text-anchor:middle;fill:#5a6472}"
    "svg.gauge .track{fill:#eef0f3}svg.gauge .val{fill:#3f7fd0}svg.gauge .val.over{fill:#c62828}"
    "svg.gauge .limit{stroke:#1d2430;stroke-width:2}"
    ".legend span{margin-right:14px}.sw{display:inline-block;width:12px;height:12px;vertical-align:-2px;"
    "margin-right:4px}";

void wctl_report_esc(struct buf *b, const char *s)
{
    if (s == NULL)
        return;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': buf_append_str(b, "&amp;"); break;
        case '<': buf_append_str(b, "&lt;"); break;
        case '>': buf_append_str(b, "&gt;"); break;
        case '"': buf_append_str(b, "&quot;"); break;
        case '\'': buf_append_str(b, "&#39;"); break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F)
                buf_append_str(b, "\xEF\xBF\xBD"); /* U+FFFD */
            else
                buf_append_char(b, (char)c);
        }
    }
}

static void head(const struct wrep *rep, struct buf *b)
{
    char t[32];

    wctl_fmt_time(rep->now, t);
    buf_append_str(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                      "style-src 'unsafe-inline'\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    buf_append_str(b, "postflow warm-up report: ");
    wctl_report_esc(b, rep->node);
    buf_printf(b,
               "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>postflow warm-up report</h1>\n"
               "<p class=\"meta\">",
               STYLE);
    buf_printf(b, "%s UTC, from ", t);
    wctl_report_esc(b, rep->node);
    buf_printf(b,
               ". Limits: hard bounces %.2f%%, soft bounces and deferrals at delivery %.2f%%, complaints %.2f%% "
               "of the recipients of the last 24 hours.</p>\n",
               rep->hard_ppm / 1e4, rep->soft_ppm / 1e4, rep->complaint_ppm / 1e4);
}

static void count_cell(struct buf *b, long long v)
{
    if (v == WIP_CAP_UNLIMITED)
        buf_append_str(b, "<td class=\"n\">unlimited</td>");
    else if (v < 0)
        buf_append_str(b, "<td class=\"n muted\">-</td>");
    else
        buf_printf(b, "<td class=\"n\">%lld</td>", v);
}

static void rate_cell(struct buf *b, long long part, long long whole, long ppm)
{
    char pct[32];

    wctl_fmt_percent(part, whole, pct);
    buf_printf(b, "<td class=\"n %s\">%s</td>", wctl_report_ip_rate_class(part, whole, ppm), pct);
}

static size_t effects_on(const struct wrep *rep, const struct wip_row *r)
{
    size_t n = 0;

    for (size_t i = 0; i < rep->nfx; i++)
        n += (size_t)wctl_report_fx_applies(&rep->fx[i], r);
    return n;
}

static void summary(const struct wrep *rep, struct buf *b)
{
    buf_append_str(b, "<h2>Sending IPs</h2>\n");
    if (rep->ips.n == 0) {
        buf_append_str(b, "<p class=\"muted\" id=\"no-ips\">No pools registered in Redis "
                          "(policyd-warmup registers them at start).</p>\n");
        return;
    }
    buf_append_str(b, "<table class=\"summary\">\n<tr><th>Pool</th><th>IP</th><th>State</th>"
                      "<th class=\"n\">Stage</th><th class=\"n\">Cap today</th><th class=\"n\">Used</th>"
                      "<th class=\"n\">Sent 24 h</th><th class=\"n\">Hard %</th><th class=\"n\">Soft %</th>"
                      "<th class=\"n\">Complaint %</th><th class=\"n\">Effects</th></tr>\n");
    for (size_t i = 0; i < rep->ips.n; i++) {
        const struct wip_row *r = &rep->ips.rows[i];
        const char *st = wctl_ipdata_state(r);
        buf_append_str(b, "<tr><td>");
        wctl_report_esc(b, r->pool);
        buf_printf(b, "</td><td><a href=\"#ip-%zu\">", i + 1);
        wctl_report_esc(b, r->ip);
        buf_printf(b, "</a></td><td><span class=\"badge state-%s\">%s</span></td>", st, st);
        count_cell(b, r->has_state ? r->stage : -1);
        count_cell(b, r->cap);
        count_cell(b, r->used);
        count_cell(b, r->sent24);
        rate_cell(b, r->hard24, r->sent24, rep->hard_ppm);
        rate_cell(b, r->soft24, r->sent24, rep->soft_ppm);
        rate_cell(b, r->complaint24, r->sent24, rep->complaint_ppm);
        buf_printf(b, "<td class=\"n\">%zu</td></tr>\n", effects_on(rep, r));
    }
    buf_append_str(b, "</table>\n");
}

static void paused(const struct wrep *rep, struct buf *b)
{
    size_t n = 0;

    buf_append_str(b, "<h2>Paused IPs</h2>\n");
    for (size_t i = 0; i < rep->ips.n; i++) {
        const struct wip_row *r = &rep->ips.rows[i];
        char t[32];
        if (!r->paused)
            continue;
        if (n++ == 0)
            buf_append_str(b, "<table class=\"paused\">\n<tr><th>Pool</th><th>IP</th><th>Since (UTC)</th>"
                              "<th>Why</th></tr>\n");
        wctl_fmt_time(r->paused_at, t);
        buf_append_str(b, "<tr><td>");
        wctl_report_esc(b, r->pool);
        buf_append_str(b, "</td><td>");
        wctl_report_esc(b, r->ip);
        buf_printf(b, "</td><td>%s</td><td class=\"reason\">", t);
        wctl_report_esc(b, r->paused_reason != NULL ? r->paused_reason : "(no reason recorded)");
        buf_append_str(b, "</td></tr>\n");
    }
    buf_append_str(b, n > 0 ? "</table>\n" : "<p class=\"ok\" id=\"none-paused\">No IP is paused.</p>\n");
}

static void all_effects(const struct wrep *rep, struct buf *b)
{
    buf_append_str(b, "<h2>Active shaping effects</h2>\n");
    if (rep->nfx == 0) {
        buf_append_str(b, "<p class=\"muted\" id=\"no-effects\">No shaping effect is active.</p>\n");
        return;
    }
    wctl_report_ip_effects(rep, NULL, b);
    if (rep->fx_dropped > 0)
        buf_printf(b, "<p class=\"warn\">%zu more effects not shown.</p>\n", rep->fx_dropped);
}

void wctl_report_render_html(const struct wrep *rep, struct buf *b)
{
    head(rep, b);
    summary(rep, b);
    paused(rep, b);
    all_effects(rep, b);
    for (size_t i = 0; i < rep->ips.n; i++)
        wctl_report_ip_section(rep, i, b);
    buf_printf(b,
               "<p class=\"muted\">Bounces counted: %lld in the last %d days (of the newest %d entries of "
               "the bounce stream), %lld not attributed to a sending IP.</p>\n</body>\n</html>\n",
               rep->bounces_read, WREP_DAYS, WREP_BOUNCES_READ, rep->bounces_unattributed);
}
