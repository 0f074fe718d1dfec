/*
 * NAME
 *   warmupctl - inspect and steer postflow's IP warm-up, suppressions and
 *   metrics in Redis.
 *
 * SYNOPSIS
 *   warmupctl [-c FILE] COMMAND [ARGS] [--json]
 *
 * DESCRIPTION
 *   This file only wires: it parses the command line, loads the `redis`,
 *   `policy` (with policyd-warmup's own tables, checked into the same
 *   warmup model), `warmupctl` and `log` sections of postflow.conf, opens
 *   the log of operator changes (wctl_audit.c), connects, runs
 *   the command from the table below and prints its output.  The commands live in
 *   wctl_*.c; man/warmupctl.8 documents them.
 *
 * EXIT STATUS
 *   0 success; 1 failure, "not suppressed" (suppress check) or bad rows
 *   (suppress import); 64 usage error; 75 Redis unreachable; 78 config
 *   error (also: Redis refused the configured AUTH or SELECT).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "exitcodes.h"
#include "log.h"
#include "policy_conf.h"
#include "redis.h"
#include "warmup_model.h"
#include "wctl.h"
#include "wctl_audit.h"
#include "wctl_cmds.h"

#ifndef POSTFLOW_VERSION
#define POSTFLOW_VERSION "0.0.0"
#endif

struct command {
    const char *word1, *word2; /* "suppress", "add"; word2 NULL for one-word commands */
    int min_ops, max_ops;      /* operands after the command words */
    unsigned opts;             /* WOPT_* accepted */
    int (*run)(struct wctl *w, const struct wctl_args *a);
    const char *usage;
};

#define J WOPT_JSON
static const struct command COMMANDS[] = {
    { "status", NULL, 0, 0, J, wctl_status_cmd, "status [--json]" },
    { "ip", "pause", 1, 1, J | WOPT_REASON | WOPT_POOL, wctl_ip_cmd, "ip pause IP [--reason TEXT] [--pool POOL]" },
    { "ip", "resume", 1, 1, J | WOPT_POOL, wctl_ip_cmd, "ip resume IP [--pool POOL]" },
    { "ip", "set-stage", 2, 2, J | WOPT_REASON | WOPT_POOL, wctl_ip_cmd, "ip set-stage IP N [--pool POOL]" },
    { "ip", "reset", 1, 1, J | WOPT_REASON | WOPT_POOL, wctl_ip_cmd, "ip reset IP [--pool POOL]" },
    { "suppress", "add", 1, 1, J | WOPT_REASON | WOPT_DETAIL, wctl_suppress_add_cmd,
      "suppress add ADDRESS [--reason manual|hard|complaint|unsubscribe|import] [--detail TEXT]" },
    { "suppress", "remove", 1, 1, J | WOPT_FORCE, wctl_suppress_remove_cmd,
      "suppress remove ADDRESS [--force (needed for a complaint)]" },
    { "suppress", "check", 1, 1, J, wctl_suppress_check_cmd, "suppress check ADDRESS [--json]" },
    { "suppress", "list", 0, 0, J | WOPT_REASON | WOPT_LIMIT, wctl_suppress_list_cmd,
      "suppress list [--reason R] [--limit N] [--json]" },
    { "suppress", "import", 1, 1, J | WOPT_REASON, wctl_import_cmd,
      "suppress import FILE.csv|- [--reason R] [--json]" },
    { "suppress", "export", 0, 1, 0, wctl_suppress_export_cmd, "suppress export [FILE]" },
    { "shaping", "list", 0, 0, J, wctl_shaping_list_cmd, "shaping list [--json]" },
    { "shaping", "show", 1, 1, J, wctl_shaping_show_cmd, "shaping show NAME [--json]" },
    { "shaping", "cancel", 1, 1, J | WOPT_REASON, wctl_shaping_cancel_cmd, "shaping cancel NAME [--reason TEXT]" },
    { "shaping", "extend", 2, 2, J | WOPT_REASON, wctl_shaping_extend_cmd,
      "shaping extend NAME DURATION [--reason TEXT]  (DURATION from now: 30m, 2h, 1d)" },
    { "events", NULL, 0, 0, J | WOPT_LIMIT, wctl_events_cmd, "events [--limit N] [--json]" },
    { "counters", NULL, 0, 1, J | WOPT_LIMIT, wctl_counters_cmd, "counters [PATTERN] [--limit N] [--json]" },
    { "metrics", NULL, 0, 1, J, wctl_metrics_cmd, "metrics [FILE] [--json]" },
    { "report", NULL, 0, 0, WOPT_HTML, wctl_report_cmd, "report --html FILE|-" },
};
#undef J
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

