/*
 * NAME
 *   policy_server.c - listeners, connections and request dispatch.
 *
 * DESCRIPTION
 *   See policy_server.h.  Connection life cycle:
 *     readable -> bytes appended (bounded by max_request) -> policy_parse()
 *     -> a complete request is planned; an immediate answer is written at
 *     once, a script call is sent and reading pauses until its reply
 *     (backpressure: a client cannot queue unbounded work) -> the answer is
 *     written, the request's bytes consumed, and the next pipelined request,
 *     if any, handled.
 *   EOF (Exim's half-close) lets the pending request finish, then the
 *   connection closes after its answer.  A malformed request is logged and
 *   the connection closed without an answer (SMTPD_POLICY_README).  If the
 *   client goes away while its script call is in flight, the connection is
 *   marked dead and freed when the reply arrives.
 *
 * DIAGNOSTICS
 *   Redis outages are logged at most once per policy.log_interval with the
 *   number of requests answered fail-open / fail-closed meanwhile.
 */
#include "policy_server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "policy_envcheck.h"
#include "policy_proto.h"
#include "policy_script.h"
#include "redis_async.h"
#include "warmup_job.h"
#include "xalloc.h"

#define MAX_LISTENERS 16
#define READ_CHUNK 4096
#define ACCEPT_PAUSE 0.1     /* seconds without accept() after EMFILE/ENFILE */

struct pconn;

/*
 * A repeated warning logged at most once per policy.log_interval, with the
 * number of events since the previous line (Redis down, script errors, out of
 * descriptors, max_connections): a flood of events is one line a minute.
 */
struct log_gate {
    ev_tstamp          last;     /* when a line was last logged; -1e9: never */
    unsigned long long held;     /* events since then */
};

struct policy_server {
    struct ev_loop        *loop;
    struct policy_runtime *rt;
    struct aredis         *redis;
    struct aredis_script   script;       /* END-OF-MESSAGE */
    struct aredis_script   script_rcpt;  /* RCPT */
    struct warmup_job     *job;
    char                  *config_path;
    int                    path_explicit;
    int                    fds[MAX_LISTENERS];
    ev_io                  lio[MAX_LISTENERS];
    size_t                 nfds;
    ev_timer               accept_pause;  /* listeners stopped: out of descriptors */
    struct pconn          *conns;        /* doubly linked */
    size_t                 nconns;
    struct policy_metrics  m;
    ev_timer               metrics_timer;
    ev_signal              sig_hup, sig_term, sig_int;
    struct log_gate        gate_down, gate_script, gate_fds, gate_refused;
};

struct pconn {
    struct policy_server  *srv;
    struct pconn          *prev, *next;
    int                    fd;
    char                   peer[64];     /* "192.0.2.1:4711", "[2001:db8::1]:4711" or "unix", for logs */
    ev_io                  rio, wio;
    ev_timer               idle;         /* fires idle_timeout after the last activity (see on_idle) */
    ev_tstamp              last_active, idle_timeout;
    char                  *buf;
    size_t                 len, cap;
    size_t                 resume;
    int                    eof, busy, dead;
    int                    in_process, again;  /* conn_process() running / asked to run again */
    struct msg_state       ms;
    /* the request in flight */
    struct policy_request  req;
    struct policy_runtime *rt;
    struct plan_env        env;
    struct plan            plan;
    int                    retried;
    /* the answer being written */
    char                   out[PLAN_ACTION_MAX + 16];
    size_t                 outlen, outoff;
};

static void conn_process(struct pconn *c);
static void conn_send(struct pconn *c);

/* ---- connection bookkeeping ------------------------------------------- */

static void conn_free(struct pconn *c)
{
    struct policy_server *s = c->srv;
    policy_plan_free(&c->plan);
    if (c->rt != NULL)
        policy_runtime_unref(c->rt);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    free(c->buf);
    free(c);
}

/* Stops I/O and closes the socket; frees now unless a script call is in flight. */
static void conn_close(struct pconn *c)
{
    struct policy_server *s = c->srv;
    ev_io_stop(s->loop, &c->rio);
    ev_io_stop(s->loop, &c->wio);
    ev_timer_stop(s->loop, &c->idle);
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (c->busy)
        c->dead = 1;
    else if (!c->in_process)
        conn_free(c);
    /* else conn_process() frees it when it unwinds */
}

