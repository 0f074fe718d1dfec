/*
 * test_milter_sock.c - TCP_NODELAY set on a listening socket (as
 * milter_sock_nodelay_listeners() does for libmilter's) is inherited by
 * the accepted sockets on this platform; and socket spec translation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "milter_sock.h"

static void test_accepted_socket_inherits_nodelay(void **state)
{
    (void)state;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    assert_true(l >= 0);
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(l, 4), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &len), 0);
    assert_true(milter_sock_nodelay_listeners() >= 1);

    int c = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof sa), 0);
    int a = accept(l, NULL, NULL);
    assert_true(a >= 0);
    int v = 0;
    len = sizeof v;
    assert_int_equal(getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
    assert_int_equal(v, 1);
    /* The client side was not touched: the option really came from the listener. */
    assert_int_equal(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
    assert_int_equal(v, 0);
    close(a);
    close(c);
    char spec[64];
    snprintf(spec, sizeof spec, "inet:%d@127.0.0.1", ntohs(sa.sin_port));
    assert_int_equal(milter_sock_poke(spec), 0); /* what wakes libmilter's listener */
    a = accept(l, NULL, NULL);
    assert_true(a >= 0);
    close(a);
    close(l);
    assert_int_equal(milter_sock_poke(spec), -1); /* nobody listens any more */
}

static void test_spec_translation(void **state)
{
    (void)state;
    char out[300], err[200];
    assert_int_equal(milter_sock_libmilter_spec("inet:127.0.0.1:8891", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "inet:8891@127.0.0.1");
    assert_int_equal(milter_sock_libmilter_spec("inet:8891@127.0.0.1", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "inet:8891@127.0.0.1");
    assert_int_equal(milter_sock_libmilter_spec("unix:/run/m.sock", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "unix:/run/m.sock");
    assert_int_equal(milter_sock_libmilter_spec("inet:8891@::1", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "inet6:8891@::1");
    assert_int_equal(milter_sock_libmilter_spec("bogus", out, sizeof out, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_socket_inherits_nodelay),
        cmocka_unit_test(test_spec_translation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
