/*
 * NAME
 *   policy_plan.h - from one policy request to one Redis script call, and
 *   from the script's answer to the MTA's action.
 *
 * DESCRIPTION
 *   policy_plan_build() is the pure heart of policyd-warmup: given a parsed
 *   request, the model, the per-connection message state (what earlier
 *   RCPT requests of the same `instance` saw), the cached stage of each IP
 *   and the time, it either answers at once (nothing to check: DUNNO) or
 *   fills a plan: the KEYS and ARGV of one EVALSHA of the policy script
 *   (policy_script.h) plus what is needed to read the reply.
 *   policy_plan_answer() maps the script's reply (a list of strings) to the
 *   action line; policy_plan_unavailable() gives the action when Redis could
 *   not be asked (fail-open / fail-closed per rule).  Nothing here does I/O.
 */
#ifndef POLICY_PLAN_H
#define POLICY_PLAN_H

#include <stddef.h>

#include "argvec.h"
#include "policy_proto.h"
#include "redis_keys.h"
#include "warmup_model.h"

#define PLAN_ACTION_MAX   512
#define PLAN_INSTANCE_MAX 128

/* What one connection remembers about the message in progress (by instance). */
struct msg_state {
    char instance[PLAN_INSTANCE_MAX];
    size_t instance_len;
    long long rcpts_seen;                   /* RCPT requests answered DUNNO for it */
    long long provider_rcpts[PROVIDER_MAX]; /* of those, per provider */
    char first_domain[256];                 /* first recipient's domain */
};

/* The daemon's cache of IP states (refreshed from every END-OF-MESSAGE reply). */
struct ip_cache_entry {
    long stage;
    int paused;
    int known;
};
struct ip_cache {
    struct ip_cache_entry *entries; /* one per IP of the model, pool by pool; owned by the caller */
    size_t count;
};
/* Index of the first IP of pool p in the cache (pools laid out in model order). */
size_t policy_plan_ip_cache_base(const struct warmup_model *m, const struct wm_pool *pool);

struct plan_env {
    const struct warmup_model *model;
    const struct rkeys *keys;
    const char *node; /* node name for attribution */
    long long now;    /* policy clock */
    long long attribution_ttl;
    int suppression_on, suppression_domain, warmup_on;
    int suppression_down, warmup_down; /* enum policy_on_down */
    int no_budget_action;              /* 0 defer, 1 defer_hard, 2 hold */
    const char *no_budget_text;
    const char *suppression_text;
};

/* Reply outcome, for metrics: what policy_plan_answer decided. */
enum plan_outcome {
    OUT_DUNNO,
    OUT_SUPPRESSED,
    OUT_RATE_LIMITED,
    OUT_STEERED,
    OUT_NO_BUDGET,
    OUT_BAD_REPLY,
    OUT_UNAVAILABLE,
    OUT_SHAPED
};

enum plan_kind { PLAN_ANSWER, PLAN_SCRIPT };

/* The strings of a plan's script call: arenas a connection reuses from request to request. */
struct plan_memory {
    struct argvec kv, hv, av; /* keys, header arguments, other arguments */
    char **argp;              /* header then other arguments */
    size_t *argl;
    size_t argcap;
};

struct plan {
    enum plan_kind kind;
    char action[PLAN_ACTION_MAX]; /* PLAN_ANSWER: the action */
    int is_rcpt, is_exim;
    /* PLAN_SCRIPT: KEYS then ARGV (NUL-terminated, with their lengths), views
     * into the arenas below, valid until the next build on this plan */
    char *const *keys;
    const size_t *keylens;
    size_t nkeys;
    char *const *args;
    const size_t *arglens;
    size_t nargs;
    struct plan_memory mem; /* owned; kept from one build to the next */
    /* to read the reply */
    const struct wm_pool *pool;
    size_t rule_index[128]; /* script bucket i -> model rule (an EOM provider rule: one per provider) */
    size_t nrules;
    int any_closed; /* a fail-closed check applies */
    char qid[64];
    size_t ndomain_keys;   /* EOM: pf:dh: keys (0, or one per provider) */
    size_t nfx_keys;       /* EOM: shaping indexes (pool, sender domain) */
    int outcome;           /* enum plan_outcome, set by answer/unavailable */
    size_t rcpt_provider;  /* RCPT: provider of the recipient */
    char rcpt_domain[256]; /* RCPT: its domain */
};

/*
 * Builds the plan for req.  ms is the connection's message state (a new
 * instance resets it).  plan must be zeroed before its first build; later
 * builds reuse its memory.
 * Returns 0, or -1 when the request lacks what its stage needs (the caller
 * answers DUNNO and logs).  Release the memory with policy_plan_free().
 */
int policy_plan_build(const struct plan_env *env, const struct policy_request *req, struct msg_state *ms,
                      const struct ip_cache *cache, struct plan *plan);
void policy_plan_free(struct plan *plan);

/*
 * Reads the script reply (n strings) into plan->action and refreshes the
 * cache from the returned IP states.  Returns 0, 1 when the reply says the
 * cache was stale and the request should be planned again (once), or -1 for
 * a reply that does not follow the script's contract (action then holds the
 * fail-open/closed answer).
 */
int policy_plan_answer(const struct plan_env *env, struct plan *plan, const char *const *items, const size_t *lens,
                       size_t n, struct ip_cache *cache);

/*
 * After an RCPT request was answered without rejecting the recipient:
 * remember it in the message state (recipient count, provider, first domain).
 */
void policy_plan_commit_rcpt(const struct plan *plan, struct msg_state *ms);
/* Forget the message (after END-OF-MESSAGE). */
void policy_plan_msg_reset(struct msg_state *ms);

/* The action when Redis cannot be asked: DEFER 451 4.3.0 if any applicable check is fail-closed, else DUNNO. */
void policy_plan_unavailable(struct plan *plan);

#endif