/* Notes activity; the idle timer is not moved here (a heap update per request) but in on_idle. */
static void conn_touch(struct pconn *c)
{
    c->last_active = ev_now(c->srv->loop);
}

/* ---- answers ----------------------------------------------------------- */

static void request_done(struct pconn *c)
{
    if (c->rt != NULL) {       /* the plan's memory stays for the next request */
        policy_runtime_unref(c->rt);
        c->rt = NULL;
    }
    /* Consume the request's bytes; the next one starts at offset 0. */
    memmove(c->buf, c->buf + c->req.size, c->len - c->req.size);
    c->len -= c->req.size;
    c->resume = 0;
    memset(&c->req, 0, sizeof c->req);
}

static void conn_answer(struct pconn *c, const char *action)
{
    int n = snprintf(c->out, sizeof c->out, "action=%s\n\n", action);
    c->outlen = n < 0 ? 0 : ((size_t)n < sizeof c->out ? (size_t)n : sizeof c->out - 1);
    c->outoff = 0;
    request_done(c);
    conn_send(c);
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    conn_send(w->data);
}

static void conn_send(struct pconn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* The client does not read its answers: stop reading its requests too, or a
             * full input buffer would keep the socket readable and the loop spinning. */
            ev_io_stop(c->srv->loop, &c->rio);
            ev_io_start(c->srv->loop, &c->wio);
            return;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->outoff += (size_t)n;
    }
    ev_io_stop(c->srv->loop, &c->wio);
    c->outlen = c->outoff = 0;
    conn_touch(c);
    conn_process(c);
}

/* ---- outcomes, metrics, logs ------------------------------------------ */

/* A request attribute made printable and capped, for a log line (out: LOG_PRINTABLE_MAX bytes). */
static const char *attr_printable(char *out, size_t n, const struct pconn *c, enum policy_attr a)
{
    const struct policy_view *v = &c->req.attr[a];
    log_printable(out, n, v->ptr ? v->ptr : "", v->ptr ? v->len : 0);
    return out;
}

/*
 * One line per answered request, queue id first (NOQUEUE before Postfix has
 * one), then the state as sent, the envelope, the client and the instance
 * that ties the RCPTs of one message together, then the answer.
 */
static void log_outcome(struct pconn *c)
{
    const struct plan *p = &c->plan;
    char qid[64], state[40], rb[LOG_PRINTABLE_MAX], sb[LOG_PRINTABLE_MAX], cl[64], inst[PLAN_INSTANCE_MAX];
    enum log_level lvl = (p->outcome == OUT_DUNNO || p->outcome == OUT_STEERED) ? LOG_LVL_DEBUG : LOG_LVL_INFO;
    if (p->outcome == OUT_STEERED && !p->is_rcpt)
        lvl = LOG_LVL_INFO;
    /* The log module filters levels, but preparing six printable fields per request is the costly
     * part (about 10% of the daemon's CPU at 35k requests/s): skip it for lines nobody sees. */
    if (!log_enabled(lvl))
        return;
    attr_printable(qid, sizeof qid, c, PA_QUEUE_ID);
    attr_printable(state, sizeof state, c, PA_PROTOCOL_STATE);
    attr_printable(rb, sizeof rb, c, PA_RECIPIENT);
    attr_printable(sb, sizeof sb, c, PA_SENDER);
    attr_printable(cl, sizeof cl, c, PA_CLIENT_ADDRESS);
    attr_printable(inst, sizeof inst, c, PA_INSTANCE);
    log_qid(lvl, qid[0] ? qid : NULL, "%s from=<%s> to=<%s> client=%s instance=%s: %s", state[0] ? state : "-",
            sb, rb, cl[0] ? cl : "-", inst[0] ? inst : "-", p->action);
}

