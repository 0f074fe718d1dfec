/*
 * NAME
 *   policy_envcheck.c - start-time checks: non-loopback TCP listeners and
 *   the file descriptor limit against max_connections.
 *
 * DESCRIPTION
 *   See policy_envcheck.h.  The limit is raised only as far as needed, not
 *   to the hard limit: a daemon with a small max_connections keeps a small
 *   footprint, and the operator's hard limit stays the ceiling (raising the
 *   hard limit itself is the service manager's job: LimitNOFILE= in systemd).
 *
 * DIAGNOSTICS
 *   warning: listening on SPEC (ADDR): not a loopback address; ...
 *   notice:  descriptor limit raised from N to M for max_connections = C
 *   warning: descriptor limit N (hard H) is below the M that max_connections = C needs; ...
 */
#include "policy_envcheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

int envcheck_is_loopback(const struct sockaddr *sa, socklen_t len)
{
    if (sa == NULL || len < (socklen_t)sizeof sa->sa_family)
        return 0;
    if (sa->sa_family == AF_UNIX)
        return 1;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return 0;
}

unsigned long long envcheck_fd_need(long long max_connections, size_t nlisteners)
{
    if (max_connections < 0)
        max_connections = 0;
    return (unsigned long long)max_connections + nlisteners + ENVCHECK_FD_MARGIN;
}

rlim_t envcheck_fd_target(rlim_t soft, rlim_t hard, unsigned long long need)
{
    if (soft == RLIM_INFINITY || (unsigned long long)soft >= need)
        return soft;
    if (hard != RLIM_INFINITY && (unsigned long long)hard < need)
        return hard > soft ? hard : soft;
    return (rlim_t)need;
}

void envcheck_listener(int fd, const char *spec)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char addr[INET6_ADDRSTRLEN] = "?";

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        log_warning("listening on %s: getsockname: %s", spec, strerror(errno));
        return;
    }
    if (envcheck_is_loopback((const struct sockaddr *)&ss, len))
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&ss)->sin_addr, addr, sizeof addr);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof addr);
    log_warning("listening on %s (%s): not a loopback address; the policy protocol has no authentication, "
                "so any host that reaches this port can use up sending budgets and rate limits and probe "
                "the suppression list: restrict it with a firewall, or listen on 127.0.0.1 or a unix socket",
                spec, addr);
}

rlim_t envcheck_fd_limit(long long max_connections, size_t nlisteners)
{
    struct rlimit rl;
    unsigned long long need = envcheck_fd_need(max_connections, nlisteners);

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        log_warning("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
        return 0;
    }
    rlim_t want = envcheck_fd_target(rl.rlim_cur, rl.rlim_max, need);
    if (want != rl.rlim_cur) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
            log_warning("setrlimit(RLIMIT_NOFILE, %llu): %s", (unsigned long long)want, strerror(errno));
            rl.rlim_cur = was;
        } else {
            log_notice("descriptor limit raised from %llu to %llu for max_connections = %lld", (unsigned long long)was,
                       (unsigned long long)want, max_connections);
        }
    }
    if (rl.rlim_cur != RLIM_INFINITY && (unsigned long long)rl.rlim_cur < need) {
        unsigned long long room = rl.rlim_cur > ENVCHECK_FD_MARGIN + nlisteners
                                      ? (unsigned long long)rl.rlim_cur - ENVCHECK_FD_MARGIN - nlisteners
                                      : 0;
        log_warning("descriptor limit %llu (hard %llu) is below the %llu that max_connections = %lld needs; "
                    "beyond about %llu connections accept() will fail: raise the hard limit "
                    "(systemd LimitNOFILE=, ulimit -Hn) or lower policy.max_connections",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, need, max_connections, room);
    }
    return rl.rlim_cur;
}
