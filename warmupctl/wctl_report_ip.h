/*
 * NAME
 *   wctl_report_ip.h - the section of one sending IP in the page of
 *   `warmupctl report`, and the effect table shared with the page.
 *
 * USERS
 *   wctl_report_html.c.
 *
 * OWNERSHIP
 *   Everything borrowed; output appended to the caller's buffer.
 */
#ifndef WCTL_REPORT_IP_H
#define WCTL_REPORT_IP_H

#include "wctl_report.h"

/* Section of rep->ips.rows[i]: <section class="ip" id="ip-(i+1)" data-pool=.. data-ip=..>. */
void wctl_report_ip_section(const struct wrep *rep, size_t i, struct buf *b);
/* Table of the effects that apply to r (NULL: every effect). */
void wctl_report_ip_effects(const struct wrep *rep, const struct wip_row *r, struct buf *b);
/* CSS class of a rate against its limit: "muted" (no mail), "ok", "warn" (at it), "bad" (over it). */
const char *wctl_report_ip_rate_class(long long part, long long whole, long ppm);

#endif
