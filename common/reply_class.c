/*
 * reply_class.c - the reply classifier (see reply_class.h).
 *
 * DESCRIPTION
 *	First cut: no rules yet; every answer is "undefined".
 */
#include "reply_class.h"

#include <stdio.h>
#include <stdlib.h>

struct reply_rules {
    int unused;
};

struct reply_rules *reply_rules_default(char *err, size_t errsize)
{
    (void)err;
    (void)errsize;
    return calloc(1, sizeof(struct reply_rules));
}

int reply_rules_load_file(struct reply_rules *rules, const char *path, char *err, size_t errsize)
{
    (void)rules;
    snprintf(err, errsize, "%s: rule files are not read yet", path);
    return -1;
}

void reply_rules_free(struct reply_rules *rules)
{
    free(rules);
}

void reply_classify(const struct reply_rules *rules, const struct reply_input *in,
                    struct reply_verdict *out)
{
    (void)rules;
    (void)in;
    out->category = "undefined";
    out->cls = REPLY_CLASS_UNKNOWN;
    out->our_fault = false;
    out->limited = NULL;
    out->rule = "none";
    snprintf(out->why, sizeof(out->why), "none");
}

const char *reply_class_name(enum reply_class cls)
{
    switch (cls) {
    case REPLY_CLASS_HARD: return "hard";
    case REPLY_CLASS_SOFT: return "soft";
    case REPLY_CLASS_UNKNOWN: break;
    }
    return "unknown";
}
