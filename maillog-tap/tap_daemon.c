/*
 * tap_daemon.c - the daemon mode of maillog-tap (see tap_daemon.h).
 */
#include "tap_daemon.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exitcodes.h"
#include "log.h"
#include "redis.h"
#include "reply_class.h"
#include "startup.h"
#include "tap_fx.h"
#include "tap_provider.h"
#include "tap_replay.h"
#include "tap_rules.h"
#include "tap_store.h"
#include "tap_watch.h"

#define PROG "maillog-tap"
#define ROW(type, field, def, min, max, doc) \
    { \
#field, type, offsetof(struct tap_daemon_conf, field), def, min, max, doc, NULL, NULL, 0, 0 \
    }

const struct cfg_option tap_daemon_options[] = {
    ROW(CFG_STRING, log_file, NULL, 0, 4096, "the delivery log followed (Postfix maillog_file, syslog, Exim mainlog)"),
    ROW(CFG_STRING, checkpoint, NULL, 0, 4096, "position file (device, inode, offset); unset: start at the end"),
    ROW(CFG_STRING, rules_file, POSTFLOW_SYSCONFDIR "/postflow/shaping-rules.conf", 0, 4096, "traffic-shaping rules"),
    ROW(CFG_BOOL, exim, "false", 0, 0, "read every line as Exim's main log"),
    ROW(CFG_BOOL, from_start, "false", 0, 0, "without a checkpoint, read the log from its first byte"),
    ROW(CFG_INT, poll_interval, "200", 10, 10000, "milliseconds between looks at the log"),
    ROW(CFG_INT, max_pending, "100000", 100, 10000000, "effects waiting for Redis before the log is not read further"),
    CFG_END
};

struct daemon {
    struct tap_store *store;
    struct tap_fxq q;
    struct tap_counts counts;
    int failing; /* Redis refused the last drain */
};

static void on_effect(void *ctx, const struct tap_event *ev, const struct tap_verdict *v,
                      const struct tap_shape_effect *eff)
{
    struct daemon *d = ctx;
    struct tap_fx fx;
    tap_fx_from(&fx, ev, v, eff);
    tap_fxq_push(&d->q, &fx);
}

/* Outcomes the receiver answered (or delivered) count; the MTA's own "delivery
 * temporarily suspended" repeats and connection failures say nothing of the receiver. */
static void on_outcome(void *ctx, const struct tap_event *ev, const struct tap_verdict *v)
{
    struct daemon *d = ctx;
    if (ev->status != TAP_STATUS_SENT && !ev->remote_reply)
        return;
    tap_counts_add(&d->counts, ev, v->provider);
    /* per sender domain x provider too: the domain comes from the attribution record, looked up in
     * one batch per poll by the store (tap_store_counts), not per line here */
    tap_counts_add_qid(&d->counts, ev, v->provider);
}

static bool resolve_ip(void *ctx, const struct tap_event *ev, char *ip, size_t ipsize)
{
    struct daemon *d = ctx;
    return tap_store_attributed_ip(d->store, ev->queue_id.p, ev->queue_id.n, ip, ipsize);
}

static int sink_drain(void *ctx)
{
    struct daemon *d = ctx;
    size_t before = d->q.n;
    long long now = (long long)time(NULL);
    int rc = tap_store_counts(d->store, &d->counts, now);
    if (rc == 0)
        rc = tap_store_drain(d->store, &d->q, now);
    if (rc > 0)
        return -1; /* waiting for the pool registry: not an outage */
    if (rc < 0 && !d->failing)
        log_error("redis unavailable: %zu effects wait in memory, the checkpoint waits for them", d->q.n);
    else if (rc == 0 && d->failing)
        log_notice("redis back: %zu waiting effects stored", before);
    d->failing = rc < 0;
    return rc;
}

static bool sink_full(void *ctx)
{
    struct daemon *d = ctx;
    return tap_fxq_full(&d->q) || d->counts.n >= (size_t)d->q.max;
}

static void override(char **field, const char *value)
{
    if (value == NULL)
        return;
    free(*field);
    *field = strdup(value);
}

/* -n: the rule file must load too (a broken rule is a start-time error with file:line). */
static int check_rules(const struct tap_daemon_conf *c)
{
    char err[512] = "";
    struct tap_rules *rules = tap_rules_load_file(c->rules_file, err, sizeof err);
    if (rules == NULL) {
        fprintf(stderr, "%s: %s\n", PROG, err);
        return -1;
    }
    tap_rules_free(rules);
    return 0;
}

