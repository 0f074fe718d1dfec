/*
 * tap_rules.c - the shaping-rule file parser and matcher (see tap_rules.h
 * and the head of conf/shaping-rules.conf for the format).
 *
 * Every field is checked at load with its file:line; a rule set with one
 * bad line is refused as a whole, so a typo never silently drops a rule.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tap_rules.h"

#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tap_event.h"
#include "tap_text.h"
#include "xalloc.h"

#define TAP_MATCH_LIMIT 100000 /* PCRE2 backtracking steps per match */

struct tap_rules {
    struct tap_rule *rules;
    size_t n;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
};

const char *tap_effect_name(enum tap_effect_kind k)
{
    switch (k) {
    case TAP_EFFECT_SUSPEND: return "suspend";
    case TAP_EFFECT_SLOW: return "slow";
    case TAP_EFFECT_HOLD: return "hold";
    case TAP_EFFECT_ALERT: return "alert";
    }
    return "?";
}

const char *tap_key_name(enum tap_key_kind k)
{
    switch (k) {
    case TAP_KEY_IP: return "ip";
    case TAP_KEY_NETBLOCK: return "netblock";
    case TAP_KEY_DKIM_DOMAIN: return "dkim_domain";
    case TAP_KEY_SPF_DOMAIN: return "spf_domain";
    case TAP_KEY_URL_DOMAIN: return "url_domain";
    case TAP_KEY_LIMITED: return "limited";
    }
    return "?";
}

const char *tap_trigger_name(enum tap_trigger_kind k)
{
    switch (k) {
    case TAP_TRIGGER_IMMEDIATE: return "immediate";
    case TAP_TRIGGER_COUNT: return "count";
    case TAP_TRIGGER_RATE: return "rate";
    }
    return "?";
}

long long tap_duration(const char *s, size_t n)
{
    if (n == 0 || n > 12)
        return -1;
    long long v = 0;
    size_t i = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        v = v * 10 + (s[i] - '0');
    if (i == 0)
        return -1;
    long long unit = 1;
    if (i + 1 == n) {
        switch (s[i]) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        case 'w': unit = 604800; break;
        default: return -1;
        }
    } else if (i != n) {
        return -1;
    }
    v *= unit;
    return v > 0 && v <= 366LL * 86400 ? v : -1;
}

static int parse_number(const char *s, size_t n, long long *out)
{
    if (n == 0 || n > 9)
        return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int parse_real(const char *s, size_t n, double *out)
{
    char buf[32];
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (errno != 0 || *end != '\0' || v != v)
        return -1;
    *out = v;
    return 0;
}

/* Splits s[0..n) at each ':' or '/' into at most max parts. */
static size_t split(const char *s, size_t n, const char *seps, const char **part, size_t *len, size_t max)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= n; i++)
        if (i == n || strchr(seps, s[i]) != NULL) {
            if (k == max)
                return max + 1;
            part[k] = s + start;
            len[k] = i - start;
            k++;
            start = i + 1;
        }
    return k;
}

static int parse_trigger(const char *s, size_t n, struct tap_trigger *t, const char **why)
{
    const char *p[4];
    size_t l[4];
    size_t k = split(s, n, ":/", p, l, 4);
    memset(t, 0, sizeof(*t));
    if (k == 1 && l[0] == 9 && strncmp(p[0], "immediate", 9) == 0) {
        t->kind = TAP_TRIGGER_IMMEDIATE;
        return 0;
    }
    if (k == 3 && l[0] == 5 && strncmp(p[0], "count", 5) == 0) {
        t->kind = TAP_TRIGGER_COUNT;
        if (parse_number(p[1], l[1], &t->count) < 0 || t->count < 1) {
            *why = "count:N/WINDOW needs N >= 1";
            return -1;
        }
        if ((t->window = tap_duration(p[2], l[2])) < 0) {
            *why = "bad WINDOW duration (90s, 10m, 2h, 1d)";
            return -1;
        }
        return 0;
    }
    if (k == 4 && l[0] == 4 && strncmp(p[0], "rate", 4) == 0) {
        t->kind = TAP_TRIGGER_RATE;
        if (l[1] < 2 || p[1][l[1] - 1] != '%' || parse_real(p[1], l[1] - 1, &t->percent) < 0 || t->percent <= 0 ||
            t->percent > 100) {
            *why = "rate:P%/WINDOW/MIN needs 0 < P <= 100 with a % sign";
            return -1;
        }
        if ((t->window = tap_duration(p[2], l[2])) < 0) {
            *why = "bad WINDOW duration (90s, 10m, 2h, 1d)";
            return -1;
        }
        if (parse_number(p[3], l[3], &t->min_volume) < 0 || t->min_volume < 1) {
            *why = "rate:P%/WINDOW/MIN needs MIN >= 1 outcomes";
            return -1;
        }
        return 0;
    }
    *why = "TRIGGER is immediate | count:N/WINDOW | rate:P%/WINDOW/MIN";
    return -1;
}

