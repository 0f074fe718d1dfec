/*
 * reply_class.c - the reply classifier's matcher (see reply_class.h).
 *
 * DESCRIPTION
 *	Precedence, first hit wins:
 *	  1. the DSN action: delivered/relayed/expanded are "delivered";
 *	  2. a 2xx code is "delivered";
 *	  3. text rules: first the rules scoped to the recipient's provider,
 *	     then the "*" rules, each in file order; a rule applies when its
 *	     status scope fits the answer's code and, if "weak", only when the
 *	     status code is missing or vague (X.Y.0, 5.7.1, unregistered);
 *	  4. the enhanced status code (reply_status.c);
 *	  5. the basic reply code; then "undefined" (or "onhold" when there
 *	     are words none of which decide);
 *	  6. the command answered narrows it (command_scope): "userunknown"
 *	     after DATA is "filtered" (the RCPT was accepted, so the address
 *	     exists); an answer to MAIL FROM about a recipient is "rejected"
 *	     (no recipient was named yet); one at the connection or to EHLO
 *	     is "blocked".
 *	The class comes from the rule (or, with "auto", from the category and
 *	the code's class), then: a 4xx code or Action: delayed is never hard,
 *	and our_fault verdicts are soft (they page operators, never suppress).
 *
 *	The rules read the answer with white space squeezed (one space per
 *	run: folded and unfolded replies read alike).
 *
 *	Speed: patterns are JIT-compiled; the status scope is checked before
 *	any matching; the text is bounded (REPLY_CLASS_TEXT_MAX).  Thread
 *	safety: the rule set is only read; the PCRE2 match data lives on this
 *	call (one small allocation).
 *
 * USERS
 *	bounce-proc (per recipient), maillog-tap (per delivery reply).
 *
 * OWNERSHIP
 *	Verdict strings point at static storage or into the rule set.
 */
#include "reply_class.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "reply_rules.h"
#include "reply_status.h"
#include "reply_vocab.h"

#define REPLY_CLASS_TEXT_MAX 4096 /* bytes of diagnostic text looked at */

/* The answer's codes, normalised once per call. */
struct class_codes {
    char status[REPLY_RULE_STATUS_MAX]; /* "5.7.1" or "" */
    char cls;                           /* '2', '4', '5' or 0 */
    int smtp_code;
    struct reply_status_entry entry; /* valid when status[0] */
};

static bool parse_number(const char **s, int *v)
{
    int n = 0, d = 0;
    while (isdigit((unsigned char)**s) && d < 3) {
        n = n * 10 + (**s - '0');
        (*s)++;
        d++;
    }
    *v = n;
    return d > 0 && !isdigit((unsigned char)**s);
}

static void codes_init(struct class_codes *c, const struct reply_input *in)
{
    memset(c, 0, sizeof(*c));
    c->smtp_code = in->smtp_code >= 200 && in->smtp_code <= 599 ? in->smtp_code : 0;
    const char *s = in->status;
    if (s && (s[0] == '2' || s[0] == '4' || s[0] == '5') && s[1] == '.') {
        const char *p = s + 2;
        int subject, detail;
        if (parse_number(&p, &subject) && *p == '.' && (p++, parse_number(&p, &detail)) && *p == '\0') {
            snprintf(c->status, sizeof(c->status), "%c.%d.%d", s[0], subject, detail);
            reply_status_lookup(subject, detail, &c->entry);
        }
    }
    if (c->status[0])
        c->cls = c->status[0];
    else if (c->smtp_code)
        c->cls = (char)('0' + c->smtp_code / 100);
}

/* Does the rule's status scope fit?  Prefixes compare by whole components. */
static bool scope_fits(const struct reply_rule *r, const struct class_codes *c)
{
    if (r->status[0] == '\0')
        return true;
    if (r->basic)
        return c->smtp_code == r->basic;
    if (r->status[1] == '\0')
        return c->cls == r->status[0];
    size_t n = strlen(r->status);
    return strncmp(c->status, r->status, n) == 0 && (c->status[n] == '\0' || c->status[n] == '.');
}

static bool vague_status(const struct class_codes *c)
{
    return c->status[0] == '\0' || c->entry.vague;
}