static int run(const struct tap_daemon_opts *o, struct tap_daemon_conf *c, struct redis_conf *rconf)
{
    char err[512] = "", node[128];
    if (c->log_file == NULL || c->log_file[0] == '\0') {
        fprintf(stderr, "%s: no log to follow (maillog_tap.log_file or a path argument)\n", PROG);
        return PF_EXIT_USAGE;
    }
    struct tap_rules *rules = tap_rules_load_file(c->rules_file, err, sizeof err);
    struct reply_rules *classifier = rules ? reply_rules_default(err, sizeof err) : NULL;
    if (classifier != NULL)
        reply_rules_jit(classifier); /* a long-running follower: worth compiling */
    struct tap_provider *tp = classifier ? tap_provider_new(err, sizeof err) : NULL;
    if (gethostname(node, sizeof node - 1) != 0)
        snprintf(node, sizeof node, "unknown");
    node[sizeof node - 1] = '\0';
    struct daemon d = { 0 };
    d.store = tp ? tap_store_new(rconf, node, err, sizeof err) : NULL;
    int rc = PF_EXIT_OK;
    if (d.store == NULL) {
        log_startup_error(PROG, "%s", err);
        rc = PF_EXIT_CONFIG;
    } else {
        tap_fxq_init(&d.q, (size_t)c->max_pending);
        tap_counts_init(&d.counts);
        struct tap_replay_opts ro = { .from_start = c->from_start,
                                      .exim = c->exim,
                                      .quiet = !o->json,
                                      .on_effect = on_effect,
                                      .effect_ctx = &d,
                                      .on_outcome = on_outcome,
                                      .resolve_ip = resolve_ip };
        struct tap_replay *r = tap_replay_new(rules, classifier, tp, &ro);
        struct tap_watch_sink sink = { sink_drain, sink_full, &d };
        log_notice("following %s (rules %s, %zu rules; redis %s)", c->log_file, c->rules_file, tap_rules_count(rules),
                   rconf->address ? rconf->address : "127.0.0.1:6379");
        if (tap_watch(r, c->log_file, c->checkpoint, c->from_start, (int)c->poll_interval, stdout, &sink) < 0)
            rc = PF_EXIT_FAILURE;
        const struct tap_store_stats *st = tap_store_stats(d.store);
        log_notice("stopped: %lld effects written, %lld kept (an equal or longer one stood), %lld alerts, "
                   "%lld dropped, %zu waiting; %lld outcomes counted, %lld of IPs in no pool",
                   st->written, st->kept, st->alerts, st->dropped, d.q.n, st->counted, st->unpooled);
        tap_replay_free(r);
        tap_fxq_free(&d.q);
        tap_counts_free(&d.counts);
    }
    tap_store_free(d.store);
    tap_rules_free(rules);
    reply_rules_free(classifier);
    tap_provider_free(tp);
    return rc;
}

int tap_daemon_run(const struct tap_daemon_opts *o)
{
    static struct tap_daemon_conf conf;
    static struct log_conf lconf;
    static struct redis_conf rconf;
    struct cfg_section sections[3] = {
        { "log", log_conf_options, &lconf },
        { "redis", redis_conf_options, &rconf },
        { "maillog_tap", tap_daemon_options, &conf },
    };
    signal(SIGPIPE, SIG_IGN); /* Redis closing its end is an error to retry, not our death */
    log_open(PROG, o->foreground || o->check);
    int rc = startup_load_config(PROG, o->config, sections, 3);
    if (rc != 0)
        return rc;
    override(&conf.checkpoint, o->checkpoint);
    override(&conf.rules_file, o->rules);
    override(&conf.log_file, o->log_file);
    conf.exim |= o->exim;
    conf.from_start |= o->from_start;
    if (o->print_config)
        cfg_print(stdout, sections, 3);
    else if (o->check)
        rc = check_rules(&conf) == 0 ? startup_check_only(PROG, o->config, sections, 3, o->verbose) : PF_EXIT_CONFIG;
    else
        rc = run(o, &conf, &rconf);
    cfg_free(sections, 3);
    return rc;
}
