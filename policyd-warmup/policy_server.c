/*
 * NAME
 *   policy_server.c - policyd-warmup's server: listeners, metrics timer,
 *   reload and signals, life cycle
 *
 * DESCRIPTION
 *   See policy_server.h.  The connections themselves are policy_conn.c,
 *   the counters policy_metrics.c; this file accepts (pausing when out of
 *   descriptors, refusing past max_connections), flushes the counters
 *   every 10 s, swaps the runtime (and the Redis connection when its
 *   settings changed) on SIGHUP, and stops on SIGTERM/SIGINT.
 */
#include "policy_server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "policy_conn.h"
#include "policy_envcheck.h"
#include "policy_metrics.h"
#include "policy_script.h"
#include "redis_async.h"
#include "warmup_job.h"
#include "xalloc.h"

#define MAX_LISTENERS 16
#define ACCEPT_PAUSE  0.1 /* seconds without accept() after EMFILE/ENFILE */

struct policy_server {
    struct policy_conns conns; /* loop, runtime, Redis, scripts, counters, open connections */
    struct warmup_job *job;
    char *config_path;
    int path_explicit;
    int fds[MAX_LISTENERS];
    ev_io lio[MAX_LISTENERS];
    size_t nfds;
    ev_timer accept_pause; /* listeners stopped: out of descriptors */
    ev_timer metrics_timer;
    ev_signal sig_hup, sig_term, sig_int;
    struct policy_conn_gate gate_fds, gate_refused;
};

/* ---- listeners ------------------------------------------------------------ */

static void listeners_set(struct policy_server *s, int on)
{
    for (size_t i = 0; i < s->nfds; i++) {
        if (on)
            ev_io_start(s->conns.loop, &s->lio[i]);
        else
            ev_io_stop(s->conns.loop, &s->lio[i]);
    }
}

static void on_accept_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
    listeners_set(w->data, 1);
}

/*
 * accept() failed for want of descriptors or memory.  The pending connection
 * stays in the backlog, so the listening socket stays readable: retrying at
 * once would spin.  Stop accepting for ACCEPT_PAUSE (clients already
 * connected are served meanwhile) and warn at most once per log_interval.
 */
static void listeners_pause(struct policy_server *s, int err)
{
    unsigned long long n;
    listeners_set(s, 0);
    ev_timer_set(&s->accept_pause, ACCEPT_PAUSE, 0.);
    ev_timer_start(s->conns.loop, &s->accept_pause);
    if (policy_conn_gate_pass(&s->conns, &s->gate_fds, &n))
        log_warning("accept: %s (%zu client connections open); not accepting new ones for %d ms "
                    "(%llu time(s) since the last report)",
                    strerror(err), s->conns.n, (int)(ACCEPT_PAUSE * 1000), n);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    struct policy_server *s = w->data;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof ss;
        int fd = accept4(w->fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                listeners_pause(s, errno);
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                log_warning("accept: %s", strerror(errno));
            return;
        }
        if (s->conns.n >= (size_t)s->conns.rt->files.policy.max_connections) {
            /* Closed at once, so the client (Postfix: its default_policy) need not wait. */
            close(fd);
            unsigned long long n;
            if (policy_conn_gate_pass(&s->conns, &s->gate_refused, &n))
                log_warning("max_connections (%lld) reached; %llu connection(s) refused since the last report",
                            s->conns.rt->files.policy.max_connections, n);
            continue;
        }
        policy_conn_open(&s->conns, fd, &ss, sslen);
    }
}

/* ---- metrics ------------------------------------------------------------ */

static void on_metrics_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct policy_server *s = w->data;
    policy_metrics_flush(&s->conns.m, s->conns.redis, s->conns.rt);
}

/* ---- reload, signals ----------------------------------------------------- */

/* Sockets, privileges and the pid file are set up at start: a reload that changes them says so. */
static void warn_start_only(const struct policy_runtime *old, const struct policy_runtime *new)
{
    const char *changed[8];
    size_t n = policy_runtime_start_only_changes(old, new, changed, sizeof changed / sizeof changed[0]);
    for (size_t i = 0; i < n; i++)
        log_warning("reload: %s changed; it takes effect at the next restart (running value kept)", changed[i]);
}

