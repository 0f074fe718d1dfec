/*
 * NAME
 *   milter_reload.h - milter-dkim's reload and stats worker thread
 *
 * DESCRIPTION
 *   One thread, started once the daemon runs, that does the slow work the
 *   signal-waiting main thread must not: on request (SIGHUP) it re-reads
 *   the configuration and the keys and installs the new snapshot
 *   (mdkim_snap_install), or keeps the old one and logs why; every
 *   stats_interval seconds, and after each reload, it rewrites the stats
 *   file.  A refused reload is logged once, naming the user the files were
 *   read as when privileges were dropped.
 *
 *   What a reload reads is what the start read (struct
 *   milter_reload_source): the file given with -c, or the default file, or
 *   with -d/-s/-k and no -c only the command line
 *   (milter_reload_cmdline_only()).
 *
 * USERS
 *   milter_dkim_main.c (the daemon's wiring).
 *
 * OWNERSHIP
 *   milter_reload_start() copies *conf but not the strings it points to:
 *   they must stay valid until milter_reload_stop() returned.  Nothing is
 *   returned to free.
 */
#ifndef POSTFLOW_MILTER_RELOAD_H
#define POSTFLOW_MILTER_RELOAD_H

#include "config.h"

/* Where the configuration comes from, as given on the command line. */
struct milter_reload_source {
    const char *config;                       /* -c FILE, or NULL: the default file */
    const char *domains, *selector, *keyfile; /* -d -s -k, or all NULL */
};

struct milter_reload_conf {
    struct milter_reload_source src;
    const char *stats_file;   /* NULL: no stats file */
    long long stats_interval; /* seconds between stats writes */
    const char *run_user;     /* user privileges were dropped to, or NULL (for the log) */
};

/*
 * 1 when the command line is the whole configuration (-d/-s/-k without
 * -c): the default file is then read neither at start nor by a reload.
 */
int milter_reload_cmdline_only(const struct milter_reload_source *src);

/* Starts the worker.  Returns 0, or -1 (thread creation failed). */
int milter_reload_start(const struct milter_reload_conf *conf);

/* Asks the worker for a reload.  Takes a mutex, so not for a signal handler: the sigwait loop calls it. */
void milter_reload_request(void);

/* Stops the worker, waits for it, then writes the stats file a last time. */
void milter_reload_stop(void);

#endif