static int parse_effect(const char *s, size_t n, struct tap_effect *e, const char **why)
{
    const char *p[5];
    size_t l[5];
    size_t k = split(s, n, ":", p, l, 5);
    memset(e, 0, sizeof(*e));
    if (k == 1 && l[0] == 5 && strncmp(p[0], "alert", 5) == 0) {
        e->kind = TAP_EFFECT_ALERT;
        return 0;
    }
    if (k == 2 && ((l[0] == 7 && strncmp(p[0], "suspend", 7) == 0) || (l[0] == 4 && strncmp(p[0], "hold", 4) == 0))) {
        e->kind = p[0][0] == 's' ? TAP_EFFECT_SUSPEND : TAP_EFFECT_HOLD;
        if ((e->duration = tap_duration(p[1], l[1])) < 0) {
            *why = "bad effect duration (90s, 10m, 2h, 1d)";
            return -1;
        }
        return 0;
    }
    if (k == 4 && l[0] == 4 && strncmp(p[0], "slow", 4) == 0) {
        e->kind = TAP_EFFECT_SLOW;
        if (parse_real(p[1], l[1], &e->factor) < 0 || !(e->factor > 0 && e->factor < 1)) {
            *why = "slow:FACTOR:FLOOR:CLEAN needs 0 < FACTOR < 1";
            return -1;
        }
        if (parse_number(p[2], l[2], &e->floor) < 0 || e->floor < 1) {
            *why = "slow:FACTOR:FLOOR:CLEAN needs FLOOR >= 1 message per hour";
            return -1;
        }
        if ((e->clean = tap_duration(p[3], l[3])) < 0) {
            *why = "slow:FACTOR:FLOOR:CLEAN needs a CLEAN duration (2h)";
            return -1;
        }
        return 0;
    }
    *why = "EFFECT is suspend:DUR | slow:FACTOR:FLOOR:CLEAN | hold:DUR | alert";
    return -1;
}