/* Sets everything but the class, which the caller settles (it may be "auto"). */
static void verdict_set(struct reply_verdict *out, const char *category, bool our_fault, const char *limited,
                        const char *rule)
{
    out->category = category;
    out->cls = REPLY_CLASS_UNKNOWN;
    out->our_fault = our_fault;
    out->limited = limited;
    out->rule = rule;
    out->weak = false;
}

/* The answer as the rules read it: each run of white space (a folded line,
 * an unfolded multi-line reply's indentation) one space, so that "Recipient
 * address    rejected" reads as the phrase it is.  Returns the length. */
static size_t text_squeeze(const char *in, size_t n, char out[REPLY_CLASS_TEXT_MAX])
{
    size_t o = 0;
    bool space = false;
    for (size_t i = 0; i < n && o < REPLY_CLASS_TEXT_MAX; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
            space = o > 0;
            continue;
        }
        if (space && o < REPLY_CLASS_TEXT_MAX - 1)
            out[o++] = ' ';
        space = false;
        out[o++] = (char)ch;
    }
    return o;
}

/* Length of a reply-code prefix at t[0..n): "550-", "550 5.7.1 ", "550-5.7.1 "
 * (the code, '-' or ' ', an optional enhanced code, one space), or 0. */
static size_t code_prefix(const char *t, size_t n)
{
    if (n < 4 || !(t[0] == '4' || t[0] == '5') || !isdigit((unsigned char)t[1]) || !isdigit((unsigned char)t[2]) ||
        (t[3] != '-' && t[3] != ' '))
        return 0;
    size_t p = 4;
    if (p + 5 <= n && t[p] == t[0] && t[p + 1] == '.') {
        size_t q = p + 2, dots = 0;
        while (q < n && (isdigit((unsigned char)t[q]) || t[q] == '.') && q - p < 12)
            dots += t[q++] == '.';
        if (dots == 1 && q < n && t[q] == ' ')
            return q + 1;
    }
    return t[3] == '-' ? 4 : 0; /* a bare "550 " might be words; "550-" never is */
}

/* Drops the repeats of a multi-line reply's code prefix that unfolding left
 * inside the text ("... is not accepted due to 550-5.7.26 domain's DMARC
 * policy"), keeping the first.  Works in place on squeezed text. */
static size_t text_drop_continuations(char *t, size_t n)
{
    size_t first = code_prefix(t, n);
    if (first == 0)
        return n;
    size_t o = first;
    for (size_t i = first; i < n;) {
        size_t k = (t[i - 1] == ' ') ? code_prefix(t + i, n - i) : 0;
        if (k > 0 && k <= first + 1 && memcmp(t + i, t, 3) == 0) {
            i += k;
            continue;
        }
        t[o++] = t[i++];
    }
    return o;
}

static const struct reply_rule *text_match(const struct reply_rules *rules, const struct reply_input *in,
                                           const struct class_codes *c)
{
    char text[REPLY_CLASS_TEXT_MAX];
    size_t len = in->text ? text_squeeze(in->text, in->text_len, text) : 0;
    if (len > 0)
        len = text_drop_continuations(text, len);
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (md == NULL)
        return NULL;
    const struct reply_rule *hit = NULL;
    bool vague = vague_status(c);
    bool at_rcpt = in->command != NULL && strncasecmp(in->command, "RCPT", 4) == 0;
    for (int pass = in->provider && in->provider[0] ? 0 : 1; pass < 2 && hit == NULL; pass++) {
        for (size_t i = 0; i < rules->n && hit == NULL; i++) {
            const struct reply_rule *r = &rules->v[i];
            if (pass == 0 ? (r->provider[0] == '\0' || strcasecmp(r->provider, in->provider) != 0)
                          : r->provider[0] != '\0')
                continue;
            /* a notice's own words hold product names and boilerplate: a lone
             * word there ("security", "rejected") is no evidence */
            if (!scope_fits(r, c) || (r->weak && (!vague || in->text_is_notice)) || (r->not_rcpt && at_rcpt))
                continue;
            if (pcre2_match(r->re, (PCRE2_SPTR)text, len, 0, 0, md, NULL) >= 0)
                hit = r;
        }
    }
    pcre2_match_data_free(md);
    return hit;
}

