/*
 * fuzz_reply_class.c - libFuzzer target for the reply classifier with the
 * default rules.
 *
 * The first input line picks the status code, basic code, action, command
 * and provider ("5.1.1 550 failed RCPT gmail"); the rest is the diagnostic
 * text (any bytes).  Checks the verdict's invariants: a vocabulary category,
 * a valid class, a known "limited", a printable NUL-terminated "why", a rule
 * name, and that delivered/relayed/expanded/delayed and 4xx answers are
 * never hard.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reply_class.h"
#include "reply_vocab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static struct reply_rules *fuzz_rules(void)
{
    static struct reply_rules *rules;
    char err[256];
    if (rules == NULL)
        rules = reply_rules_default(err, sizeof(err));
    check(rules != NULL);
    return rules;
}

/* "C.SSS.DDD" with 1-3 digits per number (RFC 3463); the classifier ignores
 * anything else and judges by the basic code. */
static int well_formed_status(const char *s)
{
    const char *p = s + 1;
    if (s[0] == '\0' || *p != '.')
        return 0;
    for (int part = 0; part < 2; part++) {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++)
            digits++;
        if (digits < 1 || digits > 3 || *p != (part == 0 ? '.' : '\0'))
            return 0;
    }
    return 1;
}

static void check_verdict(const struct reply_input *in, const struct reply_verdict *v)
{
    check(v->category && reply_vocab_lookup(v->category, strlen(v->category)) != NULL);
    check(v->cls == REPLY_CLASS_HARD || v->cls == REPLY_CLASS_SOFT || v->cls == REPLY_CLASS_UNKNOWN);
    check(v->rule != NULL && v->rule[0] != '\0');
    size_t n = strnlen(v->why, REPLY_WHY_MAX);
    check(n < REPLY_WHY_MAX && n > 0);
    for (size_t i = 0; i < n; i++)
        check(v->why[i] >= 0x20 && v->why[i] < 0x7f);
    static const char *const L[] = { "ip", "netblock", "dkim_domain", "spf_domain", "url_domain" };
    int known = v->limited == NULL;
    for (size_t i = 0; i < 5 && !known; i++)
        known = strcmp(v->limited, L[i]) == 0;
    check(known);
    /* RFC 3464 actions that are not failures; an unknown action word is
     * judged by its status code like "failed". */
    static const char *const NOT_FAILED[] = { "delivered", "relayed", "expanded", "delayed" };
    for (size_t i = 0; in->action && i < 4; i++)
        if (strcasecmp(in->action, NOT_FAILED[i]) == 0)
            check(v->cls != REPLY_CLASS_HARD);
    if (in->status && in->status[0] == '4' && well_formed_status(in->status))
        check(v->cls != REPLY_CLASS_HARD);
    if (v->our_fault)
        check(v->cls == REPLY_CLASS_SOFT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    size_t head = nl ? (size_t)(nl - (const char *)data) : 0;
    char line[128] = "", status[32] = "", action[32] = "", command[32] = "", provider[32] = "";
    int code = 0;
    if (head < sizeof(line))
        memcpy(line, data, head);
    sscanf(line, "%31s %d %31s %31s %31s", status, &code, action, command, provider);
    struct reply_input in = {
        .status = status[0] && strcmp(status, "-") ? status : NULL,
        .smtp_code = code,
        .text = nl ? nl + 1 : (const char *)data,
        .text_len = nl ? size - head - 1 : size,
        .provider = provider[0] ? provider : NULL,
        .action = action[0] ? action : NULL,
        .command = command[0] ? command : NULL,
    };
    struct reply_verdict v;
    reply_classify(fuzz_rules(), &in, &v);
    check_verdict(&in, &v);
    return 0;
}
