/*
 * NAME
 *   wctl_metrics.h - the counters of each policyd-warmup instance
 *   (pf:metrics:<node>) and the Prometheus rendering of everything
 *   `warmupctl metrics` exports.
 */
#ifndef WCTL_METRICS_H
#define WCTL_METRICS_H

#include "buf.h"
#include "wctl_ipdata.h"

struct wnode {
    char *name; /* owned */
    size_t n;
    char **field;     /* owned */
    long long *value; /* owned */
};

struct wnode_list {
    struct wnode *nodes; /* owned, sorted by name */
    size_t n;
};

/* Reads every pf:metrics:* hash (numeric fields only). 0 or -1 (reported). */
int wctl_metrics_node_collect(struct wctl *w, struct wnode_list *out);
void wctl_metrics_node_free(struct wnode_list *l);

/* The whole exposition (IP families, then node families), ending in "\n". */
void wctl_metrics_render_prom(const struct wip_list *ips, const struct wnode_list *nodes, struct buf *b);
/* {"status":{...},"nodes":{"name":{"field":n,...}}} + "\n" */
/* {"name":{"field":N,...},...} of a node list (also the inbound counters). */
void wctl_metrics_nodes_json(const struct wnode_list *nl, struct buf *b);
void wctl_metrics_render_json(const struct wip_list *ips, const struct wnode_list *nodes, struct buf *b);

#endif
