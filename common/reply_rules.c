/*
 * reply_rules.c - loads classifier rules from text (a rule file or the
 * built-in default), checks every field and compiles the patterns.
 *
 * DESCRIPTION
 *	Format in reply_rules.h.  A file is parsed completely into a scratch
 *	set first and merged only when every line is good, so a broken file
 *	leaves the set as it was.  Errors read "FILE:LINE: what".
 *	Patterns are compiled with PCRE2_CASELESS and JIT-compiled when the
 *	platform has a JIT (without it matching is slower, not different).
 *
 * USERS
 *	reply_class.h callers (bounce-proc, maillog-tap) through
 *	reply_rules_default() and reply_rules_load_file().
 *
 * OWNERSHIP
 *	See reply_rules.h.  Rule text is copied; the caller keeps its buffer.
 */
#include "reply_rules.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reply_vocab.h"
#include "xalloc.h"

#define RULES_PATTERN_MAX 900

static const char *const LIMITED[] = { "ip", "netblock", "dkim_domain", "spf_domain", "url_domain" };

struct rules_parse {
    const char *label;
    size_t line;
    char *err;
    size_t errsize;
    bool replace;
    bool jit;
    char (*drops)[REPLY_RULE_NAME_MAX];
    size_t ndrops;
};

static int rules_fail(struct rules_parse *p, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errsize, "%s:%zu: %s", p->label, p->line, msg);
    return -1;
}

static void rule_free(struct reply_rule *r)
{
    pcre2_code_free(r->re);
    free(r->pattern);
}

struct reply_rules *reply_rules_new(void)
{
    return xcalloc(1, sizeof(struct reply_rules));
}

void reply_rules_jit(struct reply_rules *rules)
{
    rules->jit = true;
    for (size_t i = 0; i < rules->n; i++)
        (void)pcre2_jit_compile(rules->v[i].re, PCRE2_JIT_COMPLETE);
}

void reply_rules_free(struct reply_rules *rules)
{
    if (rules == NULL)
        return;
    for (size_t i = 0; i < rules->n; i++)
        rule_free(&rules->v[i]);
    free(rules->v);
    free(rules);
}

static void rules_push(struct reply_rules *rules, const struct reply_rule *r)
{
    if (rules->n == rules->cap) {
        rules->cap = rules->cap ? rules->cap * 2 : 64;
        rules->v = xrealloc(rules->v, rules->cap * sizeof(*rules->v));
    }
    rules->v[rules->n++] = *r;
}

/* Splits off the next blank-separated token of [*s, end). */
static bool next_token(const char **s, const char *end, const char **tok, size_t *len)
{
    const char *p = *s;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    const char *t = p;
    while (p < end && *p != ' ' && *p != '\t')
        p++;
    *s = p;
    *tok = t;
    *len = (size_t)(p - t);
    return *len > 0;
}

static bool all_chars(const char *s, size_t len, const char *extra)
{
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && strchr(extra, s[i]) == NULL)
            return false;
    return true;
}

static bool copy_field(char *dst, size_t dstsize, const char *s, size_t len)
{
    if (len >= dstsize)
        return false;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return true;
}

/* "*", "5", "5.7", "5.7.1", "4.7.28" (class 2/4/5, components ≤ 3 digits),
 * or a basic code "550". */
static bool status_ok(const char *s, size_t len, int *basic)
{
    *basic = 0;
    if (len == 1 && s[0] == '*')
        return true;
    if (len == 3 && all_chars(s, len, "") && (s[0] >= '2' && s[0] <= '5') && isdigit((unsigned char)s[1]) &&
        isdigit((unsigned char)s[2])) {
        *basic = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
        return true;
    }
    if (len == 0 || (s[0] != '2' && s[0] != '4' && s[0] != '5'))
        return false;
    size_t digits = 0, parts = 1;
    for (size_t i = 1; i < len; i++) {
        if (s[i] == '.') {
            if (digits == 0 && i > 1)
                return false;
            if (++parts > 3)
                return false;
            digits = 0;
        } else if (isdigit((unsigned char)s[i])) {
            if (++digits > 3 || i == 1)
                return false;
        } else {
            return false;
        }
    }
    return len == 1 || digits > 0;
}

