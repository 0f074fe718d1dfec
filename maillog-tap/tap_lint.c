/*
 * tap_lint.c - the shaping-rule linter (see tap_lint.h).
 */
#include "tap_lint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap_text.h"
#include "xalloc.h"

static char *next_field(char **p)
{
    char *s = *p;
    if (s == NULL)
        return NULL;
    char *tab = strchr(s, '\t');
    if (tab != NULL) {
        *tab = '\0';
        *p = tab + 1;
    } else {
        *p = NULL;
    }
    return s;
}

/* The shared classifier's verdict on a corpus reply. */
static void classify_sample(const struct reply_rules *classifier, const char *provider, const char *reply, size_t n,
                            struct reply_verdict *v)
{
    int code;
    struct tap_str dsn;
    char status[16] = "";
    tap_reply_code(reply, n, &code, &dsn);
    if (dsn.p != NULL && dsn.n < sizeof(status)) {
        memcpy(status, dsn.p, dsn.n);
        status[dsn.n] = '\0';
    }
    struct reply_input in = {
        .status = status[0] ? status : NULL,
        .smtp_code = code,
        .text = reply,
        .text_len = n,
        .provider = provider,
        .action = code / 100 == 4   ? "delayed"
                  : code / 100 == 5 ? "failed"
                                    : NULL,
        .command = NULL,
    };
    reply_classify(classifier, &in, v);
}

static void lint_sample(const struct tap_rules *rules, const struct reply_rules *classifier, const char *provider,
                        const char *reply, int lineno, const char *path, size_t *wins, FILE *out,
                        struct tap_lint_stats *st)
{
    char text[TAP_LINE_MAX + 1];
    size_t len = tap_reply_unfold(reply, strlen(reply), text, sizeof(text));
    const struct tap_rule *winner = NULL;
    for (int tier = 0; tier < 2 && winner == NULL; tier++) {
        for (size_t i = 0; i < tap_rules_count(rules); i++) {
            const struct tap_rule *r = tap_rules_at(rules, i);
            if ((tier == 0) != (r->nproviders > 0) || !tap_rule_scoped(r, provider) ||
                !tap_rule_matches(rules, r, text, len))
                continue;
            if (winner == NULL) {
                winner = r;
                wins[i]++;
            } else if (!tap_rules_same_effect(winner, r)) {
                fprintf(out, "%s:%d: rules %s (line %d) and %s (line %d) disagree on this reply\n", path, lineno,
                        winner->name, winner->line, r->name, r->line);
                st->errors++;
            }
        }
    }
    struct reply_verdict v;
    classify_sample(classifier, provider, reply, strlen(reply), &v);
    if (st->list != NULL)
        fprintf(st->list, "%d\t%s\t%s\t%s\t%s%s\t%.60s\n", lineno, provider, winner ? winner->name : "-",
                winner ? tap_effect_name(winner->effect.kind) : "-", v.category, v.our_fault ? ",our_fault" : "",
                reply);
    if (winner == NULL)
        return;
    st->matched++;
    if (v.our_fault && winner->effect.kind != TAP_EFFECT_ALERT) {
        fprintf(out, "%s:%d: our own setup (%s) but rule %s (line %d) would %s: only alert on these\n", path, lineno,
                v.why, winner->name, winner->line, tap_effect_name(winner->effect.kind));
        st->errors++;
    }
}

int tap_lint(const struct tap_rules *rules, const struct reply_rules *classifier, const struct tap_provider *tp,
             const char *corpus_path, FILE *out, struct tap_lint_stats *st)
{
    FILE *list = st->list;
    memset(st, 0, sizeof(*st));
    st->list = list;
    FILE *fp = fopen(corpus_path, "r");
    if (fp == NULL) {
        fprintf(out, "%s: %s\n", corpus_path, strerror(errno));
        return -1;
    }
    size_t nrules = tap_rules_count(rules);
    size_t *wins = xcalloc(nrules ? nrules : 1, sizeof(*wins));
    for (size_t i = 0; i < nrules; i++) {
        const struct tap_rule *r = tap_rules_at(rules, i);
        for (size_t k = 0; k < r->nproviders; k++)
            if (!tap_provider_known(tp, r->providers[k])) {
                fprintf(out, "rule %s (line %d): unknown provider \"%s\": it would never fire\n", r->name, r->line,
                        r->providers[k]);
                st->errors++;
            }
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int lineno = 0;
    while ((got = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        if (got == 0 || line[0] == '#')
            continue;
        char *p = line;
        char *provider = next_field(&p), *source = next_field(&p), *reply = next_field(&p);
        if (reply == NULL || source == NULL || source[0] == '\0' || reply[0] == '\0' || got > TAP_LINE_MAX) {
            fprintf(out, "%s:%d: want PROVIDER<TAB>SOURCE<TAB>REPLY (a source is required)\n", corpus_path, lineno);
            st->errors++;
            continue;
        }
        if (!tap_provider_known(tp, provider)) {
            fprintf(out, "%s:%d: unknown provider \"%s\"\n", corpus_path, lineno, provider);
            st->errors++;
            continue;
        }
        st->samples++;
        lint_sample(rules, classifier, provider, reply, lineno, corpus_path, wins, out, st);
    }
    free(line);
    fclose(fp);
    for (size_t i = 0; i < nrules; i++)
        if (wins[i] == 0) {
            const struct tap_rule *r = tap_rules_at(rules, i);
            fprintf(out, "rule %s (line %d): wins no reply of the corpus (dead or shadowed)\n", r->name, r->line);
            st->errors++;
        }
    free(wins);
    return (int)st->errors;
}
