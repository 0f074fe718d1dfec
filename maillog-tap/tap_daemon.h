/*
 * tap_daemon.h - maillog-tap as a daemon: follow the delivery log, write
 * the effects the rules start to Redis, checkpoint only what is stored.
 *
 * DESCRIPTION
 *	Configuration: the shared file's `log`, `redis` and `maillog_tap`
 *	sections (log_file, checkpoint, rules_file, exim, from_start,
 *	poll_interval, max_pending); the command line overrides the file
 *	(--checkpoint, --rules, --exim, --from-start, the log path).
 *
 *	Redis down never stops it (no exit 75 here): effects wait in memory
 *	(tap_fx.h) and are retried at every poll; the checkpoint is saved only
 *	after the effects of every line before it reached Redis, so a crash
 *	during an outage re-reads those lines instead of losing their
 *	effects.  With max_pending effects waiting the log is not read further
 *	until Redis takes them.  SIGINT/SIGTERM: last drain, checkpoint,
 *	summary line, exit 0.
 *
 * USERS
 *	maillog_tap_main.c.
 *
 * OWNERSHIP
 *	Borrows its options.
 */
#ifndef MAILLOG_TAP_DAEMON_H
#define MAILLOG_TAP_DAEMON_H

#include "config.h"

struct tap_daemon_conf {
    char *log_file;
    char *checkpoint;
    char *rules_file;
    int exim;
    int from_start;
    long long poll_interval; /* milliseconds */
    long long max_pending;
};

extern const struct cfg_option tap_daemon_options[];

struct tap_daemon_opts {
    const char *config;                        /* -c FILE, NULL: the default file */
    const char *checkpoint, *rules, *log_file; /* command line, NULL: the file's */
    int exim, from_start, json, foreground, check, verbose, print_config;
};

/* Returns a PF_EXIT_* status. */
int tap_daemon_run(const struct tap_daemon_opts *o);

#endif
