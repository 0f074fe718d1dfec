/*
 * inbound_decide.c - per-recipient actions of an inbound report (see inbound_decide.h).
 */
#include "inbound_decide.h"

#include <string.h>
#include <strings.h>

static bool is(const char *s, const char *word)
{
    return s != NULL && strcasecmp(s, word) == 0;
}

static void bounce(const struct inbound_rcpt *rc, struct inbound_action *out)
{
    if (rc->classified && rc->verdict.our_fault) {
        out->alert = true;
        out->why = "our setup is broken (our_fault): alert only";
        return;
    }
    if (is(rc->action, "delivered") || is(rc->action, "relayed") || is(rc->action, "expanded")) {
        out->soft = INBOUND_SOFT_RESET;
        out->why = "delivered";
        return;
    }
    if (is(rc->action, "delayed")) {
        out->count = "soft";
        out->why = "delay warning";
        return;
    }
    enum reply_class cls = rc->classified ? rc->verdict.cls : REPLY_CLASS_UNKNOWN;
    if (cls == REPLY_CLASS_HARD) {
        out->suppress = "hard";
        out->count = "hard";
        out->why = "hard bounce";
    } else if (cls == REPLY_CLASS_SOFT) {
        out->count = "soft";
        out->soft = INBOUND_SOFT_COUNT;
        out->why = "soft bounce";
    } else {
        out->why = "class unknown: streamed only";
    }
}

static void complaint(const struct inbound_report *r, const struct inbound_rcpt *rc, bool suppress_unsubscribe,
                      struct inbound_action *out)
{
    const char *type = rc->feedback_type ? rc->feedback_type : r->feedback_type;
    if (type == NULL || is(type, "abuse") || is(type, "fraud")) {
        out->suppress = "complaint";
        out->count = "complaint";
        out->why = "complaint";
    } else if (is(type, "not-spam")) {
        out->why = "not-spam report: never a complaint";
    } else if (is(type, "unsubscribe")) {
        out->suppress = suppress_unsubscribe ? "unsubscribe" : NULL;
        out->why = "unsubscribe";
    } else if (is(type, "auth-failure")) {
        out->alert = true;
        out->count = "authfail";
        out->why = "authentication failure report";
    } else {
        out->count = "other_report";
        out->why = "virus/other report: counted apart";
    }
}

void inbound_decide(const struct inbound_report *r, const struct inbound_rcpt *rc, bool verified,
                    bool accept_unverified, bool suppress_unsubscribe, struct inbound_action *out)
{
    memset(out, 0, sizeof(*out));
    switch (r->kind) {
    case INBOUND_BOUNCE: bounce(rc, out); break;
    case INBOUND_COMPLAINT: complaint(r, rc, suppress_unsubscribe, out); break;
    case INBOUND_AUTHFAIL:
        out->alert = true;
        out->count = "authfail";
        out->why = "authentication failure report";
        break;
    case INBOUND_AUTOREPLY:
        out->soft = INBOUND_SOFT_RESET;
        out->why = "auto-reply: the mailbox answers";
        break;
    case INBOUND_UNRECOGNIZED: out->why = "unrecognized"; return;
    }
    if (rc->recipient == NULL) {
        out->suppress = NULL;
        out->soft = INBOUND_SOFT_NONE;
    }
    out->acts = verified || accept_unverified;
    if (!out->acts) {
        out->suppress = NULL;
        out->count = NULL;
        out->soft = INBOUND_SOFT_NONE;
        out->why = "unverified: nothing acts (accept_unverified = false)";
    }
}
