/*
 * tap_json.c - delivery and effect JSON lines (see tap_json.h).  Every
 * string from the log goes through json_str() (escaped, invalid UTF-8
 * replaced): receivers choose their reply bytes.
 */
#include "tap_json.h"

#include "json.h"

static void view(struct buf *b, const char *key, struct tap_str v)
{
    json_key(b, key, 0);
    if (v.p == NULL)
        buf_append_str(b, "null");
    else
        json_str(b, v.p, v.n);
}

static void ip_or_null(struct buf *b, const struct tap_event *ev)
{
    view(b, "ip", ev->source_ip);
    view(b, "transport", ev->transport);
}

void tap_json_delivery(struct buf *b, const struct tap_event *ev, const struct tap_verdict *v,
                       const struct tap_rule *rule, bool first)
{
    buf_append_str(b, "{\"type\":\"delivery\"");
    json_key(b, "time", 0);
    buf_printf(b, "%lld", ev->time);
    view(b, "queue_id", ev->queue_id);
    view(b, "recipient", ev->recipient);
    json_key(b, "status", 0);
    json_cstr(b, tap_status_name(ev->status));
    view(b, "dsn", ev->dsn);
    json_key(b, "code", 0);
    buf_printf(b, "%d", ev->smtp_code);
    json_key(b, "command", 0);
    json_cstr(b, ev->command);
    ip_or_null(b, ev);
    json_key(b, "provider", 0);
    json_cstr(b, v->provider);
    view(b, "relay", ev->relay_host);
    view(b, "relay_ip", ev->relay_ip);
    json_key(b, "reply", 0);
    struct tap_str text = tap_judged_text(ev);
    if (text.p == NULL)
        buf_append_str(b, "null");
    else
        json_str(b, text.p, text.n);
    json_key(b, "remote_reply", 0);
    buf_append_str(b, ev->remote_reply ? "true" : "false");
    json_key(b, "category", 0);
    json_cstr(b, v->reply.category);
    json_key(b, "class", 0);
    json_cstr(b, reply_class_name(v->reply.cls));
    json_key(b, "our_fault", 0);
    buf_append_str(b, v->reply.our_fault ? "true" : "false");
    json_key(b, "limited", 0);
    json_cstr(b, v->reply.limited);
    json_key(b, "why", 0);
    json_cstr(b, v->reply.why);
    json_key(b, "rule", 0);
    json_cstr(b, rule ? rule->name : NULL);
    json_key(b, "effect", 0);
    json_cstr(b, rule ? tap_effect_name(tap_rules_effect_for(rule, v->reply.our_fault)) : NULL);
    json_key(b, "attempt", 0);
    json_cstr(b, first ? "first" : "retry");
    buf_append_str(b, "}\n");
}

void tap_json_effect(struct buf *b, const struct tap_event *ev, const struct tap_shape_effect *eff)
{
    buf_append_str(b, "{\"type\":\"effect\"");
    json_key(b, "action", 0);
    json_cstr(b, tap_effect_name(eff->kind));
    json_key(b, "key", 0);
    json_cstr(b, tap_key_name(eff->key));
    json_key(b, "value", 0);
    json_cstr(b, eff->value);
    ip_or_null(b, ev);
    json_key(b, "provider", 0);
    json_cstr(b, eff->provider);
    json_key(b, "rule", 0);
    json_cstr(b, eff->rule->name);
    json_key(b, "start", 0);
    buf_printf(b, "%lld", eff->start);
    json_key(b, "until", 0);
    buf_printf(b, "%lld", eff->until);
    if (eff->kind == TAP_EFFECT_SLOW) {
        json_key(b, "step", 0);
        buf_printf(b, "%d", eff->step);
        json_key(b, "factor", 0);
        buf_printf(b, "%.4g", eff->factor);
        json_key(b, "floor", 0);
        buf_printf(b, "%lld", eff->floor);
    }
    json_key(b, "trigger", 0);
    json_cstr(b, tap_trigger_name(eff->rule->trigger.kind));
    json_key(b, "count", 0);
    buf_printf(b, "%lld", eff->count);
    if (eff->rule->trigger.kind == TAP_TRIGGER_RATE) {
        json_key(b, "outcomes", 0);
        buf_printf(b, "%lld", eff->total);
    }
    if (eff->rule->trigger.kind != TAP_TRIGGER_IMMEDIATE) {
        json_key(b, "window", 0);
        buf_printf(b, "%lld", eff->rule->trigger.window);
    }
    json_key(b, "demoted", 0);
    buf_append_str(b, eff->demoted ? "true" : "false");
    view(b, "queue_id", ev->queue_id);
    struct tap_str text = tap_judged_text(ev);
    view(b, "reply", text);
    json_key(b, "by", 0);
    json_cstr(b, "maillog-tap --dry-run");
    buf_append_str(b, "}\n");
}
