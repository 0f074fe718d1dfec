/*
 * tap_counts.c - outcome counters per IP x provider x hour (see tap_counts.h).
 */
#include "tap_counts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text_safe.h"
#include "xalloc.h"

#define TAP_COUNTS_BUCKETS 4096

void tap_counts_init(struct tap_counts *c)
{
    memset(c, 0, sizeof *c);
    c->heads = xcalloc(TAP_COUNTS_BUCKETS, sizeof *c->heads);
}

void tap_counts_free(struct tap_counts *c)
{
    free(c->rows);
    free(c->heads);
    memset(c, 0, sizeof *c);
}

void tap_counts_clear(struct tap_counts *c)
{
    c->n = 0;
    memset(c->heads, 0, TAP_COUNTS_BUCKETS * sizeof *c->heads);
}

const char *tap_counts_field_name(enum tap_count_field f)
{
    static const char *const names[] = { "delivered", "deferred", "rejected" };
    return f < TAP_COUNT_FIELDS ? names[f] : "";
}

static uint32_t mix(uint32_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static size_t bucket_of(const char *domain, const char *qid, const char *ip, const char *transport,
                        const char *provider, long long hour)
{
    uint32_t h = mix(mix(mix(mix(mix(2166136261u, domain), qid), ip), transport), provider);
    h = (h ^ (uint32_t)hour) * 16777619u;
    return h % TAP_COUNTS_BUCKETS;
}

static struct tap_count_row *row_for(struct tap_counts *c, const char *domain, const char *qid, const char *ip,
                                     const char *transport, const char *provider, long long hour)
{
    size_t b = bucket_of(domain, qid, ip, transport, provider, hour);
    for (size_t i = c->heads[b]; i != 0; i = c->rows[i - 1].next) {
        struct tap_count_row *r = &c->rows[i - 1];
        if (r->hour == hour && strcmp(r->ip, ip) == 0 && strcmp(r->transport, transport) == 0 &&
            strcmp(r->provider, provider) == 0 && strcmp(r->domain, domain) == 0 && strcmp(r->qid, qid) == 0)
            return r;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->rows = xrealloc(c->rows, c->cap * sizeof *c->rows);
    }
    struct tap_count_row *r = &c->rows[c->n++];
    memset(r, 0, sizeof *r);
    memcpy(r->domain, domain, strlen(domain) + 1);
    memcpy(r->qid, qid, strlen(qid) + 1);
    memcpy(r->ip, ip, strlen(ip) + 1);
    memcpy(r->transport, transport, strlen(transport) + 1);
    memcpy(r->provider, provider, strlen(provider) + 1);
    r->hour = hour;
    r->next = c->heads[b];
    c->heads[b] = c->n;
    return r;
}

static int field_of(const struct tap_event *ev, enum tap_count_field *out)
{
    switch (ev->status) {
    case TAP_STATUS_SENT: *out = TAP_COUNT_DELIVERED; return 0;
    case TAP_STATUS_DEFERRED: *out = TAP_COUNT_DEFERRED; return 0;
    case TAP_STATUS_BOUNCED: *out = TAP_COUNT_REJECTED; return 0;
    default: return -1;
    }
}

void tap_counts_add_domain(struct tap_counts *c, const struct tap_event *ev, const char *provider, const char *domain)
{
    enum tap_count_field f;
    char dom[256], prov[32];
    if (domain == NULL || domain[0] == '\0' || ev->time < 0 || field_of(ev, &f) < 0)
        return;
    text_safe(dom, sizeof dom, domain, strlen(domain));
    text_safe(prov, sizeof prov, provider ? provider : "other", strlen(provider ? provider : "other"));
    row_for(c, dom, "", "", "", prov, ev->time / 3600)->n[f]++;
}

void tap_counts_add_qid(struct tap_counts *c, const struct tap_event *ev, const char *provider)
{
    enum tap_count_field f;
    char qid[64], prov[32];
    if (ev->queue_id.p == NULL || ev->queue_id.n == 0 || ev->queue_id.n >= sizeof qid || ev->time < 0 ||
        field_of(ev, &f) < 0)
        return;
    text_safe(qid, sizeof qid, ev->queue_id.p, ev->queue_id.n);
    text_safe(prov, sizeof prov, provider ? provider : "other", strlen(provider ? provider : "other"));
    row_for(c, "", qid, "", "", prov, ev->time / 3600)->n[f]++;
}

void tap_counts_add(struct tap_counts *c, const struct tap_event *ev, const char *provider)
{
    enum tap_count_field f;
    if (ev->time < 0 || field_of(ev, &f) < 0)
        return;
    char ip[64], transport[64], prov[32];
    text_safe(ip, sizeof ip, ev->source_ip.p ? ev->source_ip.p : "", ev->source_ip.p ? ev->source_ip.n : 0);
    text_safe(transport, sizeof transport, ev->transport.p ? ev->transport.p : "",
              ev->transport.p ? ev->transport.n : 0);
    text_safe(prov, sizeof prov, provider ? provider : "other", strlen(provider ? provider : "other"));
    row_for(c, "", "", ip, transport, prov, ev->time / 3600)->n[f]++;
    c->outcomes++;
}

void tap_counts_drop_first(struct tap_counts *c, size_t k)
{
    if (k > c->n)
        k = c->n;
    memmove(c->rows, c->rows + k, (c->n - k) * sizeof *c->rows);
    size_t left = c->n - k;
    tap_counts_clear(c);
    for (size_t i = 0; i < left; i++) {
        struct tap_count_row *r = &c->rows[i];
        size_t b = bucket_of(r->domain, r->qid, r->ip, r->transport, r->provider, r->hour);
        r->next = c->heads[b];
        c->heads[b] = i + 1;
    }
    c->n = left;
}
