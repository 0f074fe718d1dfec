/*
 * NAME
 *   policy_envcheck.h - start-time checks of what the daemon is given by
 *   its environment: where its listeners are bound, and how many file
 *   descriptors it may open.
 *
 * DESCRIPTION
 *   The Postfix policy protocol has no authentication: whoever reaches a
 *   listener can consume sending budgets and rate limits and probe the
 *   suppression list.  A TCP listener on an address other than loopback is
 *   allowed (a firewall may guard it) but warned about at start.
 *
 *   Each client connection is a descriptor.  A soft RLIMIT_NOFILE below
 *   max_connections + a margin (listeners, Redis, libev, syslog, stdio)
 *   makes accept() fail with EMFILE long before max_connections, so at start
 *   (and on reload) the soft limit is raised towards the hard limit, and a
 *   warning says so when even the hard limit is too low.
 *
 *   envcheck_is_loopback(), envcheck_fd_need() and envcheck_fd_target() are
 *   pure (unit-tested); the other two call getsockname/getrlimit/setrlimit
 *   and log.
 */
#ifndef POLICY_ENVCHECK_H
#define POLICY_ENVCHECK_H

#include <stddef.h>
#include <sys/resource.h>
#include <sys/socket.h>

/* Descriptors the daemon needs beside its clients and listeners. */
#define ENVCHECK_FD_MARGIN 64

/* 1 when sa is a unix socket, 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104; else 0. */
int envcheck_is_loopback(const struct sockaddr *sa, socklen_t len);

/* Descriptors wanted for max_connections clients and nlisteners listeners. */
unsigned long long envcheck_fd_need(long long max_connections, size_t nlisteners);

/*
 * The soft limit to set: the current soft limit when it is enough (never
 * lowered), else need, capped at the hard limit (RLIM_INFINITY: no cap).
 */
rlim_t envcheck_fd_target(rlim_t soft, rlim_t hard, unsigned long long need);

/* Warns (log_warning) when listening socket fd (opened from spec) is TCP on a non-loopback address. */
void envcheck_listener(int fd, const char *spec);

/*
 * Raises the soft RLIMIT_NOFILE for max_connections (envcheck_fd_target),
 * logs a notice when it did and a warning when the limit stays short.
 * Returns the soft limit in force afterwards.
 */
rlim_t envcheck_fd_limit(long long max_connections, size_t nlisteners);

#endif
