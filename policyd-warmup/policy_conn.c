/*
 * NAME
 *   policy_conn.c - policyd-warmup's client connections (see policy_conn.h)
 *
 * DESCRIPTION
 *   Each connection is one struct policy_conn on the server's list, with
 *   its read buffer, the request in flight (its plan and the runtime it
 *   was planned with) and the answer being written.  conn_process() is the
 *   one entry to the state machine; every path that may close a connection
 *   goes through conn_close(), which frees it unless a script call or a
 *   conn_process() further up the stack still refers to it.
 *
 * DIAGNOSTICS
 *   Redis outages are logged at most once per policy.log_interval with the
 *   number of requests answered fail-open / fail-closed meanwhile.
 */
#include "policy_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "policy_proto.h"
#include "xalloc.h"

#define READ_CHUNK 4096

struct policy_conn {
    struct policy_conns *cs;
    struct policy_conn *prev, *next;
    int fd;
    char peer[64]; /* "192.0.2.1:4711", "[2001:db8::1]:4711" or "unix", for logs */
    ev_io rio, wio;
    ev_timer idle; /* fires idle_timeout after the last activity (see on_idle) */
    ev_tstamp last_active, idle_timeout;
    char *buf;
    size_t len, cap;
    size_t resume;
    int eof, busy, dead;
    int in_process, again; /* conn_process() running / asked to run again */
    struct msg_state ms;
    /* the request in flight */
    struct policy_request req;
    struct policy_runtime *rt;
    struct plan_env env;
    struct plan plan;
    int retried;
    /* the answer being written */
    char out[PLAN_ACTION_MAX + 16];
    size_t outlen, outoff;
};

static void conn_process(struct policy_conn *c);
static void conn_send(struct policy_conn *c);

/* ---- connection bookkeeping ------------------------------------------- */

static void conn_free(struct policy_conn *c)
{
    struct policy_conns *cs = c->cs;
    policy_plan_free(&c->plan);
    if (c->rt != NULL)
        policy_runtime_unref(c->rt);
    if (c->prev)
        c->prev->next = c->next;
    else
        cs->list = c->next;
    if (c->next)
        c->next->prev = c->prev;
    cs->n--;
    free(c->buf);
    free(c);
}

/* Stops I/O and closes the socket; frees now unless a script call is in flight. */
static void conn_close(struct policy_conn *c)
{
    struct policy_conns *cs = c->cs;
    ev_io_stop(cs->loop, &c->rio);
    ev_io_stop(cs->loop, &c->wio);
    ev_timer_stop(cs->loop, &c->idle);
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
static void conn_touch(struct policy_conn *c)
{
    c->last_active = ev_now(c->cs->loop);
}

/* ---- answers ----------------------------------------------------------- */

static void request_done(struct policy_conn *c)
{
    if (c->rt != NULL) { /* the plan's memory stays for the next request */
        policy_runtime_unref(c->rt);
        c->rt = NULL;
    }
    /* Consume the request's bytes; the next one starts at offset 0. */
    memmove(c->buf, c->buf + c->req.size, c->len - c->req.size);
    c->len -= c->req.size;
    c->resume = 0;
    memset(&c->req, 0, sizeof c->req);
}

static void conn_answer(struct policy_conn *c, const char *action)
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

static void conn_send(struct policy_conn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* The client does not read its answers: stop reading its requests too, or a
             * full input buffer would keep the socket readable and the loop spinning. */
            ev_io_stop(c->cs->loop, &c->rio);
            ev_io_start(c->cs->loop, &c->wio);
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
    ev_io_stop(c->cs->loop, &c->wio);
    c->outlen = c->outoff = 0;
    conn_touch(c);
    conn_process(c);
}

/* ---- outcomes, logs ----------------------------------------------------- */

/* A request attribute made printable and capped, for a log line (out: LOG_PRINTABLE_MAX bytes). */
static const char *attr_printable(char *out, size_t n, const struct policy_conn *c, enum policy_attr a)
{
    const struct mail_view *v = &c->req.attr[a];
    log_printable(out, n, v->ptr ? v->ptr : "", v->ptr ? v->len : 0);
    return out;
}

/*
 * One line per answered request, queue id first (NOQUEUE before Postfix has
 * one), then the state as sent, the envelope, the client and the instance
 * that ties the RCPTs of one message together, then the answer.
 */
static void log_outcome(struct policy_conn *c)
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
    log_qid(lvl, qid[0] ? qid : NULL, "%s from=<%s> to=<%s> client=%s instance=%s: %s", state[0] ? state : "-", sb, rb,
            cl[0] ? cl : "-", inst[0] ? inst : "-", p->action);
}

