/*
 * test_policy_envcheck.c - which listener addresses count as loopback, and
 * how far the descriptor limit is raised for max_connections.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "policy_envcheck.h"

static int v4(const char *text)
{
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, text, &in.sin_addr), 1);
    return envcheck_is_loopback((const struct sockaddr *)&in, sizeof in);
}

static int v6(const char *text)
{
    struct sockaddr_in6 in6;
    memset(&in6, 0, sizeof in6);
    in6.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, text, &in6.sin6_addr), 1);
    return envcheck_is_loopback((const struct sockaddr *)&in6, sizeof in6);
}

static void loopback_addresses_and_unix_sockets_are_local(void **state)
{
    (void)state;
    assert_true(v4("127.0.0.1"));
    assert_true(v4("127.255.3.4"));
    assert_true(v6("::1"));
    assert_true(v6("::ffff:127.0.0.1"));
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    assert_true(envcheck_is_loopback((const struct sockaddr *)&un, sizeof un));
}

static void wildcard_and_interface_addresses_are_exposed(void **state)
{
    (void)state;
    assert_false(v4("0.0.0.0"));
    assert_false(v4("192.0.2.10"));
    assert_false(v4("128.0.0.1"));
    assert_false(v4("126.255.255.255"));
    assert_false(v6("::"));
    assert_false(v6("2001:db8::1"));
    assert_false(v6("::ffff:192.0.2.1"));
    assert_false(v6("::2"));
    /* A truncated address is not taken for loopback. */
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(0x7f000001);
    assert_false(envcheck_is_loopback((const struct sockaddr *)&in, 2));
    assert_false(envcheck_is_loopback(NULL, 0));
}

static void fd_need_is_connections_listeners_and_a_margin(void **state)
{
    (void)state;
    assert_int_equal(envcheck_fd_need(4096, 2), 4096 + 2 + ENVCHECK_FD_MARGIN);
    assert_int_equal(envcheck_fd_need(1, 0), 1 + ENVCHECK_FD_MARGIN);
    assert_int_equal(envcheck_fd_need(-5, 1), 1 + ENVCHECK_FD_MARGIN);
}

static void soft_limit_is_raised_only_as_far_as_needed_and_never_past_hard(void **state)
{
    (void)state;
    /* Enough already: kept, never lowered. */
    assert_int_equal(envcheck_fd_target(20000, 20000, 4162), 20000);
    assert_int_equal(envcheck_fd_target(RLIM_INFINITY, RLIM_INFINITY, 4162), RLIM_INFINITY);
    /* Short, hard limit high enough: raised to what is needed, not to the hard limit. */
    assert_int_equal(envcheck_fd_target(1024, 524288, 4162), 4162);
    assert_int_equal(envcheck_fd_target(1024, RLIM_INFINITY, 4162), 4162);
    assert_int_equal(envcheck_fd_target(1024, 4162, 4162), 4162);
    /* Hard limit too low: up to the hard limit (the caller then warns). */
    assert_int_equal(envcheck_fd_target(1024, 4096, 4162), 4096);
    /* Already at the hard limit: unchanged. */
    assert_int_equal(envcheck_fd_target(4096, 4096, 4162), 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loopback_addresses_and_unix_sockets_are_local),
        cmocka_unit_test(wildcard_and_interface_addresses_are_exposed),
        cmocka_unit_test(fd_need_is_connections_listeners_and_a_margin),
        cmocka_unit_test(soft_limit_is_raised_only_as_far_as_needed_and_never_past_hard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
