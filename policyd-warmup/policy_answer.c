/*
 * NAME
 *   policy_answer.c - the script's reply -> the action policyd-warmup answers
 *   (see policy_plan.h: policy_plan_answer, policy_plan_unavailable).
 *
 * DESCRIPTION
 *   The other half of policy_plan.c: a suppression becomes 550 with its
 *   reason in words, a rate limit the rule's verb and text, a warm-up choice
 *   FILTER (Postfix) or DUNNO interface=... (Exim), no budget or a shaping
 *   effect the configured no-budget verb with a 4.7.x text; the IP cache is
 *   refreshed from the stages the script read.  A reply that breaks the
 *   contract is answered as Redis unavailable.
 */
#include "policy_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shaping.h"
#include "text_safe.h"

void policy_plan_unavailable(struct plan *p)
{
    p->outcome = OUT_UNAVAILABLE;
    if (p->any_closed)
        snprintf(p->action, sizeof p->action, "451 4.3.0 policy service temporarily unavailable, try again later");
    else
        snprintf(p->action, sizeof p->action, "DUNNO");
}

static const char *reason_words(const char *r, size_t len)
{
    static const struct {
        const char *code, *words;
    } map[] = {
        { "hard", "hard bounce" },         { "complaint", "spam complaint" },    { "manual", "added by an operator" },
        { "unsubscribe", "unsubscribed" }, { "import", "imported suppression" },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strlen(map[i].code) == len && memcmp(map[i].code, r, len) == 0)
            return map[i].words;
    return NULL;
}

static void answer_suppressed(const struct plan_env *env, struct plan *p, const char *const *it, const size_t *lens,
                              size_t n)
{
    char reason[64], detail[128];
    const char *words = reason_words(it[1], lens[1]);
    text_safe(reason, sizeof reason, it[1], lens[1]);
    text_safe(detail, sizeof detail, n > 2 ? it[2] : "", n > 2 ? lens[2] : 0);
    snprintf(p->action, sizeof p->action, "550 %s (%s%s%s)", env->suppression_text, words ? words : reason,
             detail[0] ? ": " : "", detail);
    p->outcome = OUT_SUPPRESSED;
}

static int answer_ratelimited(const struct plan_env *env, struct plan *p, const char *rule_no)
{
    long i = strtol(rule_no, NULL, 10);
    if (i < 1 || (size_t)i > p->nrules)
        return -1;
    const struct wm_rule *r = &env->model->rules[p->rule_index[i - 1]];
    static const char *const verbs[] = { "DEFER_IF_PERMIT", "REJECT", "HOLD" };
    snprintf(p->action, sizeof p->action, "%s %s", verbs[r->action], r->text);
    p->outcome = OUT_RATE_LIMITED;
    return 0;
}

/*
 * Every IP is shut out by a shaping effect the receivers' answers started
 * (the last three reply elements: effect, rule, until): defer as for no
 * budget, saying which effect and until when.
 */
static void answer_shaped(const struct plan_env *env, struct plan *p, const char *const *it, const size_t *lens,
                          size_t n)
{
    static const char *const verbs[] = { "DEFER_IF_PERMIT", "DEFER", "HOLD" };
    char effect[SHAPING_FIELD_MAX], rule[64];
    size_t at = n >= 5 ? n - 3 : n;
    text_safe(effect, sizeof effect, at < n ? it[at] : "", at < n ? lens[at] : 0);
    text_safe(rule, sizeof rule, at + 1 < n ? it[at + 1] : "", at + 1 < n ? lens[at + 1] : 0);
    long long until = at + 2 < n ? strtoll(it[at + 2], NULL, 10) : 0;
    long long mins = until > env->now ? (until - env->now + 59) / 60 : 1;
    for (char *c = effect; *c; c++)
        if (*c == '|')
            *c = ' ';
    snprintf(p->action, sizeof p->action, "%s 4.7.0 receivers asked us to slow down: %s (rule %s), retry in %lld min",
             verbs[env->no_budget_action], effect, rule, mins);
    p->outcome = OUT_SHAPED;
}

static void cache_update(const struct plan_env *env, const struct plan *p, const char *const *it, size_t n,
                         struct ip_cache *cache)
{
    size_t base = policy_plan_ip_cache_base(env->model, p->pool);
    for (size_t i = 0; i < p->pool->nips && 2 + 2 * i + 1 < n; i++) {
        if (base + i >= cache->count)
            break;
        struct ip_cache_entry *e = &cache->entries[base + i];
        e->stage = strtol(it[2 + 2 * i], NULL, 10);
        e->paused = it[3 + 2 * i][0] == '1';
        e->known = 1;
    }
}

int policy_plan_answer(const struct plan_env *env, struct plan *p, const char *const *it, const size_t *lens, size_t n,
                       struct ip_cache *cache)
{
    static const char *const no_budget_verbs[] = { "DEFER_IF_PERMIT", "DEFER", "HOLD" };
    p->outcome = OUT_DUNNO;
    snprintf(p->action, sizeof p->action, "DUNNO");
    if (n >= 2 && strcmp(it[0], "suppressed") == 0) {
        answer_suppressed(env, p, it, lens, n);
        return 0;
    }
    if (n >= 2 && strcmp(it[0], "ratelimited") == 0 && answer_ratelimited(env, p, it[1]) == 0)
        return 0;
    if (n >= 2 && (strcmp(it[0], "ok") == 0 || strcmp(it[0], "nobudget") == 0 || strcmp(it[0], "stale") == 0 ||
                   strcmp(it[0], "shaped") == 0)) {
        if (p->pool != NULL)
            cache_update(env, p, it, n, cache);
        if (strcmp(it[0], "stale") == 0)
            return 1;
        if (strcmp(it[0], "shaped") == 0) {
            answer_shaped(env, p, it, lens, n);
            return 0;
        }
        if (strcmp(it[0], "nobudget") == 0) {
            snprintf(p->action, sizeof p->action, "%s %s", no_budget_verbs[env->no_budget_action], env->no_budget_text);
            p->outcome = OUT_NO_BUDGET;
            return 0;
        }
        long chosen = strtol(it[1], NULL, 10);
        if (chosen == 0 || p->pool == NULL)
            return 0;
        if (chosen < 0 || (size_t)chosen > p->pool->nips)
            goto bad;
        const struct wm_ip *ip = &p->pool->ips[chosen - 1];
        if (p->is_exim)
            snprintf(p->action, sizeof p->action, "DUNNO interface=%s ip=%s pool=%s", ip->interface, ip->address,
                     p->pool->name);
        else
            snprintf(p->action, sizeof p->action, "FILTER %s:", ip->transport);
        p->outcome = OUT_STEERED;
        return 0;
    }
bad:
    policy_plan_unavailable(p);
    p->outcome = OUT_BAD_REPLY;
    return -1;
}
