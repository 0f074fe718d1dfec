/*
 * test_argvec.c - the reusable string arena of script calls, and argvec_fmt_ll.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "argvec.h"

static void strings_keep_their_bytes_and_lengths_across_growth(void **state)
{
    (void)state;
    struct argvec v = { 0 };
    char big[3000];
    memset(big, 'x', sizeof big);
    argvec_add_str(&v, "EVALSHA");
    argvec_add(&v, "a\0b", 3);       /* embedded NUL kept, length says 3 */
    argvec_add(&v, big, sizeof big); /* forces the arena to move */
    for (int i = 0; i < 100; i++)    /* and the index arrays */
        argvec_add_ll(&v, i - 50);
    char *const *p = argvec_seal(&v);
    assert_int_equal(v.n, 103);
    assert_string_equal(p[0], "EVALSHA");
    assert_int_equal(v.len[1], 3);
    assert_memory_equal(p[1], "a\0b", 4);
    assert_int_equal(v.len[2], sizeof big);
    assert_memory_equal(p[2], big, sizeof big);
    assert_int_equal(p[2][sizeof big], '\0');
    assert_string_equal(p[3], "-50");
    assert_string_equal(p[102], "49");
    /* A reset keeps the memory and starts again from nothing. */
    char *arena = v.arena;
    argvec_reset(&v);
    argvec_add_str(&v, "again");
    assert_ptr_equal(v.arena, arena);
    assert_int_equal(v.n, 1);
    assert_string_equal(argvec_seal(&v)[0], "again");
    argvec_free(&v);
    assert_null(v.arena);
    assert_int_equal(v.n, 0);
    argvec_free(&v); /* twice is harmless */
}

static void fmt_ll_matches_printf_at_the_edges(void **state)
{
    (void)state;
    const long long cases[] = { 0, 1, -1, 9, 10, 99, 100, 1795867200, -86400, LLONG_MAX, LLONG_MIN };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got[24], want[24];
        size_t n = argvec_fmt_ll(got, cases[i]);
        snprintf(want, sizeof want, "%lld", cases[i]);
        assert_string_equal(got, want);
        assert_int_equal(n, strlen(want));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_keep_their_bytes_and_lengths_across_growth),
        cmocka_unit_test(fmt_ll_matches_printf_at_the_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
