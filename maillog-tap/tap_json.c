/*
 * tap_json.c - delivery and effect JSON lines (see tap_json.h).  Every
 * string from the log goes through json_str() (escaped, invalid UTF-8
 * replaced): receivers choose their reply bytes.
 */
#include "tap_json.h"

#include <string.h>

#include "json.h"

/* Plain printable ASCII without quote or backslash needs no escaping: one
 * append instead of json_str()'s byte-by-byte walk (measured: JSON output
 * was 40% of a replay). */
static void str(struct buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
            json_str(b, s, n);
            return;
        }
    }
    buf_append_char(b, '"');
    buf_append(b, s, n);
    buf_append_char(b, '"');
}

/* ,"k": in one append (keys are our own short literals) */
static void key(struct buf *b, const char *k)
{
    char t[48];
    size_t n = strlen(k);
    if (n > sizeof(t) - 4)
        n = sizeof(t) - 4;
    t[0] = ',';
    t[1] = '"';
    memcpy(t + 2, k, n);
    t[n + 2] = '"';
    t[n + 3] = ':';
    buf_append(b, t, n + 4);
}

/* A decimal integer without printf (half of a replay's time went to vfprintf). */
static void num(struct buf *b, long long v)
{
    char t[24];
    size_t i = sizeof(t);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        t[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        t[--i] = '-';
    buf_append(b, t + i, sizeof(t) - i);
}

static void cstr(struct buf *b, const char *s)
{
    if (s == NULL)
        buf_append_str(b, "null");
    else
        str(b, s, strlen(s));
}

static void view(struct buf *b, const char *name, struct tap_str v)
{
    key(b, name);
    if (v.p == NULL)
        buf_append_str(b, "null");
    else
        str(b, v.p, v.n);
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
    buf_append_str(b, ",\"time\":");
    num(b, ev->time);
    view(b, "queue_id", ev->queue_id);
    view(b, "recipient", ev->recipient);
    buf_append_str(b, ",\"status\":");
    cstr(b, tap_status_name(ev->status));
    view(b, "dsn", ev->dsn);
    buf_append_str(b, ",\"code\":");
    num(b, ev->smtp_code);
    buf_append_str(b, ",\"command\":");
    cstr(b, ev->command);
    ip_or_null(b, ev);
    buf_append_str(b, ",\"provider\":");
    cstr(b, v->provider);
    view(b, "relay", ev->relay_host);
    view(b, "relay_ip", ev->relay_ip);
    buf_append_str(b, ",\"reply\":");
    struct tap_str text = tap_judged_text(ev);
    if (text.p == NULL)
        buf_append_str(b, "null");
    else
        str(b, text.p, text.n);
    buf_append_str(b, ",\"remote_reply\":");
    buf_append_str(b, ev->remote_reply ? "true" : "false");
    buf_append_str(b, ",\"category\":");
    cstr(b, v->reply.category);
    buf_append_str(b, ",\"class\":");
    cstr(b, reply_class_name(v->reply.cls));
    buf_append_str(b, ",\"our_fault\":");
    buf_append_str(b, v->reply.our_fault ? "true" : "false");
    buf_append_str(b, ",\"limited\":");
    cstr(b, v->reply.limited);
    buf_append_str(b, ",\"why\":");
    cstr(b, v->reply.why);
    buf_append_str(b, ",\"rule\":");
    cstr(b, rule ? rule->name : NULL);
    buf_append_str(b, ",\"effect\":");
    cstr(b, rule ? tap_effect_name(tap_rules_effect_for(rule, v->reply.our_fault)) : NULL);
    buf_append_str(b, ",\"attempt\":");
    cstr(b, first ? "first" : "retry");
    buf_append_str(b, "}\n");
}

void tap_json_effect(struct buf *b, const struct tap_event *ev, const struct tap_shape_effect *eff)
{
    buf_append_str(b, "{\"type\":\"effect\"");
    buf_append_str(b, ",\"action\":");
    cstr(b, tap_effect_name(eff->kind));
    buf_append_str(b, ",\"key\":");
    cstr(b, tap_key_name(eff->key));
    buf_append_str(b, ",\"value\":");
    cstr(b, eff->value);
    ip_or_null(b, ev);
    buf_append_str(b, ",\"provider\":");
    cstr(b, eff->provider);
    buf_append_str(b, ",\"rule\":");
    cstr(b, eff->rule->name);
    buf_append_str(b, ",\"start\":");
    num(b, eff->start);
    buf_append_str(b, ",\"until\":");
    num(b, eff->until);
    if (eff->kind == TAP_EFFECT_SLOW) {
        buf_append_str(b, ",\"step\":");
        num(b, eff->step);
        buf_append_str(b, ",\"factor\":");
        buf_printf(b, "%.4g", eff->factor);
        buf_append_str(b, ",\"floor\":");
        num(b, eff->floor);
    }
    buf_append_str(b, ",\"trigger\":");
    cstr(b, tap_trigger_name(eff->rule->trigger.kind));
    buf_append_str(b, ",\"count\":");
    num(b, eff->count);
    if (eff->rule->trigger.kind == TAP_TRIGGER_RATE) {
        buf_append_str(b, ",\"outcomes\":");
        num(b, eff->total);
    }
    if (eff->rule->trigger.kind != TAP_TRIGGER_IMMEDIATE) {
        buf_append_str(b, ",\"window\":");
        num(b, eff->rule->trigger.window);
    }
    buf_append_str(b, ",\"demoted\":");
    buf_append_str(b, eff->demoted ? "true" : "false");
    view(b, "queue_id", ev->queue_id);
    struct tap_str text = tap_judged_text(ev);
    view(b, "reply", text);
    buf_append_str(b, ",\"by\":");
    cstr(b, "maillog-tap --dry-run");
    buf_append_str(b, "}\n");
}