static int parse_class(struct rules_parse *p, const char *s, size_t len, int *cls)
{
    static const struct {
        const char *name;
        int cls;
    } C[] = {
        { "hard", REPLY_CLASS_HARD },
        { "soft", REPLY_CLASS_SOFT },
        { "unknown", REPLY_CLASS_UNKNOWN },
        { "auto", REPLY_RULE_CLASS_AUTO },
    };
    for (size_t i = 0; i < sizeof(C) / sizeof(C[0]); i++)
        if (strlen(C[i].name) == len && strncmp(C[i].name, s, len) == 0) {
            *cls = C[i].cls;
            return 0;
        }
    return rules_fail(p, "bad class \"%.*s\" (hard, soft, unknown or auto)", (int)(len > 20 ? 20 : len), s);
}

static int parse_flag(struct rules_parse *p, struct reply_rule *r, const char *s, size_t len)
{
    if (len == 9 && strncmp(s, "our_fault", 9) == 0) {
        r->our_fault = true;
        return 0;
    }
    if (len == 4 && strncmp(s, "weak", 4) == 0) {
        r->weak = true;
        return 0;
    }
    if (len == 8 && strncmp(s, "not_rcpt", 8) == 0) {
        r->not_rcpt = true;
        return 0;
    }
    if (len > 8 && strncmp(s, "limited=", 8) == 0) {
        for (size_t i = 0; i < sizeof(LIMITED) / sizeof(LIMITED[0]); i++)
            if (strlen(LIMITED[i]) == len - 8 && strncmp(LIMITED[i], s + 8, len - 8) == 0) {
                r->limited = LIMITED[i];
                return 0;
            }
    }
    return rules_fail(
        p, "bad flag \"%.*s\" (our_fault, weak, not_rcpt, limited=ip|netblock|dkim_domain|spf_domain|url_domain)",
        (int)(len > 30 ? 30 : len), s);
}

static int parse_flags(struct rules_parse *p, struct reply_rule *r, const char *s, size_t len)
{
    if (len == 1 && s[0] == '-')
        return 0;
    const char *end = s + len;
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;
        if (parse_flag(p, r, s, (size_t)(stop - s)) != 0)
            return -1;
        s = comma ? comma + 1 : end;
    }
    return 0;
}

static int compile_pattern(struct rules_parse *p, struct reply_rule *r, const char *s, size_t len)
{
    if (len < 2 || s[0] != '/' || s[len - 1] != '/')
        return rules_fail(p, "the pattern must be written /like this/");
    s++;
    len -= 2;
    if (len == 0)
        return rules_fail(p, "empty pattern (use /^/ for \"any text\")");
    if (len > RULES_PATTERN_MAX)
        return rules_fail(p, "pattern longer than %d bytes", RULES_PATTERN_MAX);
    for (size_t i = 0; i < len; i++)
        if (!isprint((unsigned char)s[i]))
            return rules_fail(p, "control or non-ASCII byte in the pattern (write \\xHH)");
    int ec;
    PCRE2_SIZE off;
    r->re =
        pcre2_compile((PCRE2_SPTR)s, len, PCRE2_CASELESS | PCRE2_NEVER_UTF | PCRE2_NEVER_BACKSLASH_C, &ec, &off, NULL);
    if (r->re == NULL) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        return rules_fail(p, "bad pattern at offset %zu: %s", (size_t)off, (const char *)msg);
    }
    if (p->jit)
        (void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE); /* no JIT: interpreted, same result */
    r->pattern = xstrndup(s, len);
    return 0;
}

