/*
 * NAME
 *   redis_keys.c - builds every Redis key postflow uses.
 *
 * DESCRIPTION
 *   See redis_keys.h for the layout and docs/redis-keys.md for each key.
 *   The builders share one helper, key_build(), that appends checked parts
 *   into the caller's buffer; a part that fails rkey_value_ok() or a key
 *   longer than RKEY_MAX-1 makes the whole call fail (return -1) with out
 *   set to "" so a caller that ignores the status cannot use half a key.
 */
#include "redis_keys.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_PREFIX "pf:"

struct keybuf {
    char *out;
    size_t len;
    int failed;
};

static void kb_raw(struct keybuf *kb, const char *s, size_t n)
{
    if (kb->failed)
        return;
    if (kb->len + n >= RKEY_MAX) {
        kb->failed = 1;
        return;
    }
    memcpy(kb->out + kb->len, s, n);
    kb->len += n;
    kb->out[kb->len] = '\0';
}

static void kb_str(struct keybuf *kb, const char *s)
{
    kb_raw(kb, s, strlen(s));
}

/* A value from outside (mail, config): checked, optionally lowercased. */
static void kb_value(struct keybuf *kb, const char *v, size_t n, int lower)
{
    if (kb->failed)
        return;
    if (v == NULL || !rkey_value_ok(v, n)) {
        kb->failed = 1;
        return;
    }
    if (kb->len + n >= RKEY_MAX) {
        kb->failed = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (lower && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        kb->out[kb->len++] = c;
    }
    kb->out[kb->len] = '\0';
}

static void kb_num(struct keybuf *kb, long long n)
{
    char tmp[32];
    int w = snprintf(tmp, sizeof tmp, "%lld", n);
    kb_raw(kb, tmp, (size_t)w);
}

static void kb_start(struct keybuf *kb, const struct rkeys *k, char *out, const char *family)
{
    kb->out = out;
    kb->len = 0;
    kb->failed = 0;
    out[0] = '\0';
    kb_raw(kb, k->prefix, k->prefix_len);
    kb_str(kb, family);
}

static int kb_finish(struct keybuf *kb)
{
    if (kb->failed) {
        kb->out[0] = '\0';
        return -1;
    }
    return (int)kb->len;
}

int rkey_value_ok(const char *value, size_t len)
{
    if (len == 0 || len > RKEY_VALUE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c <= 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

int rkeys_init(struct rkeys *k, const char *prefix)
{
    if (prefix == NULL)
        prefix = DEFAULT_PREFIX;
    size_t n = strlen(prefix);
    if (n > RKEY_PREFIX_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)prefix[i];
        if (c <= 0x20 || c == 0x7f || c == '{' || c == '}')
            return -1;
    }
    memcpy(k->prefix, prefix, n);
    k->prefix[n] = '\0';
    k->prefix_len = n;
    return 0;
}

int rkey_suppression(const struct rkeys *k, char *out, const char *address, size_t len)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "sup:{");
    kb_value(&kb, address, len, 1);
    kb_str(&kb, "}");
    return kb_finish(&kb);
}

int rkey_suppression_pattern(const struct rkeys *k, char *out)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "sup:{*");
    return kb_finish(&kb);
}

int rkey_ratelimit(const struct rkeys *k, char *out, const char *rule, const char *value, size_t len)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "rl:{");
    kb_value(&kb, rule, rule ? strlen(rule) : 0, 0);
    kb_str(&kb, ":");
    kb_value(&kb, value, len, 1);
    kb_str(&kb, "}");
    return kb_finish(&kb);
}

static void kb_pool_ip(struct keybuf *kb, const char *pool, const char *ip)
{
    kb_str(kb, "{");
    kb_value(kb, pool, pool ? strlen(pool) : 0, 0);
    kb_str(kb, "}:");
    kb_value(kb, ip, ip ? strlen(ip) : 0, 1);
}

int rkey_ip_state(const struct rkeys *k, char *out, const char *pool, const char *ip)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "ip:");
    kb_pool_ip(&kb, pool, ip);
    return kb_finish(&kb);
}

int rkey_ip_day(const struct rkeys *k, char *out, const char *pool, const char *ip, long day)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "day:");
    kb_pool_ip(&kb, pool, ip);
    kb_str(&kb, ":");
    kb_num(&kb, day);
    return kb_finish(&kb);
}

int rkey_health(const struct rkeys *k, char *out, const char *pool, const char *ip, const char *provider,
                long long hour)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "hl:");
    kb_pool_ip(&kb, pool, ip);
    kb_str(&kb, ":");
    kb_value(&kb, provider, provider ? strlen(provider) : 0, 1);
    kb_str(&kb, ":");
    kb_num(&kb, hour);
    return kb_finish(&kb);
}

