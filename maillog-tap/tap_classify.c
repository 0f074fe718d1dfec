/*
 * tap_classify.c - a log event through the shared reply classifier (see
 * tap_classify.h).
 */
#include "tap_classify.h"

#include <string.h>

const char *tap_action_of(enum tap_status st)
{
    switch (st) {
    case TAP_STATUS_DEFERRED: return "delayed";
    case TAP_STATUS_BOUNCED: return "failed";
    case TAP_STATUS_SENT: return "delivered";
    default: return NULL;
    }
}

struct tap_str tap_judged_text(const struct tap_event *ev)
{
    return ev->reply.p != NULL ? ev->reply : ev->text;
}

void tap_classify(const struct reply_rules *rules, const struct tap_provider *tp, const struct tap_event *ev,
                  struct tap_verdict *out)
{
    char status[16] = "";
    struct tap_str dsn = ev->dsn.p != NULL ? ev->dsn : ev->reply_dsn;
    if (dsn.p != NULL && dsn.n > 0 && dsn.n < sizeof(status)) {
        memcpy(status, dsn.p, dsn.n);
        status[dsn.n] = '\0';
    }
    out->provider = tap_provider_of(tp, ev->recipient.p, ev->recipient.n, ev->relay_host.p, ev->relay_host.n);
    struct tap_str text = tap_judged_text(ev);
    struct reply_input in = {
        .status = status[0] ? status : NULL,
        .smtp_code = ev->smtp_code,
        .text = text.p,
        .text_len = text.n,
        .provider = out->provider,
        .action = tap_action_of(ev->status),
        .command = ev->command,
    };
    reply_classify(rules, &in, &out->reply);
}
