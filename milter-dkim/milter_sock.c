/*
 * NAME
 *   milter_sock.c - TCP_NODELAY on libmilter's listener, socket spec translation
 */
#include <stddef.h>

#include "milter_sock.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "daemon.h"

/* Calls fn on each listening stream socket; fn returns 1 when it acted. */
static int for_each_listener(int (*fn)(int fd, int family))
{
    struct rlimit rl;
    int count = 0;
    int maxfd = (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536) ? (int)rl.rlim_cur : 65536;
    for (int fd = 0; fd < maxfd; fd++) {
        int listening = 0, type = 0;
        socklen_t len = sizeof listening;
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof ss;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
            continue;
        len = sizeof type;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
            continue;
        if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0)
            continue;
        count += fn(fd, ss.ss_family);
    }
    return count;
}

static int set_nodelay(int fd, int family)
{
    int one = 1;
    if (family != AF_INET && family != AF_INET6)
        return 0;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0;
}

static int shut(int fd, int family)
{
    (void)family;
    return shutdown(fd, SHUT_RDWR) == 0;
}

int milter_sock_nodelay_listeners(void)
{
    return for_each_listener(set_nodelay);
}

int milter_sock_shutdown_listeners(void)
{
    return for_each_listener(shut);
}

int milter_sock_libmilter_spec(const char *spec, char *out, size_t outsize, char *err, size_t errsize)
{
    struct socket_spec s;
    int n;
    if (socket_spec_parse(spec, &s, err, errsize) != 0)
        return -1;
    if (s.is_unix)
        n = snprintf(out, outsize, "unix:%s", s.path);
    else
        n = snprintf(out, outsize, "%s:%d@%s", strchr(s.host, ':') ? "inet6" : "inet", s.port, s.host);
    if (n < 0 || (size_t)n >= outsize) {
        snprintf(err, errsize, "socket specification too long");
        return -1;
    }
    return 0;
}
