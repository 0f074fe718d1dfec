/*
 * NAME
 *   wctl_shaping.h - the traffic-shaping effects in Redis as warmupctl reads
 *   and names them (`warmupctl shaping ...`, `status`, `metrics`).
 *
 * DESCRIPTION
 *   An effect is a detail key pf:fx:{<pool>}:<subject>:<provider>:<action>
 *   or pf:fxd:{<domain>}:<kind>:<provider>:<action> plus one field of its
 *   index (common/shaping.h, docs/redis-keys.md).  warmupctl names it
 *
 *       POOL/SUBJECT/PROVIDER/ACTION       main/192.0.2.0/24/gmail/slow
 *       @DOMAIN/KIND/PROVIDER/ACTION       @example.com/dkim/all/suspend
 *
 *   A pool name has no '/' and never starts with '@' (warmup_model.c), a
 *   provider and an action have no '/', so the subject is what lies between
 *   the first and the second-to-last '/' (a netblock keeps its "/24").
 *
 *   wctl_shaping_collect() walks both SCAN patterns and HGETALLs each key;
 *   a key counts only when the key rkey_shaping*() builds from its fields
 *   is that key, and only while the effect has not ended (ends > now).
 *   wctl_shaping_limit() is the hourly limit a slow-down allows now, the
 *   way policyd-warmup computes it (policy_script.c): max(floor,
 *   floor(base x factor^s)), s = step before until, then one step less per
 *   `clean` seconds.
 *
 * USERS
 *   wctl_shaping_cmd.c (the shaping commands), wctl_status.c, wctl_metrics.c.
 *
 * OWNERSHIP
 *   A struct wfx owns its HGETALL reply; its strings point into it.  A list
 *   owns its effects; wctl_shaping_free() releases everything.
 */
#ifndef WCTL_SHAPING_H
#define WCTL_SHAPING_H

#include "buf.h"
#include "wctl.h"

#define WFX_NAME_MAX (RKEY_MAX + 64)

/* What a command-line NAME designates (strings point into `text`). */
struct wfx_name {
    int domain;                                      /* 1: @DOMAIN/KIND/PROVIDER/ACTION */
    const char *scope, *subject, *provider, *action; /* subject = kind for a domain */
    char text[WFX_NAME_MAX];
};

struct wfx {
    redisReply *h; /* owned HGETALL reply */
    int domain;
    char scope[RKEY_VALUE_MAX + 1]; /* pool or domain */
    const char *subject, *kind, *provider, *action, *rule, *reason, *evidence, *origin, *queue_id;
    const char *factor, *extended_by; /* factor as stored (per step) */
    long long since, until, ends, step, floor, clean, base;
    char name[WFX_NAME_MAX];
    char key[RKEY_MAX];
};

struct wfx_list {
    struct wfx *fx; /* owned, sorted by name */
    size_t n, cap;
};

/* Parses a NAME (see above); -1 (reported, usage) when it is not one. */
int wctl_shaping_name_parse(const char *arg, struct wfx_name *n);
/* The detail key, the index key and the index field of a name; -1 (reported) when impossible. */
int wctl_shaping_name_keys(const struct wctl *w, const struct wfx_name *n, char detail[RKEY_MAX], char index[RKEY_MAX],
                           char *field, size_t fieldsize);

/* Reads the effect of one detail key into e.  1 found, 0 absent (or not an effect), -1 Redis trouble. */
int wctl_shaping_read(struct wctl *w, const char *key, struct wfx *e);
void wctl_shaping_fx_free(struct wfx *e);

/* Every active effect (see above).  0, or -1 (reported). */
int wctl_shaping_collect(struct wctl *w, struct wfx_list *out);
void wctl_shaping_free(struct wfx_list *l);

/* Messages per hour a slow-down allows at now; -1 when the effect sets no limit then. */
long long wctl_shaping_limit(const struct wfx *e, long long now);
/* "until 2026-12-03 14:00:00" or "ramping, 60/h now" (a slow-down after until) into out. */
void wctl_shaping_until_text(const struct wfx *e, long long now, char *out, size_t outsize);
/* One effect as a JSON object (every field; the reply text too). */
void wctl_shaping_json(const struct wfx *e, long long now, struct buf *b);

/* status: "shaping effects: N" and a table of one line each; nothing when there is none. */
void wctl_shaping_render_status(const struct wfx_list *l, long long now, struct buf *b);
/* status --json: "shaping":[...] (no leading comma). */
void wctl_shaping_render_status_json(const struct wfx_list *l, long long now, struct buf *b);
/*
 * metrics: appends the postflow_shaping_effects{action,provider} gauge to
 * the exposition text, or "shaping":[...] into the JSON object that ends
 * text ("}\n").  0, or -1 (reported).
 */
int wctl_shaping_metrics(struct wctl *w, struct buf *text);

#endif
