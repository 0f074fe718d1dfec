/*
 * NAME
 *   policyd-warmup - Postfix/Exim policy daemon: suppression, rate limits
 *   and IP warm-up shared in Redis.
 *
 * SYNOPSIS
 *   policyd-warmup [-c FILE] [-f] [-n] [-p SOCKET]... [--print-config]
 *   policyd-warmup --version | --help
 *
 * DESCRIPTION
 *   This file only wires things together: command line, configuration,
 *   sockets (a TCP one on a non-loopback address is warned about),
 *   privileges, the descriptor limit (raised for max_connections:
 *   policy_envcheck.c), background, then the event loop (policy_server.c).
 *   See man/policyd-warmup.8 and docs/policyd-warmup.md.
 *
 * EXIT STATUS
 *   0 normal stop or -n OK; 64 usage; 78 configuration error; 1 when a
 *   socket cannot be opened or the daemon cannot start.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ev.h>

#include "daemon.h"
#include "exitcodes.h"
#include "log.h"
#include "policy_envcheck.h"
#include "policy_runtime.h"
#include "policy_server.h"
#include "startup.h"

#define PROG        "policyd-warmup"
#define MAX_SOCKETS 16

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROG " [-c FILE] [-f] [-n] [-p SOCKET]... [--print-config]\n"
            "  -c FILE         configuration (default %s)\n"
            "  -f              stay in the foreground, log to stderr\n"
            "  -n              check the configuration and exit (0 OK, 78 error)\n"
            "  -p SOCKET       listen here instead of policy.listen (inet:HOST:PORT, inet:PORT@HOST,\n"
            "                  unix:/path); may be repeated\n"
            "  --print-config  print the effective configuration and exit\n"
            "  --version       print the version\n",
            cfg_default_path());
}

struct options {
    const char *config;
    int foreground, check, print;
    const char *sockets[MAX_SOCKETS];
    size_t nsockets;
};

static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { "print-config", no_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    memset(o, 0, sizeof *o);
    while ((ch = getopt_long(argc, argv, "c:fnp:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': o->config = optarg; break;
        case 'f': o->foreground = 1; break;
        case 'n': o->check = 1; break;
        case 'P': o->print = 1; break;
        case 'p':
            if (o->nsockets >= MAX_SOCKETS) {
                fprintf(stderr, PROG ": at most %d -p options\n", MAX_SOCKETS);
                return PF_EXIT_USAGE;
            }
            o->sockets[o->nsockets++] = optarg;
            break;
        case 'h': usage(stdout); exit(PF_EXIT_OK);
        case 'V': startup_print_version(PROG); exit(PF_EXIT_OK);
        default: usage(stderr); return PF_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
        return PF_EXIT_USAGE;
    }
    return PF_EXIT_OK;
}

static int open_sockets(const struct policy_runtime *rt, const struct options *o, int *fds, size_t *nfds)
{
    const struct cfg_strlist *l = &rt->files.policy.listen;
    size_t n = o->nsockets ? o->nsockets : l->count;
    char err[256];
    *nfds = 0;
    for (size_t i = 0; i < n && i < MAX_SOCKETS; i++) {
        const char *spec = o->nsockets ? o->sockets[i] : l->items[i];
        int fd = daemon_listen_open(spec, 1024, (int)rt->files.policy.socket_mode, err, sizeof err);
        if (fd < 0) {
            log_startup_error(PROG, "cannot listen on %s: %s", spec, err);
            return -1;
        }
        fds[(*nfds)++] = fd;
        log_notice("listening on %s", spec);
        envcheck_listener(fd, spec);
    }
    return 0;
}

static void close_all(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

int main(int argc, char **argv)
{
    struct options o;
    char err[640];
    int fds[MAX_SOCKETS];
    size_t nfds = 0;
    int rc = parse_args(argc, argv, &o);
    if (rc != PF_EXIT_OK)
        return rc;
    log_open(PROG, o.foreground || o.check || o.print);
    struct policy_runtime *rt = policy_runtime_load(o.config, o.config != NULL, err, sizeof err);
    if (rt == NULL) {
        log_startup_error(PROG, "%s", err);
        return PF_EXIT_CONFIG;
    }
    if (log_configure(&rt->files.log) < 0) {
        fprintf(stderr, PROG ": bad log section\n");
        policy_runtime_unref(rt);
        return PF_EXIT_CONFIG;
    }
    if (o.check || o.print) {
        if (o.print)
            cfg_print(stdout, rt->sections, rt->nsections);
        if (o.check)
            startup_check_only(PROG, o.config, rt->sections, rt->nsections, 0);
        policy_runtime_unref(rt);
        return PF_EXIT_OK;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Clients can connect as soon as the sockets listen, before the loop watches SIGHUP; a HUP in
     * that window (logrotate, configuration management) must neither kill the daemon (the default
     * action) nor be lost: it is held blocked until the loop's watcher exists, then delivered. */
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    sigprocmask(SIG_BLOCK, &hup, NULL);
    if (open_sockets(rt, &o, fds, &nfds) < 0) { /* the error is already reported */
        close_all(fds, nfds);
        policy_runtime_unref(rt);
        return PF_EXIT_FAILURE;
    }
    if (daemon_drop_privileges(rt->files.policy.user, rt->files.policy.group, err, sizeof err) < 0) {
        log_startup_error(PROG, "%s", err);
        close_all(fds, nfds);
        policy_runtime_unref(rt);
        return PF_EXIT_FAILURE;
    }
    envcheck_fd_limit(rt->files.policy.max_connections, nfds);
    if (!o.foreground && daemon_detach() < 0) {
        fprintf(stderr, PROG ": cannot detach\n");
        return PF_EXIT_FAILURE;
    }
    if (rt->files.policy.pid_file != NULL && rt->files.policy.pid_file[0] != '\0' &&
        daemon_write_pidfile(rt->files.policy.pid_file) < 0)
        log_warning("cannot write pid file %s", rt->files.policy.pid_file);
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    struct policy_server *s = policy_server_new(loop, rt, fds, nfds, o.config, o.config != NULL);
    sigprocmask(SIG_UNBLOCK, &hup, NULL); /* a HUP received meanwhile reloads now */
    log_notice("started (postflow %s), %zu pool(s), %zu rate rule(s)", POSTFLOW_VERSION, rt->model.npools,
               rt->model.nrules);
    rc = policy_server_run(s);
    policy_server_free(s);
    ev_loop_destroy(loop);
    log_notice("stopped");
    return rc;
}
