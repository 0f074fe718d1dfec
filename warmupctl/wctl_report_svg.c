/*
 * NAME
 *   wctl_report_svg.c - the inline SVG charts of `warmupctl report` (see
 *   wctl_report.h): no script, no external asset, sizes in the viewBox so
 *   the page's CSS scales them.
 *
 * DESCRIPTION
 *   Volume chart: one slot per day of the report window, oldest left; a
 *   <rect class="bar"> for each day that has a pf:day: hash (height: the
 *   recipients sent; "bar over" when above that day's cap), a dashed <line
 *   class="cap"> across the slot for each day whose cap is known and
 *   finite.  The y axis runs from 0 to a round number (1, 2 or 5 x 10^k) at
 *   least the largest volume or cap.  Each bar and cap line carries a
 *   <title> (a tooltip without script).
 *
 *   Gauge: a track, a <rect class="val"> for the rate and a <line
 *   class="limit"> at the threshold; the scale is twice the threshold, or
 *   more when the rate is higher.
 */
#include <stdio.h>

#include "wctl_report.h"

#define CW 720 /* chart width, height, plot margins */
#define CH 220
#define ML 64
#define MR 12
#define MT 14
#define MB 34

static long long nice_max(long long v)
{
    long long step = 1;

    if (v < 1)
        return 1;
    while (step <= v / 10)
        step *= 10;
    for (;;) {
        if (step >= v)
            return step;
        if (2 * step >= v)
            return 2 * step;
        if (5 * step >= v)
            return 5 * step;
        step *= 10;
    }
}

static long long chart_max(const struct wrep_ip *ip)
{
    long long m = 0;

    for (int i = 0; i < WREP_DAYS; i++) {
        if (ip->days[i].has_data && ip->days[i].used > m)
            m = ip->days[i].used;
        if (ip->days[i].cap > m)
            m = ip->days[i].cap;
    }
    return nice_max(m);
}

static double y_of(long long v, long long ymax)
{
    double h = CH - MT - MB;
    double y = (double)(v < 0 ? 0 : v > ymax ? ymax : v) / (double)ymax * h;

    return MT + h - y;
}

static void axes(long long ymax, struct buf *b)
{
    for (int g = 0; g <= 4; g++) {
        long long v = ymax / 4 * g;
        double y = y_of(g == 4 ? ymax : v, ymax);
        buf_printf(b,
                   "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
                   "<text class=\"ylab\" x=\"%d\" y=\"%.1f\">%lld</text>\n",
                   ML, CW - MR, y, y, ML - 6, y + 4, g == 4 ? ymax : v);
    }
}

static void day_label(long day, char out[16])
{
    snprintf(out, 16, "%02ld-%02ld", day / 100 % 100, day % 100);
}

static void day_slot(const struct wrep_day *d, int i, long long ymax, struct buf *b)
{
    double slot = (double)(CW - ML - MR) / WREP_DAYS, x = ML + slot * i;
    double y = y_of(d->used, ymax), base = y_of(0, ymax);
    char lab[16];

    day_label(d->day, lab);
    if (d->has_data) {
        int over = d->cap >= 0 && d->used > d->cap;
        buf_printf(b,
                   "<rect class=\"bar%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
                   "<title>%ld: %lld recipients, %lld messages</title></rect>\n",
                   over ? " over" : "", x + slot * 0.2, y, slot * 0.6, base - y, d->day, d->used, d->msgs);
    }
    if (d->cap >= 0) {
        double yc = y_of(d->cap, ymax);
        buf_printf(b,
                   "<line class=\"cap\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\">"
                   "<title>%ld: cap %lld (stage %lld)</title></line>\n",
                   x + slot * 0.08, x + slot * 0.92, yc, yc, d->day, d->cap, d->stage);
    }
    if (i % 2 == (WREP_DAYS - 1) % 2)
        buf_printf(b, "<text class=\"xlab\" x=\"%.1f\" y=\"%d\">%s</text>\n", x + slot / 2, CH - MB + 16, lab);
}

void wctl_report_svg_volume(const struct wrep_ip *ip, struct buf *b)
{
    long long ymax = chart_max(ip);

    buf_printf(b,
               "<svg class=\"chart volume\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
               "role=\"img\" aria-label=\"recipients per day against the daily cap, last %d days\">\n",
               CW, CH, WREP_DAYS);
    axes(ymax, b);
    for (int i = 0; i < WREP_DAYS; i++)
        day_slot(&ip->days[i], i, ymax, b);
    buf_printf(b, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>\n</svg>\n", ML, CW - MR,
               y_of(0, ymax), y_of(0, ymax));
}

void wctl_report_svg_gauge(long long part, long long whole, long threshold_ppm, struct buf *b)
{
    const double w = 160, h = 14;
    double rate = whole > 0 ? (double)part * 1e6 / (double)whole : 0;
    double scale = threshold_ppm > 0 ? 2.0 * (double)threshold_ppm : 1e4;
    double lim;

    if (rate > scale)
        scale = rate * 1.1;
    lim = threshold_ppm > 0 ? (double)threshold_ppm / scale * w : -1;
    buf_printf(b,
               "<svg class=\"gauge\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
               "width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"rate against its limit\">"
               "<rect class=\"track\" x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\"/>",
               w, h, w, h, w, h);
    if (whole > 0)
        buf_printf(b, "<rect class=\"val%s\" x=\"0\" y=\"2\" width=\"%.1f\" height=\"%.0f\"/>",
                   threshold_ppm > 0 && rate > (double)threshold_ppm ? " over" : "", rate / scale * w, h - 4);
    if (lim >= 0)
        buf_printf(b, "<line class=\"limit\" x1=\"%.1f\" x2=\"%.1f\" y1=\"0\" y2=\"%.0f\"/>", lim, lim, h);
    buf_append_str(b, "</svg>");
}