static void why_text(struct reply_verdict *out, const struct reply_rule *r, const struct class_codes *c)
{
    char over[40] = "";
    if (c->status[0])
        snprintf(over, sizeof(over), " over status %s", c->status);
    else if (c->smtp_code)
        snprintf(over, sizeof(over), " over basic %d", c->smtp_code);
    if (strcmp(r->pattern, "^") == 0) { /* a rule on the status code alone */
        snprintf(out->why, sizeof(out->why), "status:%s (rule %s)", c->status[0] ? c->status : "-", r->name);
        return;
    }
    int room = REPLY_WHY_MAX - 24 - (int)strlen(over); /* 16 left for " after MAIL FROM" */
    int plen = (int)strlen(r->pattern);
    if (plen > room)
        snprintf(out->why, sizeof(out->why), "text:/%.*s.../%s", room - 3, r->pattern, over);
    else
        snprintf(out->why, sizeof(out->why), "text:/%s/%s", r->pattern, over);
}

static bool decide_action(const struct reply_input *in, const struct class_codes *c, struct reply_verdict *out)
{
    static const char *const DONE[] = { "delivered", "relayed", "expanded" };
    for (size_t i = 0; in->action && i < sizeof(DONE) / sizeof(DONE[0]); i++)
        if (strcasecmp(in->action, DONE[i]) == 0) {
            verdict_set(out, "delivered", false, NULL, "action");
            snprintf(out->why, sizeof(out->why), "action:%s", DONE[i]);
            return true;
        }
    if (c->cls == '2') {
        verdict_set(out, "delivered", false, NULL, "status");
        if (c->status[0])
            snprintf(out->why, sizeof(out->why), "status:%s", c->status);
        else
            snprintf(out->why, sizeof(out->why), "basic:%d", c->smtp_code);
        return true;
    }
    return false;
}

static void decide_codes(const struct class_codes *c, struct reply_verdict *out)
{
    const char *basic = c->smtp_code ? reply_status_basic(c->smtp_code) : NULL;
    if (c->status[0]) {
        verdict_set(out, c->entry.category, c->entry.our_fault, NULL, "status");
        const char *dot = strrchr(c->status, '.');
        if (c->entry.exact)
            snprintf(out->why, sizeof(out->why), "status:%s", c->status);
        else /* an unregistered detail: "status:5.1.99 (as 5.1.0)" */
            snprintf(out->why, sizeof(out->why), "status:%s (as %.*s.0)", c->status, (int)(dot - c->status), c->status);
    } else if (basic) {
        verdict_set(out, basic, false, NULL, "basic");
        snprintf(out->why, sizeof(out->why), "basic:%d", c->smtp_code);
    } else {
        verdict_set(out, "undefined", false, NULL, "none");
        snprintf(out->why, sizeof(out->why), "none");
    }
}

static bool command_is(const struct reply_input *in, const char *name)
{
    return in->command != NULL && strcasecmp(in->command, name) == 0;
}

/* Categories that say something about one recipient's mailbox or domain,
 * or nothing at all. */
static bool about_recipient(const char *category)
{
    static const char *const R[] = { "userunknown", "hostunknown", "filtered",  "mailboxfull",
                                     "suspend",     "hasmoved",    "undefined", "onhold" };
    for (size_t i = 0; i < sizeof(R) / sizeof(R[0]); i++)
        if (strcmp(category, R[i]) == 0)
            return true;
    return false;
}

/* When the answer came tells what it can be about:
 *  - a "no such user" answered to DATA (or end of DATA) comes from a
 *    content or sender filter: the receiver accepted the recipient at RCPT,
 *    so the address exists ("filtered", as Sisimai says);
 *  - an answer to MAIL FROM came before any recipient was named: words
 *    about a recipient, a lone word or a bare permanent code there refuse
 *    our sender ("rejected");
 *  - an answer to the connection or to EHLO/HELO came before the sender
 *    too: the same refuse our host ("blocked");
 *  - and a domain "not found" under a temporary (4xx) code is a DNS
 *    failure ("networkerror").
 * Verdicts about us (block lists, authentication, rates, content) stand. */