static void count_outcome(struct policy_server *s, const struct plan *p)
{
    switch (p->outcome) {
    case OUT_SUPPRESSED: s->m.suppressed++; break;
    case OUT_RATE_LIMITED: s->m.rate_limited++; break;
    case OUT_STEERED: s->m.warmup_steered++; break;
    case OUT_NO_BUDGET: s->m.warmup_no_budget++; break;
    case OUT_UNAVAILABLE:
    case OUT_BAD_REPLY:
        if (p->any_closed)
            s->m.redis_down_closed++;
        else
            s->m.redis_down_open++;
        break;
    default: break;
    }
}

/*
 * Counts one event; returns 1 when it is to be logged now, with *count = the
 * events since the last line (this one included), else 0.
 */
static int gate_pass(struct policy_server *s, struct log_gate *g, unsigned long long *count)
{
    ev_tstamp now = ev_now(s->loop);
    g->held++;
    if (now - g->last < (double)s->rt->files.policy.log_interval)
        return 0;
    *count = g->held;
    g->held = 0;
    g->last = now;
    return 1;
}

static void gate_init(struct log_gate *g)
{
    g->last = -1e9;
    g->held = 0;
}

/* Rate-limited warning for an outage. */
static void note_unavailable(struct policy_server *s, const char *why)
{
    unsigned long long n;
    if (gate_pass(s, &s->gate_down, &n))
        log_warning("redis unavailable (%s): %llu request(s) answered by the on_redis_down rules "
                    "since the last report", why, n);
}

/* Rate-limited error for a script call Redis answered with an error (OOM, a bug) or garbage. */
static void note_script_error(struct policy_server *s, const char *what, const char *text, size_t len)
{
    char shown[LOG_PRINTABLE_MAX];
    unsigned long long n;
    s->m.redis_errors++;
    if (!gate_pass(s, &s->gate_script, &n))
        return;
    log_printable(shown, sizeof shown, text, len);
    log_error("redis: %s: %s (%llu request(s) answered by the on_redis_down rules since the last report)",
              what, shown, n);
}

static void conn_finish_plan(struct pconn *c)
{
    struct plan *p = &c->plan;
    count_outcome(c->srv, p);
    if (p->is_rcpt) {
        if (p->outcome != OUT_SUPPRESSED && p->outcome != OUT_RATE_LIMITED &&
            !(p->outcome == OUT_UNAVAILABLE && p->any_closed))
            policy_plan_commit_rcpt(p, &c->ms);
    } else {
        policy_plan_msg_reset(&c->ms);
    }
    log_outcome(c);
    char action[PLAN_ACTION_MAX];
    snprintf(action, sizeof action, "%s", p->action);
    conn_answer(c, action);
}

/* ---- the script call --------------------------------------------------- */

static int conn_send_script(struct pconn *c);

static void on_script_reply(void *priv, const redisReply *reply)
{
    struct pconn *c = priv;
    struct policy_server *s = c->srv;
    c->busy = 0;
    if (c->dead) {
        conn_free(c);
        return;
    }
    if (reply == NULL) {
        note_unavailable(s, aredis_last_error(s->redis)[0] ? aredis_last_error(s->redis) : "no reply");
        policy_plan_unavailable(&c->plan);
    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements > 4096) {
        if (reply->type == REDIS_REPLY_ERROR)
            note_script_error(s, "policy script failed", reply->str, reply->len);
        else
            note_script_error(s, "policy script failed", "unexpected reply type", 21);
        policy_plan_unavailable(&c->plan);
    } else {
        const char *items[4096];
        size_t lens[4096], n = 0;
        for (size_t i = 0; i < reply->elements; i++) {
            const redisReply *e = reply->element[i];
            if (e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_STATUS)
                break;
            items[n] = e->str;
            lens[n++] = e->len;
        }
        int rc = policy_plan_answer(&c->env, &c->plan, items, lens, n, &c->rt->cache);
        if (rc == 1 && !c->retried) {
            /* Stale stage cache (an operator changed a stage): plan once more with fresh states. */
            c->retried = 1;
            if (policy_plan_build(&c->env, &c->req, &c->ms, &c->rt->cache, &c->plan) == 0 &&
                c->plan.kind == PLAN_SCRIPT && conn_send_script(c) == 0)
                return;
            policy_plan_unavailable(&c->plan);
        } else if (rc != 0) {
            note_script_error(s, "policy script reply does not follow its contract", n ? items[0] : "empty",
                              n ? lens[0] : 5);
            if (rc == 1)
                policy_plan_unavailable(&c->plan);
        }
    }
    conn_finish_plan(c);   /* c may be freed from here on */
}

