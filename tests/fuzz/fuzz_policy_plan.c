/*
 * fuzz_policy_plan.c - libFuzzer target for request planning and for
 * reading the script's reply.
 *
 * Input: a policy request, then "\n--\n", then reply items separated by
 * '|'.  The request is parsed (policy_parse), planned against a fixed model
 * with two pools and three rules (policy_plan_build), and the items are fed
 * to policy_plan_answer() as if Redis had returned them.  Checks: every
 * KEY fits RKEY_MAX and the action is one printable line (it goes back to
 * the MTA verbatim).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy_conf.h"
#include "policy_plan.h"
#include "policy_proto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct policy_files files;
static struct cfg_section sections[3];
static struct warmup_model model;
static struct rkeys keys;
static struct plan_env env;
static struct ip_cache_entry entries[3];
static struct ip_cache cache = { entries, 3 };

static const char CONF[] =
    "policy = { warmup = { smoothing_hours = 12;\n"
    "  schedules = ( { name = \"s\"; caps = \"10, 100\"; shares = \"gmail=50%\"; } );\n"
    "  pools = ( { name = \"a\"; sender_domains = [ \"example.com\" ];\n"
    "              ips = ( { address = \"192.0.2.1\"; schedule = \"s\"; }, { address = \"192.0.2.2\"; } ); },\n"
    "            { name = \"b\"; default = true; ips = ( { address = \"192.0.2.3\"; schedule = \"s\"; } ); } ); };\n"
    "  rate_limits = ( { name = \"r1\"; key = \"sender\"; limit = 5; },\n"
    "                  { name = \"r2\"; key = \"provider\"; count = \"recipients\"; limit = 5; },\n"
    "                  { name = \"r3\"; key = \"recipient_domain\"; count = \"bytes\"; limit = 5;\n"
    "                    stage = \"end_of_message\"; on_redis_down = \"closed\"; } ); };\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct cfg_error cerr;
    char err[256];
    size_t n = policy_conf_sections(&files, sections);
    if (cfg_defaults(sections, n, &cerr) < 0 || cfg_load_string(CONF, "fuzz", sections, n, &cerr) < 0 ||
        warmup_model_build(&files.policy, &model, err, sizeof err) < 0)
        abort();
    rkeys_init(&keys, "pf:");
    env = (struct plan_env){ .model = &model,
                             .keys = &keys,
                             .node = "fuzz",
                             .now = 1795867200LL,
                             .attribution_ttl = 3600,
                             .suppression_on = 1,
                             .suppression_domain = 1,
                             .warmup_on = 1,
                             .no_budget_text = "4.7.1 no budget",
                             .suppression_text = "5.1.1 suppressed" };
    return 0;
}

static void check_action(const char *a)
{
    for (const char *p = a; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct msg_state ms;
    struct policy_limits lim;
    struct policy_request req;
    static struct plan p; /* reused from one input to the next, as a connection reuses it */
    size_t resume = 0;
    const char *buf = (const char *)data;
    const char *sep = memmem(buf, size, "\n--\n", 4);
    size_t reqlen = sep ? (size_t)(sep - buf) + 1 : size;
    policy_limits_default(&lim);
    if (policy_parse(buf, reqlen, 1, &lim, &resume, &req) != POLICY_OK)
        return 0;
    if (policy_plan_build(&env, &req, &ms, &cache, &p) < 0)
        return 0;
    check_action(p.action);
    for (size_t i = 0; i < p.nkeys; i++)
        if (strlen(p.keys[i]) >= RKEY_MAX)
            abort();
    if (p.kind == PLAN_SCRIPT && sep != NULL) {
        char *copy = strndup(sep + 4, size - reqlen - 3);
        const char *items[64];
        size_t lens[64], n = 0;
        for (char *save = NULL, *t = strtok_r(copy, "|", &save); t && n < 64; t = strtok_r(NULL, "|", &save)) {
            items[n] = t;
            lens[n++] = strlen(t);
        }
        if (n > 0)
            policy_plan_answer(&env, &p, items, lens, n, &cache);
        check_action(p.action);
        policy_plan_unavailable(&p);
        check_action(p.action);
        free(copy);
    }
    if (p.is_rcpt)
        policy_plan_commit_rcpt(&p, &ms);
    else
        policy_plan_msg_reset(&ms);
    if (size % 7 == 0) /* sometimes start from nothing, as a new connection does */
        policy_plan_free(&p);
    return 0;
}
