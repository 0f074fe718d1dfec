/*
 * tap_fx.c - effects waiting for Redis, and their queue (see tap_fx.h).
 */
#include "tap_fx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_safe.h"
#include "xalloc.h"

const char *tap_fx_kind_name(enum tap_key_kind k)
{
    switch (k) {
    case TAP_KEY_NETBLOCK: return "netblock";
    case TAP_KEY_DKIM_DOMAIN: return "dkim";
    case TAP_KEY_SPF_DOMAIN: return "spf";
    case TAP_KEY_URL_DOMAIN: return "url";
    default: return "ip";
    }
}

static void view_copy(char *out, size_t outsize, struct tap_str v)
{
    text_safe(out, outsize, v.p ? v.p : "", v.p ? v.n : 0);
}

void tap_fx_from(struct tap_fx *fx, const struct tap_event *ev, const struct tap_verdict *v,
                 const struct tap_shape_effect *eff)
{
    memset(fx, 0, sizeof *fx);
    snprintf(fx->action, sizeof fx->action, "%s", tap_effect_name(eff->kind));
    snprintf(fx->kind, sizeof fx->kind, "%s", tap_fx_kind_name(eff->key));
    snprintf(fx->subject, sizeof fx->subject, "%s", eff->value);
    view_copy(fx->ip, sizeof fx->ip, ev->source_ip);
    view_copy(fx->transport, sizeof fx->transport, ev->transport);
    snprintf(fx->provider, sizeof fx->provider, "%s", eff->provider ? eff->provider : "other");
    fx->start = eff->start;
    fx->until = eff->until;
    const struct tap_effect *re = eff->rule ? &eff->rule->effect : NULL;
    fx->factor = eff->kind == TAP_EFFECT_SLOW && re != NULL ? re->factor : 1.0;
    fx->clean = eff->kind == TAP_EFFECT_SLOW && re != NULL ? re->clean : 0;
    fx->floor = eff->floor;
    fx->step = eff->step;
    snprintf(fx->rule, sizeof fx->rule, "%s", eff->rule ? eff->rule->name : "");
    struct tap_str judged = tap_judged_text(ev);
    view_copy(fx->reason, sizeof fx->reason, judged);
    const struct tap_trigger *t = eff->rule ? &eff->rule->trigger : NULL;
    if (t == NULL || t->kind == TAP_TRIGGER_IMMEDIATE)
        snprintf(fx->evidence, sizeof fx->evidence, "immediate");
    else if (t->kind == TAP_TRIGGER_COUNT)
        snprintf(fx->evidence, sizeof fx->evidence, "count %lld in %llds", eff->count, t->window);
    else
        snprintf(fx->evidence, sizeof fx->evidence, "rate %lld/%lld in %llds", eff->count, eff->total, t->window);
    view_copy(fx->queue_id, sizeof fx->queue_id, ev->queue_id);
    view_copy(fx->recipient, sizeof fx->recipient, ev->recipient);
    view_copy(fx->status, sizeof fx->status, ev->dsn);
    snprintf(fx->category, sizeof fx->category, "%s", v->reply.category);
    snprintf(fx->why, sizeof fx->why, "%s", v->reply.why);
    fx->demoted = eff->demoted;
}

void tap_fxq_init(struct tap_fxq *q, size_t max)
{
    memset(q, 0, sizeof *q);
    q->max = max > 0 ? max : 1;
}

void tap_fxq_free(struct tap_fxq *q)
{
    free(q->v);
    memset(q, 0, sizeof *q);
}

bool tap_fxq_full(const struct tap_fxq *q)
{
    return q->n >= q->max;
}

void tap_fxq_push(struct tap_fxq *q, const struct tap_fx *fx)
{
    if (q->n == q->cap) { /* grow, unrolling the ring */
        size_t cap = q->cap ? q->cap * 2 : 16;
        struct tap_fx *v = xcalloc(cap, sizeof *v);
        for (size_t i = 0; i < q->n; i++)
            v[i] = q->v[(q->head + i) % q->cap];
        free(q->v);
        q->v = v;
        q->cap = cap;
        q->head = 0;
    }
    q->v[(q->head + q->n) % q->cap] = *fx;
    q->n++;
}

const struct tap_fx *tap_fxq_peek(const struct tap_fxq *q)
{
    return q->n > 0 ? &q->v[q->head] : NULL;
}

void tap_fxq_pop(struct tap_fxq *q)
{
    if (q->n == 0)
        return;
    q->head = (q->head + 1) % q->cap;
    q->n--;
}
