/*
 * daemon.c - detaching, pid files, privilege drop, listening sockets (see daemon.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"

static int copy_bounded(char *dst, size_t dstsize, const char *src, size_t len)
{
    if (len == 0 || len >= dstsize)
        return -1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

static int parse_port(const char *text, int *port)
{
    char *end;
    long v;

    v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v <= 0 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

int daemon_socket_spec_parse(const char *spec, struct socket_spec *out, char *err, size_t errsize)
{
    const char *rest = spec, *sep;

    memset(out, 0, sizeof(*out));
    if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
        rest = strchr(spec, ':') + 1;
        out->is_unix = 1;
        if (rest[0] != '/' || copy_bounded(out->path, sizeof(out->path), rest, strlen(rest)) < 0) {
            snprintf(err, errsize, "bad socket \"%s\": want unix:/absolute/path (under 108 bytes)", spec);
            return -1;
        }
        return 0;
    }
    if (strncmp(spec, "inet:", 5) == 0 || strncmp(spec, "inet6:", 6) == 0)
        rest = strchr(spec, ':') + 1;
    if ((sep = strchr(rest, '@')) != NULL) { /* PORT@HOST */
        char port[8];

        if (copy_bounded(port, sizeof(port), rest, (size_t)(sep - rest)) < 0 || parse_port(port, &out->port) < 0 ||
            copy_bounded(out->host, sizeof(out->host), sep + 1, strlen(sep + 1)) < 0)
            goto bad;
    } else if ((sep = strrchr(rest, ':')) != NULL) { /* HOST:PORT or [v6]:PORT */
        const char *h = rest;
        size_t hlen = (size_t)(sep - rest);

        if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
            h++;
            hlen -= 2;
        }
        if (copy_bounded(out->host, sizeof(out->host), h, hlen) < 0 || parse_port(sep + 1, &out->port) < 0)
            goto bad;
    } else {
        goto bad;
    }
    return 0;
bad:
    snprintf(err, errsize, "bad socket \"%s\": want unix:/path, inet:PORT@HOST or inet:HOST:PORT", spec);
    return -1;
}

static int listen_unix(const struct socket_spec *s, int backlog, int mode, char *err, size_t errsize)
{
    struct sockaddr_un sun;
    struct stat st;
    int fd;

    if (lstat(s->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errsize, "%s exists and is not a socket", s->path);
            return -1;
        }
        unlink(s->path);
    }
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
        snprintf(err, errsize, "socket: %s", strerror(errno));
        return -1;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, s->path, strlen(s->path) + 1);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || (mode && chmod(s->path, (mode_t)mode) < 0) ||
        listen(fd, backlog) < 0) {
        snprintf(err, errsize, "listen on unix:%s: %s", s->path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int listen_inet(const struct socket_spec *s, int backlog, char *err, size_t errsize)
{
    struct addrinfo hints, *res, *ai;
    char port[8];
    int fd = -1, rc, one = 1, saved = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(port, sizeof(port), "%d", s->port);
    if ((rc = getaddrinfo(s->host, port, &hints, &res)) != 0) {
        snprintf(err, errsize, "listen on %s:%d: %s", s->host, s->port, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errsize, "listen on %s:%d: %s", s->host, s->port, strerror(saved ? saved : EADDRNOTAVAIL));
    return fd;
}

int daemon_listen_open(const char *spec, int backlog, int unix_mode, char *err, size_t errsize)
{
    struct socket_spec s;

    if (daemon_socket_spec_parse(spec, &s, err, errsize) < 0)
        return -1;
    return s.is_unix ? listen_unix(&s, backlog, unix_mode, err, errsize) : listen_inet(&s, backlog, err, errsize);
}

int daemon_detach(void)
{
    pid_t pid = fork();
    int fd;

    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        return -1;
    if (chdir("/") < 0)
        return -1;
    if ((fd = open("/dev/null", O_RDWR)) >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    return 0;
}

int daemon_write_pidfile(const char *path)
{
    char tmp[4096], text[32];
    int fd, n;

    n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        return -1;
    n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
    if (write(fd, text, (size_t)n) != n || close(fd) < 0 || rename(tmp, path) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int daemon_drop_privileges(const char *user, const char *group, char *err, size_t errsize)
{
    struct passwd *pw;
    gid_t gid;

    if (user == NULL || *user == '\0' || geteuid() != 0)
        return 0;
    if ((pw = getpwnam(user)) == NULL) {
        snprintf(err, errsize, "unknown user \"%s\"", user);
        return -1;
    }
    gid = pw->pw_gid;
    if (group != NULL && *group != '\0') {
        struct group *gr = getgrnam(group);

        if (gr == NULL) {
            snprintf(err, errsize, "unknown group \"%s\"", group);
            return -1;
        }
        gid = gr->gr_gid;
    }
    if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(pw->pw_uid) < 0) {
        snprintf(err, errsize, "cannot become %s: %s", user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) { /* must not be able to regain root */
        snprintf(err, errsize, "privilege drop to %s did not stick", user);
        return -1;
    }
    return 0;
}
