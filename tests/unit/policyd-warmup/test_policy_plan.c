/*
 * test_policy_plan.c - request -> script call (KEYS/ARGV layout) -> action,
 * with a fake clock; no Redis involved (the script itself is exercised by
 * tests/integration/test_policy_redis.py against a real server).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "policy_conf.h"
#include "policy_plan.h"
#include "policy_proto.h"

#define NOON 1795867200LL /* 2026-11-28 12:00:00 UTC */

static const char CONF[] =
    "policy = {\n"
    "  warmup = { smoothing_hours = 24; smoothing_burst_percent = 0;\n"
    "    schedules = ( { name = \"std\"; caps = \"100, 1000\"; shares = \"gmail=50%\"; } );\n"
    "    pools = ( { name = \"news\"; sender_domains = [ \"example.com\" ];\n"
    "                ips = ( { address = \"192.0.2.10\"; schedule = \"std\"; }, { address = \"192.0.2.11\"; } ); } ); };\n"
    "  rate_limits = ( { name = \"rcpts\"; key = \"client_address\"; count = \"recipients\"; limit = 50; window = \"1h\"; },\n"
    "                  { name = \"msgs\"; key = \"sender\"; count = \"messages\"; limit = 9; window = \"100s\";\n"
    "                    on_redis_down = \"closed\"; action = \"hold\"; },\n"
    "                  { name = \"size\"; key = \"sender_domain\"; count = \"bytes\"; limit = 99999; window = \"1d\";\n"
    "                    stage = \"end_of_message\"; action = \"reject\"; } );\n"
    "};\n";

struct fixture {
    struct policy_files files;
    struct cfg_section sections[3];
    size_t nsections;
    struct warmup_model model;
    struct rkeys keys;
    struct plan_env env;
    struct ip_cache_entry entries[2];
    struct ip_cache cache;
    struct msg_state ms;
    char buf[2048];
    struct policy_request req;
};

