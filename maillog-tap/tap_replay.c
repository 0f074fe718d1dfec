/*
 * tap_replay.c - replay delivery-log files (see tap_replay.h): read lines
 * (bounded), parse (Postfix, or Exim when the line or --exim says so),
 * classify, match the shaping rules, run the triggers on the log's own
 * clock, print JSON, and close with the rates per transport x provider.
 *
 * Rates: every outcome line of a remote delivery (sent, deferred,
 * bounced) is an attempt, so status=sent lines are in the denominators;
 * deferral_rate = deferred / attempts and rejection_rate = bounced /
 * attempts.  Messages are distinct queue id x recipient pairs; a retry of
 * one is an attempt, not a message (tap_attempts.h).  Repeats (error(8)
 * "delivery temporarily suspended", Exim "retry time not reached") and
 * local deliveries count nowhere but in the line totals.
 */
#include "tap_replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "tap_attempts.h"
#include "tap_classify.h"
#include "tap_exim.h"
#include "tap_json.h"
#include "tap_postfix.h"
#include "tap_shape.h"
#include "xalloc.h"

#define ROWS_MAX       4096
#define ATTEMPTS_LIMIT (4u << 20) /* in-flight messages remembered (32 MiB) */

struct row {
    char transport[64];
    char ip[64];
    const char *provider;
    long long attempts, messages, sent, deferred, bounced;
};

struct tap_replay {
    const struct tap_rules *rules;
    const struct reply_rules *classifier;
    const struct tap_provider *tp;
    const struct tap_replay_opts *opts;
    struct tap_shape *shape;
    struct tap_attempts *attempts;
    struct row *rows;
    size_t nrows;
    long long lines, outcomes, repeats, locals, others, overlong, effects, rows_dropped;
    long long first_time, last_time;
    struct buf out;
};

static void copy_label(struct tap_str v, char *out, size_t outsize)
{
    size_t n = v.p == NULL ? 0 : (v.n < outsize - 1 ? v.n : outsize - 1);
    memcpy(out, v.p ? v.p : "", n);
    out[n] = '\0';
}

static struct row *row_for(struct tap_replay *r, const struct tap_event *ev, const char *provider)
{
    char transport[64], ip[64];
    copy_label(ev->transport, transport, sizeof(transport));
    copy_label(ev->source_ip, ip, sizeof(ip));
    for (size_t i = 0; i < r->nrows; i++)
        if (r->rows[i].provider == provider && strcmp(r->rows[i].transport, transport) == 0 &&
            strcmp(r->rows[i].ip, ip) == 0)
            return &r->rows[i];
    if (r->nrows == ROWS_MAX) {
        r->rows_dropped++;
        return NULL;
    }
    struct row *w = &r->rows[r->nrows++];
    memset(w, 0, sizeof(*w));
    memcpy(w->transport, transport, sizeof(transport));
    memcpy(w->ip, ip, sizeof(ip));
    w->provider = provider;
    return w;
}

void tap_replay_flush(struct tap_replay *r, FILE *out)
{
    if (r->out.len > 0)
        fwrite(r->out.data, 1, r->out.len, out);
    buf_reset(&r->out);
}

static void outcome(struct tap_replay *r, const struct tap_event *ev, FILE *out)
{
    struct tap_verdict v;
    tap_classify(r->classifier, r->tp, ev, &v);
    const struct tap_rule *rule = NULL;
    if (ev->remote_reply && ev->reply.p != NULL && ev->status != TAP_STATUS_SENT)
        rule = tap_rules_match_reply(r->rules, v.provider, ev->reply.p, ev->reply.n);
    bool final = ev->status != TAP_STATUS_DEFERRED;
    bool first = tap_attempts_add(r->attempts, ev->queue_id.p, ev->queue_id.n, ev->recipient.p, ev->recipient.n, final);
    struct row *w = row_for(r, ev, v.provider);
    if (w != NULL) {
        w->attempts++;
        w->messages += first;
        w->sent += ev->status == TAP_STATUS_SENT;
        w->deferred += ev->status == TAP_STATUS_DEFERRED;
        w->bounced += ev->status == TAP_STATUS_BOUNCED;
    }
    if (!r->opts->quiet)
        tap_json_delivery(&r->out, ev, &v, rule, first);
    if (r->opts->on_outcome != NULL)
        r->opts->on_outcome(r->opts->effect_ctx, ev, &v);
    struct tap_shape_effect eff;
    if (tap_shape_observe(r->shape, ev, &v, rule, ev->time, &eff)) {
        r->effects++;
        if (!r->opts->quiet)
            tap_json_effect(&r->out, ev, &eff);
        if (r->opts->on_effect != NULL)
            r->opts->on_effect(r->opts->effect_ctx, ev, &v, &eff);
    }
    if (r->out.len > 65536)
        tap_replay_flush(r, out);
}

