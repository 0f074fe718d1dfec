/*
 * NAME
 *   wctl_report.h - `warmupctl report --html FILE|-`: the warm-up state of
 *   every sending IP as one self-contained HTML page.
 *
 * DESCRIPTION
 *   The report is gathered from Redis once (struct wrep), then rendered by
 *   pure functions, so the page never depends on what Redis answers while
 *   it is being written:
 *     wctl_report_data.c  the status rows (wctl_ipdata.c, the same code as
 *                         `status`), the daily volume of the last WREP_DAYS
 *                         days (pf:day:), the stage on each of those days and
 *                         the latest events (pf:events), the bounce
 *                         categories (pf:bounces);
 *     wctl_report_fx.c    the shaping effects (pf:fx:{pool}:..., pf:fxd:{domain}:...);
 *     wctl_report_html.c  the page: summary, paused IPs, one section per IP;
 *     wctl_report_svg.c   the inline SVG charts (volume against cap, rate gauges);
 *     wctl_report.c       the command: collect, render, write.
 *   Every string that comes from Redis (much of it from mail: bounce
 *   categories, reply texts, pause reasons) is copied bounded into the
 *   structures below and HTML-escaped on output (wctl_report_esc).
 *
 * USERS
 *   warmupctl_main.c (the command table); the integration test
 *   tests/integration/test_warmupctl_report.py loads the page in Chromium.
 *
 * OWNERSHIP
 *   wctl_report_collect() fills a caller-provided struct wrep whose arrays
 *   it owns; wctl_report_free() releases them.  The renderers borrow it.
 */
#ifndef WCTL_REPORT_H
#define WCTL_REPORT_H

#include <stddef.h>

#include "buf.h"
#include "wctl.h"
#include "wctl_ipdata.h"

#define WREP_DAYS         14    /* days per volume chart, today included */
#define WREP_EVENTS_READ  10000 /* newest pf:events entries read (the stream's MAXLEN) */
#define WREP_IP_EVENTS    20    /* events kept per IP, newest first */
#define WREP_BOUNCES_READ 5000  /* newest pf:bounces entries read */
#define WREP_CATS         16    /* distinct bounce categories counted per IP */
#define WREP_TOP_CATS     5     /* of them shown */
#define WREP_FX_MAX       500   /* shaping effects kept */
#define WREP_TEXT         256   /* bytes kept of a free text (reason, evidence) */

struct wrep_day {
    long day;             /* yyyymmdd */
    int has_data;         /* the pf:day: hash exists */
    long long used, msgs; /* recipients, messages */
    long long stage;      /* stage that day (from the events), -1 unknown */
    long long cap;        /* cap of that stage, or WIP_CAP_UNKNOWN / WIP_CAP_UNLIMITED */
};

struct wrep_event {
    long long time;
    char event[24], from[16], to[16], node[64];
    char reason[WREP_TEXT];
};

struct wrep_cat {
    char name[64];
    long long n;
};

struct wrep_fx {
    int domain; /* 1: pf:fxd: (tag = sender domain); 0: pf:fx: (tag = pool) */
    char tag[128];
    char action[16], kind[16], subject[64], provider[64], rule[64];
    char origin[128], evidence[128], reason[WREP_TEXT];
    long long since, until;
    int ramping; /* a slow effect past its until, still ramping back up */
};

struct wrep_ip {
    struct wrep_day days[WREP_DAYS];      /* [0] oldest ... [WREP_DAYS - 1] today */
    struct wrep_event ev[WREP_IP_EVENTS]; /* newest first */
    size_t nev;
    struct wrep_cat cats[WREP_CATS]; /* by count, largest first */
    size_t ncats;
    long long bounces, cats_other; /* bounces counted; of them beyond WREP_CATS names */
};

struct wrep {
    struct wip_list ips; /* owned: the rows of `status` */
    struct wrep_ip *ip;  /* owned, parallel to ips.rows */
    struct wrep_fx *fx;  /* owned, active and ramping effects */
    size_t nfx, fx_dropped;
    long long now;
    long hard_ppm, soft_ppm, complaint_ppm; /* health thresholds (policy config) */
    char node[256];
    long long bounces_read, bounces_unattributed;
};

/* Reads everything; 0, or -1 (reported, w->status set).  Free with wctl_report_free(). */
int wctl_report_collect(struct wctl *w, struct wrep *rep);
void wctl_report_free(struct wrep *rep);

/* The shaping effects into rep->fx (wctl_report_fx.c); 0 or -1 (reported). */
int wctl_report_fx_collect(struct wctl *w, struct wrep *rep);
/* 1 when effect f applies to the IP of row r (its pool, and the IP or its netblock). */
int wctl_report_fx_applies(const struct wrep_fx *f, const struct wip_row *r);

/*
 * Copies at most outsize - 1 bytes of s (NULL: "") into out, never cutting a
 * UTF-8 sequence in two.
 */
void wctl_report_copy(char *out, size_t outsize, const char *s);

/* The whole page (wctl_report_html.c). */
void wctl_report_render_html(const struct wrep *rep, struct buf *b);
/* s HTML-escaped (& < > " '), control bytes shown as U+FFFD; NULL as "". */
void wctl_report_esc(struct buf *b, const char *s);

/* The volume-against-cap bar chart of one IP: <svg class="chart volume">. */
void wctl_report_svg_volume(const struct wrep_ip *ip, struct buf *b);
/* A horizontal gauge of rate part/whole against a threshold in ppm: <svg class="gauge">. */
void wctl_report_svg_gauge(long long part, long long whole, long threshold_ppm, struct buf *b);

#endif