static int conn_send_script(struct pconn *c)
{
    struct plan *p = &c->plan;
    if (aredis_eval(c->srv->redis, p->is_rcpt ? &c->srv->script_rcpt : &c->srv->script, p->nkeys, p->keys, p->keylens, p->nargs, p->args, p->arglens,
                    on_script_reply, c) < 0)
        return -1;
    c->busy = 1;
    /* Reading goes on (a pipelining client's next request waits in the buffer, which is bounded:
     * on_readable stops reading when it is full): stopping and restarting the watcher for each
     * request cost an epoll_ctl call each time. */
    return 0;
}

static void conn_handle(struct pconn *c)
{
    struct policy_server *s = c->srv;
    s->m.requests++;
    c->rt = policy_runtime_ref(s->rt);
    c->env = c->rt->env;
    c->env.now = policy_runtime_now(c->rt, (long long)time(NULL));
    c->retried = 0;
    if (policy_view_ieq(&c->req.attr[PA_PROTOCOL_STATE], "RCPT"))
        s->m.requests_rcpt++;
    else if (policy_view_ieq(&c->req.attr[PA_PROTOCOL_STATE], "END-OF-MESSAGE"))
        s->m.requests_eom++;
    if (policy_plan_build(&c->env, &c->req, &c->ms, &c->rt->cache, &c->plan) < 0) {
        char state[40];
        log_info("request in state %s without the attributes it needs; answering DUNNO",
                 attr_printable(state, sizeof state, c, PA_PROTOCOL_STATE));
        c->plan.kind = PLAN_ANSWER;
        c->plan.outcome = OUT_DUNNO;
        snprintf(c->plan.action, sizeof c->plan.action, "DUNNO");
        conn_finish_plan(c);
        return;
    }
    if (c->plan.kind == PLAN_ANSWER) {
        conn_finish_plan(c);
        return;
    }
    if (conn_send_script(c) < 0) {
        note_unavailable(s, aredis_last_error(s->redis)[0] ? aredis_last_error(s->redis) : "not connected");
        policy_plan_unavailable(&c->plan);
        conn_finish_plan(c);
    }
}

/* Looks at the buffer once: handles one complete request, waits for more, or closes. */
static void conn_process_one(struct pconn *c)
{
    struct policy_server *s = c->srv;
    struct policy_limits lim;
    if (c->busy || c->outlen > 0 || c->fd < 0)
        return;
    lim.max_request = (size_t)s->rt->files.policy.max_request;
    lim.max_attrs = (size_t)s->rt->files.policy.max_attributes;
    lim.max_name = 64;
    lim.max_value = (size_t)s->rt->files.policy.max_value;
    enum policy_parse_status st = policy_parse(c->buf, c->len, c->eof, &lim, &c->resume, &c->req);
    if (st == POLICY_OK) {
        conn_handle(c);     /* may answer at once (re-entering conn_process) or go busy */
        return;
    }
    if (st == POLICY_NEED_MORE) {
        if (c->eof)
            conn_close(c);
        else
            ev_io_start(s->loop, &c->rio);
        return;
    }
    s->m.protocol_errors++;
    log_warning("malformed policy request (%s) from %s; closing the connection", policy_parse_strerror(st),
                c->peer);
    conn_close(c);
}

/*
 * Handles every complete request in the buffer, one at a time.  An answer
 * written at once asks for the next request from inside this call
 * (conn_send -> conn_process): that nested call only sets `again`, so a
 * buffer of thousands of pipelined requests is a loop here, not a recursion
 * as deep as the buffer.  A connection closed meanwhile is freed on the way
 * out (unless a script call still refers to it).
 */