static void command_scope(const struct reply_input *in, const struct class_codes *c, struct reply_verdict *out,
                          int *cls)
{
    const char *to = NULL, *why = NULL;
    if (command_is(in, "DATA") && strcmp(out->category, "userunknown") == 0) {
        to = "filtered";
        why = " after DATA";
    } else if (command_is(in, "MAIL") && (about_recipient(out->category) || (out->weak && c->cls == '5')) &&
               !out->our_fault && strcmp(out->category, "rejected") != 0) {
        to = "rejected";
        why = " after MAIL FROM";
    } else if ((command_is(in, "CONNECT") || command_is(in, "EHLO")) &&
               (about_recipient(out->category) || strcmp(out->category, "rejected") == 0 ||
                (out->weak && c->cls == '5')) &&
               !out->our_fault && strcmp(out->category, "blocked") != 0) {
        to = "blocked";
        why = command_is(in, "EHLO") ? " after EHLO" : " at connection";
    }
    if (to == NULL && strcmp(out->category, "hostunknown") == 0 && c->cls == '4') {
        /* the MTA itself calls the name failure temporary: DNS trouble, not
         * (yet) a domain that does not exist */
        to = "networkerror";
        why = " (temporary: DNS)";
    }
    if (to == NULL)
        return;
    out->category = to;
    *cls = REPLY_CLASS_SOFT;
    size_t n = strlen(out->why);
    snprintf(out->why + n, sizeof(out->why) - n, "%s", why);
}

/* Nothing decided: "onhold" when the receiver said something we cannot
 * read a reason from (Sisimai's word for it), "undefined" when there are no
 * words at all.  Both are failures: soft, never suppressing. */
static void undecided_scope(const struct reply_input *in, struct reply_verdict *out)
{
    if (strcmp(out->category, "undefined") != 0 || in->text_is_notice)
        return;
    for (size_t i = 0; in->text != NULL && i < in->text_len; i++)
        if (!isspace((unsigned char)in->text[i])) {
            out->category = "onhold";
            size_t n = strlen(out->why);
            snprintf(out->why + n, sizeof(out->why) - n, " (words, none decide)");
            return;
        }
}

/* Settles the class: see the precedence note at the top. */
static enum reply_class settle_class(int cls, const struct reply_input *in, const struct class_codes *c,
                                     const struct reply_verdict *out)
{
    if (cls == REPLY_RULE_CLASS_AUTO)
        cls = reply_vocab_class(out->category, c->cls);
    bool delayed = in->action && strcasecmp(in->action, "delayed") == 0;
    if (cls == REPLY_CLASS_HARD && (c->cls == '4' || out->our_fault || delayed))
        cls = REPLY_CLASS_SOFT;
    if (cls == REPLY_CLASS_UNKNOWN && (out->our_fault || delayed))
        cls = REPLY_CLASS_SOFT;
    return cls == REPLY_CLASS_HARD   ? REPLY_CLASS_HARD
           : cls == REPLY_CLASS_SOFT ? REPLY_CLASS_SOFT
                                     : REPLY_CLASS_UNKNOWN;
}

void reply_classify(const struct reply_rules *rules, const struct reply_input *in, struct reply_verdict *out)
{
    struct class_codes c;
    codes_init(&c, in);
    if (decide_action(in, &c, out))
        return;
    const struct reply_rule *r = rules ? text_match(rules, in, &c) : NULL;
    int cls = REPLY_RULE_CLASS_AUTO;
    if (r != NULL) {
        verdict_set(out, r->category, r->our_fault, r->limited, r->name);
        out->weak = r->weak;
        cls = r->cls;
        why_text(out, r, &c);
    } else {
        decide_codes(&c, out);
        out->weak = true;
    }
    command_scope(in, &c, out, &cls);
    undecided_scope(in, out);
    out->cls = settle_class(cls, in, &c, out);
}

bool reply_undecided(const struct reply_verdict *v)
{
    return strcmp(v->category, "undefined") == 0 || strcmp(v->category, "onhold") == 0;
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
