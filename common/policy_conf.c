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

static const char *const on_down_names[] = { "open", "closed", NULL };
const char *const policy_action_names[] = { "defer", "reject", "hold", NULL };
static const char *const no_budget_names[] = { "defer", "defer_hard", "hold", NULL };
const char *const rate_key_names[] = { "sender",           "sender_domain", "sasl_user", "client_address",
                                       "recipient_domain", "provider",      NULL };
const char *const rate_unit_names[] = { "messages", "recipients", "bytes", NULL };
static const char *const stage_names[] = { "rcpt", "end_of_message", NULL };

static const struct cfg_option rate_rule_options[] = {
    CFG_ROW("name", CFG_STRING, rate_rule_conf, name, NULL, 0, 64, "rule name (part of its Redis key; a-z 0-9 - _)",
            .required = 1),
    CFG_ROW(
        "key", CFG_ENUM, rate_rule_conf, key, "sender", 0, 0,
        "what is counted per value: sender | sender_domain | sasl_user | client_address | recipient_domain | provider",
        .choices = rate_key_names, .required = 1),
    CFG_ROW("count", CFG_ENUM, rate_rule_conf, count, "messages", 0, 0, "unit: messages | recipients | bytes",
            .choices = rate_unit_names),
    CFG_ROW("limit", CFG_INT, rate_rule_conf, limit, "1000", 1, 1000000000000LL, "most units per window",
            .required = 1),
    CFG_ROW("window", CFG_DURATION, rate_rule_conf, window, "1h", 10, 31 * 86400,
            "sliding window, a multiple of 10 s (counted in tenths)"),
    CFG_ROW("stage", CFG_ENUM, rate_rule_conf, stage, "rcpt", 0, 0,
            "rcpt (each RCPT TO) | end_of_message (recipient_count and size are final)", .choices = stage_names),
    CFG_ROW("action", CFG_ENUM, rate_rule_conf, action, "defer", 0, 0,
            "defer (DEFER_IF_PERMIT 4.7.1) | reject (REJECT 5.7.1) | hold (HOLD)", .choices = policy_action_names),
    CFG_ROW("text", CFG_STRING, rate_rule_conf, text, NULL, 0, 200,
            "reply text; default names the rule and its window"),
    CFG_ROW("on_redis_down", CFG_ENUM, rate_rule_conf, on_redis_down, "open", 0, 0,
            "Redis unreachable: open (DUNNO) | closed (DEFER 451 4.3.0)", .choices = on_down_names),
    CFG_END
};

static const struct cfg_option schedule_options[] = {
    CFG_ROW("name", CFG_STRING, schedule_conf, name, NULL, 0, 64, "schedule name", .required = 1),
    CFG_ROW("caps", CFG_STRING, schedule_conf, caps, NULL, 0, 1024,
            "daily caps (recipients) per stage, e.g. \"100, 500, 2000, 10000, 50000\"; after the last: unlimited",
            .required = 1),
    CFG_ROW("shares", CFG_STRING, schedule_conf, shares, NULL, 0, 1024,
            "optional per-provider share of the cap, e.g. \"gmail=40%, microsoft=30%\""),
    CFG_END
};

static const struct cfg_option ip_options[] = {
    CFG_ROW("address", CFG_STRING, ip_conf, address, NULL, 0, 64, "sending IP address", .required = 1),
    CFG_ROW("schedule", CFG_STRING, ip_conf, schedule, NULL, 0, 64,
            "warm-up schedule name; empty: the IP is warm (no cap)"),
    CFG_ROW("transport", CFG_STRING, ip_conf, transport, NULL, 0, 64,
            "Postfix transport of this IP (default smtp-ADDRESS)"),
    CFG_ROW("interface", CFG_STRING, ip_conf, interface, NULL, 0, 64,
            "value given to Exim for its smtp transport's interface (default ADDRESS)"),
    CFG_END
};