static void conn_process(struct pconn *c)
{
    if (c->in_process) {
        c->again = 1;
        return;
    }
    c->in_process = 1;
    do {
        c->again = 0;
        conn_process_one(c);
    } while (c->again && c->fd >= 0);
    c->in_process = 0;
    if (c->fd < 0 && !c->busy)
        conn_free(c);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct pconn *c = w->data;
    size_t limit = (size_t)c->srv->rt->files.policy.max_request + READ_CHUNK;
    if (c->cap - c->len < READ_CHUNK) {
        size_t ncap = c->cap ? c->cap * 2 : READ_CHUNK * 2;
        if (ncap > limit)
            ncap = limit;
        if (ncap > c->cap) {
            c->buf = xrealloc(c->buf, ncap);
            c->cap = ncap;
        }
    }
    if (c->len == c->cap) {
        if (c->busy || c->outlen > 0) {   /* full of requests that wait for an answer: read later */
            ev_io_stop(loop, &c->rio);
            return;
        }
        conn_process(c);          /* over the limit and still no request: the parser says why */
        return;
    }
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (n == 0) {
        c->eof = 1;
        ev_io_stop(loop, &c->rio);
    }
    c->len += (size_t)n;
    conn_touch(c);
    conn_process(c);
}

static void on_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct pconn *c = w->data;
    ev_tstamp left = c->last_active + c->idle_timeout - ev_now(loop);
    if (left > 0.001) {        /* active since the timer was set: wait for the rest */
        w->repeat = left;
        ev_timer_again(loop, w);
        return;
    }
    log_debug("closing idle connection from %s", c->peer);
    conn_close(c);
}

static void listeners_set(struct policy_server *s, int on)
{
    for (size_t i = 0; i < s->nfds; i++) {
        if (on)
            ev_io_start(s->loop, &s->lio[i]);
        else
            ev_io_stop(s->loop, &s->lio[i]);
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
    ev_timer_start(s->loop, &s->accept_pause);
    if (gate_pass(s, &s->gate_fds, &n))
        log_warning("accept: %s (%zu client connections open); not accepting new ones for %d ms "
                    "(%llu time(s) since the last report)", strerror(err), s->nconns, (int)(ACCEPT_PAUSE * 1000), n);
}

/* The client's address as text, for log lines. */
static void peer_name(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t n)
{
    char a[INET6_ADDRSTRLEN];
    if (len >= sizeof(struct sockaddr_in) && ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
        snprintf(out, n, "%s:%u", a, (unsigned)ntohs(in->sin_port));
    } else if (len >= sizeof(struct sockaddr_in6) && ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
        snprintf(out, n, "[%s]:%u", a, (unsigned)ntohs(in6->sin6_port));
    } else {
        snprintf(out, n, "unix");
    }
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
        if (s->nconns >= (size_t)s->rt->files.policy.max_connections) {
            /* Closed at once, so the client (Postfix: its default_policy) need not wait. */
            close(fd);
            unsigned long long n;
            if (gate_pass(s, &s->gate_refused, &n))
                log_warning("max_connections (%lld) reached; %llu connection(s) refused since the last report",
                            s->rt->files.policy.max_connections, n);
            continue;
        }
        struct pconn *c = xcalloc(1, sizeof *c);
        c->srv = s;
        c->fd = fd;
        peer_name(&ss, sslen, c->peer, sizeof c->peer);
        ev_io_init(&c->rio, on_readable, fd, EV_READ);
        ev_io_init(&c->wio, on_writable, fd, EV_WRITE);
        c->rio.data = c->wio.data = c;
        ev_init(&c->idle, on_idle);
        c->idle_timeout = (double)s->rt->files.policy.idle_timeout;
        c->idle.repeat = c->idle_timeout;
        c->last_active = ev_now(loop);
        c->idle.data = c;
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->nconns++;
        s->m.connections++;
        ev_io_start(loop, &c->rio);
        ev_timer_again(loop, &c->idle);
    }
}

/* ---- metrics ------------------------------------------------------------ */

static void on_metrics_written(void *priv, const redisReply *reply)
{
}

