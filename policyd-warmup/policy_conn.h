/*
 * NAME
 *   policy_conn.h - policyd-warmup's client connections: one state machine each
 *
 * DESCRIPTION
 *   A connection reads requests (bounded by policy.max_request), parses
 *   them (policy_proto), plans each (policy_plan), answers at once or after
 *   one script call on the shared asynchronous Redis connection, and
 *   writes the answer; requests of one connection are answered in order,
 *   one at a time.  Life cycle of a request:
 *     readable -> bytes appended -> policy_parse() -> a complete request is
 *     planned; an immediate answer is written at once, a script call is
 *     sent (a pipelining client's next requests wait in the bounded buffer)
 *     -> the answer is written, the request's bytes consumed, and the next
 *     pipelined request, if any, handled.
 *   EOF (Exim's half-close) lets the pending request finish, then the
 *   connection closes after its answer.  A malformed request is logged and
 *   the connection closed without an answer (SMTPD_POLICY_README).  If the
 *   client goes away while its script call is in flight, the connection is
 *   marked dead and freed when the reply arrives.  Idle connections close
 *   after policy.idle_timeout.
 *
 *   struct policy_conns is what all connections of one server share: the
 *   loop, the current runtime and Redis connection (a reload replaces
 *   them; a request in flight keeps its own runtime reference), the two
 *   scripts, the counters and the list of open connections.
 *
 *   struct policy_conn_gate: a repeated warning logged at most once per
 *   policy.log_interval, with the number of events since the previous line
 *   (Redis down, script errors, out of descriptors, max_connections): a
 *   flood of events is one line a minute.
 *
 * USERS
 *   policy_server.c (accepts, owns struct policy_conns).
 *
 * OWNERSHIP
 *   The server owns struct policy_conns; each connection is allocated by
 *   policy_conn_open() and freed by the module itself when it closes (or,
 *   with a script call in flight, when the reply arrives).
 */
#ifndef POLICY_CONN_H
#define POLICY_CONN_H

#include <stddef.h>
#include <ev.h>
#include <sys/socket.h>

#include "policy_metrics.h"
#include "policy_runtime.h"
#include "redis_async.h"

struct policy_conn_gate {
    ev_tstamp last;          /* when a line was last logged; -1e9: never */
    unsigned long long held; /* events since then */
};

struct policy_conn;

struct policy_conns {
    struct ev_loop *loop;
    struct policy_runtime *rt;       /* one reference, owned by the server */
    struct aredis *redis;            /* owned by the server */
    struct redis_script script;      /* END-OF-MESSAGE */
    struct redis_script script_rcpt; /* RCPT */
    struct policy_metrics m;
    struct policy_conn_gate gate_down, gate_script;
    struct policy_conn *list; /* open connections, doubly linked */
    size_t n;
};

void policy_conn_gate_init(struct policy_conn_gate *g);

/*
 * Counts one event; returns 1 when it is to be logged now, with *count = the
 * events since the last line (this one included), else 0.
 */
int policy_conn_gate_pass(const struct policy_conns *cs, struct policy_conn_gate *g, unsigned long long *count);

/* Takes over the accepted, non-blocking fd and starts reading.  Never fails (xalloc). */
void policy_conn_open(struct policy_conns *cs, int fd, const struct sockaddr_storage *peer, socklen_t peerlen);

/*
 * Closes every connection (at shutdown, after the Redis connection was
 * freed: no reply is pending any more) and frees them.
 */
void policy_conn_close_all(struct policy_conns *cs);

#endif
