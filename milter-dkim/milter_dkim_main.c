/*
 * NAME
 *   milter-dkim - DKIM signing milter (and --sign filter)
 *
 * SYNOPSIS
 *   milter-dkim [-c FILE] [-f] [-n] [-p SOCKET] [-d DOMAIN[,DOMAIN...] -s SELECTOR -k KEYFILE]
 *   milter-dkim --sign [-c FILE] [-q QUEUEID] [-d ... -s ... -k ...] < message > signed
 *   milter-dkim --print-config | --version | --help
 *
 * DESCRIPTION
 *   This file only wires: arguments, configuration, keys, privileges, the
 *   libmilter thread, and the signal loop.  See man/milter-dkim.8.
 *
 *   Signals: libmilter's own signal thread treats SIGHUP like SIGTERM
 *   (stop).  To make SIGHUP a reload, the main (initial) thread blocks
 *   HUP/TERM/INT before any thread exists and then does nothing but wait
 *   for them; Linux delivers a process signal to the initial thread first
 *   when it is waiting for it, so libmilter's thread never sees them.
 *   Reloads run in a worker thread (milter_reload.c) so the main thread is
 *   back waiting at once.
 *
 * EXIT STATUS
 *   0 on success (and after SIGTERM), 64 usage error, 78 configuration
 *   error (bad file; with -n also an unusable key: at start such a key is
 *   logged and its mail gets on_error), 75 from --sign on a temporary
 *   fault, 1 when the daemon cannot start (socket in use, libmilter).
 *
 * SECURITY
 *   Keys are loaded before privileges are dropped to `user`; a reload
 *   re-reads the file and the keys as that user, so they must be readable
 *   by it (a refused reload says so).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <libmilter/mfapi.h>

#include "daemon.h"
#include "exitcodes.h"
#include "log.h"
#include "mdkim_config.h"
#include "mdkim_snap.h"
#include "milter_cb.h"
#include "milter_reload.h"
#include "milter_sock.h"
#include "sign_stdin.h"
#include "startup.h"

static const char *prog = "milter-dkim";

struct options {
    struct milter_reload_source src; /* -c, -d -s -k: what the start and every reload read */
    const char *socket, *qid;
    int foreground, check, sign, print_config;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-c FILE] [-f] [-n] [-p SOCKET] [-d DOMAIN[,DOMAIN...] -s SELECTOR -k KEYFILE]\n"
            "       %s --sign [-c FILE] [-q QUEUEID] [-d DOMAIN -s SELECTOR -k KEYFILE] < in > out\n"
            "       %s --print-config [-c FILE] | --version | --help\n"
            "  -c FILE     configuration file (default %s)\n"
            "  -f          foreground, log to stderr\n"
            "  -n          check the configuration and keys, then exit (0 or 78)\n"
            "  -p SOCKET   listen on unix:PATH or inet:PORT@HOST (overrides milter_dkim.socket)\n"
            "  -d -s -k    sign mail From DOMAIN(s) with SELECTOR and KEYFILE (without -c: the\n"
            "              whole configuration, the default file is not read)\n"
            "  --sign      read a message on stdin, write it signed to stdout\n"
            "  -q QUEUEID  queue id for logs and the trace header (--sign)\n",
            prog, prog, prog, cfg_default_path());
}

