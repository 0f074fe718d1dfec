/*
 * test_redis.c - common/redis.c against a real, private redis-server.
 *
 * Each test group starts its own redis-server on a unix socket in a temp
 * directory (no persistence), and the tests kill and restart it to prove the
 * connection reports a clear error while Redis is down, backs off instead of
 * hammering it, and reconnects by itself afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "redis.h"

static char workdir[] = "/tmp/pf-redis-test-XXXXXX";
static char sock_path[256];
static char address[300];
static pid_t server_pid;

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static void server_start(const char *password)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        const char *argv[] = { "redis-server",
                               "--port",
                               "0",
                               "--unixsocket",
                               sock_path,
                               "--save",
                               "",
                               "--appendonly",
                               "no",
                               "--dir",
                               workdir,
                               "--loglevel",
                               "warning",
                               password ? "--requirepass" : NULL,
                               password,
                               NULL };
        int devnull = open("/dev/null", 1);

        dup2(devnull, 1);
        execvp("redis-server", (char **)argv);
        _exit(127);
    }
    server_pid = pid;
    for (int i = 0; i < 500; i++) { /* up to 5 s until it answers PING */
        redisContext *c = redisConnectUnix(sock_path);
        redisReply *r = c != NULL && !c->err ? redisCommand(c, "PING") : NULL;
        int up = r != NULL; /* PONG, or NOAUTH when a password is set */

        if (r != NULL)
            freeReplyObject(r);
        if (c != NULL)
            redisFree(c);
        if (up)
            return;
        sleep_ms(10);
    }
    fail_msg("redis-server did not answer on %s", sock_path);
}

static void server_kill(void)
{
    if (server_pid > 0) {
        kill(server_pid, SIGKILL);
        waitpid(server_pid, NULL, 0);
        server_pid = 0;
        unlink(sock_path);
    }
}

static int group_setup(void **state)
{
    if (mkdtemp(workdir) == NULL)
        return -1;
    snprintf(sock_path, sizeof(sock_path), "%s/redis.sock", workdir);
    snprintf(address, sizeof(address), "unix:%s", sock_path);
    return 0;
}

static int group_teardown(void **state)
{
    server_kill();
    rmdir(workdir);
    return 0;
}

static struct redis_conf test_conf(void)
{
    struct redis_conf c;

    memset(&c, 0, sizeof(c));
    c.address = address;
    c.connect_timeout_ms = 500;
    c.command_timeout_ms = 1000;
    c.retry_min_ms = 300; /* wide enough that a loaded machine still sees the backoff window */
    c.retry_max_ms = 600;
    c.key_prefix = "test:";
    return c;
}

static void commands_round_trip_binary_safe_values(void **state)
{
    struct redis_conf c = test_conf();
    struct redis_conn *rc;
    redisReply *r;
    const char *set[] = { "SET", "k", "a\0b %s" };
    const size_t setlen[] = { 3, 1, 6 };

    server_start(NULL);
    rc = redis_new(&c);
    r = redis_command_argv(rc, 3, set, setlen);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    redis_reply_free(r);
    r = redis_command(rc, "GET", "k", NULL);
    assert_non_null(r);
    assert_int_equal(r->len, 6);
    assert_memory_equal(r->str, "a\0b %s", 6);
    redis_reply_free(r);
    r = redis_command(rc, "NOSUCHCOMMAND", NULL); /* an answer, not an outage */
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    redis_reply_free(r);
    assert_true(redis_is_connected(rc));
    redis_free(rc);
    server_kill();
}

static void eval_reloads_script_after_flush(void **state)
{
    struct redis_conf c = test_conf();
    struct redis_script script = { "incr_by", "return redis.call('INCRBY', KEYS[1], ARGV[1])", "" };
    struct redis_conn *rc;
    const char *keys[] = { "counter" };
    const char *args[] = { "5" };
    redisReply *r;

    server_start(NULL);
    rc = redis_new(&c);
    redis_script_init(&script);
    assert_int_equal(strlen(script.sha), 40);
    r = redis_eval(rc, &script, 1, keys, NULL, 1, args, NULL); /* first call: NOSCRIPT -> load */
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 5);
    redis_reply_free(r);
    redis_reply_free(redis_command(rc, "SCRIPT", "FLUSH", NULL));
    r = redis_eval(rc, &script, 1, keys, NULL, 1, args, NULL);
    assert_non_null(r);
    assert_int_equal(r->integer, 10);
    redis_reply_free(r);
    redis_free(rc);
    server_kill();
}

