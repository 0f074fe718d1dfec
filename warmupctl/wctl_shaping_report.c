/*
 * NAME
 *   wctl_shaping_report.c - the active shaping effects in `warmupctl
 *   status` (a short section) and `warmupctl metrics` (the
 *   postflow_shaping_effects{action,provider} gauge), see wctl_shaping.h.
 */
#include "wctl_shaping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wctl_fmt.h"
#include "wctl_prom.h"
#include "wctl_table.h"
#include "xalloc.h"

/* What the effect does now: "suspend until T", "slow 60/h until T", "slow 60/h ramping up, ends T". */
static void state_text(const struct wfx *e, long long now, char *out, size_t outsize)
{
    char t[32], lim[48] = "";
    long long l = wctl_shaping_limit(e, now);
    int ramping = now >= e->until;

    if (l >= 0)
        snprintf(lim, sizeof lim, " %lld/h", l);
    wctl_fmt_time(ramping ? e->ends : e->until, t);
    snprintf(out, outsize, "%s%s %s %s", e->action, lim, ramping ? "ramping up, ends" : "until", t);
}

void wctl_shaping_render_status(const struct wfx_list *l, long long now, struct buf *b)
{
    static const char *const heads[] = { "EFFECT", "NOW", "RULE" };
    struct wtable t;

    if (l->n == 0)
        return; /* like the domain table: no section when there is nothing (JSON: []) */
    buf_printf(b, "\nshaping effects: %zu\n", l->n);
    wctl_table_init(&t, 3, heads, 0);
    for (size_t i = 0; i < l->n; i++) {
        char state[160];
        const char *cols[3];
        state_text(&l->fx[i], now, state, sizeof state);
        cols[0] = l->fx[i].name;
        cols[1] = state;
        cols[2] = l->fx[i].rule;
        wctl_table_add(&t, cols);
    }
    wctl_table_render(&t, b);
    wctl_table_free(&t);
}

void wctl_shaping_render_status_json(const struct wfx_list *l, long long now, struct buf *b)
{
    json_key(b, "shaping", 1);
    buf_append_char(b, '[');
    for (size_t i = 0; i < l->n; i++) {
        if (i > 0)
            buf_append_char(b, ',');
        wctl_shaping_json(&l->fx[i], now, b);
    }
    buf_append_char(b, ']');
}

/* ---- metrics ---------------------------------------------------------------- */

struct pair {
    const char *action, *provider;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    int c = strcmp(x->action, y->action);
    return c != 0 ? c : strcmp(x->provider, y->provider);
}

static void render_prom(const struct wfx_list *l, struct buf *b)
{
    static const char NAME[] = "postflow_shaping_effects";
    struct pair *p;

    if (l->n == 0)
        return;
    p = xcalloc(l->n, sizeof *p);
    for (size_t i = 0; i < l->n; i++)
        p[i] = (struct pair){ l->fx[i].action, l->fx[i].provider };
    qsort(p, l->n, sizeof *p, cmp_pair);
    wctl_prom_family(b, NAME, "gauge", "active traffic-shaping effects (suspend, slow, hold) per provider");
    for (size_t i = 0, run = 1; i < l->n; i++, run++) {
        if (i + 1 < l->n && cmp_pair(&p[i], &p[i + 1]) == 0)
            continue;
        struct wprom_label lab[2] = { { "action", p[i].action }, { "provider", p[i].provider } };
        wctl_prom_sample_ll(b, NAME, lab, 2, (long long)run);
        run = 0;
    }
    free(p);
}

int wctl_shaping_metrics(struct wctl *w, struct buf *text)
{
    struct wfx_list l;

    if (wctl_shaping_collect(w, &l) < 0)
        return -1;
    if (!w->json) {
        render_prom(&l, text);
    } else if (text->len >= 2 && text->data[text->len - 2] == '}' && text->data[text->len - 1] == '\n') {
        /* the effects join the object: reopen its closing brace */
        text->len -= 2;
        buf_append_char(text, ',');
        wctl_shaping_render_status_json(&l, w->now, text);
        buf_append_str(text, "}\n");
    }
    wctl_shaping_free(&l);
    return 0;
}
