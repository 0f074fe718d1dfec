/*
 * NAME
 *   policy_metrics.c - counting outcomes, writing the metrics hash (see policy_metrics.h)
 */
#include "policy_metrics.h"

#include <stdio.h>
#include <time.h>

#include "redis_keys.h"

void policy_metrics_count_outcome(struct policy_metrics *m, const struct plan *p)
{
    switch (p->outcome) {
    case OUT_SUPPRESSED: m->suppressed++; break;
    case OUT_RATE_LIMITED: m->rate_limited++; break;
    case OUT_STEERED: m->warmup_steered++; break;
    case OUT_NO_BUDGET: m->warmup_no_budget++; break;
    case OUT_SHAPED: m->warmup_shaped++; break;
    case OUT_UNAVAILABLE:
    case OUT_BAD_REPLY:
        if (p->any_closed)
            m->redis_down_closed++;
        else
            m->redis_down_open++;
        break;
    default: break;
    }
}

static void on_metrics_written(void *priv, const redisReply *reply)
{
}

void policy_metrics_flush(const struct policy_metrics *m, struct aredis *redis, const struct policy_runtime *rt)
{
    char key[RKEY_MAX];
    if (!aredis_connected(redis) || rkey_metrics(&rt->keys, key, rt->node) < 0)
        return;
    enum { N = 15 };
    char v[N][24];
    const char *names[N] = { "requests",          "requests_rcpt", "requests_eom", "connections",
                             "protocol_errors",   "suppressed",    "rate_limited", "warmup_steered",
                             "warmup_no_budget",  "warmup_shaped", "redis_errors", "redis_down_open",
                             "redis_down_closed", "started",       "updated" };
    unsigned long long vals[N] = { m->requests,
                                   m->requests_rcpt,
                                   m->requests_eom,
                                   m->connections,
                                   m->protocol_errors,
                                   m->suppressed,
                                   m->rate_limited,
                                   m->warmup_steered,
                                   m->warmup_no_budget,
                                   m->warmup_shaped,
                                   m->redis_errors,
                                   m->redis_down_open,
                                   m->redis_down_closed,
                                   (unsigned long long)m->started,
                                   (unsigned long long)time(NULL) };
    const char *argv[2 + 2 * N];
    argv[0] = "HSET";
    argv[1] = key;
    for (int i = 0; i < N; i++) {
        snprintf(v[i], sizeof v[i], "%llu", vals[i]);
        argv[2 + 2 * i] = names[i];
        argv[3 + 2 * i] = v[i];
    }
    aredis_command(redis, on_metrics_written, NULL, 2 + 2 * N, argv, NULL);
    const char *exp[3] = { "EXPIRE", key, "86400" };
    aredis_command(redis, on_metrics_written, NULL, 3, exp, NULL);
}
