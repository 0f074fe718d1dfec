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
#include <sys/un.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

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

int milter_sock_nodelay_listeners(void)
{
    return for_each_listener(set_nodelay);
}

int milter_sock_poke(const char *spec)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)&ss;
        const char *path = strchr(spec, ':') + 1;
        if (strlen(path) >= sizeof un->sun_path)
            return -1;
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, path, strlen(path) + 1);
        len = sizeof *un;
    } else {
        const char *colon = strchr(spec, ':'), *at = strchr(spec, '@');
        if (colon == NULL || at == NULL)
            return -1;
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (end != at || port < 1 || port > 65535)
            return -1;
        const char *host = at + 1;
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
            in->sin_family = AF_INET;
            in->sin_port = htons((uint16_t)port);
            if (in->sin_addr.s_addr == htonl(INADDR_ANY))
                in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            len = sizeof *in;
        } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons((uint16_t)port);
            if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
                in6->sin6_addr = in6addr_loopback;
            len = sizeof *in6;
        } else {
            return -1;
        }
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc = connect(fd, (struct sockaddr *)&ss, len);
    close(fd);
    return rc;
}

int milter_sock_libmilter_spec(const char *spec, char *out, size_t outsize, char *err, size_t errsize)
{
    struct socket_spec s;
    int n;
    if (daemon_socket_spec_parse(spec, &s, err, errsize) != 0)
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
