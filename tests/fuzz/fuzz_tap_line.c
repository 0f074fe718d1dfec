/*
 * fuzz_tap_line.c - libFuzzer target for maillog-tap's log-line parsers
 * (tap_postfix.c, tap_exim.c, tap_text.c) and what runs on their output:
 * the classifier input, reply unfolding, rule matching and the triggers.
 *
 * The input is one log line (any bytes).  Checks: every view lies inside
 * the line; kinds, statuses and codes are in range; an outcome has a
 * recipient and a queue id; the unfolded reply is NUL-terminated and no
 * longer than the reply; a verdict has a category; a started effect has a
 * rule and a key value.  The shaping state persists across inputs, so the
 * windows and the bounded tables see long runs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reply_class.h"
#include "tap_classify.h"
#include "tap_exim.h"
#include "tap_postfix.h"
#include "tap_provider.h"
#include "tap_rules.h"
#include "tap_shape.h"
#include "tap_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static const char RULES[] =
    "g-ip    gmail  count:3/10m     suspend:1h      ip           /unusual (rate|amount) of .{0,20}your ip address/\n"
    "g-dkim  gmail  count:3/10m     slow:0.5:100:2h dkim_domain  /your dkim domain/\n"
    "y-ts    yahoo  rate:5%/1h/10   hold:1d         ip           /\\[(ts|tss)0[1-5]\\]/\n"
    "lim     *      immediate       suspend:10m     limited      /4\\.7\\.28/\n"
    "nb      *      count:2/1m      suspend:1h      netblock     /block ?list/\n"
    "own     *      immediate       alert           ip           /5\\.7\\.515|ptr record/\n";

static struct reply_rules *classifier;
static struct tap_provider *tp;
static struct tap_rules *rules;
static struct tap_shape *shape;

static void in_line(struct tap_str v, const char *line, size_t n)
{
    if (v.p == NULL)
        return;
    check(v.p >= line && v.p + v.n <= line + n);
}

static void check_event(const struct tap_event *ev, const char *line, size_t n)
{
    check(ev->kind >= TAP_LINE_OTHER && ev->kind <= TAP_LINE_LOCAL);
    in_line(ev->syslog_name, line, n);
    in_line(ev->service, line, n);
    in_line(ev->transport, line, n);
    in_line(ev->source_ip, line, n);
    in_line(ev->queue_id, line, n);
    in_line(ev->recipient, line, n);
    in_line(ev->relay_host, line, n);
    in_line(ev->relay_ip, line, n);
    in_line(ev->dsn, line, n);
    in_line(ev->text, line, n);
    in_line(ev->reply, line, n);
    in_line(ev->reply_dsn, line, n);
    check(ev->relay_port >= 0 && ev->relay_port <= 65535);
    check(ev->smtp_code == 0 || (ev->smtp_code >= 200 && ev->smtp_code <= 599));
    if (ev->kind != TAP_LINE_OUTCOME)
        return;
    check(ev->status >= TAP_STATUS_SENT && ev->status <= TAP_STATUS_BOUNCED);
    check(ev->queue_id.p != NULL && ev->queue_id.n > 0);
    check(ev->recipient.p != NULL);
    if (ev->remote_reply)
        check(ev->reply.p != NULL);
    if (ev->source_ip.p != NULL)
        check(tap_is_ip(ev->source_ip.p, ev->source_ip.n));
}

static void follow_up(const struct tap_event *ev)
{
    if (ev->kind != TAP_LINE_OUTCOME)
        return;
    struct tap_verdict v;
    tap_classify(classifier, tp, ev, &v);
    check(v.provider != NULL && v.reply.category != NULL);
    if (ev->reply.p != NULL) {
        static char unfolded[TAP_LINE_MAX + 1];
        size_t len = tap_reply_unfold(ev->reply.p, ev->reply.n, unfolded, sizeof(unfolded));
        check(len <= ev->reply.n && unfolded[len] == '\0');
    }
    const struct tap_rule *r = NULL;
    if (ev->remote_reply && ev->reply.p != NULL)
        r = tap_rules_match_reply(rules, v.provider, ev->reply.p, ev->reply.n);
    struct tap_shape_effect eff;
    long long now = ev->time >= 0 ? ev->time : 0;
    if (tap_shape_observe(shape, ev, &v, r, now, &eff)) {
        check(eff.rule == r && eff.value[0] != '\0' && eff.until >= eff.start);
        check(!v.reply.our_fault || eff.kind == TAP_EFFECT_ALERT);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    if (classifier == NULL) {
        classifier = reply_rules_default(err, sizeof(err));
        tp = tap_provider_new(err, sizeof(err));
        rules = tap_rules_load_text(RULES, "fuzz", err, sizeof(err));
        check(classifier != NULL && tp != NULL && rules != NULL);
        shape = tap_shape_new(rules);
    }
    /* an exact-size copy: ASan sees any read past the end */
    char *line = malloc(size ? size : 1);
    if (line == NULL)
        return 0;
    memcpy(line, data, size);
    struct tap_event ev;
    tap_postfix_parse(line, size, 1796256000LL, &ev);
    check_event(&ev, line, size);
    follow_up(&ev);
    tap_exim_parse(line, size, &ev);
    check_event(&ev, line, size);
    follow_up(&ev);
    int code;
    struct tap_str dsn;
    tap_reply_code(line, size, &code, &dsn);
    check(code == 0 || (code >= 200 && code <= 599));
    in_line(dsn, line, size);
    free(line);
    return 0;
}