static void metrics_flush(struct policy_server *s)
{
    char key[RKEY_MAX];
    if (!aredis_connected(s->redis) || rkey_metrics(&s->rt->keys, key, s->rt->node) < 0)
        return;
    const struct policy_metrics *m = &s->m;
    char v[14][24];
    const char *names[14] = { "requests", "requests_rcpt", "requests_eom", "connections", "protocol_errors",
                              "suppressed", "rate_limited", "warmup_steered", "warmup_no_budget",
                              "redis_errors", "redis_down_open", "redis_down_closed", "started", "updated" };
    unsigned long long vals[14] = { m->requests, m->requests_rcpt, m->requests_eom, m->connections,
                                    m->protocol_errors, m->suppressed, m->rate_limited, m->warmup_steered,
                                    m->warmup_no_budget, m->redis_errors, m->redis_down_open,
                                    m->redis_down_closed, (unsigned long long)m->started,
                                    (unsigned long long)time(NULL) };
    const char *argv[2 + 28];
    argv[0] = "HSET";
    argv[1] = key;
    for (int i = 0; i < 14; i++) {
        snprintf(v[i], sizeof v[i], "%llu", vals[i]);
        argv[2 + 2 * i] = names[i];
        argv[3 + 2 * i] = v[i];
    }
    aredis_command(s->redis, on_metrics_written, s, 30, argv, NULL);
    const char *exp[3] = { "EXPIRE", key, "86400" };
    aredis_command(s->redis, on_metrics_written, s, 3, exp, NULL);
}

static void on_metrics_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    metrics_flush(w->data);
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
    warn_start_only(s->rt, rt);
    if (rt->files.policy.max_connections != s->rt->files.policy.max_connections)
        envcheck_fd_limit(rt->files.policy.max_connections, s->nfds);
    if (!policy_runtime_redis_same(rt, s->rt)) {
        aredis_free(s->redis);   /* in-flight calls get NULL: answered by on_redis_down */
        s->redis = aredis_new(s->loop, &rt->files.redis);
    }
    policy_runtime_unref(s->rt);
    s->rt = rt;
    warmup_job_reset(s->job, s->rt, s->redis);
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

struct policy_server *policy_server_new(struct ev_loop *loop, struct policy_runtime *rt, const int *fds,
                                        size_t nfds, const char *config_path, int path_explicit)
{
    struct policy_server *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->rt = rt;
    s->config_path = config_path ? xstrdup(config_path) : NULL;
    s->path_explicit = path_explicit;
    s->script.body = policy_script_lua;
    aredis_script_init(&s->script);
    s->script_rcpt.body = policy_rcpt_lua;
    aredis_script_init(&s->script_rcpt);
    s->redis = aredis_new(loop, &rt->files.redis);
    s->m.started = (long long)time(NULL);
    for (size_t i = 0; i < nfds && i < MAX_LISTENERS; i++) {
        s->fds[i] = fds[i];
        ev_io_init(&s->lio[i], on_accept, fds[i], EV_READ);
        s->lio[i].data = s;
        ev_io_start(loop, &s->lio[i]);
        s->nfds++;
    }
    ev_init(&s->accept_pause, on_accept_resume);
    s->accept_pause.data = s;
    gate_init(&s->gate_down);
    gate_init(&s->gate_script);
    gate_init(&s->gate_fds);
    gate_init(&s->gate_refused);
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
    s->job = warmup_job_new(loop, s->rt, s->redis);
    if (rt->files.policy.clock_offset != 0)
        log_warning("policy.clock_offset = %lld: the clock is shifted (test setting)", rt->files.policy.clock_offset);
    return s;
}

int policy_server_run(struct policy_server *s)
{
    ev_run(s->loop, 0);
    return 0;
}

void policy_server_free(struct policy_server *s)
{
    for (size_t i = 0; i < s->nfds; i++) {
        ev_io_stop(s->loop, &s->lio[i]);
        close(s->fds[i]);
    }
    ev_timer_stop(s->loop, &s->accept_pause);
    /* Redis first: in-flight calls are answered (NULL) while conns and the job still exist. */
    aredis_free(s->redis);
    s->redis = NULL;
    warmup_job_free(s->job);
    while (s->conns != NULL) {
        struct pconn *c = s->conns;
        c->busy = 0;
        conn_close(c);
    }
    ev_timer_stop(s->loop, &s->metrics_timer);
    ev_signal_stop(s->loop, &s->sig_hup);
    ev_signal_stop(s->loop, &s->sig_term);
    ev_signal_stop(s->loop, &s->sig_int);
    policy_runtime_unref(s->rt);
    free(s->config_path);
    free(s);
}
