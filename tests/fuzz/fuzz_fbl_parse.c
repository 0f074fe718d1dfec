/*
 * fuzz_fbl_parse.c - libFuzzer target for fbl-proc's parser (ARF, RFC 6591,
 * JMRP, SES JSON, unsubscribe) and its JSON reader.
 *
 * Parses the input with small MIME limits (depth 6, 60 parts) and checks
 * the report's invariants: a complaint or auth-failure report has at least
 * one recipient, each with a feedback type of the documented vocabulary,
 * and only auth-failure makes INBOUND_AUTHFAIL; a non-report has no
 * recipient; a recipient is an addr-spec without space or control bytes;
 * a source IP holds only IP-literal characters; the JSON lines are built
 * within bounds.  The input is also walked as JSON on its own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fbl_json.h"
#include "fbl_parse.h"
#include "inbound_report.h"
#include "reply_class.h"
#include "reply_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static bool known_type(const char *t)
{
    static const char *const types[] = { "abuse",    "fraud",        "virus",       "other",
                                         "not-spam", "auth-failure", "unsubscribe", NULL };
    for (const char *const *p = types; *p != NULL; p++)
        if (strcmp(t, *p) == 0)
            return true;
    return false;
}

static void check_rcpt(const struct inbound_report *r, const struct inbound_rcpt *rc)
{
    check(rc->feedback_type != NULL && known_type(rc->feedback_type));
    check((r->kind == INBOUND_AUTHFAIL) == (strcmp(rc->feedback_type, "auth-failure") == 0));
    if (rc->recipient != NULL) {
        check(strchr(rc->recipient, '@') != NULL);
        for (const char *p = rc->recipient; *p != '\0'; p++)
            check((unsigned char)*p > 0x20 && *p != 0x7f);
    }
}

static void count_value(const struct fbl_json_value *v, void *arg)
{
    size_t *n = arg;
    check(v->depth <= FBL_JSON_DEPTH_MAX);
    (*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct reply_rules *rules;
    if (rules == NULL)
        rules = reply_rules_new();
    struct mail_limits lim = MAIL_LIMITS_INIT;
    lim.max_mime_depth = 6;
    lim.max_mime_parts = 60;
    lim.max_boundary_len = 70;
    struct inbound_parse_ctx ctx = { .rules = rules, .limits = &lim };
    struct inbound_report r;
    inbound_report_init(&r);
    r.rcpt_limit = 50;
    check(fbl_parse((const char *)data, size, &ctx, &r) == 0);
    if (r.kind == INBOUND_COMPLAINT || r.kind == INBOUND_AUTHFAIL) {
        check(r.nrcpts >= 1 && r.format != NULL);
        for (size_t i = 0; i < r.nrcpts; i++)
            check_rcpt(&r, &r.rcpts[i]);
    } else {
        check(r.kind == INBOUND_UNRECOGNIZED && r.nrcpts == 0 && r.format == NULL);
    }
    check(r.nrcpts <= r.rcpt_limit);
    for (const char *p = r.source_ip; p != NULL && *p != '\0'; p++)
        check(strchr("0123456789abcdefABCDEF.:", *p) != NULL);
    struct buf out;
    buf_init(&out, 0);
    check(inbound_report_json(&r, NULL, &out) == 0);
    check(out.len > 0 && strncmp(out.data, "{\"type\":", 8) == 0 && out.data[out.len - 1] == '\n');
    buf_free(&out);
    inbound_report_free(&r);

    size_t n = 0;
    long used = fbl_json_walk((const char *)data, size, 1000, count_value, &n);
    check(used == -1 || (used > 0 && (size_t)used <= size && n <= 1000));
    return 0;
}