static int setup(void **state)
{
    static struct fixture f;
    struct cfg_error cerr;
    char err[256];
    memset(&f, 0, sizeof f);
    f.nsections = policy_conf_sections(&f.files, f.sections);
    if (cfg_defaults(f.sections, f.nsections, &cerr) < 0 ||
        cfg_load_string(CONF, "t.conf", f.sections, f.nsections, &cerr) < 0) {
        fprintf(stderr, "%s\n", cerr.text);
        return -1;
    }
    if (warmup_model_build(&f.files.policy, &f.model, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    rkeys_init(&f.keys, "pf:");
    f.env = (struct plan_env){ .model = &f.model,
                               .keys = &f.keys,
                               .node = "mx1",
                               .now = NOON,
                               .attribution_ttl = 1209600,
                               .suppression_on = 1,
                               .suppression_domain = 1,
                               .warmup_on = 1,
                               .suppression_down = ON_DOWN_OPEN,
                               .warmup_down = ON_DOWN_OPEN,
                               .no_budget_action = 0,
                               .no_budget_text = "4.7.1 volume limit reached",
                               .suppression_text = "5.1.1 recipient is suppressed" };
    f.cache.entries = f.entries;
    f.cache.count = 2;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    warmup_model_free(&f->model);
    cfg_free(f->sections, f->nsections);
    return 0;
}

/* Parses "name=value\n..." (the request= line is added) into f->req. */
static const struct policy_request *req(struct fixture *f, const char *attrs)
{
    struct policy_limits lim;
    size_t resume = 0;
    policy_limits_default(&lim);
    snprintf(f->buf, sizeof f->buf, "request=smtpd_access_policy\n%s\n", attrs);
    assert_int_equal(policy_parse(f->buf, strlen(f->buf), 0, &lim, &resume, &f->req), POLICY_OK);
    return &f->req;
}

static void other_states_are_answered_without_redis(void **state)
{
    struct fixture *f = *state;
    struct plan p = { 0 };
    assert_int_equal(
        policy_plan_build(&f->env, req(f, "protocol_state=MAIL\nsender=a@example.com\n"), &f->ms, &f->cache, &p), 0);
    assert_int_equal(p.kind, PLAN_ANSWER);
    assert_string_equal(p.action, "DUNNO");
}

static void rcpt_without_recipient_is_refused(void **state)
{
    struct fixture *f = *state;
    struct plan p = { 0 };
    assert_int_equal(
        policy_plan_build(&f->env, req(f, "protocol_state=RCPT\nsender=a@example.com\n"), &f->ms, &f->cache, &p), -1);
}

static void rcpt_plan_checks_address_then_domain_then_its_rules(void **state)
{
    struct fixture *f = *state;
    struct plan p = { 0 };
    policy_plan_msg_reset(&f->ms);
    assert_int_equal(policy_plan_build(&f->env,
                                       req(f, "protocol_state=RCPT\ninstance=I1\nclient_address=10.0.0.1\n"
                                              "sender=News@Example.com\nrecipient=Bob@GMail.com\n"),
                                       &f->ms, &f->cache, &p),
                     0);
    assert_int_equal(p.kind, PLAN_SCRIPT);
    assert_int_equal(p.nkeys, 4);
    assert_string_equal(p.keys[0], "pf:sup:{bob@gmail.com}");
    assert_string_equal(p.keys[1], "pf:sup:{@gmail.com}");
    assert_string_equal(p.keys[2], "pf:rl:{rcpts:10.0.0.1}");
    assert_string_equal(p.keys[3], "pf:rl:{msgs:news@example.com}");
    assert_int_equal(p.nargs, 4 + 6); /* the RCPT script's short header, then the rules */
    assert_string_equal(p.args[0], "1795867200");
    assert_string_equal(p.args[1], "rcpt");
    assert_string_equal(p.args[2], "2"); /* suppression keys */
    assert_string_equal(p.args[3], "2"); /* rules */
    assert_int_equal(p.arglens[3], 1);
    assert_string_equal(p.args[4], "50"); /* rcpts: limit, window, amount */
    assert_string_equal(p.args[5], "3600");
    assert_string_equal(p.args[6], "1");
    assert_string_equal(p.args[9], "1"); /* msgs: first RCPT of the message counts it */
    assert_int_equal(p.keylens[0], strlen("pf:sup:{bob@gmail.com}"));
    assert_true(p.any_closed); /* "msgs" is fail-closed */
    policy_plan_commit_rcpt(&p, &f->ms);
    policy_plan_free(&p);
    /* Second recipient of the same message: the message is not counted again. */
    assert_int_equal(policy_plan_build(&f->env,
                                       req(f, "protocol_state=RCPT\ninstance=I1\nclient_address=10.0.0.1\n"
                                              "sender=news@example.com\nrecipient=c@yahoo.com\n"),
                                       &f->ms, &f->cache, &p),
                     0);
    assert_string_equal(p.args[9], "0");
    policy_plan_commit_rcpt(&p, &f->ms);
    policy_plan_free(&p);
    assert_int_equal(f->ms.rcpts_seen, 2);
    assert_int_equal(f->ms.provider_rcpts[provider_find(f->model.providers, "gmail")], 1);
    assert_int_equal(f->ms.provider_rcpts[provider_find(f->model.providers, "yahoo")], 1);
    assert_string_equal(f->ms.first_domain, "GMail.com");
}

static void a_new_instance_forgets_the_previous_message(void **state)
{
    struct fixture *f = *state;
    struct plan p = { 0 };
    f->ms.rcpts_seen = 5;
    assert_int_equal(policy_plan_build(&f->env,
                                       req(f, "protocol_state=RCPT\ninstance=I2\nclient_address=10.0.0.1\n"
                                              "sender=news@example.com\nrecipient=d@example.org\n"),
                                       &f->ms, &f->cache, &p),
                     0);
    assert_int_equal(f->ms.rcpts_seen, 0);
    assert_string_equal(p.args[9], "1");
    policy_plan_free(&p);
}

static void eom_plan_lists_the_pool_with_budgets_for_now(void **state)
{
    struct fixture *f = *state;
    struct plan p = { 0 };
    policy_plan_msg_reset(&f->ms);
    f->entries[0] = (struct ip_cache_entry){ .stage = 1, .paused = 0, .known = 1 };
    f->entries[1] = (struct ip_cache_entry){ 0 };
    assert_int_equal(policy_plan_build(&f->env,
                                       req(f, "protocol_state=END-OF-MESSAGE\nqueue_id=4F2A1C\n"
                                              "client_address=10.0.0.1\nsender=news@example.com\n"
                                              "recipient=x@gmail.com\nrecipient_count=1\nsize=5000\n"),
                                       &f->ms, &f->cache, &p),
                     0);
    assert_int_equal(p.kind, PLAN_SCRIPT);
    /* rule "size", the shaping indexes (pool, sender domain), then per IP: state, day, one
     * health key (one provider), then the sender domain's health key, then attribution. */
    assert_int_equal(p.nkeys, 1 + 2 + 3 + 3 + 1 + 1);
    assert_string_equal(p.keys[0], "pf:rl:{size:example.com}");
    assert_string_equal(p.keys[1], "pf:fx:{news}");
    assert_string_equal(p.keys[2], "pf:fxd:{example.com}");
    assert_string_equal(p.keys[3], "pf:ip:{news}:192.0.2.10");
    assert_string_equal(p.keys[4], "pf:day:{news}:192.0.2.10:20261128");
    assert_string_equal(p.keys[5], "pf:hl:{news}:192.0.2.10:gmail:498852");
    assert_string_equal(p.keys[9], "pf:dh:{example.com}:gmail:498852");
    assert_string_equal(p.keys[10], "pf:q:{4F2A1C}");
    assert_string_equal(p.args[1], "eom");
    assert_string_equal(p.args[4], "2"); /* IPs */
    assert_string_equal(p.args[5], "1"); /* providers */
    assert_string_equal(p.args[6], "20261128");
    assert_string_equal(p.args[7], "20261127");
    assert_string_equal(p.args[8], "1209600");
    assert_string_equal(p.args[11], "news");
    assert_string_equal(p.args[12], "example.com");
    assert_string_equal(p.args[13], "gmail");
    assert_string_equal(p.args[16], "x@gmail.com"); /* the one recipient, for the record */
    assert_string_equal(p.args[17], "1");           /* sender-domain health keys */
    assert_string_equal(p.args[18], "2");           /* shaping indexes */
    assert_string_equal(p.args[21], "5000");        /* bytes of the message */
    assert_string_equal(p.args[22], "gmail");       /* provider, recipients */
    assert_string_equal(p.args[23], "1");
    /* IP 1: stage 1 (cap 1000), noon: half; gmail share 50 % of that. */
    assert_string_equal(p.args[24], "192.0.2.10");
    assert_string_equal(p.args[25], "192.0.2.0/24"); /* its netblock, for effects on it */
    assert_string_equal(p.args[26], "1");
    assert_string_equal(p.args[27], "1");
    assert_string_equal(p.args[28], "500");
    assert_string_equal(p.args[29], "250");
    /* IP 2: warm, unlimited. */
    assert_string_equal(p.args[30], "192.0.2.11");
    assert_string_equal(p.args[32], "2");
    assert_string_equal(p.args[34], "-1");
    assert_string_equal(p.args[35], "-1");
    assert_int_equal(p.nargs, 36);
    policy_plan_free(&p);
}

static void eom_counts_providers_seen_at_rcpt(void **state)
{
    struct fixture *f = *state;
    struct plan p = { 0 };
    policy_plan_msg_reset(&f->ms);
    memcpy(f->ms.instance, "M", 1);
    f->ms.instance_len = 1;
    f->ms.rcpts_seen = 3;
    f->ms.provider_rcpts[provider_find(f->model.providers, "gmail")] = 2;
    f->ms.provider_rcpts[provider_find(f->model.providers, "other")] = 1;
    assert_int_equal(policy_plan_build(&f->env,
                                       req(f, "protocol_state=END-OF-MESSAGE\ninstance=M\nqueue_id=Q\n"
                                              "sender=news@example.com\nrecipient_count=3\n"),
                                       &f->ms, &f->cache, &p),
                     0);
    assert_string_equal(p.args[5], "2");
    assert_string_equal(p.args[9], "3"); /* recipients of the message */
    assert_string_equal(p.args[13], "mixed");
    assert_string_equal(p.args[16], "");  /* several recipients: none recorded */
    assert_string_equal(p.args[17], "2"); /* one sender-domain health key per provider */
    policy_plan_free(&p);
}

/* A provider rule at END-OF-MESSAGE charges each provider its own recipients. */
static void eom_provider_rule_counts_each_provider_of_the_message(void **state)
{
    static const char conf[] =
        "policy = { rate_limits = ( { name = \"pv\"; key = \"provider\"; count = \"recipients\"; limit = 500;\n"
        "                             stage = \"end_of_message\"; } ); };\n";
    struct fixture *f = *state;
    struct policy_files files;
    struct cfg_section sections[3];
    struct cfg_error cerr;
    struct warmup_model model;
    char err[256];
    memset(&files, 0, sizeof files); /* cfg_defaults() frees what a field held */
    size_t n = policy_conf_sections(&files, sections);
    assert_int_equal(cfg_defaults(sections, n, &cerr), 0);
    assert_int_equal(cfg_load_string(conf, "pv.conf", sections, n, &cerr), 0);
    assert_int_equal(warmup_model_build(&files.policy, &model, err, sizeof err), 0);
    struct plan_env env = f->env;
    env.model = &model;
    struct ip_cache none = { NULL, 0 };
    struct msg_state ms;
    struct plan p = { 0 };
    policy_plan_msg_reset(&ms);
    memcpy(ms.instance, "M", 1);
    ms.instance_len = 1;
    ms.rcpts_seen = 3;
    ms.provider_rcpts[provider_find(model.providers, "gmail")] = 2;
    ms.provider_rcpts[provider_find(model.providers, "microsoft")] = 1;
    assert_int_equal(policy_plan_build(&env,
                                       req(f, "protocol_state=END-OF-MESSAGE\ninstance=M\nqueue_id=Q\n"
                                              "sender=news@example.com\nrecipient_count=3\n"),
                                       &ms, &none, &p),
                     0);
    assert_int_equal(p.kind, PLAN_SCRIPT);
    assert_int_equal(p.nkeys, 2);
    assert_int_equal(p.nrules, 2);
    assert_string_equal(p.keys[0], "pf:rl:{pv:gmail}");
    assert_string_equal(p.keys[1], "pf:rl:{pv:microsoft}");
    assert_string_equal(p.args[19 + 2], "2"); /* gmail: its two recipients */
    assert_string_equal(p.args[19 + 5], "1"); /* microsoft: its one */
    policy_plan_free(&p);
    /* A ratelimited answer for either bucket names the one rule. */
    const char *items[] = { "ratelimited", "2", "500" };
    size_t lens[] = { 11, 1, 3 };
    assert_int_equal(policy_plan_answer(&env, &p, items, lens, 3, &none), 0);
    assert_non_null(strstr(p.action, "\"pv\""));
    warmup_model_free(&model);
    cfg_free(sections, n);
}

static void unpooled_sender_without_eom_rules_needs_no_redis(void **state)
{
    struct fixture *f = *state;
    struct plan p = { 0 };
    f->model.nrules = 2; /* hide the end-of-message rule */
    assert_int_equal(policy_plan_build(&f->env, req(f, "protocol_state=END-OF-MESSAGE\nsender=a@other.example\n"),
                                       &f->ms, &f->cache, &p),
                     0);
    f->model.nrules = 3;
    assert_int_equal(p.kind, PLAN_ANSWER);
    assert_string_equal(p.action, "DUNNO");
}

static void values_unfit_for_a_key_are_not_counted(void **state)
{
    struct fixture *f = *state;
    struct plan p = { 0 };
    assert_int_equal(policy_plan_build(&f->env,
                                       req(f, "protocol_state=RCPT\nclient_address=10.0.0.1\n"
                                              "sender=\"john doe\"@example.com\nrecipient=a@b.example\n"),
                                       &f->ms, &f->cache, &p),
                     0);
    assert_int_equal(p.nrules, 1); /* only the client-address rule */
    policy_plan_free(&p);
}

static struct plan eom_plan(struct fixture *f, int exim)
{
    struct plan p = { 0 };
    policy_plan_msg_reset(&f->ms);
    assert_int_equal(policy_plan_build(&f->env,
                                       req(f, exim ? "protocol_state=END-OF-MESSAGE\nmta=exim\n"
                                                     "sender=news@example.com\n"
                                                   : "protocol_state=END-OF-MESSAGE\n"
                                                     "sender=news@example.com\n"),
                                       &f->ms, &f->cache, &p),
                     0);
    return p;
}

static void script_answers_become_actions(void **state)
{
    struct fixture *f = *state;
    struct plan p = eom_plan(f, 0);
    const char *ok[] = { "ok", "2", "3", "0", "0", "1" };
    size_t lens[6] = { 2, 1, 1, 1, 1, 1 };
    assert_int_equal(policy_plan_answer(&f->env, &p, ok, lens, 6, &f->cache), 0);
    assert_string_equal(p.action, "FILTER smtp-192.0.2.11:");
    assert_int_equal(p.outcome, OUT_STEERED);
    assert_int_equal(f->entries[0].stage, 3); /* cache refreshed from the reply */
    assert_int_equal(f->entries[1].paused, 1);
    const char *nob[] = { "nobudget", "0", "0", "0", "0", "0" };
    assert_int_equal(policy_plan_answer(&f->env, &p, nob, lens, 6, &f->cache), 0);
    assert_string_equal(p.action, "DEFER_IF_PERMIT 4.7.1 volume limit reached");
    f->env.no_budget_action = 1;
    policy_plan_answer(&f->env, &p, nob, lens, 6, &f->cache);
    assert_string_equal(p.action, "DEFER 4.7.1 volume limit reached");
    f->env.no_budget_action = 2;
    policy_plan_answer(&f->env, &p, nob, lens, 6, &f->cache);
    assert_string_equal(p.action, "HOLD 4.7.1 volume limit reached");
    assert_int_equal(p.outcome, OUT_NO_BUDGET);
    f->env.no_budget_action = 0;
    /* every IP shut out by a shaping effect: defer, naming it, its rule and how long */
    char until[32];
    snprintf(until, sizeof until, "%lld", f->env.now + 1750);
    const char *shp[] = { "shaped", "0", "1", "0", "0", "0", "suspend|192.0.2.10|gmail", "gmail-rate-ip", until };
    size_t shl[9] = { 6, 1, 1, 1, 1, 1, 24, 13, strlen(until) };
    assert_int_equal(policy_plan_answer(&f->env, &p, shp, shl, 9, &f->cache), 0);
    assert_string_equal(p.action, "DEFER_IF_PERMIT 4.7.0 receivers asked us to slow down: suspend 192.0.2.10 gmail "
                                  "(rule gmail-rate-ip), retry in 30 min");
    assert_int_equal(p.outcome, OUT_SHAPED);
    const char *stale[] = { "stale", "0", "1", "0", "0", "0" };
    assert_int_equal(policy_plan_answer(&f->env, &p, stale, lens, 6, &f->cache), 1);
    const char *rl[] = { "ratelimited", "1", "12" };
    assert_int_equal(policy_plan_answer(&f->env, &p, rl, lens, 3, &f->cache), 0);
    assert_string_equal(p.action, "REJECT 5.7.1 rate limit \"size\" reached (99999 bytes per 86400s), try again later");
    policy_plan_free(&p);
    p = eom_plan(f, 1);
    const char *ok1[] = { "ok", "1", "0", "0", "0", "0" };
    assert_int_equal(policy_plan_answer(&f->env, &p, ok1, lens, 6, &f->cache), 0);
    assert_string_equal(p.action, "DUNNO interface=192.0.2.10 ip=192.0.2.10 pool=news");
    policy_plan_free(&p);
}

static void suppression_answer_says_why(void **state)
{
    struct fixture *f = *state;
    struct plan p = { 0 };
    assert_int_equal(
        policy_plan_build(&f->env, req(f, "protocol_state=RCPT\nrecipient=a@b.example\n"), &f->ms, &f->cache, &p), 0);
    const char *sup[] = { "suppressed", "hard", "5.1.1 user\r\nunknown" };
    size_t lens[] = { 10, 4, 19 };
    assert_int_equal(policy_plan_answer(&f->env, &p, sup, lens, 3, &f->cache), 0);
    assert_string_equal(p.action, "550 5.1.1 recipient is suppressed (hard bounce: 5.1.1 user\\x0d\\x0aunknown)");
    assert_int_equal(p.outcome, OUT_SUPPRESSED);
    const char *odd[] = { "suppressed", "typo", "" };
    size_t l2[] = { 10, 4, 0 };
    policy_plan_answer(&f->env, &p, odd, l2, 3, &f->cache);
    assert_string_equal(p.action, "550 5.1.1 recipient is suppressed (typo)");
    policy_plan_free(&p);
}

static void contract_violations_and_outages_use_on_redis_down(void **state)
{
    struct fixture *f = *state;
    struct plan p = eom_plan(f, 0);
    const char *junk[] = { "what" };
    size_t lens[] = { 4 };
    assert_int_equal(policy_plan_answer(&f->env, &p, junk, lens, 1, &f->cache), -1);
    assert_string_equal(p.action, "DUNNO"); /* warm-up is fail-open here */
    const char *badip[] = { "ok", "7" };
    size_t l2[] = { 2, 1 };
    assert_int_equal(policy_plan_answer(&f->env, &p, badip, l2, 2, &f->cache), -1);
    policy_plan_free(&p);
    assert_int_equal(policy_plan_build(&f->env,
                                       req(f, "protocol_state=RCPT\nsender=s@x.example\nrecipient=a@b.example\n"),
                                       &f->ms, &f->cache, &p),
                     0);
    policy_plan_unavailable(&p); /* rule "msgs" is fail-closed */
    assert_string_equal(p.action, "451 4.3.0 policy service temporarily unavailable, try again later");
    policy_plan_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(other_states_are_answered_without_redis),
        cmocka_unit_test(rcpt_without_recipient_is_refused),
        cmocka_unit_test(rcpt_plan_checks_address_then_domain_then_its_rules),
        cmocka_unit_test(a_new_instance_forgets_the_previous_message),
        cmocka_unit_test(eom_plan_lists_the_pool_with_budgets_for_now),
        cmocka_unit_test(eom_counts_providers_seen_at_rcpt),
        cmocka_unit_test(eom_provider_rule_counts_each_provider_of_the_message),
        cmocka_unit_test(unpooled_sender_without_eom_rules_needs_no_redis),
        cmocka_unit_test(values_unfit_for_a_key_are_not_counted),
        cmocka_unit_test(script_answers_become_actions),
        cmocka_unit_test(suppression_answer_says_why),
        cmocka_unit_test(contract_violations_and_outages_use_on_redis_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
