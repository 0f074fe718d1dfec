/*
 * NAME
 *   wctl.h - what every warmupctl command shares: the run context, the
 *   parsed command line, the `warmupctl` config section and the Redis
 *   helpers that turn failures into one clear message and an exit status.
 *
 * DESCRIPTION
 *   A command is a function `int wctl_FILE_cmd(struct wctl *w, const struct
 *   wctl_args *a)` (wctl_cmds.h) returning the process exit status (exitcodes.h; `suppress
 *   check` also returns 1 for "not suppressed").  Commands write their
 *   output into w->out (a struct buf) which main prints at the end, so a
 *   command that fails half-way prints its error but no half table.
 *
 *   Redis access goes through wctl_cmd(): it prints
 *       warmupctl: cannot reach Redis at ADDRESS: REASON
 *   once for an outage (and sets status 75, EX_TEMPFAIL) and
 *       warmupctl: Redis error: TEXT
 *   for an error reply (status 1), and returns NULL in both cases, so a
 *   command only checks for NULL.
 */
#ifndef WCTL_H
#define WCTL_H

#include <stddef.h>
#include <hiredis/hiredis.h>

#include "buf.h"
#include "config.h"
#include "redis.h"
#include "redis_keys.h"

#define WCTL_MAX_PROVIDERS 16 /* = PROVIDER_MAX */
#define WCTL_MAX_POS       8

struct warmup_model;

/* The `warmupctl` section of postflow.conf. */
struct wctl_conf {
    char *node;           /* name in events; NULL = policy.node_name, else host name */
    long long scan_count; /* SCAN COUNT hint */
    int audit_log;        /* where change lines go: WAUDIT_* (wctl_audit.h) */
};
extern const struct cfg_option wctl_args_conf_options[];

/* The command line, parsed once by wctl_args_parse(). */
struct wctl_args {
    const char *pos[WCTL_MAX_POS]; /* command words and operands, in order */
    int npos;
    int json, help, version, force; /* --force: suppress remove of a complaint entry */
    int check, print_config;        /* -n, --print-config */
    const char *config;             /* -c FILE */
    const char *reason;             /* --reason */
    const char *detail;             /* --detail */
    const char *pool;               /* --pool */
    const char *html;               /* --html FILE|- (report) */
    long long limit;                /* --limit, -1 = none */
    unsigned given;                 /* WOPT_* bits of the options present */
};

enum {
    WOPT_JSON = 1u << 0,
    WOPT_REASON = 1u << 1,
    WOPT_DETAIL = 1u << 2,
    WOPT_POOL = 1u << 3,
    WOPT_LIMIT = 1u << 4,
    WOPT_FORCE = 1u << 5,
    WOPT_HTML = 1u << 6
};

/*
 * Parses argv (options may come before or after the command words; "--"
 * ends options).  Returns 0, or -1 with a message in err (size errsize).
 * The strings stay those of argv.
 */
int wctl_args_parse(int argc, char **argv, struct wctl_args *a, char *err, size_t errsize);

struct wctl {
    struct redis_conn *rc;
    const struct redis_conf *rconf;
    const struct wctl_conf *conf;
    const struct warmup_model *model; /* the policy section, checked (schedules, pools, providers) */
    struct rkeys keys;
    int json;
    long long now; /* Unix seconds (UTC), policy clock (+ clock_offset) */
    char node[256];
    char who[192];  /* the operator, for change lines (wctl_audit.c) */
    struct buf out; /* what the command prints on stdout */
    int status;     /* exit status set by wctl_cmd() failures */
};

/* Sends a command (argv as redisCommandArgv; lens may be NULL).  See above. */
redisReply *wctl_cmd(struct wctl *w, int argc, const char **argv, const size_t *lens);
/*
 * EVALSHA through redis_eval(), same error handling.  redis_eval() takes at
 * most WCTL_EVAL_MAX keys + arguments: callers with a SCAN page cut it into
 * chunks of that size.
 */
#define WCTL_EVAL_MAX 60
redisReply *wctl_eval(struct wctl *w, struct redis_script *s, int nkeys, const char **keys, int nargs,
                      const char **args);
/* Connects now; prints the "cannot reach" message and returns -1 on failure. */
int wctl_connect(struct wctl *w);

/* Prints "warmupctl: " + message to stderr. */
void wctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes b to path through path.tmp.PID and a rename (a reader never sees half a file:
 * node_exporter's textfile collector, a web server serving the report); -1 reported. */
int wctl_write_file(const char *path, const struct buf *b);

/*
 * SCAN MATCH pattern over the whole keyspace, calling fn once per SCAN page
 * with that page's keys (string replies, owned by wctl_scan).  A key may be
 * reported twice while Redis resizes its table: callers that count must
 * tolerate it.  fn returns 0 to go on, 1 to stop early, -1 to fail.
 * Returns 0, or -1 (Redis trouble, reported, or fn failure).
 */
int wctl_scan(struct wctl *w, const char *pattern,
              int (*fn)(struct wctl *w, redisReply **keys, size_t nkeys, void *arg), void *arg);

/* Value of field `name` in a HGETALL reply, or NULL. */
const char *wctl_hash_get(const redisReply *r, const char *name);
/* Same, as a number (def when absent or not a number). */
long long wctl_hash_ll(const redisReply *r, const char *name, long long def);

/* yyyymmdd (UTC) of a Unix time. */
long wctl_day(long long t);

#endif
