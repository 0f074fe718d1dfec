/*
 * test_redis_backoff.c - unit tests of common/redis_backoff.c: the
 * reconnection delays both Redis layers wait (first, doubling, cap, a cap
 * below the first delay, zero, no overflow).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <limits.h>
#include <cmocka.h>

#include "redis_backoff.h"

/* Fills out[0..n) with the delays of n failures in a row from a fresh connection. */
static void sequence(long long min_ms, long long max_ms, long long *out, size_t n)
{
    long long d = 0;

    for (size_t i = 0; i < n; i++)
        out[i] = d = redis_backoff_next(d, min_ms, max_ms);
}

static void doubles_from_min_up_to_max(void **state)
{
    static const long long want[] = { 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000 };
    long long got[9];

    (void)state;
    sequence(100, 5000, got, 9); /* the shipped defaults */
    for (size_t i = 0; i < 9; i++)
        assert_int_equal(got[i], want[i]);
}

static void a_cap_between_doublings_is_reached_exactly(void **state)
{
    long long got[4];

    (void)state;
    sequence(300, 700, got, 4);
    assert_int_equal(got[0], 300);
    assert_int_equal(got[1], 600);
    assert_int_equal(got[2], 700);
    assert_int_equal(got[3], 700);
    sequence(50, 50, got, 3); /* min == max: a constant delay */
    assert_int_equal(got[0], 50);
    assert_int_equal(got[2], 50);
}

static void a_fresh_start_waits_min_again(void **state)
{
    (void)state;
    assert_int_equal(redis_backoff_next(0, 100, 5000), 100);
    assert_int_equal(redis_backoff_next(-1, 100, 5000), 100);
    assert_int_equal(redis_backoff_next(1600, 100, 5000), 3200);
}

static void a_max_below_min_keeps_min(void **state)
{
    long long got[3];

    (void)state;
    sequence(1000, 200, got, 3);
    assert_int_equal(got[0], 1000);
    assert_int_equal(got[1], 1000);
    assert_int_equal(got[2], 1000);
    sequence(300, 0, got, 3);
    assert_int_equal(got[2], 300);
}

static void zero_min_means_no_delay(void **state)
{
    long long got[3];

    (void)state;
    sequence(0, 5000, got, 3); /* 0 doubled stays 0: retry at every call (sync) */
    assert_int_equal(got[0], 0);
    assert_int_equal(got[2], 0);
    sequence(1, 5, got, 3); /* the async layer's floor of 1 ms still doubles */
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], 2);
    assert_int_equal(got[2], 4);
}

static void large_delays_do_not_overflow(void **state)
{
    (void)state;
    assert_int_equal(redis_backoff_next(LLONG_MAX / 2 + 1, 1, LLONG_MAX), LLONG_MAX);
    assert_int_equal(redis_backoff_next(LLONG_MAX, 1, LLONG_MAX), LLONG_MAX);
    assert_int_equal(redis_backoff_next(LLONG_MAX / 2, 1, LLONG_MAX), LLONG_MAX - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doubles_from_min_up_to_max),    cmocka_unit_test(a_cap_between_doublings_is_reached_exactly),
        cmocka_unit_test(a_fresh_start_waits_min_again), cmocka_unit_test(a_max_below_min_keeps_min),
        cmocka_unit_test(zero_min_means_no_delay),       cmocka_unit_test(large_delays_do_not_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