int rkey_pool(const struct rkeys *k, char *out, const char *pool)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "pool:{");
    kb_value(&kb, pool, pool ? strlen(pool) : 0, 0);
    kb_str(&kb, "}");
    return kb_finish(&kb);
}

int rkey_pools(const struct rkeys *k, char *out)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "pools");
    return kb_finish(&kb);
}

int rkey_attribution(const struct rkeys *k, char *out, const char *queue_id, size_t len)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "q:{");
    kb_value(&kb, queue_id, len, 0);
    kb_str(&kb, "}");
    return kb_finish(&kb);
}

int rkey_events(const struct rkeys *k, char *out)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "events");
    return kb_finish(&kb);
}

int rkey_metrics(const struct rkeys *k, char *out, const char *node)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "metrics:");
    kb_value(&kb, node, node ? strlen(node) : 0, 0);
    return kb_finish(&kb);
}

int rkey_metrics_pattern(const struct rkeys *k, char *out)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "metrics:*");
    return kb_finish(&kb);
}

int rkey_seen(const struct rkeys *k, char *out, const char *digest)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "seen:{");
    kb_value(&kb, digest, digest ? strlen(digest) : 0, 1);
    kb_str(&kb, "}");
    return kb_finish(&kb);
}

int rkey_soft_bounces(const struct rkeys *k, char *out, const char *address, size_t len)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "sb:{");
    kb_value(&kb, address, len, 1);
    kb_str(&kb, "}");
    return kb_finish(&kb);
}

int rkey_domain_health(const struct rkeys *k, char *out, const char *domain, const char *provider, long long hour)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "dh:{");
    kb_value(&kb, domain, domain ? strlen(domain) : 0, 1);
    kb_str(&kb, "}:");
    kb_value(&kb, provider, provider ? strlen(provider) : 0, 1);
    kb_str(&kb, ":");
    kb_num(&kb, hour);
    return kb_finish(&kb);
}

int rkey_domain_health_pattern(const struct rkeys *k, char *out)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "dh:{*");
    return kb_finish(&kb);
}

int rkey_inbound_stream(const struct rkeys *k, char *out, enum rkey_stream which)
{
    struct keybuf kb;
    kb_start(&kb, k, out,
             which == RKEY_STREAM_COMPLAINTS ? "complaints"
             : which == RKEY_STREAM_ALERTS   ? "alerts"
                                             : "bounces");
    return kb_finish(&kb);
}

int rkey_inbound_counters(const struct rkeys *k, char *out, const char *program)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "inbound:{");
    kb_value(&kb, program, program ? strlen(program) : 0, 0);
    kb_str(&kb, "}");
    return kb_finish(&kb);
}

int rkey_shaping(const struct rkeys *k, char *out, const char *pool, const char *subject, const char *provider,
                 const char *action)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "fx:");
    kb_pool_ip(&kb, pool, subject);
    kb_str(&kb, ":");
    kb_value(&kb, provider, provider ? strlen(provider) : 0, 1);
    kb_str(&kb, ":");
    kb_value(&kb, action, action ? strlen(action) : 0, 0);
    return kb_finish(&kb);
}

int rkey_shaping_domain(const struct rkeys *k, char *out, const char *domain, const char *kind, const char *provider,
                        const char *action)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "fxd:{");
    kb_value(&kb, domain, domain ? strlen(domain) : 0, 1);
    kb_str(&kb, "}:");
    kb_value(&kb, kind, kind ? strlen(kind) : 0, 0);
    kb_str(&kb, ":");
    kb_value(&kb, provider, provider ? strlen(provider) : 0, 1);
    kb_str(&kb, ":");
    kb_value(&kb, action, action ? strlen(action) : 0, 0);
    return kb_finish(&kb);
}

int rkey_shaping_index(const struct rkeys *k, char *out, const char *pool)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "fx:{");
    kb_value(&kb, pool, pool ? strlen(pool) : 0, 0);
    kb_str(&kb, "}");
    return kb_finish(&kb);
}

int rkey_shaping_domain_index(const struct rkeys *k, char *out, const char *domain)
{
    struct keybuf kb;
    kb_start(&kb, k, out, "fxd:{");
    kb_value(&kb, domain, domain ? strlen(domain) : 0, 1);
    kb_str(&kb, "}");
    return kb_finish(&kb);
}

int rkey_shaping_pattern(const struct rkeys *k, char *out, int domains)
{
    struct keybuf kb;
    kb_start(&kb, k, out, domains ? "fxd:{*}:*" : "fx:{*}:*");
    return kb_finish(&kb);
}