/* -n / --print-config: load and check the configuration, touch no Redis. */
static const struct command CONFIG_ONLY = { "-n", NULL, 0, 0, 0, NULL, "-n | --print-config" };

static void usage(FILE *fp)
{
    fprintf(fp, "usage: warmupctl [-c FILE] COMMAND [--json]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(fp, "  %s\n", COMMANDS[i].usage);
    fprintf(fp,
            "\n  -c FILE     configuration (default %s)\n"
            "  --json      machine-readable output (read commands)\n"
            "  -n          check the configuration and exit (0 or 78)\n"
            "  --print-config  print the effective redis, policy, warmupctl and log sections\n"
            "  --help, --version\n"
            "\nexit status: 0 ok; 1 failure, not suppressed (check), bad rows (import);\n"
            "64 usage; 75 Redis unreachable; 78 configuration error\n",
            cfg_default_path());
}

static const struct command *find_command(const struct wctl_args *a)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct command *c = &COMMANDS[i];
        if (a->npos < 1 || strcmp(a->pos[0], c->word1) != 0)
            continue;
        if (c->word2 == NULL || (a->npos >= 2 && strcmp(a->pos[1], c->word2) == 0))
            return c;
    }
    return NULL;
}

static int check_command(const struct command *c, const struct wctl_args *a)
{
    int words = c->word2 != NULL ? 2 : 1;
    int ops = a->npos - words;
    static const struct {
        unsigned bit;
        const char *name;
    } OPTNAMES[] = {
        { WOPT_JSON, "--json" },   { WOPT_REASON, "--reason" }, { WOPT_DETAIL, "--detail" }, { WOPT_POOL, "--pool" },
        { WOPT_LIMIT, "--limit" }, { WOPT_FORCE, "--force" },   { WOPT_HTML, "--html" },
    };

    if (ops < c->min_ops || ops > c->max_ops) {
        fprintf(stderr, "warmupctl: usage: warmupctl %s\n", c->usage);
        return -1;
    }
    for (size_t i = 0; i < sizeof OPTNAMES / sizeof OPTNAMES[0]; i++)
        if ((a->given & OPTNAMES[i].bit) && !(c->opts & OPTNAMES[i].bit)) {
            fprintf(stderr, "warmupctl: %s does not apply to this command (usage: warmupctl %s)\n", OPTNAMES[i].name,
                    c->usage);
            return -1;
        }
    return 0;
}

/* Returns the command to run, or NULL with *exit_code set (help, version, usage error). */
static const struct command *cli_command(int argc, char **argv, struct wctl_args *a, int *exit_code)
{
    const struct command *c;
    char err[512];

    *exit_code = PF_EXIT_USAGE;
    if (wctl_args_parse(argc, argv, a, err, sizeof err) < 0) {
        fprintf(stderr, "warmupctl: %s (try --help)\n", err);
        return NULL;
    }
    if (a->version || a->help) {
        if (a->version)
            printf("warmupctl (postflow) %s\n", POSTFLOW_VERSION);
        else
            usage(stdout);
        *exit_code = PF_EXIT_OK;
        return NULL;
    }
    if (a->check || a->print_config) {
        if (a->npos == 0)
            return &CONFIG_ONLY;
        fprintf(stderr, "warmupctl: -n and --print-config take no command\n");
        return NULL;
    }
    if ((c = find_command(a)) == NULL) {
        if (a->npos == 0)
            fprintf(stderr, "warmupctl: no command given\n");
        else
            fprintf(stderr, "warmupctl: unknown command \"%s%s%s\"\n", a->pos[0], a->npos > 1 ? " " : "",
                    a->npos > 1 ? a->pos[1] : "");
        usage(stderr);
        return NULL;
    }
    return check_command(c, a) < 0 ? NULL : c;
}