static const struct cfg_option pool_options[] = {
    CFG_ROW("name", CFG_STRING, pool_conf, name, NULL, 0, 64, "pool name", .required = 1),
    CFG_ROW("sender_domains", CFG_STRLIST, pool_conf, sender_domains, NULL, 0, 0, "sender domains served by this pool"),
    CFG_ROW("default", CFG_BOOL, pool_conf, is_default, "false", 0, 0, "serves sender domains no pool lists"),
    CFG_ROW("ips", CFG_LIST, pool_conf, ips, NULL, 1, 64, "the pool's IPs", .sub = ip_options,
            .elem_size = sizeof(struct ip_conf), .required = 1),
    CFG_END
};

static const struct cfg_option health_options[] = {
    CFG_ROW("hard_bounce_max", CFG_STRING, health_conf, hard_bounce_max, "1%", 0, 16,
            "a day advances only below this hard-bounce rate; above it the stage steps back"),
    CFG_ROW("soft_bounce_max", CFG_STRING, health_conf, soft_bounce_max, "3%", 0, 16,
            "a day advances only below this soft-bounce rate"),
    CFG_ROW("complaint_max", CFG_STRING, health_conf, complaint_max, "0.1%", 0, 16,
            "a day advances only below this complaint rate; above it the IP pauses until resumed"),
    CFG_ROW("min_volume_percent", CFG_INT, health_conf, min_volume_percent, "50", 0, 100,
            "the day must have used this share of its cap to advance"),
    CFG_ROW("step_back_on_bounces", CFG_BOOL, health_conf, step_back_on_bounces, "true", 0, 0,
            "hard bounces over the limit step the stage back (false: hold)"),
    CFG_ROW("min_provider_sent", CFG_INT, health_conf, min_provider_sent, "200", 1, 1000000000,
            "each provider is also judged on its own once it sent this many (below: only the total counts)"),
    CFG_ROW("evaluate_interval", CFG_DURATION, health_conf, evaluate_interval, "60s", 1, 3600,
            "how often the daemon checks whether a day is to be evaluated"),
    CFG_END
};

static const struct cfg_option warmup_options[] = {
    CFG_ROW("enabled", CFG_BOOL, warmup_conf, enabled, "true", 0, 0, "steer mail to pool IPs at END-OF-MESSAGE"),
    CFG_ROW("on_redis_down", CFG_ENUM, warmup_conf, on_redis_down, "open", 0, 0,
            "Redis unreachable: open (DUNNO: default transport) | closed (DEFER 451 4.3.0)", .choices = on_down_names),
    CFG_ROW("no_budget_action", CFG_ENUM, warmup_conf, no_budget_action, "defer", 0, 0,
            "no IP has budget left: defer (DEFER_IF_PERMIT) | defer_hard (DEFER) | hold (HOLD)",
            .choices = no_budget_names),
    CFG_ROW("no_budget_text", CFG_STRING, warmup_conf, no_budget_text,
            "4.7.1 sending volume limit reached for this sender, try again later", 0, 200,
            "reply text when no IP has budget"),
    CFG_ROW("smoothing_hours", CFG_INT, warmup_conf, smoothing_hours, "24", 0, 24,
            "spread each daily cap evenly over this many hours (0: no smoothing)"),
    CFG_ROW("smoothing_start_hour", CFG_INT, warmup_conf, smoothing_start_hour, "0", 0, 23,
            "UTC hour the spreading starts"),
    CFG_ROW("smoothing_burst_percent", CFG_INT, warmup_conf, smoothing_burst_percent, "5", 0, 100,
            "share of the cap usable ahead of the even line"),
    CFG_ROW("health", CFG_GROUP, warmup_conf, health, NULL, 0, 0, "daily stage evaluation", .sub = health_options),
    CFG_ROW("schedules", CFG_LIST, warmup_conf, schedules, NULL, 0, 64, "named warm-up schedules",
            .sub = schedule_options, .elem_size = sizeof(struct schedule_conf)),
    CFG_ROW("pools", CFG_LIST, warmup_conf, pools, NULL, 0, 64, "IP pools", .sub = pool_options,
            .elem_size = sizeof(struct pool_conf)),
    CFG_END
};

