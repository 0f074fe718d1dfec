/*
 * inbound_report.c - the parsed-report model and its JSON lines (see
 * inbound_report.h).
 */
#include "inbound_report.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "json.h"
#include "xalloc.h"

void inbound_report_init(struct inbound_report *r)
{
    memset(r, 0, sizeof(*r));
    r->rcpt_limit = INBOUND_RCPT_MAX;
}

static void rcpt_free(struct inbound_rcpt *rc)
{
    free(rc->recipient);
    free(rc->original_recipient);
    free(rc->action);
    free(rc->status);
    free(rc->diagnostic);
    free(rc->remote_mta);
    free(rc->feedback_type);
}

void inbound_report_free(struct inbound_report *r)
{
    for (size_t i = 0; i < r->nrcpts; i++)
        rcpt_free(&r->rcpts[i]);
    free(r->rcpts);
    free(r->reporting_mta);
    free(r->arrival_date);
    free(r->feedback_type);
    free(r->user_agent);
    free(r->source_ip);
    free(r->reported_domain);
    free(r->original_mail_from);
    free(r->auth_results);
    free(r->original.message_id);
    free(r->original.trace);
    free(r->original.queue_id);
    free(r->original.from);
    free(r->original.return_path);
    free(r->original.subject);
    free(r->original.dkim_domain);
    inbound_report_init(r);
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void inbound_set(char **field, const char *s, size_t n, size_t max)
{
    free(*field);
    *field = NULL;
    if (s == NULL)
        return;
    while (n > 0 && is_space((unsigned char)s[0])) {
        s++;
        n--;
    }
    while (n > 0 && is_space((unsigned char)s[n - 1]))
        n--;
    if (max == 0)
        max = INBOUND_FIELD_MAX;
    if (n > max)
        n = max;
    if (n == 0)
        return;
    char *copy = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        copy[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    copy[n] = '\0';
    *field = copy;
}

struct inbound_rcpt *inbound_rcpt_add(struct inbound_report *r)
{
    if (r->nrcpts >= r->rcpt_limit) {
        r->rcpts_dropped++;
        return NULL;
    }
    if (r->nrcpts == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4;
        r->rcpts = xrealloc(r->rcpts, cap * sizeof(*r->rcpts));
        r->cap = cap;
    }
    struct inbound_rcpt *rc = &r->rcpts[r->nrcpts++];
    memset(rc, 0, sizeof(*rc));
    return rc;
}

struct inbound_rcpt *inbound_rcpt_find(struct inbound_report *r, const char *addr)
{
    if (addr == NULL)
        return NULL;
    for (size_t i = 0; i < r->nrcpts; i++)
        if (r->rcpts[i].recipient != NULL && strcasecmp(r->rcpts[i].recipient, addr) == 0)
            return &r->rcpts[i];
    return NULL;
}

const char *inbound_kind_name(enum inbound_kind kind)
{
    switch (kind) {
    case INBOUND_BOUNCE: return "bounce";
    case INBOUND_AUTOREPLY: return "autoreply";
    case INBOUND_COMPLAINT: return "complaint";
    case INBOUND_AUTHFAIL: return "authfail";
    case INBOUND_UNRECOGNIZED: break;
    }
    return "unrecognized";
}

/* "key":"value", skipped when value is NULL. */
static void opt_str(struct buf *b, const char *key, const char *value)
{
    if (value == NULL)
        return;
    json_key(b, key, 0);
    json_cstr(b, value);
}

static void rcpt_json(const struct inbound_report *r, const struct inbound_rcpt *rc,
                      const struct inbound_attribution *a, struct buf *b)
{
    buf_append_char(b, '{');
    json_key(b, "type", 1);
    json_cstr(b, inbound_kind_name(r->kind));
    json_key(b, "recipient", 0);
    json_cstr(b, rc->recipient);
    opt_str(b, "original_recipient", rc->original_recipient);
    opt_str(b, "action", rc->action);
    opt_str(b, "status", rc->status);
    if (rc->classified) {
        json_key(b, "class", 0);
        json_cstr(b, reply_class_name(rc->verdict.cls));
        json_key(b, "category", 0);
        json_cstr(b, rc->verdict.category);
        json_key(b, "our_fault", 0);
        buf_append_str(b, rc->verdict.our_fault ? "true" : "false");
        json_key(b, "why", 0);
        json_cstr(b, rc->verdict.why);
    }
    opt_str(b, "feedback_type", rc->feedback_type ? rc->feedback_type : r->feedback_type);
    opt_str(b, "diagnostic", rc->diagnostic);
    opt_str(b, "reporting_mta", r->reporting_mta);
    opt_str(b, "remote_mta", rc->remote_mta);
    opt_str(b, "original_message_id", r->original.message_id);
    opt_str(b, "queue_id", r->original.queue_id);
    opt_str(b, "source_ip", r->source_ip);
    opt_str(b, "user_agent", r->user_agent);
    opt_str(b, "reported_domain", r->reported_domain);
    if (r->incidents > 0)
        buf_printf(b, ",\"incidents\":%lu", r->incidents);
    opt_str(b, "format", r->format);
    if (a != NULL) {
        opt_str(b, "sending_ip", a->sending_ip);
        opt_str(b, "pool", a->pool);
        opt_str(b, "sender_domain", a->sender_domain);
        opt_str(b, "provider", a->provider);
        opt_str(b, "verified_by", a->verified_by);
    }
    json_key(b, "verified", 0);
    buf_append_str(b, a != NULL && a->verified ? "true" : "false");
    buf_append_str(b, "}\n");
}

int inbound_report_json(const struct inbound_report *r, const struct inbound_attribution *attr, struct buf *out)
{
    if (r->kind == INBOUND_UNRECOGNIZED ||
        (r->nrcpts == 0 && r->kind != INBOUND_COMPLAINT && r->kind != INBOUND_AUTHFAIL)) {
        buf_append_str(out, "{\"type\":\"unrecognized\"}\n");
    } else if (r->nrcpts == 0) {
        struct inbound_rcpt none;
        memset(&none, 0, sizeof(none));
        rcpt_json(r, &none, attr, out);
    } else {
        for (size_t i = 0; i < r->nrcpts; i++)
            rcpt_json(r, &r->rcpts[i], attr, out);
    }
    return out->limit != 0 && out->len >= out->limit ? -1 : 0;
}