void tap_replay_line(struct tap_replay *r, const char *p, size_t n, long long ref, FILE *out)
{
    struct tap_event ev;
    enum tap_kind k;
    if (r->opts->exim)
        k = tap_exim_parse(p, n, &ev);
    else {
        k = tap_postfix_parse(p, n, ref, &ev);
        if (k == TAP_LINE_OTHER && n > 20 && p[4] == '-' && p[10] == ' ')
            k = tap_exim_parse(p, n, &ev);
    }
    r->lines++;
    char ip[64];
    if (k == TAP_LINE_OUTCOME && ev.source_ip.p == NULL && ev.queue_id.p != NULL && r->opts->resolve_ip != NULL &&
        r->opts->resolve_ip(r->opts->effect_ctx, &ev, ip, sizeof ip)) {
        ev.source_ip.p = ip; /* lives until the end of this call, as the event does */
        ev.source_ip.n = strlen(ip);
    }
    switch (k) {
    case TAP_LINE_OUTCOME:
        r->outcomes++;
        if (ev.time >= 0) {
            if (r->first_time == 0 || ev.time < r->first_time)
                r->first_time = ev.time;
            if (ev.time > r->last_time)
                r->last_time = ev.time;
        }
        outcome(r, &ev, out);
        break;
    case TAP_LINE_REPEAT: r->repeats++; break;
    case TAP_LINE_LOCAL: r->locals++; break;
    default: r->others++; break;
    }
}

static void progress(const char *path, long long done, long long size, long long lines)
{
    if (size > 0)
        fprintf(stderr, "\rmaillog-tap: %s %3lld%% %lld lines", path, done * 100 / size, lines);
    else
        fprintf(stderr, "\rmaillog-tap: %s %lld lines", path, lines);
}