static int parse_rule(struct rules_parse *p, struct reply_rule *r, const char *s, const char *end)
{
    const char *f[6];
    size_t fl[6];
    static const char *const WHAT[6] = { "name", "provider", "status", "category", "class", "flags" };
    for (int i = 0; i < 6; i++)
        if (!next_token(&s, end, &f[i], &fl[i]))
            return rules_fail(p, "missing %s (NAME PROVIDER STATUS CATEGORY CLASS FLAGS /PATTERN/)", WHAT[i]);
    memset(r, 0, sizeof(*r));
    if (!all_chars(f[0], fl[0], "._-") || !copy_field(r->name, sizeof(r->name), f[0], fl[0]))
        return rules_fail(p, "bad rule name (letters, digits . _ -, at most %d)", REPLY_RULE_NAME_MAX - 1);
    if (!(fl[1] == 1 && f[1][0] == '*') &&
        (!all_chars(f[1], fl[1], "._-") || !copy_field(r->provider, sizeof(r->provider), f[1], fl[1])))
        return rules_fail(p, "bad provider \"%.*s\"", (int)(fl[1] > 30 ? 30 : fl[1]), f[1]);
    if (!status_ok(f[2], fl[2], &r->basic) || fl[2] >= sizeof(r->status))
        return rules_fail(p, "bad status \"%.*s\" (*, 5, 5.7, 4.7.28 or 550)", (int)(fl[2] > 20 ? 20 : fl[2]), f[2]);
    if (f[2][0] != '*')
        copy_field(r->status, sizeof(r->status), f[2], fl[2]);
    r->category = reply_vocab_lookup(f[3], fl[3]);
    if (r->category == NULL)
        return rules_fail(p, "unknown category \"%.*s\"", (int)(fl[3] > 30 ? 30 : fl[3]), f[3]);
    if (parse_class(p, f[4], fl[4], &r->cls) != 0 || parse_flags(p, r, f[5], fl[5]) != 0)
        return -1;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    return compile_pattern(p, r, s, (size_t)(end - s));
}

static int parse_directive(struct rules_parse *p, const char *s, const char *end, bool *handled)
{
    const char *tok, *arg;
    size_t len, alen;
    const char *q = s;
    *handled = false;
    if (!next_token(&q, end, &tok, &len))
        return 0;
    if (len == 7 && strncmp(tok, "replace", 7) == 0) {
        *handled = true;
        if (next_token(&q, end, &arg, &alen))
            return rules_fail(p, "\"replace\" takes no argument");
        p->replace = true;
        return 0;
    }
    if (len == 4 && strncmp(tok, "drop", 4) == 0 && next_token(&q, end, &arg, &alen)) {
        const char *rest;
        size_t rlen;
        if (next_token(&q, end, &rest, &rlen)) /* "drop NAME" and nothing else */
            return 0;
        *handled = true;
        if (alen >= REPLY_RULE_NAME_MAX)
            return rules_fail(p, "bad rule name after drop");
        p->drops = xrealloc(p->drops, (p->ndrops + 1) * sizeof(*p->drops));
        copy_field(p->drops[p->ndrops++], REPLY_RULE_NAME_MAX, arg, alen);
    }
    return 0;
}

static bool blank_or_comment(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    return s == end || *s == '#';
}

static int parse_text(struct rules_parse *p, struct reply_rules *scratch, const char *text, size_t len)
{
    const char *s = text, *end = text + len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *eol = nl ? nl : end;
        p->line++;
        if ((size_t)(eol - s) > REPLY_RULES_LINE_MAX)
            return rules_fail(p, "line longer than %d bytes", REPLY_RULES_LINE_MAX);
        if (memchr(s, '\0', (size_t)(eol - s)) != NULL)
            return rules_fail(p, "NUL byte");
        if (!blank_or_comment(s, eol)) {
            bool handled;
            if (parse_directive(p, s, eol, &handled) != 0)
                return -1;
            if (!handled) {
                struct reply_rule r = { .re = NULL };
                if (scratch->n >= REPLY_RULES_MAX)
                    return rules_fail(p, "more than %d rules", REPLY_RULES_MAX);
                if (parse_rule(p, &r, s, eol) != 0) {
                    rule_free(&r);
                    return -1;
                }
                rules_push(scratch, &r);
            }
        }
        s = nl ? nl + 1 : end;
    }
    return 0;
}

