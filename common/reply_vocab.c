/*
 * reply_vocab.c - the category vocabulary and each category's default class.
 *
 * DESCRIPTION
 *	See reply_vocab.h.  The list is DESIGN.md's (Sisimai 4 and 5 reason
 *	names; emailtoolarge/mesgtoobig/exceedlimit and ratelimited/
 *	toomanyconn/speeding are the old and new names of one idea, all
 *	accepted).
 *
 * USERS
 *	reply_rules.c, reply_class.c, reply_status.c.
 *
 * OWNERSHIP
 *	Static tables only.
 */
#include "reply_vocab.h"

#include <string.h>
#include <strings.h>

enum vocab_kind {
    VOCAB_SOFT,      /* soft whatever the code */
    VOCAB_DEAD,      /* hard with a 5xx code (the address is dead), soft with 4xx */
    VOCAB_NONFAIL,   /* not a failure: unknown */
    VOCAB_UNDEFINED, /* a failure nothing explains: soft (counted, never suppressing) */
};

struct vocab_entry {
    const char *name;
    enum vocab_kind kind;
};

static const struct vocab_entry VOCAB[] = {
    { "authfailure", VOCAB_SOFT },     { "badreputation", VOCAB_SOFT },   { "blocked", VOCAB_SOFT },
    { "contenterror", VOCAB_SOFT },    { "delivered", VOCAB_NONFAIL },    { "emailtoolarge", VOCAB_SOFT },
    { "exceedlimit", VOCAB_SOFT },     { "expired", VOCAB_SOFT },         { "failedstarttls", VOCAB_SOFT },
    { "feedback", VOCAB_NONFAIL },     { "filtered", VOCAB_SOFT },        { "hasmoved", VOCAB_DEAD },
    { "hostunknown", VOCAB_DEAD },     { "mailboxfull", VOCAB_SOFT },     { "mailererror", VOCAB_SOFT },
    { "mesgtoobig", VOCAB_SOFT },      { "networkerror", VOCAB_SOFT },    { "norelaying", VOCAB_SOFT },
    { "notaccept", VOCAB_DEAD },       { "notcompliantrfc", VOCAB_SOFT }, { "onhold", VOCAB_UNDEFINED },
    { "policyviolation", VOCAB_SOFT }, { "ratelimited", VOCAB_SOFT },     { "rejected", VOCAB_SOFT },
    { "requireptr", VOCAB_SOFT },      { "securityerror", VOCAB_SOFT },   { "spamdetected", VOCAB_SOFT },
    { "speeding", VOCAB_SOFT },        { "suppressed", VOCAB_DEAD },      { "suspend", VOCAB_SOFT },
    { "syntaxerror", VOCAB_SOFT },     { "systemerror", VOCAB_SOFT },     { "systemfull", VOCAB_SOFT },
    { "toomanyconn", VOCAB_SOFT },     { "undefined", VOCAB_UNDEFINED },  { "userunknown", VOCAB_DEAD },
    { "vacation", VOCAB_NONFAIL },     { "virusdetected", VOCAB_SOFT },
};
#define VOCAB_N (sizeof(VOCAB) / sizeof(VOCAB[0]))

static const struct vocab_entry *vocab_find(const char *cat, size_t len)
{
    for (size_t i = 0; i < VOCAB_N; i++)
        if (strlen(VOCAB[i].name) == len && strncasecmp(VOCAB[i].name, cat, len) == 0)
            return &VOCAB[i];
    return NULL;
}

const char *reply_vocab_lookup(const char *cat, size_t len)
{
    const struct vocab_entry *e = cat ? vocab_find(cat, len) : NULL;
    return e ? e->name : NULL;
}

enum reply_class reply_vocab_class(const char *category, char code_class)
{
    const struct vocab_entry *e = category ? vocab_find(category, strlen(category)) : NULL;
    if (e == NULL)
        return REPLY_CLASS_UNKNOWN;
    switch (e->kind) {
    case VOCAB_SOFT: return REPLY_CLASS_SOFT;
    case VOCAB_DEAD: return code_class == '4' ? REPLY_CLASS_SOFT : REPLY_CLASS_HARD;
    case VOCAB_UNDEFINED: return REPLY_CLASS_SOFT;
    case VOCAB_NONFAIL: break;
    }
    return REPLY_CLASS_UNKNOWN;
}

const char *reply_vocab_at(size_t n)
{
    return n < VOCAB_N ? VOCAB[n].name : NULL;
}
