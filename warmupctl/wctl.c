/*
 * NAME
 *   wctl.c - warmupctl's Redis helpers: commands with one clear error
 *   message, SCAN iteration, HGETALL field access (see wctl.h).
 *
 * DESCRIPTION
 *   common/redis.c reports a connection failure as "connect to ADDR: WHY";
 *   warmupctl prints it as "cannot reach Redis at ADDR: WHY", the wording
 *   operators grep for.  A context that failed is never reused (redis.c
 *   guarantees it); warmupctl does not retry: it is a one-shot tool and a
 *   script calling it retries on status 75 if it wants to.
 */
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exitcodes.h"
#include "warmup_decide.h"
#include "wctl.h"

void wctl_err(const char *fmt, ...)
{
    va_list ap;
    char line[2048];

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "warmupctl: %s\n", line);
}

static void report_outage(struct wctl *w)
{
    const char *e = redis_last_error(w->rc);
    const char *addr = w->rconf->address;
    char prefix[1100];

    /* A wrong password or database is the config's fault: retrying will not help. */
    if (strncmp(e, "AUTH refused", 12) == 0 || strncmp(e, "SELECT refused", 14) == 0) {
        wctl_err("Redis at %s: %s (check the redis section)", addr, e);
        w->status = PF_EXIT_CONFIG;
        return;
    }
    snprintf(prefix, sizeof prefix, "connect to %s: ", addr);
    if (strncmp(e, prefix, strlen(prefix)) == 0)
        e += strlen(prefix);
    if (e[0] == '\0')
        e = "connection lost";
    wctl_err("cannot reach Redis at %s: %s", addr, e);
    w->status = PF_EXIT_TEMPFAIL;
}

int wctl_connect(struct wctl *w)
{
    if (redis_connect(w->rc) == 0)
        return 0;
    report_outage(w);
    return -1;
}

static redisReply *checked(struct wctl *w, redisReply *r)
{
    if (r == NULL) {
        if (redis_is_connected(w->rc)) { /* refused before sending: not an outage */
            wctl_err("Redis command failed: %s", redis_last_error(w->rc));
            w->status = PF_EXIT_FAILURE;
        } else {
            report_outage(w);
        }
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        wctl_err("Redis error: %.*s", (int)r->len, r->str);
        redis_reply_free(r);
        w->status = PF_EXIT_FAILURE;
        return NULL;
    }
    return r;
}

redisReply *wctl_cmd(struct wctl *w, int argc, const char **argv, const size_t *lens)
{
    return checked(w, redis_command_argv(w->rc, argc, argv, lens));
}

redisReply *wctl_eval(struct wctl *w, struct redis_script *s, int nkeys, const char **keys, int nargs,
                      const char **args)
{
    if (s->sha[0] == '\0')
        redis_script_init(s);
    return checked(w, redis_eval(w->rc, s, nkeys, keys, NULL, nargs, args, NULL));
}

int wctl_scan(struct wctl *w, const char *pattern,
              int (*fn)(struct wctl *w, redisReply **keys, size_t nkeys, void *arg), void *arg)
{
    char cursor[32] = "0";
    char count[32];

    snprintf(count, sizeof count, "%lld", w->conf->scan_count);
    do {
        const char *argv[] = { "SCAN", cursor, "MATCH", pattern, "COUNT", count };
        redisReply *r = wctl_cmd(w, 6, argv, NULL);
        redisReply *keys;

        if (r == NULL)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[0]->len >= sizeof cursor || r->element[1]->type != REDIS_REPLY_ARRAY) {
            wctl_err("unexpected SCAN reply");
            redis_reply_free(r);
            w->status = PF_EXIT_FAILURE;
            return -1;
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len);
        cursor[r->element[0]->len] = '\0';
        keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            if (keys->element[i]->type != REDIS_REPLY_STRING) {
                wctl_err("unexpected SCAN reply");
                redis_reply_free(r);
                w->status = PF_EXIT_FAILURE;
                return -1;
            }
        }
        if (keys->elements > 0) {
            int rc = fn(w, keys->element, keys->elements, arg);
            if (rc != 0) {
                redis_reply_free(r);
                return rc < 0 ? -1 : 0;
            }
        }
        redis_reply_free(r);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

const char *wctl_hash_get(const redisReply *r, const char *name)
{
    size_t n = strlen(name);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && k->len == n && memcmp(k->str, name, n) == 0)
            return v->type == REDIS_REPLY_STRING ? v->str : NULL;
    }
    return NULL;
}

long long wctl_hash_ll(const redisReply *r, const char *name, long long def)
{
    const char *v = wctl_hash_get(r, name);
    char *end;
    long long n;

    if (v == NULL || v[0] == '\0')
        return def;
    n = strtoll(v, &end, 10);
    return *end == '\0' ? n : def;
}

long wctl_day(long long t)
{
    return warmup_day(t); /* the daemon's own definition of a day */
}

int wctl_write_file(const char *path, const struct buf *b)
{
    char tmp[4096];
    FILE *fp;

    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
        wctl_err("file name too long");
        return -1;
    }
    if ((fp = fopen(tmp, "w")) == NULL) {
        wctl_err("cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (fwrite(b->data, 1, b->len, fp) != b->len || fclose(fp) != 0) {
        wctl_err("cannot write %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        wctl_err("cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
