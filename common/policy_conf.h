/*
 * NAME
 *   policy_conf.h - the `policy` section of postflow.conf, as typed tables.
 *
 * DESCRIPTION
 *   struct policy_conf mirrors the section one to one (option tables in
 *   policy_conf.c, loaded by common/config.c).  policy_conf_check() then
 *   turns the textual parts (cap lists, percentages, provider shares) into
 *   numbers and checks what the tables cannot: references between schedules
 *   and pools, duplicate IPs, transport names.  The checked, derived form is
 *   struct policy_model (warmup_model.h), which is what the decision code
 *   reads.  Every setting is documented in docs/policyd-warmup.md and
 *   conf/policyd-warmup.conf.sample.
 */
#ifndef POLICY_CONF_H
#define POLICY_CONF_H

#include "config.h"
#include "log.h"
#include "redis.h"

enum policy_on_down { ON_DOWN_OPEN = 0, ON_DOWN_CLOSED = 1 };
enum policy_action { ACT_DEFER = 0, ACT_REJECT = 1, ACT_HOLD = 2 };
enum rate_key {
    RK_SENDER = 0,
    RK_SENDER_DOMAIN,
    RK_SASL_USER,
    RK_CLIENT_ADDRESS,
    RK_RECIPIENT_DOMAIN,
    RK_PROVIDER,
    RK_COUNT
};
enum rate_unit { RU_MESSAGES = 0, RU_RECIPIENTS, RU_BYTES };
enum rate_stage { RS_RCPT = 0, RS_EOM = 1 };

struct rate_rule_conf {
    char *name;
    int key;   /* enum rate_key */
    int count; /* enum rate_unit */
    long long limit;
    long long window;  /* seconds */
    int stage;         /* enum rate_stage */
    int action;        /* enum policy_action */
    char *text;        /* reply text, or NULL for the default */
    int on_redis_down; /* enum policy_on_down */
};

struct schedule_conf {
    char *name;
    char *caps;   /* "100, 500, 2000, 10000, 50000": daily caps per stage */
    char *shares; /* "gmail=40%, microsoft=30%" or NULL */
};

struct ip_conf {
    char *address;
    char *schedule;  /* schedule name; NULL/"" = already warm (no cap) */
    char *transport; /* Postfix transport; NULL = "smtp-<address>" */
    char *interface; /* Exim interface value; NULL = address */
};

struct pool_conf {
    char *name;
    struct cfg_strlist sender_domains;
    int is_default;
    struct cfg_list ips; /* struct ip_conf */
};

struct health_conf {
    char *hard_bounce_max;        /* "1%" */
    char *soft_bounce_max;        /* "3%" */
    char *complaint_max;          /* "0.1%" */
    long long min_volume_percent; /* of the day's cap, to count as "enough volume" */
    int step_back_on_bounces;     /* hard bounces over the limit: step back (else hold) */
    long long min_provider_sent;  /* a provider's own rates count from this many sent */
    long long evaluate_interval;  /* seconds between checks for a new day */
};

struct warmup_conf {
    int enabled;
    int on_redis_down;
    int no_budget_action; /* ACT_DEFER or ACT_HOLD */
    char *no_budget_text;
    long long smoothing_hours; /* 0 = whole cap available at once */
    long long smoothing_start_hour;
    long long smoothing_burst_percent;
    struct health_conf health;
    struct cfg_list schedules; /* struct schedule_conf */
    struct cfg_list pools;     /* struct pool_conf */
};

struct suppression_conf {
    int enabled;
    int on_redis_down;
    int check_domain;
    char *text;
};

struct policy_conf {
    struct cfg_strlist listen;
    char *user;
    char *group;
    char *pid_file;
    long long socket_mode;
    long long max_connections;
    long long idle_timeout;
    long long max_request;
    long long max_attributes;
    long long max_value;
    char *node_name;
    long long attribution_ttl;
    long long log_interval; /* rate limit of repeated warnings */
    long long clock_offset; /* TEST ONLY: seconds added to the clock */
    struct suppression_conf suppression;
    struct warmup_conf warmup;
    struct cfg_list rate_limits; /* struct rate_rule_conf */
    struct cfg_list providers;   /* struct provider_def */
};

/* Everything policyd-warmup reads from the file. */
struct policy_files {
    struct log_conf log;
    struct redis_conf redis;
    struct policy_conf policy;
};

extern const struct cfg_option policy_conf_options[];
extern const char *const rate_key_names[];
extern const char *const rate_unit_names[];
extern const char *const policy_action_names[];

/* Fills sections[3] for struct policy_files; returns 3. */
size_t policy_conf_sections(struct policy_files *f, struct cfg_section *sections);

#endif
