/*
 * NAME
 *   wctl_inbound.c - bounce-proc / fbl-proc event counters for metrics (see wctl_inbound.h).
 */
#include <stdlib.h>
#include <string.h>

#include "wctl_cmds.h"
#include "wctl_inbound.h"
#include "wctl_prom.h"
#include "xalloc.h"

static const char *const PROGRAMS[] = { "bounce-proc", "fbl-proc" };
#define FAMILY "postflow_inbound_events_total"

static int read_program(struct wctl *w, const char *program, struct wnode_list *out)
{
    char key[RKEY_MAX];
    if (rkey_inbound_counters(&w->keys, key, program) < 0)
        return 0;
    const char *argv[] = { "HGETALL", key };
    redisReply *h = wctl_cmd(w, 2, argv, NULL);
    if (h == NULL)
        return -1;
    if (h->type == REDIS_REPLY_ARRAY && h->elements >= 2) {
        out->nodes = xrealloc(out->nodes, (out->n + 1) * sizeof *out->nodes);
        struct wnode *nd = &out->nodes[out->n++];
        memset(nd, 0, sizeof *nd);
        nd->name = xstrdup(program);
        nd->field = xcalloc(h->elements / 2, sizeof(char *));
        nd->value = xcalloc(h->elements / 2, sizeof(long long));
        for (size_t i = 0; i + 1 < h->elements; i += 2) {
            char *end;
            if (h->element[i]->type != REDIS_REPLY_STRING || h->element[i + 1]->type != REDIS_REPLY_STRING)
                continue;
            long long v = strtoll(h->element[i + 1]->str, &end, 10);
            if (end == h->element[i + 1]->str || *end != '\0')
                continue;
            nd->field[nd->n] = xstrdup(h->element[i]->str);
            nd->value[nd->n++] = v;
        }
    }
    redis_reply_free(h);
    return 0;
}

int wctl_inbound_collect(struct wctl *w, struct wnode_list *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sizeof PROGRAMS / sizeof PROGRAMS[0]; i++)
        if (read_program(w, PROGRAMS[i], out) < 0) {
            wctl_metrics_node_free(out);
            return -1;
        }
    return 0;
}

void wctl_inbound_render_prom(const struct wnode_list *l, struct buf *b)
{
    size_t total = 0;
    for (size_t i = 0; i < l->n; i++)
        total += l->nodes[i].n;
    if (total == 0)
        return;
    wctl_prom_family(b, FAMILY, "counter",
                     "inbound report lines of bounce-proc and fbl-proc, by type, class, category and verification");
    for (size_t i = 0; i < l->n; i++)
        for (size_t j = 0; j < l->nodes[i].n; j++) {
            char parts[4][128] = { "", "", "", "" };
            const char *f = l->nodes[i].field[j];
            for (size_t p = 0; p < 4 && f != NULL; p++) {
                const char *bar = strchr(f, '|');
                size_t n = bar ? (size_t)(bar - f) : strlen(f);
                if (n >= sizeof parts[p])
                    n = sizeof parts[p] - 1;
                memcpy(parts[p], f, n);
                f = bar ? bar + 1 : NULL;
            }
            struct wprom_label lab[5] = {
                { "program", l->nodes[i].name }, { "type", parts[0] },     { "class", parts[1] },
                { "category", parts[2] },        { "verified", parts[3] },
            };
            wctl_prom_sample_ll(b, FAMILY, lab, 5, l->nodes[i].value[j]);
        }
}

void wctl_inbound_render_json(const struct wnode_list *l, struct buf *b)
{
    buf_append_str(b, ",\"inbound\":");
    wctl_metrics_nodes_json(l, b);
}