static int parse_key(const char *s, size_t n, enum tap_key_kind *key)
{
    static const struct {
        const char *w;
        enum tap_key_kind k;
    } keys[] = {
        { "ip", TAP_KEY_IP },
        { "netblock", TAP_KEY_NETBLOCK },
        { "dkim_domain", TAP_KEY_DKIM_DOMAIN },
        { "spf_domain", TAP_KEY_SPF_DOMAIN },
        { "url_domain", TAP_KEY_URL_DOMAIN },
        { "limited", TAP_KEY_LIMITED },
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strlen(keys[i].w) == n && strncmp(keys[i].w, s, n) == 0) {
            *key = keys[i].k;
            return 0;
        }
    return -1;
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

static int parse_providers(const char *s, size_t n, struct tap_rule *r)
{
    if (n == 1 && s[0] == '*')
        return 0;
    const char *p[TAP_RULE_PROVIDERS];
    size_t l[TAP_RULE_PROVIDERS];
    size_t k = split(s, n, ",", p, l, TAP_RULE_PROVIDERS);
    if (k > TAP_RULE_PROVIDERS)
        return -1;
    for (size_t i = 0; i < k; i++) {
        if (l[i] == 0 || l[i] >= sizeof(r->providers[0]))
            return -1;
        for (size_t j = 0; j < l[i]; j++)
            if (!name_char(p[i][j]) || p[i][j] == '.')
                return -1;
        memcpy(r->providers[i], p[i], l[i]);
        r->providers[i][l[i]] = '\0';
    }
    r->nproviders = k;
    return 0;
}

static void rule_clear(struct tap_rule *r)
{
    free(r->pattern);
    pcre2_code_free(r->re);
    r->pattern = NULL;
    r->re = NULL;
}

void tap_rules_free(struct tap_rules *rules)
{
    if (rules == NULL)
        return;
    for (size_t i = 0; i < rules->n; i++)
        rule_clear(&rules->rules[i]);
    free(rules->rules);
    pcre2_match_data_free(rules->md);
    pcre2_match_context_free(rules->mctx);
    free(rules);
}

/* Next whitespace-delimited field of line[*pos..n). */
static int field(const char *line, size_t n, size_t *pos, const char **f, size_t *fl)
{
    size_t i = *pos;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    size_t s = i;
    while (i < n && line[i] != ' ' && line[i] != '\t')
        i++;
    *pos = i;
    *f = line + s;
    *fl = i - s;
    return i > s ? 0 : -1;
}

static int parse_line(struct tap_rules *rs, const char *line, size_t n, int lineno, const char **why, char *msg,
                      size_t msglen)
{
    struct tap_rule r;
    memset(&r, 0, sizeof(r));
    r.line = lineno;
    size_t pos = 0;
    const char *f;
    size_t fl;
    if (field(line, n, &pos, &f, &fl) < 0)
        return 0;
    if (fl >= TAP_RULE_NAME_MAX) {
        *why = "NAME longer than 63 bytes";
        return -1;
    }
    for (size_t i = 0; i < fl; i++)
        if (!name_char(f[i])) {
            *why = "NAME: use a-z 0-9 - _ .";
            return -1;
        }
    memcpy(r.name, f, fl);
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->rules[i].name, r.name) == 0) {
            *why = "NAME used twice";
            return -1;
        }
    if (field(line, n, &pos, &f, &fl) < 0 || parse_providers(f, fl, &r) < 0) {
        *why = "PROVIDER is * or a comma list of provider names";
        return -1;
    }
    if (field(line, n, &pos, &f, &fl) < 0) {
        *why = "missing TRIGGER";
        return -1;
    }
    if (parse_trigger(f, fl, &r.trigger, why) < 0)
        return -1;
    if (field(line, n, &pos, &f, &fl) < 0) {
        *why = "missing EFFECT";
        return -1;
    }
    if (parse_effect(f, fl, &r.effect, why) < 0)
        return -1;
    if (field(line, n, &pos, &f, &fl) < 0 || parse_key(f, fl, &r.key) < 0) {
        *why = "KEY is ip | netblock | dkim_domain | spf_domain | url_domain | limited";
        return -1;
    }
    while (pos < n && (line[pos] == ' ' || line[pos] == '\t'))
        pos++;
    size_t end = n;
    while (end > pos && (line[end - 1] == ' ' || line[end - 1] == '\t'))
        end--;
    if (end - pos < 3 || line[pos] != '/' || line[end - 1] != '/') {
        *why = "PATTERN must be /.../ (at least one byte between the slashes)";
        return -1;
    }
    r.pattern = xstrndup(line + pos + 1, end - pos - 2);
    int ec;
    PCRE2_SIZE eo;
    r.re = pcre2_compile((PCRE2_SPTR)r.pattern, end - pos - 2,
                         PCRE2_CASELESS | PCRE2_NEVER_UTF | PCRE2_NEVER_BACKSLASH_C, &ec, &eo, NULL);
    if (r.re == NULL) {
        PCRE2_UCHAR m[120];
        pcre2_get_error_message(ec, m, sizeof(m));
        snprintf(msg, msglen, "PATTERN at offset %zu: %s", (size_t)eo, (const char *)m);
        *why = msg;
        rule_clear(&r);
        return -1;
    }
    (void)pcre2_jit_compile(r.re, PCRE2_JIT_COMPLETE);
    if (rs->n == TAP_RULES_MAX) {
        *why = "too many rules";
        rule_clear(&r);
        return -1;
    }
    rs->rules = xrealloc(rs->rules, (rs->n + 1) * sizeof(*rs->rules));
    rs->rules[rs->n++] = r;
    return 0;
}

