/*
 * NAME
 *   policy_runtime.h - one loaded configuration, shared by reference.
 *
 * DESCRIPTION
 *   A runtime is everything derived from one reading of the config file:
 *   the raw sections, the checked model, the key prefix, the IP-state cache
 *   and the plan environment.  It is reference counted: a request in flight
 *   holds a reference (its plan points into the model), so SIGHUP can swap
 *   in a new runtime while old requests finish against the old one.
 */
#ifndef POLICY_RUNTIME_H
#define POLICY_RUNTIME_H

#include "policy_conf.h"
#include "policy_plan.h"
#include "redis_keys.h"
#include "warmup_model.h"

struct policy_runtime {
    int refs;
    char *path; /* config file (NULL: defaults only) */
    struct cfg_section sections[3];
    size_t nsections;
    struct policy_files files;
    struct warmup_model model;
    struct rkeys keys;
    struct ip_cache cache;
    struct plan_env env; /* env.now is set per request */
    char node[65];
};

/*
 * Loads path (NULL: the default file if present) and builds the runtime.
 * Returns it with one reference, or NULL after writing "file:line: message"
 * or "file: message" into err.
 */
struct policy_runtime *policy_runtime_load(const char *path, int path_explicit, char *err, size_t errlen);
struct policy_runtime *policy_runtime_ref(struct policy_runtime *rt);
void policy_runtime_unref(struct policy_runtime *rt);

/*
 * Comparing two runtimes on reload (pure).  policy_runtime_redis_same(): 1
 * when both use the same Redis connection settings (no reconnection needed).
 * policy_runtime_start_only_changes(): the settings that differ but are only
 * applied at start (policy.listen, socket_mode, user, group, pid_file); up to
 * max static names go to out[], the count is returned.
 */
int policy_runtime_redis_same(const struct policy_runtime *a, const struct policy_runtime *b);
size_t policy_runtime_start_only_changes(const struct policy_runtime *a, const struct policy_runtime *b,
                                         const char **out, size_t max);

/* The policy clock: real time + clock_offset (test only). */
long long policy_runtime_now(const struct policy_runtime *rt, long long real_now);

#endif
