/*
 * NAME
 *   policy_runtime.c - load, check and share one configuration.
 */
#include "policy_runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

static void runtime_free(struct policy_runtime *rt)
{
    warmup_model_free(&rt->model);
    cfg_free(rt->sections, rt->nsections);
    free(rt->cache.entries);
    free(rt->path);
    free(rt);
}

static int finish(struct policy_runtime *rt, char *err, size_t errlen)
{
    const struct policy_conf *pc = &rt->files.policy;
    char merr[256];
    if (rkeys_init(&rt->keys, rt->files.redis.key_prefix) < 0) {
        snprintf(err, errlen, "redis.key_prefix \"%s\": no braces, spaces or control bytes, at most %d bytes",
                 rt->files.redis.key_prefix ? rt->files.redis.key_prefix : "", RKEY_PREFIX_MAX);
        return -1;
    }
    if (warmup_model_build(pc, &rt->model, merr, sizeof merr) < 0) {
        snprintf(err, errlen, "policy: %s", merr);
        return -1;
    }
    if (pc->node_name != NULL && pc->node_name[0] != '\0')
        snprintf(rt->node, sizeof rt->node, "%s", pc->node_name);
    else if (gethostname(rt->node, sizeof rt->node - 1) < 0 || rt->node[0] == '\0')
        snprintf(rt->node, sizeof rt->node, "localhost");
    if (!rkey_value_ok(rt->node, strlen(rt->node))) {
        snprintf(err, errlen, "policy.node_name \"%s\" is not usable in a key", rt->node);
        return -1;
    }
    size_t nips = 0;
    for (size_t p = 0; p < rt->model.npools; p++)
        nips += rt->model.pools[p].nips;
    rt->cache.entries = xcalloc(nips ? nips : 1, sizeof *rt->cache.entries);
    rt->cache.count = nips;
    struct plan_env *e = &rt->env;
    e->model = &rt->model;
    e->keys = &rt->keys;
    e->node = rt->node;
    e->attribution_ttl = pc->attribution_ttl;
    e->suppression_on = pc->suppression.enabled;
    e->suppression_domain = pc->suppression.check_domain;
    e->suppression_down = pc->suppression.on_redis_down;
    e->suppression_text = pc->suppression.text ? pc->suppression.text : "5.1.1 recipient is suppressed";
    e->warmup_on = pc->warmup.enabled;
    e->warmup_down = pc->warmup.on_redis_down;
    e->no_budget_action = pc->warmup.no_budget_action;
    e->no_budget_text = pc->warmup.no_budget_text ? pc->warmup.no_budget_text : "4.7.1 try again later";
    if (strpbrk(e->suppression_text, "\r\n") || strpbrk(e->no_budget_text, "\r\n")) {
        snprintf(err, errlen, "policy: reply texts must be one line");
        return -1;
    }
    return 0;
}

struct policy_runtime *policy_runtime_load(const char *path, int path_explicit, char *err, size_t errlen)
{
    struct policy_runtime *rt = xcalloc(1, sizeof *rt);
    struct cfg_error cerr;
    const char *file = path != NULL ? path : cfg_default_path();
    rt->refs = 1;
    rt->path = path ? xstrdup(path) : NULL;
    rt->nsections = policy_conf_sections(&rt->files, rt->sections);
    cerr.text[0] = '\0';
    if (cfg_load_defaults_and_file(file, path_explicit, rt->sections, rt->nsections, &cerr) < 0) {
        snprintf(err, errlen, "%s", cerr.text);
        runtime_free(rt);
        return NULL;
    }
    if (finish(rt, err, errlen) < 0) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s: %s", file, err);
        snprintf(err, errlen, "%s", tmp);
        runtime_free(rt);
        return NULL;
    }
    return rt;
}

struct policy_runtime *policy_runtime_ref(struct policy_runtime *rt)
{
    rt->refs++;
    return rt;
}

void policy_runtime_unref(struct policy_runtime *rt)
{
    if (rt != NULL && --rt->refs == 0)
        runtime_free(rt);
}

long long policy_runtime_now(const struct policy_runtime *rt, long long real_now)
{
    return real_now + rt->files.policy.clock_offset;
}

/* ---- comparing two runtimes (reload) ------------------------------------ */

static int str_same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static int strlist_same(const struct cfg_strlist *a, const struct cfg_strlist *b)
{
    if (a->count != b->count)
        return 0;
    for (size_t i = 0; i < a->count; i++)
        if (!str_same(a->items[i], b->items[i]))
            return 0;
    return 1;
}

int policy_runtime_redis_same(const struct policy_runtime *ra, const struct policy_runtime *rb)
{
    const struct redis_conf *a = &ra->files.redis, *b = &rb->files.redis;
    return str_same(a->address, b->address) && str_same(a->username, b->username) &&
           str_same(a->password, b->password) && a->db == b->db && a->connect_timeout_ms == b->connect_timeout_ms &&
           a->command_timeout_ms == b->command_timeout_ms && a->retry_min_ms == b->retry_min_ms &&
           a->retry_max_ms == b->retry_max_ms;
}

size_t policy_runtime_start_only_changes(const struct policy_runtime *ra, const struct policy_runtime *rb,
                                         const char **out, size_t max)
{
    const struct policy_conf *a = &ra->files.policy, *b = &rb->files.policy;
    const char *changed[5];
    size_t n = 0, k = 0;
    if (!strlist_same(&a->listen, &b->listen))
        changed[n++] = "policy.listen";
    if (a->socket_mode != b->socket_mode)
        changed[n++] = "policy.socket_mode";
    if (!str_same(a->user, b->user))
        changed[n++] = "policy.user";
    if (!str_same(a->group, b->group))
        changed[n++] = "policy.group";
    if (!str_same(a->pid_file, b->pid_file))
        changed[n++] = "policy.pid_file";
    for (; k < n && k < max; k++)
        out[k] = changed[k];
    return k;
}
