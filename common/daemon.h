/*
 * daemon.h - process plumbing shared by the daemons (milter-dkim,
 * policyd-warmup): detaching, pid files, dropping privileges, and opening
 * listening sockets from a socket specification.
 *
 * Socket specifications accepted everywhere (both spellings users know):
 *   unix:/path/to/socket       local socket (mode set by the caller)
 *   inet:PORT@HOST             libmilter / OpenDKIM style
 *   inet:HOST:PORT             Postfix style ("inet:127.0.0.1:10040")
 *   HOST:PORT                  plain
 * HOST may be an IPv4 or IPv6 literal ([::1] or ::1 with the @ form) or a name.
 */
#ifndef POSTFLOW_DAEMON_H
#define POSTFLOW_DAEMON_H

#include <stddef.h>

struct socket_spec {
    int is_unix;
    char path[108]; /* unix: socket path */
    char host[256]; /* inet: host, without brackets */
    int port;       /* inet: port */
};

/* Parses spec; returns 0, or -1 with a message in err. */
int daemon_socket_spec_parse(const char *spec, struct socket_spec *out, char *err, size_t errsize);

/*
 * Opens a listening, non-blocking, close-on-exec socket.  A stale unix socket
 * file is removed first (only if it is a socket).  unix_mode applies to unix
 * sockets (e.g. 0660).  Returns the fd, or -1 with a message in err.
 */
int daemon_listen_open(const char *spec, int backlog, int unix_mode, char *err, size_t errsize);

/* Forks into the background, new session, stdio on /dev/null; returns 0 in the child, -1 on error. */
int daemon_detach(void);

/* Writes our pid to path (created 0644, replaced atomically). 0 or -1 (errno). */
int daemon_write_pidfile(const char *path);

/*
 * Switches to user (and its primary group, or group if given) when running as
 * root; a no-op when user is NULL/empty or we are not root.  Returns 0 or -1
 * with a message in err.
 */
int daemon_drop_privileges(const char *user, const char *group, char *err, size_t errsize);

#endif
