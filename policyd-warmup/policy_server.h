/*
 * NAME
 *   policy_server.h - policyd-warmup's event loop: listeners, client
 *   connections, one Redis script call per request, metrics, reload.
 *
 * DESCRIPTION
 *   One process, one libev loop, one asynchronous Redis connection: every
 *   client connection is a small state machine (read -> parse -> plan ->
 *   EVALSHA -> answer -> next request), so thousands of smtpd processes can
 *   hold persistent connections while nothing ever blocks.  Requests of one
 *   connection are answered in order, one at a time (the policy protocol is
 *   strictly request/response); different connections run concurrently and
 *   their script calls are pipelined on the Redis connection.
 *
 *   Split along those lines: policy_server.c (listeners, the metrics
 *   timer, reload and signals, life cycle), policy_conn.c (one
 *   connection's state machine), policy_metrics.c (the counters and their
 *   Redis hash).
 */
#ifndef POLICY_SERVER_H
#define POLICY_SERVER_H

#include <ev.h>

#include "policy_runtime.h"

struct policy_server;

/*
 * Takes over rt (one reference) and the listening fds (closed by
 * policy_server_free).  config_path/explicit are kept for SIGHUP reloads.
 */
struct policy_server *policy_server_new(struct ev_loop *loop, struct policy_runtime *rt, const int *fds, size_t nfds,
                                        const char *config_path, int path_explicit);
/* Runs until SIGTERM/SIGINT; returns 0. */
int policy_server_run(struct policy_server *s);
void policy_server_free(struct policy_server *s);

/* Re-reads the configuration (what SIGHUP does); 0, or -1 (old config kept, error logged). */
int policy_server_reload(struct policy_server *s);

#endif