int policy_server_reload(struct policy_server *s)
{
    char err[640];
    struct policy_runtime *rt = policy_runtime_load(s->config_path, s->path_explicit, err, sizeof err);
    if (rt == NULL) {
        log_error("reload failed, keeping the running configuration: %s", err);
        return -1;
    }
    struct log_conf *lc = &rt->files.log;
    log_configure(lc);
    warn_start_only(s->conns.rt, rt);
    if (rt->files.policy.max_connections != s->conns.rt->files.policy.max_connections)
        envcheck_fd_limit(rt->files.policy.max_connections, s->nfds);
    if (!policy_runtime_redis_same(rt, s->conns.rt)) {
        aredis_free(s->conns.redis); /* in-flight calls get NULL: answered by on_redis_down */
        s->conns.redis = aredis_new(s->conns.loop, &rt->files.redis);
    }
    policy_runtime_unref(s->conns.rt);
    s->conns.rt = rt;
    warmup_job_reset(s->job, s->conns.rt, s->conns.redis);
    if (rt->files.policy.clock_offset != 0)
        log_warning("policy.clock_offset = %lld: the clock is shifted (test setting)", rt->files.policy.clock_offset);
    log_notice("configuration reloaded (%zu pools, %zu rate rules)", rt->model.npools, rt->model.nrules);
    return 0;
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct policy_server *s = w->data;
    if (w->signum == SIGHUP) {
        policy_server_reload(s);
        return;
    }
    log_notice("signal %d: stopping", w->signum);
    ev_break(loop, EVBREAK_ALL);
}

/* ---- life cycle ---------------------------------------------------------- */

struct policy_server *policy_server_new(struct ev_loop *loop, struct policy_runtime *rt, const int *fds, size_t nfds,
                                        const char *config_path, int path_explicit)
{
    struct policy_server *s = xcalloc(1, sizeof *s);
    s->conns.loop = loop;
    s->conns.rt = rt;
    s->config_path = config_path ? xstrdup(config_path) : NULL;
    s->path_explicit = path_explicit;
    s->conns.script.body = policy_script_lua;
    redis_script_init(&s->conns.script);
    s->conns.script_rcpt.body = policy_rcpt_lua;
    redis_script_init(&s->conns.script_rcpt);
    s->conns.redis = aredis_new(loop, &rt->files.redis);
    s->conns.m.started = (long long)time(NULL);
    for (size_t i = 0; i < nfds && i < MAX_LISTENERS; i++) {
        s->fds[i] = fds[i];
        ev_io_init(&s->lio[i], on_accept, fds[i], EV_READ);
        s->lio[i].data = s;
        ev_io_start(loop, &s->lio[i]);
        s->nfds++;
    }
    ev_init(&s->accept_pause, on_accept_resume);
    s->accept_pause.data = s;
    policy_conn_gate_init(&s->conns.gate_down);
    policy_conn_gate_init(&s->conns.gate_script);
    policy_conn_gate_init(&s->gate_fds);
    policy_conn_gate_init(&s->gate_refused);
    ev_timer_init(&s->metrics_timer, on_metrics_timer, 10., 10.);
    s->metrics_timer.data = s;
    ev_timer_start(loop, &s->metrics_timer);
    ev_signal_init(&s->sig_hup, on_signal, SIGHUP);
    ev_signal_init(&s->sig_term, on_signal, SIGTERM);
    ev_signal_init(&s->sig_int, on_signal, SIGINT);
    s->sig_hup.data = s->sig_term.data = s->sig_int.data = s;
    ev_signal_start(loop, &s->sig_hup);
    ev_signal_start(loop, &s->sig_term);
    ev_signal_start(loop, &s->sig_int);
    s->job = warmup_job_new(loop, s->conns.rt, s->conns.redis);
    if (rt->files.policy.clock_offset != 0)
        log_warning("policy.clock_offset = %lld: the clock is shifted (test setting)", rt->files.policy.clock_offset);
    return s;
}

int policy_server_run(struct policy_server *s)
{
    ev_run(s->conns.loop, 0);
    return 0;
}

void policy_server_free(struct policy_server *s)
{
    for (size_t i = 0; i < s->nfds; i++) {
        ev_io_stop(s->conns.loop, &s->lio[i]);
        close(s->fds[i]);
    }
    ev_timer_stop(s->conns.loop, &s->accept_pause);
    /* Redis first: in-flight calls are answered (NULL) while conns and the job still exist. */
    aredis_free(s->conns.redis);
    s->conns.redis = NULL;
    warmup_job_free(s->job);
    policy_conn_close_all(&s->conns);
    ev_timer_stop(s->conns.loop, &s->metrics_timer);
    ev_signal_stop(s->conns.loop, &s->sig_hup);
    ev_signal_stop(s->conns.loop, &s->sig_term);
    ev_signal_stop(s->conns.loop, &s->sig_int);
    policy_runtime_unref(s->conns.rt);
    free(s->config_path);
    free(s);
}