/* Rate-limited warning for an outage. */
static void note_unavailable(struct policy_conns *cs, const char *why)
{
    unsigned long long n;
    if (policy_conn_gate_pass(cs, &cs->gate_down, &n))
        log_warning("redis unavailable (%s): %llu request(s) answered by the on_redis_down rules "
                    "since the last report",
                    why, n);
}

/* Rate-limited error for a script call Redis answered with an error (OOM, a bug) or garbage. */
static void note_script_error(struct policy_conns *cs, const char *what, const char *text, size_t len)
{
    char shown[LOG_PRINTABLE_MAX];
    unsigned long long n;
    cs->m.redis_errors++;
    if (!policy_conn_gate_pass(cs, &cs->gate_script, &n))
        return;
    log_printable(shown, sizeof shown, text, len);
    log_error("redis: %s: %s (%llu request(s) answered by the on_redis_down rules since the last report)", what, shown,
              n);
}

static void conn_finish_plan(struct policy_conn *c)
{
    struct plan *p = &c->plan;
    policy_metrics_count_outcome(&c->cs->m, p);
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

static int conn_send_script(struct policy_conn *c);

static void on_script_reply(void *priv, const redisReply *reply)
{
    struct policy_conn *c = priv;
    struct policy_conns *cs = c->cs;
    c->busy = 0;
    if (c->dead) {
        conn_free(c);
        return;
    }
    if (reply == NULL) {
        note_unavailable(cs, aredis_last_error(cs->redis)[0] ? aredis_last_error(cs->redis) : "no reply");
        policy_plan_unavailable(&c->plan);
    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements > 4096) {
        if (reply->type == REDIS_REPLY_ERROR)
            note_script_error(cs, "policy script failed", reply->str, reply->len);
        else
            note_script_error(cs, "policy script failed", "unexpected reply type", 21);
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
            note_script_error(cs, "policy script reply does not follow its contract", n ? items[0] : "empty",
                              n ? lens[0] : 5);
            if (rc == 1)
                policy_plan_unavailable(&c->plan);
        }
    }
    conn_finish_plan(c); /* c may be freed from here on */
}

static int conn_send_script(struct policy_conn *c)
{
    struct plan *p = &c->plan;
    if (aredis_eval(c->cs->redis, p->is_rcpt ? &c->cs->script_rcpt : &c->cs->script, p->nkeys, p->keys, p->keylens,
                    p->nargs, p->args, p->arglens, on_script_reply, c) < 0)
        return -1;
    c->busy = 1;
    /* Reading goes on (a pipelining client's next request waits in the buffer, which is bounded:
     * on_readable stops reading when it is full): stopping and restarting the watcher for each
     * request cost an epoll_ctl call each time. */
    return 0;
}

static void conn_handle(struct policy_conn *c)
{
    struct policy_conns *cs = c->cs;
    cs->m.requests++;
    c->rt = policy_runtime_ref(cs->rt);
    c->env = c->rt->env;
    c->env.now = policy_runtime_now(c->rt, (long long)time(NULL));
    c->retried = 0;
    if (policy_view_ieq(&c->req.attr[PA_PROTOCOL_STATE], "RCPT"))
        cs->m.requests_rcpt++;
    else if (policy_view_ieq(&c->req.attr[PA_PROTOCOL_STATE], "END-OF-MESSAGE"))
        cs->m.requests_eom++;
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
        note_unavailable(cs, aredis_last_error(cs->redis)[0] ? aredis_last_error(cs->redis) : "not connected");
        policy_plan_unavailable(&c->plan);
        conn_finish_plan(c);
    }
}

