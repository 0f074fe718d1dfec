/*
 * inbound_attr.c - attribution of inbound reports (see inbound_attr.h).
 */
#include "inbound_attr.h"

#include <stdio.h>
#include <string.h>

static void copy(char *dst, size_t size, const char *src, size_t n)
{
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void copy_str(char *dst, size_t size, const char *src)
{
    if (src != NULL && dst[0] == '\0')
        copy(dst, size, src, strlen(src));
}

/* HMGET ip pool provider sender_domain rcpt from pf:q:{qid}.  0 ok (found
 * or not), -1 Redis unavailable. */
static int lookup_record(const struct inbound_attr_ctx *ctx, struct inbound_attr_result *out)
{
    char key[RKEY_MAX];
    if (rkey_attribution(ctx->rkeys, key, out->queue_id, strlen(out->queue_id)) < 0)
        return 0;
    redisReply *rep = redis_command(ctx->redis, "HMGET", key, "ip", "pool", "provider", "sender_domain", "rcpt", NULL);
    if (rep == NULL)
        return -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 5) {
        struct {
            char *dst;
            size_t size;
        } f[5] = {
            { out->ip, sizeof(out->ip) },
            { out->pool, sizeof(out->pool) },
            { out->provider, sizeof(out->provider) },
            { out->sender_domain, sizeof(out->sender_domain) },
            { out->record_rcpt, sizeof(out->record_rcpt) },
        };
        for (size_t i = 0; i < 5; i++) {
            redisReply *e = rep->element[i];
            if (e->type == REDIS_REPLY_STRING && e->len > 0 && rkey_value_ok(e->str, e->len)) {
                f[i].dst[0] = '\0';
                copy(f[i].dst, f[i].size, e->str, e->len);
                out->record_found = true;
            }
        }
    }
    redis_reply_free(rep);
    return 0;
}

static void domain_of(const char *addr, char *out, size_t size)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    if (at != NULL && at[1] != '\0')
        copy_str(out, size, at + 1);
}

int inbound_attr_resolve(const struct inbound_attr_ctx *ctx, const struct inbound_report *r, time_t now,
                         struct inbound_attr_result *out)
{
    memset(out, 0, sizeof(*out));
    const char *trace = r->original.trace;
    bool verified = false;
    if (trace != NULL) {
        out->trace_present = true;
        struct trace_ref ref;
        memset(&ref, 0, sizeof(ref));
        out->trace = ctx->nkeys > 0 ? trace_verify(ctx->keys, ctx->nkeys, trace, strlen(trace), now, ctx->max_age, &ref)
                                    : TRACE_UNKNOWN_KEY;
        if (out->trace == TRACE_OK) {
            verified = true;
            copy_str(out->queue_id, sizeof(out->queue_id), ref.qid);
            copy_str(out->sender_domain, sizeof(out->sender_domain), ref.domain);
        }
    }
    if (out->queue_id[0] == '\0' && r->original.queue_id != NULL &&
        rkey_value_ok(r->original.queue_id, strlen(r->original.queue_id)))
        copy_str(out->queue_id, sizeof(out->queue_id), r->original.queue_id);
    if (ctx->redis != NULL && out->queue_id[0] != '\0' && lookup_record(ctx, out) != 0)
        return -1;
    const char *verp_sources[] = { ctx->envelope_recipient, r->original.return_path };
    for (size_t i = 0; i < 2 && out->verp_recipient[0] == '\0'; i++)
        if (verp_sources[i] != NULL)
            verp_decode(verp_sources[i], strlen(verp_sources[i]), ctx->verp_delim1, ctx->verp_delim2, ctx->verp_prefix,
                        out->verp_recipient);
    copy_str(out->sender_domain, sizeof(out->sender_domain), r->original.dkim_domain);
    domain_of(r->original.from, out->sender_domain, sizeof(out->sender_domain));
    out->view.sending_ip = out->ip[0] ? out->ip : NULL;
    out->view.pool = out->pool[0] ? out->pool : NULL;
    out->view.sender_domain = out->sender_domain[0] ? out->sender_domain : NULL;
    out->view.provider = out->provider[0] && strcmp(out->provider, "mixed") != 0 ? out->provider : NULL;
    out->view.verified = verified;
    out->view.verified_by = verified ? "trace" : NULL;
    return 0;
}

const char *inbound_attr_provider(const struct inbound_attr_ctx *ctx, const struct inbound_attr_result *a,
                                  const char *recipient)
{
    if (a->view.provider != NULL)
        return a->view.provider;
    const char *at = recipient ? strrchr(recipient, '@') : NULL;
    if (at == NULL || ctx->providers == NULL)
        return PROVIDER_OTHER;
    return provider_name(ctx->providers, provider_lookup(ctx->providers, at + 1, strlen(at + 1)));
}
