/*
 * NAME
 *   policy_conf.c - option tables of the `policy` section.
 *
 * DESCRIPTION
 *   Pure data: names, types, defaults, ranges and one-line docs.  The
 *   semantic checks live in warmup_model.c.
 */
#include "policy_conf.h"

#include <stddef.h>

#include "provider.h"

#define O(st, f) offsetof(struct st, f)

static const char *const on_down_names[] = { "open", "closed", NULL };
const char *const policy_action_names[] = { "defer", "reject", "hold", NULL };
static const char *const no_budget_names[] = { "defer", "defer_hard", "hold", NULL };
const char *const rate_key_names[] = { "sender", "sender_domain", "sasl_user", "client_address",
                                       "recipient_domain", "provider", NULL };
const char *const rate_unit_names[] = { "messages", "recipients", "bytes", NULL };
static const char *const stage_names[] = { "rcpt", "end_of_message", NULL };

static const struct cfg_option rate_rule_options[] = {
    { "name", CFG_STRING, O(rate_rule_conf, name), NULL, 0, 64,
      "rule name (part of its Redis key; a-z 0-9 - _)", NULL, NULL, 0, 1 },
    { "key", CFG_ENUM, O(rate_rule_conf, key), "sender", 0, 0,
      "what is counted per value: sender | sender_domain | sasl_user | client_address | recipient_domain | provider",
      rate_key_names, NULL, 0, 1 },
    { "count", CFG_ENUM, O(rate_rule_conf, count), "messages", 0, 0,
      "unit: messages | recipients | bytes", rate_unit_names, NULL, 0, 0 },
    { "limit", CFG_INT, O(rate_rule_conf, limit), "1000", 1, 1000000000000LL,
      "most units per window", NULL, NULL, 0, 1 },
    { "window", CFG_DURATION, O(rate_rule_conf, window), "1h", 10, 31 * 86400,
      "sliding window, a multiple of 10 s (counted in tenths)", NULL, NULL, 0, 0 },
    { "stage", CFG_ENUM, O(rate_rule_conf, stage), "rcpt", 0, 0,
      "rcpt (each RCPT TO) | end_of_message (recipient_count and size are final)", stage_names, NULL, 0, 0 },
    { "action", CFG_ENUM, O(rate_rule_conf, action), "defer", 0, 0,
      "defer (DEFER_IF_PERMIT 4.7.1) | reject (REJECT 5.7.1) | hold (HOLD)", policy_action_names, NULL, 0, 0 },
    { "text", CFG_STRING, O(rate_rule_conf, text), NULL, 0, 200,
      "reply text; default names the rule and its window", NULL, NULL, 0, 0 },
    { "on_redis_down", CFG_ENUM, O(rate_rule_conf, on_redis_down), "open", 0, 0,
      "Redis unreachable: open (DUNNO) | closed (DEFER 451 4.3.0)", on_down_names, NULL, 0, 0 },
    CFG_END
};

static const struct cfg_option schedule_options[] = {
    { "name", CFG_STRING, O(schedule_conf, name), NULL, 0, 64, "schedule name", NULL, NULL, 0, 1 },
    { "caps", CFG_STRING, O(schedule_conf, caps), NULL, 0, 1024,
      "daily caps (recipients) per stage, e.g. \"100, 500, 2000, 10000, 50000\"; after the last: unlimited",
      NULL, NULL, 0, 1 },
    { "shares", CFG_STRING, O(schedule_conf, shares), NULL, 0, 1024,
      "optional per-provider share of the cap, e.g. \"gmail=40%, microsoft=30%\"", NULL, NULL, 0, 0 },
    CFG_END
};

static const struct cfg_option ip_options[] = {
    { "address", CFG_STRING, O(ip_conf, address), NULL, 0, 64, "sending IP address", NULL, NULL, 0, 1 },
    { "schedule", CFG_STRING, O(ip_conf, schedule), NULL, 0, 64,
      "warm-up schedule name; empty: the IP is warm (no cap)", NULL, NULL, 0, 0 },
    { "transport", CFG_STRING, O(ip_conf, transport), NULL, 0, 64,
      "Postfix transport of this IP (default smtp-ADDRESS)", NULL, NULL, 0, 0 },
    { "interface", CFG_STRING, O(ip_conf, interface), NULL, 0, 64,
      "value given to Exim for its smtp transport's interface (default ADDRESS)", NULL, NULL, 0, 0 },
    CFG_END
};