struct tap_rules *tap_rules_load_text(const char *text, const char *origin, char *err, size_t errlen)
{
    struct tap_rules *rs = xcalloc(1, sizeof(*rs));
    rs->md = pcre2_match_data_create(1, NULL);
    rs->mctx = pcre2_match_context_create(NULL);
    if (rs->md == NULL || rs->mctx == NULL) {
        snprintf(err, errlen, "%s: out of memory", origin);
        tap_rules_free(rs);
        return NULL;
    }
    pcre2_set_match_limit(rs->mctx, TAP_MATCH_LIMIT);
    int lineno = 0;
    const char *p = text;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        size_t i = 0;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        const char *why = NULL;
        char msg[160];
        if (n > TAP_RULE_LINE_MAX)
            why = "line longer than 4096 bytes";
        else if (memchr(p, '\0', n) != NULL)
            why = "NUL byte";
        else if (i < n && p[i] != '#' && parse_line(rs, p, n, lineno, &why, msg, sizeof(msg)) < 0)
            ;
        else
            why = NULL;
        if (why != NULL) {
            snprintf(err, errlen, "%s:%d: %s", origin, lineno, why);
            tap_rules_free(rs);
            return NULL;
        }
        p = nl ? nl + 1 : p + n;
    }
    return rs;
}

struct tap_rules *tap_rules_load_file(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if (len + got > 4u << 20) {
            snprintf(err, errlen, "%s: larger than 4 MiB", path);
            fclose(fp);
            free(text);
            return NULL;
        }
        if (len + got + 1 > cap) {
            cap = (len + got + 1) * 2;
            text = xrealloc(text, cap);
        }
        memcpy(text + len, chunk, got);
        len += got;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        snprintf(err, errlen, "%s: read error", path);
        free(text);
        return NULL;
    }
    if (text == NULL)
        text = xstrdup("");
    else
        text[len] = '\0';
    if (memchr(text, '\0', len) != NULL) {
        snprintf(err, errlen, "%s: NUL byte in the file", path);
        free(text);
        return NULL;
    }
    struct tap_rules *rs = tap_rules_load_text(text, path, err, errlen);
    free(text);
    return rs;
}

size_t tap_rules_count(const struct tap_rules *rules)
{
    return rules->n;
}

const struct tap_rule *tap_rules_at(const struct tap_rules *rules, size_t i)
{
    return i < rules->n ? &rules->rules[i] : NULL;
}

bool tap_rule_scoped(const struct tap_rule *r, const char *provider)
{
    if (r->nproviders == 0)
        return true;
    if (provider == NULL)
        provider = "other";
    for (size_t i = 0; i < r->nproviders; i++)
        if (strcmp(r->providers[i], provider) == 0)
            return true;
    return false;
}

bool tap_rule_matches(const struct tap_rules *rules, const struct tap_rule *r, const char *text, size_t n)
{
    if (text == NULL)
        return false;
    int rc = pcre2_match(r->re, (PCRE2_SPTR)text, n, 0, 0, rules->md, rules->mctx);
    return rc >= 0; /* PCRE2_ERROR_MATCHLIMIT and friends: no match */
}

const struct tap_rule *tap_rules_match(const struct tap_rules *rules, const char *provider, const char *text, size_t n)
{
    for (int tier = 0; tier < 2; tier++)
        for (size_t i = 0; i < rules->n; i++) {
            const struct tap_rule *r = &rules->rules[i];
            if ((tier == 0) != (r->nproviders > 0) || !tap_rule_scoped(r, provider))
                continue;
            if (tap_rule_matches(rules, r, text, n))
                return r;
        }
    return NULL;
}

enum tap_effect_kind tap_rules_effect_for(const struct tap_rule *r, bool our_fault)
{
    return our_fault ? TAP_EFFECT_ALERT : r->effect.kind;
}

const struct tap_rule *tap_rules_match_reply(const struct tap_rules *rules, const char *provider, const char *reply,
                                             size_t n)
{
    char unfolded[TAP_LINE_MAX + 1];
    if (reply == NULL)
        return NULL;
    size_t len = tap_reply_unfold(reply, n, unfolded, sizeof(unfolded));
    return tap_rules_match(rules, provider, unfolded, len);
}

bool tap_rules_same_effect(const struct tap_rule *a, const struct tap_rule *b)
{
    return a->key == b->key && a->effect.kind == b->effect.kind && a->effect.duration == b->effect.duration &&
           a->effect.factor == b->effect.factor && a->effect.floor == b->effect.floor &&
           a->effect.clean == b->effect.clean;
}