static ssize_t rules_find(const struct reply_rules *rules, const char *name)
{
    for (size_t i = 0; i < rules->n; i++)
        if (strcmp(rules->v[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

static void rules_remove(struct reply_rules *rules, size_t i)
{
    rule_free(&rules->v[i]);
    memmove(&rules->v[i], &rules->v[i + 1], (rules->n - i - 1) * sizeof(*rules->v));
    rules->n--;
}

/* Merges scratch (emptied) into rules: see reply_rules.h for the order. */
static void rules_merge(struct reply_rules *rules, struct reply_rules *scratch, const struct rules_parse *p)
{
    if (p->replace)
        while (rules->n > 0)
            rules_remove(rules, rules->n - 1);
    for (size_t i = 0; i < p->ndrops; i++) {
        ssize_t at = rules_find(rules, p->drops[i]);
        if (at >= 0)
            rules_remove(rules, (size_t)at);
    }
    struct reply_rules merged = { 0 };
    for (size_t i = 0; i < scratch->n; i++) {
        ssize_t at = rules_find(rules, scratch->v[i].name);
        if (at >= 0) {
            rule_free(&rules->v[at]);
            rules->v[at] = scratch->v[i];
        } else {
            rules_push(&merged, &scratch->v[i]);
        }
    }
    for (size_t i = 0; i < rules->n; i++)
        rules_push(&merged, &rules->v[i]);
    free(rules->v);
    *rules = merged;
    scratch->n = 0;
}

static bool duplicate_names(struct rules_parse *p, const struct reply_rules *scratch)
{
    for (size_t i = 1; i < scratch->n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(scratch->v[i].name, scratch->v[j].name) == 0) {
                p->line = 0;
                snprintf(p->err, p->errsize, "%s: rule name \"%s\" used twice", p->label, scratch->v[i].name);
                return true;
            }
    return false;
}

int reply_rules_load_text(struct reply_rules *rules, const char *label, const char *text, size_t len, char *err,
                          size_t errsize)
{
    struct rules_parse p = { .label = label, .err = err, .errsize = errsize, .jit = rules->jit };
    struct reply_rules scratch = { 0 };
    int rc = parse_text(&p, &scratch, text, len);
    if (rc == 0 && duplicate_names(&p, &scratch))
        rc = -1;
    if (rc == 0)
        rules_merge(rules, &scratch, &p);
    for (size_t i = 0; i < scratch.n; i++)
        rule_free(&scratch.v[i]);
    free(scratch.v);
    free(p.drops);
    return rc;
}

struct reply_rules *reply_rules_default(char *err, size_t errsize)
{
    struct reply_rules *rules = reply_rules_new();
    if (reply_rules_load_text(rules, "bounce-rules.conf (built in)", reply_rules_default_text,
                              strlen(reply_rules_default_text), err, errsize) != 0) {
        reply_rules_free(rules);
        return NULL;
    }
    return rules;
}

int reply_rules_load_file(struct reply_rules *rules, const char *path, char *err, size_t errsize)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, errsize, "%s:0: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *text = xmalloc(REPLY_RULES_FILE_MAX + 1);
    size_t len = fread(text, 1, REPLY_RULES_FILE_MAX + 1, fp);
    int bad = ferror(fp);
    fclose(fp);
    int rc = -1;
    if (bad)
        snprintf(err, errsize, "%s:0: read error", path);
    else if (len > REPLY_RULES_FILE_MAX)
        snprintf(err, errsize, "%s:0: larger than %d bytes", path, REPLY_RULES_FILE_MAX);
    else
        rc = reply_rules_load_text(rules, path, text, len, err, errsize);
    free(text);
    return rc;
}