static const struct cfg_option pool_options[] = {
    { "name", CFG_STRING, O(pool_conf, name), NULL, 0, 64, "pool name", NULL, NULL, 0, 1 },
    { "sender_domains", CFG_STRLIST, O(pool_conf, sender_domains), NULL, 0, 0,
      "sender domains served by this pool", NULL, NULL, 0, 0 },
    { "default", CFG_BOOL, O(pool_conf, is_default), "false", 0, 0,
      "serves sender domains no pool lists", NULL, NULL, 0, 0 },
    { "ips", CFG_LIST, O(pool_conf, ips), NULL, 1, 64, "the pool's IPs", NULL, ip_options,
      sizeof(struct ip_conf), 1 },
    CFG_END
};

static const struct cfg_option health_options[] = {
    { "hard_bounce_max", CFG_STRING, O(health_conf, hard_bounce_max), "1%", 0, 16,
      "a day advances only below this hard-bounce rate; above it the stage steps back", NULL, NULL, 0, 0 },
    { "soft_bounce_max", CFG_STRING, O(health_conf, soft_bounce_max), "3%", 0, 16,
      "a day advances only below this soft-bounce rate", NULL, NULL, 0, 0 },
    { "complaint_max", CFG_STRING, O(health_conf, complaint_max), "0.1%", 0, 16,
      "a day advances only below this complaint rate; above it the IP pauses until resumed", NULL, NULL, 0, 0 },
    { "min_volume_percent", CFG_INT, O(health_conf, min_volume_percent), "50", 0, 100,
      "the day must have used this share of its cap to advance", NULL, NULL, 0, 0 },
    { "step_back_on_bounces", CFG_BOOL, O(health_conf, step_back_on_bounces), "true", 0, 0,
      "hard bounces over the limit step the stage back (false: hold)", NULL, NULL, 0, 0 },
    { "min_provider_sent", CFG_INT, O(health_conf, min_provider_sent), "200", 1, 1000000000,
      "each provider is also judged on its own once it sent this many (below: only the total counts)",
      NULL, NULL, 0, 0 },
    { "evaluate_interval", CFG_DURATION, O(health_conf, evaluate_interval), "60s", 1, 3600,
      "how often the daemon checks whether a day is to be evaluated", NULL, NULL, 0, 0 },
    CFG_END
};

static const struct cfg_option warmup_options[] = {
    { "enabled", CFG_BOOL, O(warmup_conf, enabled), "true", 0, 0,
      "steer mail to pool IPs at END-OF-MESSAGE", NULL, NULL, 0, 0 },
    { "on_redis_down", CFG_ENUM, O(warmup_conf, on_redis_down), "open", 0, 0,
      "Redis unreachable: open (DUNNO: default transport) | closed (DEFER 451 4.3.0)", on_down_names, NULL, 0, 0 },
    { "no_budget_action", CFG_ENUM, O(warmup_conf, no_budget_action), "defer", 0, 0,
      "no IP has budget left: defer (DEFER_IF_PERMIT) | defer_hard (DEFER) | hold (HOLD)",
      no_budget_names, NULL, 0, 0 },
    { "no_budget_text", CFG_STRING, O(warmup_conf, no_budget_text),
      "4.7.1 sending volume limit reached for this sender, try again later", 0, 200,
      "reply text when no IP has budget", NULL, NULL, 0, 0 },
    { "smoothing_hours", CFG_INT, O(warmup_conf, smoothing_hours), "24", 0, 24,
      "spread each daily cap evenly over this many hours (0: no smoothing)", NULL, NULL, 0, 0 },
    { "smoothing_start_hour", CFG_INT, O(warmup_conf, smoothing_start_hour), "0", 0, 23,
      "UTC hour the spreading starts", NULL, NULL, 0, 0 },
    { "smoothing_burst_percent", CFG_INT, O(warmup_conf, smoothing_burst_percent), "5", 0, 100,
      "share of the cap usable ahead of the even line", NULL, NULL, 0, 0 },
    { "health", CFG_GROUP, O(warmup_conf, health), NULL, 0, 0, "daily stage evaluation", NULL,
      health_options, 0, 0 },
    { "schedules", CFG_LIST, O(warmup_conf, schedules), NULL, 0, 64, "named warm-up schedules", NULL,
      schedule_options, sizeof(struct schedule_conf), 0 },
    { "pools", CFG_LIST, O(warmup_conf, pools), NULL, 0, 64, "IP pools", NULL, pool_options,
      sizeof(struct pool_conf), 0 },
    CFG_END
};

