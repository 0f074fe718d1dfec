/*
 * NAME
 *   milter_reload.c - milter-dkim's reload and stats worker (see milter_reload.h)
 *
 * DESCRIPTION
 *   The worker sleeps on a condition variable until a reload is requested,
 *   the stats interval passes or it is told to stop.  A reload builds a
 *   whole new snapshot beside the running one; the milter threads keep
 *   signing with the old snapshot until mdkim_snap_install() swaps it, so a
 *   bad file or key never leaves them without one.
 */
#include "milter_reload.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mdkim_config.h"
#include "mdkim_snap.h"
#include "mdkim_stats.h"

static pthread_mutex_t work_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cond = PTHREAD_COND_INITIALIZER;
static int reload_pending, stopping;
static struct milter_reload_conf g_conf;
static pthread_t worker_thr;

int milter_reload_cmdline_only(const struct milter_reload_source *src)
{
    return src->config == NULL && src->domains != NULL;
}

/* Defaults, then the file unless cmdline only; never prints.  Returns 0 or -1 with err. */
static int read_file(const struct milter_reload_source *src, const struct cfg_section *sections, struct cfg_error *err)
{
    if (milter_reload_cmdline_only(src))
        return cfg_defaults(sections, MDKIM_NSECTIONS, err);
    return cfg_load_defaults_and_file(src->config, src->config != NULL, sections, MDKIM_NSECTIONS, err);
}

static void reload_refused(const char *why)
{
    if (g_conf.run_user != NULL && g_conf.run_user[0] != '\0')
        log_error("reload refused, old configuration kept: %s (reloads read files as user %s)", why, g_conf.run_user);
    else
        log_error("reload refused, old configuration kept: %s", why);
}

struct loaded {
    struct log_conf log;
    struct trace_conf trace;
    struct mdkim_conf conf;
    struct cfg_section sections[MDKIM_NSECTIONS];
};

static void reload_now(void)
{
    const struct milter_reload_source *src = &g_conf.src;
    struct loaded l;
    struct mdkim_snap *snap;
    char err[512];
    memset(&l, 0, sizeof l);
    mdkim_config_sections(l.sections, &l.log, &l.trace, &l.conf);
    struct cfg_error cerr;
    int ok = read_file(src, l.sections, &cerr) == 0;
    if (!ok) {
        reload_refused(cerr.text);
    } else if (src->domains != NULL &&
               mdkim_config_add_cmdline(&l.conf, src->domains, src->selector, src->keyfile, err, sizeof err) != 0) {
        ok = 0;
        reload_refused(err);
    } else if (mdkim_snap_build(&l.conf, &l.trace, 0, &snap, err, sizeof err) != 0) {
        ok = 0;
        reload_refused(err);
    } else {
        log_configure(&l.log);
        mdkim_snap_install(snap);
        log_notice("configuration reloaded (%zu keys, %zu signing rules)", snap->nkeys, snap->nrules);
    }
    mdkim_stats_reload(ok);
    cfg_free(l.sections, MDKIM_NSECTIONS);
}

static void write_stats(void)
{
    if (g_conf.stats_file != NULL && mdkim_stats_write(g_conf.stats_file) != 0)
        log_warning("cannot write stats file %s: %s", g_conf.stats_file, strerror(errno));
}

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&work_lock);
    while (!stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += g_conf.stats_interval;
        while (!reload_pending && !stopping)
            if (pthread_cond_timedwait(&work_cond, &work_lock, &until) == ETIMEDOUT)
                break;
        int do_reload = reload_pending;
        reload_pending = 0;
        pthread_mutex_unlock(&work_lock);
        if (do_reload)
            reload_now();
        write_stats();
        pthread_mutex_lock(&work_lock);
    }
    pthread_mutex_unlock(&work_lock);
    return NULL;
}

int milter_reload_start(const struct milter_reload_conf *conf)
{
    g_conf = *conf;
    return pthread_create(&worker_thr, NULL, worker_main, NULL) == 0 ? 0 : -1;
}

void milter_reload_request(void)
{
    pthread_mutex_lock(&work_lock);
    reload_pending = 1;
    pthread_cond_signal(&work_cond);
    pthread_mutex_unlock(&work_lock);
}

void milter_reload_stop(void)
{
    pthread_mutex_lock(&work_lock);
    stopping = 1;
    pthread_cond_signal(&work_cond);
    pthread_mutex_unlock(&work_lock);
    pthread_join(worker_thr, NULL);
    if (g_conf.stats_file != NULL)
        mdkim_stats_write(g_conf.stats_file);
}