/* Everything read from the configuration file, and the policy model built from it. */
#define NSECTIONS 4
struct setup {
    struct redis_conf rconf;
    struct policy_conf pconf;
    struct wctl_conf wconf;
    struct log_conf lconf;
    struct warmup_model model;
    int have_model;
    struct cfg_section secs[NSECTIONS];
};

static void setup_free(struct setup *s)
{
    if (s->have_model)
        warmup_model_free(&s->model);
    cfg_free(s->secs, NSECTIONS);
}

/* Loads the file (a missing default file means defaults); 0 or PF_EXIT_CONFIG (reported). */
static int setup_load(struct setup *s, const char *path, int explicit_path)
{
    struct cfg_error err;
    char why[512];

    memset(s, 0, sizeof *s);
    s->secs[0] = (struct cfg_section){ "redis", redis_conf_options, &s->rconf };
    s->secs[1] = (struct cfg_section){ "policy", policy_conf_options, &s->pconf };
    s->secs[2] = (struct cfg_section){ "warmupctl", wctl_args_conf_options, &s->wconf };
    s->secs[3] = (struct cfg_section){ "log", log_conf_options, &s->lconf };
    if (cfg_load_defaults_and_file(path, explicit_path, s->secs, NSECTIONS, &err) < 0) {
        fprintf(stderr, "warmupctl: %s\n", err.text);
        return PF_EXIT_CONFIG;
    }
    if (warmup_model_build(&s->pconf, &s->model, why, sizeof why) < 0) {
        fprintf(stderr, "warmupctl: policy section: %s\n", why);
        return PF_EXIT_CONFIG;
    }
    s->have_model = 1;
    return PF_EXIT_OK;
}

/* Fills the run context from the setup; 0 or PF_EXIT_CONFIG (reported). */
static int setup_context(struct setup *s, const struct wctl_args *a, struct wctl *w)
{
    memset(w, 0, sizeof *w);
    if (rkeys_init(&w->keys, s->rconf.key_prefix) < 0) {
        fprintf(stderr, "warmupctl: redis.key_prefix \"%s\" is not a valid key prefix\n", s->rconf.key_prefix);
        return PF_EXIT_CONFIG;
    }
    w->rconf = &s->rconf;
    w->conf = &s->wconf;
    w->model = &s->model;
    w->json = a->json;
    /* The policy clock: days and hours must be the daemon's (clock_offset is for tests). */
    w->now = (long long)time(NULL) + s->pconf.clock_offset;
    if (s->wconf.node != NULL)
        snprintf(w->node, sizeof w->node, "%s", s->wconf.node);
    else if (s->pconf.node_name != NULL)
        snprintf(w->node, sizeof w->node, "%s", s->pconf.node_name);
    else if (gethostname(w->node, sizeof w->node - 1) != 0)
        snprintf(w->node, sizeof w->node, "unknown");
    return PF_EXIT_OK;
}

int main(int argc, char **argv)
{
    struct wctl_args a;
    static struct setup s;
    struct wctl w;
    const struct command *c;
    int rc;

    if ((c = cli_command(argc, argv, &a, &rc)) == NULL)
        return rc;
    if ((rc = setup_load(&s, a.config ? a.config : cfg_default_path(), a.config != NULL)) != PF_EXIT_OK ||
        (rc = setup_context(&s, &a, &w)) != PF_EXIT_OK || c == &CONFIG_ONLY) {
        if (rc == PF_EXIT_OK && a.print_config)
            cfg_print(stdout, s.secs, NSECTIONS);
        setup_free(&s);
        return rc;
    }
    wctl_audit_open(&w, &s.lconf);
    buf_init(&w.out, 0);
    w.rc = redis_new(&s.rconf);
    rc = wctl_connect(&w) < 0 ? w.status : c->run(&w, &a);
    if (w.out.len > 0)
        fwrite(w.out.data, 1, w.out.len, stdout);
    if (fflush(stdout) != 0 && rc == PF_EXIT_OK)
        rc = PF_EXIT_FAILURE;
    buf_free(&w.out);
    redis_free(w.rc);
    setup_free(&s);
    return rc;
}