static const struct cfg_option suppression_options[] = {
    { "enabled", CFG_BOOL, O(suppression_conf, enabled), "true", 0, 0,
      "reject suppressed recipients at RCPT", NULL, NULL, 0, 0 },
    { "on_redis_down", CFG_ENUM, O(suppression_conf, on_redis_down), "open", 0, 0,
      "Redis unreachable: open (DUNNO) | closed (DEFER 451 4.3.0)", on_down_names, NULL, 0, 0 },
    { "check_domain", CFG_BOOL, O(suppression_conf, check_domain), "true", 0, 0,
      "also honour whole-domain entries (@example.com)", NULL, NULL, 0, 0 },
    { "text", CFG_STRING, O(suppression_conf, text), "5.1.1 recipient is on the suppression list", 0, 200,
      "reply text (the reason is appended)", NULL, NULL, 0, 0 },
    CFG_END
};

const struct cfg_option policy_conf_options[] = {
    { "listen", CFG_STRLIST, O(policy_conf, listen), "inet:127.0.0.1:10040", 1, 16,
      "sockets: inet:HOST:PORT, inet:PORT@HOST or unix:/path (-p overrides)", NULL, NULL, 0, 0 },
    { "user", CFG_STRING, O(policy_conf, user), NULL, 0, 64, "drop privileges to this user (when root)",
      NULL, NULL, 0, 0 },
    { "group", CFG_STRING, O(policy_conf, group), NULL, 0, 64, "and this group", NULL, NULL, 0, 0 },
    { "pid_file", CFG_STRING, O(policy_conf, pid_file), NULL, 0, 1024, "pid file (daemon mode)",
      NULL, NULL, 0, 0 },
    { "socket_mode", CFG_INT, O(policy_conf, socket_mode), "438", 0, 511,
      "mode of unix sockets (decimal; 438 = 0666)", NULL, NULL, 0, 0 },
    { "max_connections", CFG_INT, O(policy_conf, max_connections), "4096", 1, 1000000,
      "simultaneous client connections", NULL, NULL, 0, 0 },
    { "idle_timeout", CFG_DURATION, O(policy_conf, idle_timeout), "5m", 1, 86400,
      "close a client connection idle this long", NULL, NULL, 0, 0 },
    { "max_request", CFG_SIZE, O(policy_conf, max_request), "16K", 256, 1048576,
      "bytes of one request", NULL, NULL, 0, 0 },
    { "max_attributes", CFG_INT, O(policy_conf, max_attributes), "128", 4, 4096,
      "lines of one request", NULL, NULL, 0, 0 },
    { "max_value", CFG_SIZE, O(policy_conf, max_value), "2K", 64, 65536,
      "bytes of one attribute value", NULL, NULL, 0, 0 },
    { "node_name", CFG_STRING, O(policy_conf, node_name), NULL, 0, 64,
      "name of this node in metrics and events (default: host name)", NULL, NULL, 0, 0 },
    { "attribution_ttl", CFG_DURATION, O(policy_conf, attribution_ttl), "14d", 3600, 90 * 86400,
      "how long queue_id -> IP records are kept for bounce attribution", NULL, NULL, 0, 0 },
    { "log_interval", CFG_DURATION, O(policy_conf, log_interval), "60s", 1, 86400,
      "repeated warnings (Redis down) are logged at most once per interval", NULL, NULL, 0, 0 },
    { "clock_offset", CFG_INT, O(policy_conf, clock_offset), "0", -3153600000LL, 3153600000LL,
      "TEST ONLY: seconds added to the clock (day rollover tests); keep 0", NULL, NULL, 0, 0 },
    { "suppression", CFG_GROUP, O(policy_conf, suppression), NULL, 0, 0, "suppression list at RCPT",
      NULL, suppression_options, 0, 0 },
    { "warmup", CFG_GROUP, O(policy_conf, warmup), NULL, 0, 0, "IP warm-up", NULL, warmup_options, 0, 0 },
    { "rate_limits", CFG_LIST, O(policy_conf, rate_limits), NULL, 0, 64, "rate-limit rules", NULL,
      rate_rule_options, sizeof(struct rate_rule_conf), 0 },
    { "providers", CFG_LIST, O(policy_conf, providers), NULL, 0, PROVIDER_MAX - 1,
      "recipient domain -> provider map (empty: built-in gmail, microsoft, yahoo, apple)", NULL,
      provider_def_options, sizeof(struct provider_def), 0 },
    CFG_END
};

size_t policy_conf_sections(struct policy_files *f, struct cfg_section *sections)
{
    sections[0] = (struct cfg_section){ "log", log_conf_options, &f->log };
    sections[1] = (struct cfg_section){ "redis", redis_conf_options, &f->redis };
    sections[2] = (struct cfg_section){ "policy", policy_conf_options, &f->policy };
    return 3;
}