static const struct cfg_option suppression_options[] = {
    CFG_ROW("enabled", CFG_BOOL, suppression_conf, enabled, "true", 0, 0, "reject suppressed recipients at RCPT"),
    CFG_ROW("on_redis_down", CFG_ENUM, suppression_conf, on_redis_down, "open", 0, 0,
            "Redis unreachable: open (DUNNO) | closed (DEFER 451 4.3.0)", .choices = on_down_names),
    CFG_ROW("check_domain", CFG_BOOL, suppression_conf, check_domain, "true", 0, 0,
            "also honour whole-domain entries (@example.com)"),
    CFG_ROW("text", CFG_STRING, suppression_conf, text, "5.1.1 recipient is on the suppression list", 0, 200,
            "reply text (the reason is appended)"),
    CFG_END
};

const struct cfg_option policy_conf_options[] = {
    CFG_ROW("listen", CFG_STRLIST, policy_conf, listen, "inet:127.0.0.1:10040", 1, 16,
            "sockets: inet:HOST:PORT, inet:PORT@HOST or unix:/path (-p overrides)"),
    CFG_ROW("user", CFG_STRING, policy_conf, user, NULL, 0, 64, "drop privileges to this user (when root)"),
    CFG_ROW("group", CFG_STRING, policy_conf, group, NULL, 0, 64, "and this group"),
    CFG_ROW("pid_file", CFG_STRING, policy_conf, pid_file, NULL, 0, 1024, "pid file (daemon mode)"),
    CFG_ROW("socket_mode", CFG_INT, policy_conf, socket_mode, "438", 0, 511,
            "mode of unix sockets (decimal; 438 = 0666)"),
    CFG_ROW("max_connections", CFG_INT, policy_conf, max_connections, "4096", 1, 1000000,
            "simultaneous client connections"),
    CFG_ROW("idle_timeout", CFG_DURATION, policy_conf, idle_timeout, "5m", 1, 86400,
            "close a client connection idle this long"),
    CFG_ROW("max_request", CFG_SIZE, policy_conf, max_request, "16K", 256, 1048576, "bytes of one request"),
    CFG_ROW("max_attributes", CFG_INT, policy_conf, max_attributes, "128", 4, 4096, "lines of one request"),
    CFG_ROW("max_value", CFG_SIZE, policy_conf, max_value, "2K", 64, 65536, "bytes of one attribute value"),
    CFG_ROW("node_name", CFG_STRING, policy_conf, node_name, NULL, 0, 64,
            "name of this node in metrics and events (default: host name)"),
    CFG_ROW("attribution_ttl", CFG_DURATION, policy_conf, attribution_ttl, "14d", 3600, 90 * 86400,
            "how long queue_id -> IP records are kept for bounce attribution"),
    CFG_ROW("log_interval", CFG_DURATION, policy_conf, log_interval, "60s", 1, 86400,
            "repeated warnings (Redis down) are logged at most once per interval"),
    CFG_ROW("clock_offset", CFG_INT, policy_conf, clock_offset, "0", -3153600000LL, 3153600000LL,
            "TEST ONLY: seconds added to the clock (day rollover tests); keep 0"),
    CFG_ROW("suppression", CFG_GROUP, policy_conf, suppression, NULL, 0, 0, "suppression list at RCPT",
            .sub = suppression_options),
    CFG_ROW("warmup", CFG_GROUP, policy_conf, warmup, NULL, 0, 0, "IP warm-up", .sub = warmup_options),
    CFG_ROW("rate_limits", CFG_LIST, policy_conf, rate_limits, NULL, 0, 64, "rate-limit rules",
            .sub = rate_rule_options, .elem_size = sizeof(struct rate_rule_conf)),
    CFG_ROW("providers", CFG_LIST, policy_conf, providers, NULL, 0, PROVIDER_MAX - 1,
            "recipient domain -> provider map (empty: built-in gmail, microsoft, yahoo, apple)",
            .sub = provider_def_options, .elem_size = sizeof(struct provider_def)),
    CFG_END
};

size_t policy_conf_sections(struct policy_files *f, struct cfg_section *sections)
{
    sections[0] = (struct cfg_section){ "log", log_conf_options, &f->log };
    sections[1] = (struct cfg_section){ "redis", redis_conf_options, &f->redis };
    sections[2] = (struct cfg_section){ "policy", policy_conf_options, &f->policy };
    return 3;
}