/* A batch far past the 64 arguments kept on the stack (maillog-tap's counter calls): all arrive. */
static void eval_takes_a_large_batch(void **state)
{
    struct redis_conf c = test_conf();
    struct redis_script script = { "sum",
                                   "local n = 0 for i = 1, #ARGV do n = n + tonumber(ARGV[i]) end "
                                   "return {#KEYS, n}",
                                   "" };
    enum { NK = 300, NA = 900 };
    static char kbuf[NK][16], abuf[NA][16];
    const char *keys[NK], *args[NA];
    long long want = 0;
    (void)state;
    for (int i = 0; i < NK; i++) {
        snprintf(kbuf[i], sizeof kbuf[i], "k%d", i);
        keys[i] = kbuf[i];
    }
    for (int i = 0; i < NA; i++) {
        snprintf(abuf[i], sizeof abuf[i], "%d", i);
        args[i] = abuf[i];
        want += i;
    }
    server_start(NULL);
    struct redis_conn *rc = redis_new(&c);
    redisReply *r = redis_eval(rc, &script, NK, keys, NULL, NA, args, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[0]->integer, NK);
    assert_int_equal(r->element[1]->integer, want);
    redis_reply_free(r);
    assert_null(redis_eval(rc, &script, REDIS_EVAL_ARGS_MAX, keys, NULL, 1, args, NULL)); /* refused, not sent */
    redis_free(rc);
    server_kill();
}

static void outage_gives_clear_error_then_backoff_then_reconnect(void **state)
{
    struct redis_conf c = test_conf();
    struct redis_conn *rc;
    redisReply *r;

    server_start(NULL);
    rc = redis_new(&c);
    r = redis_command(rc, "PING", NULL);
    assert_non_null(r);
    redis_reply_free(r);

    server_kill();
    r = redis_command(rc, "PING", NULL);
    assert_null(r);
    assert_false(redis_is_connected(rc));
    assert_true(strlen(redis_last_error(rc)) > 0);
    fprintf(stderr, "  (error while down: %s)\n", redis_last_error(rc));
    /* While backing off, calls fail without touching the network. */
    assert_true(redis_retry_in_ms(rc) > 0);
    assert_null(redis_command(rc, "PING", NULL));

    /* Still down after the delay: a real connect attempt fails with the socket error. */
    sleep_ms(350);
    assert_null(redis_command(rc, "PING", NULL));
    assert_non_null(strstr(redis_last_error(rc), sock_path));

    server_start(NULL);
    sleep_ms(700); /* longer than retry_max_ms */
    r = redis_command(rc, "PING", NULL);
    assert_non_null(r);
    assert_string_equal(r->str, "PONG");
    redis_reply_free(r);
    assert_string_equal(redis_last_error(rc), "");
    redis_free(rc);
    server_kill();
}

static void auth_and_select_are_applied(void **state)
{
    struct redis_conf c = test_conf();
    struct redis_conn *rc;
    redisReply *r;

    server_start("s3cret");
    c.password = "wrong";
    rc = redis_new(&c);
    assert_null(redis_command(rc, "PING", NULL));
    assert_non_null(strstr(redis_last_error(rc), "AUTH refused"));
    redis_free(rc);

    c.password = "s3cret";
    c.db = 3;
    rc = redis_new(&c);
    r = redis_command(rc, "SET", "where", "db3", NULL);
    assert_non_null(r);
    redis_reply_free(r);
    r = redis_command(rc, "SELECT", "3", NULL);
    redis_reply_free(r);
    redis_free(rc);

    c.db = 0;
    rc = redis_new(&c);
    r = redis_command(rc, "EXISTS", "where", NULL);
    assert_int_equal(r->integer, 0); /* written in db 3, not db 0 */
    redis_reply_free(r);
    redis_free(rc);
    server_kill();
}

static void bad_address_is_reported(void **state)
{
    struct redis_conf c = test_conf();
    struct redis_conn *rc;

    c.address = "127.0.0.1:notaport";
    rc = redis_new(&c);
    assert_int_equal(redis_connect(rc), -1);
    assert_non_null(strstr(redis_last_error(rc), "bad Redis address"));
    redis_free(rc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(commands_round_trip_binary_safe_values),
        cmocka_unit_test(eval_reloads_script_after_flush),
        cmocka_unit_test(eval_takes_a_large_batch),
        cmocka_unit_test(outage_gives_clear_error_then_backoff_then_reconnect),
        cmocka_unit_test(auth_and_select_are_applied),
        cmocka_unit_test(bad_address_is_reported),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
