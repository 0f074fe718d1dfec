/*
 * fuzz_bounce_parse.c - libFuzzer target for bounce-proc's parser (DSNs,
 * human-readable bounces, auto-replies) with the default rules.
 *
 * Parses the input with small MIME limits (depth 6, 60 parts) and checks
 * the report's invariants: a bounce or an auto-reply has a format and
 * every recipient classified with a class of the enum; a non-report has
 * no recipient; a recipient holds '@' and no space or control byte; a
 * delayed/delivered/relayed/expanded line is never hard; the recipient
 * cap holds; the JSON lines are built within bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce_parse.h"
#include "buf.h"
#include "inbound_report.h"
#include "reply_class.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static bool not_a_failure(const char *action)
{
    return action != NULL && (strcasecmp(action, "delayed") == 0 || strcasecmp(action, "delivered") == 0 ||
                              strcasecmp(action, "relayed") == 0 || strcasecmp(action, "expanded") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct reply_rules *rules;
    if (rules == NULL) {
        char err[256];
        rules = reply_rules_default(err, sizeof(err));
        check(rules != NULL);
    }
    struct mail_limits lim = MAIL_LIMITS_INIT;
    lim.max_mime_depth = 6;
    lim.max_mime_parts = 60;
    lim.max_boundary_len = 70;
    struct inbound_parse_ctx ctx = { .rules = rules, .limits = &lim };
    struct inbound_report r;
    inbound_report_init(&r);
    r.rcpt_limit = 50;
    check(bounce_parse((const char *)data, size, &ctx, &r) == 0);
    if (r.kind == INBOUND_BOUNCE || r.kind == INBOUND_AUTOREPLY) {
        check(r.format != NULL);
        for (size_t i = 0; i < r.nrcpts; i++) {
            const struct inbound_rcpt *rc = &r.rcpts[i];
            check(rc->classified);
            check(rc->verdict.category != NULL && rc->verdict.rule != NULL);
            check(rc->verdict.cls == REPLY_CLASS_UNKNOWN || rc->verdict.cls == REPLY_CLASS_SOFT ||
                  rc->verdict.cls == REPLY_CLASS_HARD);
            check(memchr(rc->verdict.why, '\0', sizeof(rc->verdict.why)) != NULL);
            if (not_a_failure(rc->action))
                check(rc->verdict.cls != REPLY_CLASS_HARD);
            if (rc->recipient != NULL) {
                check(strchr(rc->recipient, '@') != NULL);
                for (const char *p = rc->recipient; *p != '\0'; p++)
                    check((unsigned char)*p > 0x20 && *p != 0x7f);
            }
        }
    } else {
        check(r.kind == INBOUND_UNRECOGNIZED && r.nrcpts == 0);
    }
    check(r.nrcpts <= r.rcpt_limit);
    struct buf out;
    buf_init(&out, 0);
    check(inbound_report_json(&r, NULL, &out) == 0);
    check(out.len > 0 && out.data[out.len - 1] == '\n');
    buf_free(&out);
    inbound_report_free(&r);
    return 0;
}
