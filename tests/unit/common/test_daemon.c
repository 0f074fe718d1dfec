/* test_daemon.c - socket specifications and listening sockets of common/daemon.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon.h"

static void parses_every_spelling_of_a_socket(void **state)
{
    struct socket_spec s;
    char err[256];

    assert_int_equal(daemon_socket_spec_parse("inet:8891@127.0.0.1", &s, err, sizeof(err)), 0);
    assert_false(s.is_unix);
    assert_string_equal(s.host, "127.0.0.1");
    assert_int_equal(s.port, 8891);
    assert_int_equal(daemon_socket_spec_parse("inet:127.0.0.1:10040", &s, err, sizeof(err)), 0);
    assert_int_equal(s.port, 10040);
    assert_int_equal(daemon_socket_spec_parse("[::1]:25", &s, err, sizeof(err)), 0);
    assert_string_equal(s.host, "::1");
    assert_int_equal(daemon_socket_spec_parse("unix:/run/pf/milter.sock", &s, err, sizeof(err)), 0);
    assert_true(s.is_unix);
    assert_string_equal(s.path, "/run/pf/milter.sock");
}

static void rejects_malformed_specs_with_a_message(void **state)
{
    struct socket_spec s;
    char err[256];
    char longpath[200];

    assert_int_equal(daemon_socket_spec_parse("inet:99999@127.0.0.1", &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "inet:99999@127.0.0.1"));
    assert_int_equal(daemon_socket_spec_parse("unix:relative.sock", &s, err, sizeof(err)), -1);
    assert_int_equal(daemon_socket_spec_parse("localhost", &s, err, sizeof(err)), -1);
    assert_int_equal(daemon_socket_spec_parse("inet:@127.0.0.1", &s, err, sizeof(err)), -1);
    memset(longpath, 'a', sizeof(longpath));
    memcpy(longpath, "unix:/", 6);
    longpath[sizeof(longpath) - 1] = '\0';
    assert_int_equal(daemon_socket_spec_parse(longpath, &s, err, sizeof(err)), -1);
}

static void opens_unix_socket_and_replaces_stale_one(void **state)
{
    char dir[] = "/tmp/pf-daemon-test-XXXXXX", spec[128], err[256], path[120];
    struct stat st;
    int fd;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/s.sock", dir);
    snprintf(spec, sizeof(spec), "unix:%s", path);
    fd = daemon_listen_open(spec, 16, 0660, err, sizeof(err));
    assert_true(fd >= 0);
    close(fd); /* leaves a stale socket file behind */
    fd = daemon_listen_open(spec, 16, 0660, err, sizeof(err));
    assert_true(fd >= 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0660);
    close(fd);
    unlink(path);
    /* a regular file in the way is not removed */
    fclose(fopen(path, "w"));
    assert_int_equal(daemon_listen_open(spec, 16, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a socket"));
    unlink(path);
    rmdir(dir);
}

static void opens_loopback_tcp_socket_that_accepts(void **state)
{
    char err[256], spec[64];
    struct sockaddr_in sin;
    int fd = -1, client, port;

    /* port 0 is refused by the parser: the daemons need a known port */
    assert_int_equal(daemon_listen_open("inet:0@127.0.0.1", 16, 0, err, sizeof(err)), -1);
    for (port = 20000 + (int)(getpid() % 20000); fd < 0 && port < 65000; port += 7) {
        snprintf(spec, sizeof(spec), "inet:%d@127.0.0.1", port);
        fd = daemon_listen_open(spec, 16, 0, err, sizeof(err));
    }
    assert_true(fd >= 0);
    port -= 7;
    client = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    assert_int_equal(connect(client, (struct sockaddr *)&sin, sizeof(sin)), 0);
    close(client);
    /* the same port again is busy: the error names the address */
    assert_int_equal(daemon_listen_open(spec, 16, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "127.0.0.1"));
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_every_spelling_of_a_socket),
        cmocka_unit_test(rejects_malformed_specs_with_a_message),
        cmocka_unit_test(opens_unix_socket_and_replaces_stale_one),
        cmocka_unit_test(opens_loopback_tcp_socket_that_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