static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        { "sign", no_argument, NULL, 'S' },
        { "print-config", no_argument, NULL, 'P' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    memset(o, 0, sizeof *o);
    while ((ch = getopt_long(argc, argv, "c:fnp:d:s:k:q:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': o->src.config = optarg; break;
        case 'f': o->foreground = 1; break;
        case 'n': o->check = 1; break;
        case 'p': o->socket = optarg; break;
        case 'd': o->src.domains = optarg; break;
        case 's': o->src.selector = optarg; break;
        case 'k': o->src.keyfile = optarg; break;
        case 'q': o->qid = optarg; break;
        case 'S': o->sign = 1; break;
        case 'P': o->print_config = 1; break;
        case 'V': startup_print_version(prog); exit(PF_EXIT_OK);
        case 'h': usage(stdout); exit(PF_EXIT_OK);
        default: usage(stderr); return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        return -1;
    }
    int given = (o->src.domains != NULL) + (o->src.selector != NULL) + (o->src.keyfile != NULL);
    if (given != 0 && given != 3) {
        fprintf(stderr, "%s: -d, -s and -k go together\n", prog);
        return -1;
    }
    return 0;
}

/* Everything loaded from the file plus the command-line key. */
struct loaded {
    struct log_conf log;
    struct trace_conf trace;
    struct mdkim_conf conf;
    struct cfg_section sections[MDKIM_NSECTIONS];
};

/*
 * -d/-s/-k without -c: the command line is the whole configuration, as in
 * OpenDKIM's one-key mode.  The default file is not read (`make install`
 * puts a sample there whose example keys and rules would clash with -d),
 * neither at start, nor by -n, --sign, --print-config or a reload.
 */
static int cmdline_only(const struct options *o)
{
    return milter_reload_cmdline_only(&o->src);
}

static int load_config(const struct options *o, struct loaded *l)
{
    char err[512];
    mdkim_config_sections(l->sections, &l->log, &l->trace, &l->conf);
    int rc = cmdline_only(o) ? startup_load_defaults(prog, l->sections, MDKIM_NSECTIONS)
                             : startup_load_config(prog, o->src.config, l->sections, MDKIM_NSECTIONS);
    if (rc != PF_EXIT_OK) {
        cfg_free(l->sections, MDKIM_NSECTIONS);
        return rc;
    }
    if (o->src.domains != NULL &&
        mdkim_config_add_cmdline(&l->conf, o->src.domains, o->src.selector, o->src.keyfile, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        cfg_free(l->sections, MDKIM_NSECTIONS);
        return PF_EXIT_USAGE;
    }
    return PF_EXIT_OK;
}

static int build_snapshot(const struct loaded *l, unsigned flags, struct mdkim_snap **snap)
{
    char err[512];
    if (mdkim_snap_build(&l->conf, &l->trace, flags, snap, err, sizeof err) != 0) {
        log_startup_error(prog, "%s", err);
        return PF_EXIT_CONFIG;
    }
    return PF_EXIT_OK;
}

/* Set once privileges are dropped (before any thread): reloads read the files as this user. */
static char g_run_user[80];

static atomic_int milter_ended;   /* smfi_main() returned */
static atomic_int stop_requested; /* the main thread is stopping libmilter */

static void *milter_main(void *arg)
{
    int *rc = arg;
    *rc = smfi_main();
    atomic_store(&milter_ended, 1);
    /* libmilter stopped by itself (fatal error): wake the main thread. */
    if (!atomic_load(&stop_requested))
        kill(getpid(), SIGTERM);
    return NULL;
}

static void *stop_libmilter(void *arg)
{
    (void)arg;
    smfi_stop();
    return NULL;
}

/* The unix socket gets the configured mode, and the run-as user and group, so the MTA can connect. */
static void unix_socket_owner(const char *path, const struct mdkim_conf *conf)
{
    if (chmod(path, (mode_t)conf->unix_mode) != 0)
        log_warning("chmod %s: %s", path, strerror(errno));
    if (conf->user == NULL || *conf->user == '\0' || geteuid() != 0)
        return;
    struct passwd *pw = getpwnam(conf->user);
    struct group *gr = conf->group && *conf->group ? getgrnam(conf->group) : NULL;
    if (pw != NULL && chown(path, pw->pw_uid, gr ? gr->gr_gid : pw->pw_gid) != 0)
        log_warning("chown %s: %s", path, strerror(errno));
}

/* Registers with libmilter and opens the listening socket (as root: before the privilege drop). */
static int open_listener(const struct options *o, const struct loaded *l, char *spec, size_t specsize)
{
    char err[256];
    const char *socket = o->socket ? o->socket : l->conf.socket;

    if (milter_sock_libmilter_spec(socket, spec, specsize, err, sizeof err) != 0) {
        fprintf(stderr, "%s: socket '%s': %s\n", prog, socket, err);
        return PF_EXIT_CONFIG;
    }
    if (milter_cb_register() != 0 || smfi_setconn(spec) != MI_SUCCESS || smfi_setbacklog(256) != MI_SUCCESS ||
        smfi_settimeout(600) != MI_SUCCESS) {
        fprintf(stderr, "%s: libmilter refused the setup for %s\n", prog, spec);
        return PF_EXIT_FAILURE;
    }
    if (smfi_opensocket(1) != MI_SUCCESS) {
        log_startup_error(prog, "cannot listen on %s", spec);
        return PF_EXIT_FAILURE;
    }
    if (strncmp(spec, "unix:", 5) == 0)
        unix_socket_owner(spec + 5, &l->conf);
    else
        log_debug("TCP_NODELAY set on %d listening socket(s)", milter_sock_nodelay_listeners());
    return PF_EXIT_OK;
}

/* Drops privileges, detaches unless -f, writes the pid file. */
static int become_daemon(const struct options *o, const struct loaded *l)
{
    char err[256];
    int was_root = geteuid() == 0;
    if (daemon_drop_privileges(l->conf.user, l->conf.group, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return PF_EXIT_CONFIG;
    }
    if (was_root && l->conf.user != NULL && *l->conf.user != '\0')
        snprintf(g_run_user, sizeof g_run_user, "%s", l->conf.user);
    if (!o->foreground && daemon_detach() != 0) {
        fprintf(stderr, "%s: cannot detach: %s\n", prog, strerror(errno));
        return PF_EXIT_FAILURE;
    }
    if (l->conf.pid_file && *l->conf.pid_file && daemon_write_pidfile(l->conf.pid_file) != 0)
        log_warning("cannot write pid file %s: %s", l->conf.pid_file, strerror(errno));
    return PF_EXIT_OK;
}

/* The main thread's only job once running: wait for signals; SIGHUP hands a reload to the worker. */
static int wait_for_stop(const sigset_t *set)
{
    int sig;
    for (;;) {
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            return sig;
        milter_reload_request();
    }
}

/* smfi_stop() waits for the listener's poll(); connections to our own socket wake it up. */
static void stop_milter(const char *spec)
{
    pthread_t stopper;
    if (pthread_create(&stopper, NULL, stop_libmilter, NULL) != 0) {
        smfi_stop();
        return;
    }
    for (int i = 0; i < 200 && !atomic_load(&milter_ended); i++) {
        milter_sock_poke(spec);
        usleep(20000);
    }
    pthread_join(stopper, NULL);
}

static int run_daemon(struct options *o, struct loaded *l)
{
    char spec[320];
    sigset_t set;
    pthread_t milter_thr;
    int milter_rc = MI_SUCCESS, rc;

    if ((rc = open_listener(o, l, spec, sizeof spec)) != PF_EXIT_OK || (rc = become_daemon(o, l)) != PF_EXIT_OK)
        return rc;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread exists, libmilter's included */
    signal(SIGPIPE, SIG_IGN);
    struct milter_reload_conf rc_conf = {
        .src = o->src,
        .stats_file = l->conf.stats_file && *l->conf.stats_file ? l->conf.stats_file : NULL,
        .stats_interval = l->conf.stats_interval,
        .run_user = g_run_user,
    };
    if (milter_reload_start(&rc_conf) != 0 || pthread_create(&milter_thr, NULL, milter_main, &milter_rc) != 0) {
        log_error("cannot start threads");
        return PF_EXIT_FAILURE;
    }
    log_notice("listening on %s (%s)", spec, POSTFLOW_VERSION);
    int sig = wait_for_stop(&set);
    atomic_store(&stop_requested, 1);
    int by_itself = atomic_load(&milter_ended);
    if (by_itself) {
        log_error("libmilter stopped (status %d)", milter_rc);
    } else {
        log_notice("stopping on signal %d", sig);
        stop_milter(spec);
    }
    pthread_join(milter_thr, NULL);
    milter_reload_stop();
    if (l->conf.pid_file && *l->conf.pid_file)
        unlink(l->conf.pid_file);
    mdkim_snap_install(NULL);
    return by_itself && milter_rc != MI_SUCCESS ? PF_EXIT_FAILURE : PF_EXIT_OK;
}

int main(int argc, char **argv)
{
    struct options o;
    struct loaded l;
    struct mdkim_snap *snap = NULL;
    int rc;

    if (parse_args(argc, argv, &o) != 0)
        return PF_EXIT_USAGE;
    log_open(prog, o.foreground || o.check || o.print_config);
    memset(&l, 0, sizeof l);
    if ((rc = load_config(&o, &l)) != PF_EXIT_OK)
        return rc;
    if (o.print_config) {
        cfg_print(stdout, l.sections, MDKIM_NSECTIONS);
        cfg_free(l.sections, MDKIM_NSECTIONS);
        return PF_EXIT_OK;
    }
    /* -n and reloads refuse a broken key; a start keeps mail flowing (on_error) and logs it. */
    if ((rc = build_snapshot(&l, o.check ? 0 : MDKIM_SNAP_TOLERATE_KEY_ERRORS, &snap)) != PF_EXIT_OK) {
        cfg_free(l.sections, MDKIM_NSECTIONS);
        return rc;
    }
    if (snap->nkeys == 0)
        log_warning("no keys configured: nothing will be signed");
    if (o.check && cmdline_only(&o)) {
        printf("%s: configuration OK (command line -d %s; %s not read)\n", prog, o.src.domains, cfg_default_path());
        rc = PF_EXIT_OK;
    } else if (o.check) {
        rc = startup_check_only(prog, o.src.config, l.sections, MDKIM_NSECTIONS, 0);
    } else if (o.sign) {
        rc = sign_stream(snap, stdin, stdout, o.qid, time(NULL));
    } else {
        mdkim_snap_install(mdkim_snap_ref(snap));
        rc = run_daemon(&o, &l);
    }
    mdkim_snap_release(snap);
    cfg_free(l.sections, MDKIM_NSECTIONS);
    return rc;
}