/* ---- reading and processing --------------------------------------------- */

/* Looks at the buffer once: handles one complete request, waits for more, or closes. */
static void conn_process_one(struct policy_conn *c)
{
    struct policy_conns *cs = c->cs;
    struct policy_limits lim;
    if (c->busy || c->outlen > 0 || c->fd < 0)
        return;
    lim.max_request = (size_t)cs->rt->files.policy.max_request;
    lim.max_attrs = (size_t)cs->rt->files.policy.max_attributes;
    lim.max_name = 64;
    lim.max_value = (size_t)cs->rt->files.policy.max_value;
    enum policy_parse_status st = policy_parse(c->buf, c->len, c->eof, &lim, &c->resume, &c->req);
    if (st == POLICY_OK) {
        conn_handle(c); /* may answer at once (re-entering conn_process) or go busy */
        return;
    }
    if (st == POLICY_NEED_MORE) {
        if (c->eof)
            conn_close(c);
        else
            ev_io_start(cs->loop, &c->rio);
        return;
    }
    cs->m.protocol_errors++;
    log_warning("malformed policy request (%s) from %s; closing the connection", policy_parse_strerror(st), c->peer);
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
static void conn_process(struct policy_conn *c)
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
    struct policy_conn *c = w->data;
    size_t limit = (size_t)c->cs->rt->files.policy.max_request + READ_CHUNK;
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
        if (c->busy || c->outlen > 0) { /* full of requests that wait for an answer: read later */
            ev_io_stop(loop, &c->rio);
            return;
        }
        conn_process(c); /* over the limit and still no request: the parser says why */
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
    struct policy_conn *c = w->data;
    ev_tstamp left = c->last_active + c->idle_timeout - ev_now(loop);
    if (left > 0.001) { /* active since the timer was set: wait for the rest */
        w->repeat = left;
        ev_timer_again(loop, w);
        return;
    }
    log_debug("closing idle connection from %s", c->peer);
    conn_close(c);
}

/* ---- opening, closing ---------------------------------------------------- */

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

void policy_conn_open(struct policy_conns *cs, int fd, const struct sockaddr_storage *peer, socklen_t peerlen)
{
    struct policy_conn *c = xcalloc(1, sizeof *c);
    c->cs = cs;
    c->fd = fd;
    peer_name(peer, peerlen, c->peer, sizeof c->peer);
    ev_io_init(&c->rio, on_readable, fd, EV_READ);
    ev_io_init(&c->wio, on_writable, fd, EV_WRITE);
    c->rio.data = c->wio.data = c;
    ev_init(&c->idle, on_idle);
    c->idle_timeout = (double)cs->rt->files.policy.idle_timeout;
    c->idle.repeat = c->idle_timeout;
    c->last_active = ev_now(cs->loop);
    c->idle.data = c;
    c->next = cs->list;
    if (cs->list)
        cs->list->prev = c;
    cs->list = c;
    cs->n++;
    cs->m.connections++;
    ev_io_start(cs->loop, &c->rio);
    ev_timer_again(cs->loop, &c->idle);
}

void policy_conn_close_all(struct policy_conns *cs)
{
    while (cs->list != NULL) {
        struct policy_conn *c = cs->list;
        c->busy = 0;
        conn_close(c);
    }
}

/* ---- log gates ------------------------------------------------------------ */

int policy_conn_gate_pass(const struct policy_conns *cs, struct policy_conn_gate *g, unsigned long long *count)
{
    ev_tstamp now = ev_now(cs->loop);
    g->held++;
    if (now - g->last < (double)cs->rt->files.policy.log_interval)
        return 0;
    *count = g->held;
    g->held = 0;
    g->last = now;
    return 1;
}

void policy_conn_gate_init(struct policy_conn_gate *g)
{
    g->last = -1e9;
    g->held = 0;
}
