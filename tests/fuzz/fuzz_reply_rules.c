/*
 * fuzz_reply_rules.c - libFuzzer target for the classifier's rule-file
 * parser (reply_rules_load_text), on top of the default rules.
 *
 * A file either loads (then a classification with the merged set must
 * still produce a valid verdict) or fails with "fuzz.conf:..." and leaves
 * the set exactly as it was (same number of rules).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reply_class.h"
#include "reply_rules.h"
#include "reply_vocab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256] = "";
    struct reply_rules *rules = reply_rules_default(err, sizeof(err));
    check(rules != NULL);
    size_t before = rules->n;
    int rc = reply_rules_load_text(rules, "fuzz.conf", (const char *)data, size, err, sizeof(err));
    if (rc != 0) {
        check(strncmp(err, "fuzz.conf", 9) == 0);
        check(rules->n == before);
    }
    static const char text[] = "550 5.1.1 mailbox full, rate limited, user unknown";
    struct reply_input in = { .status = "5.1.1", .smtp_code = 550, .text = text, .text_len = sizeof(text) - 1 };
    struct reply_verdict v;
    reply_classify(rules, &in, &v);
    check(v.category && reply_vocab_lookup(v.category, strlen(v.category)) != NULL);
    check(strnlen(v.why, REPLY_WHY_MAX) < REPLY_WHY_MAX);
    reply_rules_free(rules);
    return 0;
}