static int replay_file(struct tap_replay *r, const char *path, FILE *out)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (fp == NULL) {
        fprintf(stderr, "maillog-tap: %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    long long ref = (long long)time(NULL), size = 0;
    if (fstat(fileno(fp), &st) == 0) {
        if (S_ISREG(st.st_mode)) {
            ref = (long long)st.st_mtime; /* the year of a BSD timestamp: the file's */
            size = (long long)st.st_size;
        }
    }
    int tty = isatty(STDERR_FILENO);
    char *buf = xmalloc(TAP_LINE_MAX + 2);
    while (fgets(buf, TAP_LINE_MAX + 2, fp) != NULL) {
        size_t n = strlen(buf);
        if (n > 0 && buf[n - 1] != '\n' && !feof(fp)) {
            int c; /* overlong: skip to the end of the line */
            while ((c = getc(fp)) != EOF && c != '\n')
                ;
            r->overlong++;
            r->lines++;
            continue;
        }
        tap_replay_line(r, buf, n, ref, out);
        if (tty && (r->lines & 0xffff) == 0)
            progress(path, (long long)ftello(fp), size, r->lines);
    }
    if (tty)
        progress(path, size, size, r->lines), fputc('\n', stderr);
    int bad = ferror(fp);
    free(buf);
    if (fp != stdin)
        fclose(fp);
    if (bad) {
        fprintf(stderr, "maillog-tap: %s: read error\n", path);
        return -1;
    }
    return 0;
}

static void rate(struct buf *b, const char *key, long long n, long long d)
{
    buf_printf(b, ",\"%s\":", key); /* keys are our own literals */
    if (d == 0)
        buf_append_str(b, "null");
    else
        buf_printf(b, "%.4f", (double)n / (double)d);
}

void tap_replay_summary(struct tap_replay *r, size_t nfiles, FILE *out)
{
    struct buf *b = &r->out;
    for (size_t i = 0; i < r->nrows; i++) {
        const struct row *w = &r->rows[i];
        buf_append_str(b, "{\"type\":\"rates\"");
        buf_append_str(b, ",\"transport\":");
        json_cstr(b, w->transport[0] ? w->transport : NULL);
        buf_append_str(b, ",\"ip\":");
        json_cstr(b, w->ip[0] ? w->ip : NULL);
        buf_append_str(b, ",\"provider\":");
        json_cstr(b, w->provider);
        buf_printf(b,
                   ",\"attempts\":%lld,\"messages\":%lld,\"retries\":%lld,\"sent\":%lld,\"deferred\":%lld,"
                   "\"bounced\":%lld",
                   w->attempts, w->messages, w->attempts - w->messages, w->sent, w->deferred, w->bounced);
        rate(b, "deferral_rate", w->deferred, w->attempts);
        rate(b, "rejection_rate", w->bounced, w->attempts);
        buf_append_str(b, "}\n");
    }
    buf_printf(b,
               "{\"type\":\"summary\",\"files\":%zu,\"lines\":%lld,\"outcomes\":%lld,\"repeats\":%lld,"
               "\"local\":%lld,\"other\":%lld,\"overlong\":%lld,\"effects\":%lld,\"first_time\":%lld,"
               "\"last_time\":%lld,\"inflight\":%zu,\"untracked\":%zu,\"rows_dropped\":%lld}\n",
               nfiles, r->lines, r->outcomes, r->repeats, r->locals, r->others, r->overlong, r->effects, r->first_time,
               r->last_time, tap_attempts_inflight(r->attempts),
               tap_attempts_untracked(r->attempts) + tap_shape_untracked(r->shape), r->rows_dropped);
    tap_replay_flush(r, out);
}

struct tap_replay *tap_replay_new(const struct tap_rules *rules, const struct reply_rules *classifier,
                                  const struct tap_provider *tp, const struct tap_replay_opts *opts)
{
    struct tap_replay *r = xcalloc(1, sizeof(*r));
    r->rules = rules;
    r->classifier = classifier;
    r->tp = tp;
    r->opts = opts;
    r->shape = tap_shape_new(rules);
    r->attempts = tap_attempts_new(ATTEMPTS_LIMIT);
    r->rows = xcalloc(ROWS_MAX, sizeof(*r->rows));
    buf_init(&r->out, 0);
    return r;
}

void tap_replay_free(struct tap_replay *r)
{
    if (r == NULL)
        return;
    buf_free(&r->out);
    free(r->rows);
    tap_attempts_free(r->attempts);
    tap_shape_free(r->shape);
    free(r);
}

long long tap_replay_lines(const struct tap_replay *r)
{
    return r->lines;
}

int tap_replay_files(const struct tap_rules *rules, const struct reply_rules *classifier, const struct tap_provider *tp,
                     const struct tap_replay_opts *opts, char **files, size_t nfiles, FILE *out)
{
    struct tap_replay *r = tap_replay_new(rules, classifier, tp, opts);
    int rc = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < nfiles && rc == 0; i++)
        rc = replay_file(r, files[i], out);
    if (rc == 0)
        tap_replay_summary(r, nfiles, out);
    tap_replay_flush(r, out);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc == 0)
        fprintf(stderr, "maillog-tap: %lld lines in %.2fs (%.0f lines/s), %lld outcomes, %lld effects\n", r->lines,
                secs, secs > 0 ? (double)r->lines / secs : 0.0, r->outcomes, r->effects);
    tap_replay_free(r);
    return rc;
}
