/*
 * tap_exim.c - Exim main-log delivery lines -> struct tap_event (see
 * tap_exim.h).
 *
 * A line is: timestamp, optional [pid], message id, a two-character flag,
 * the address, then space-separated fields; a deferral or failure adds
 * ": <explanation>" after the fields.  The explanation starts at the first
 * ": " outside <...>, so addresses in the fields cannot end it early.
 */
#include "tap_exim.h"

#include <string.h>
#include <strings.h>

#include "tap_text.h"

static struct tap_str view(const char *p, size_t n)
{
    struct tap_str s = { p, n };
    return s;
}

static int has_prefix(const char *p, const char *end, const char *w)
{
    size_t k = strlen(w);
    return (size_t)(end - p) >= k && strncasecmp(p, w, k) == 0;
}

static int alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Exim message id: 6-6-2 (4.96) or 6-11-4 (4.97+); returns its length or 0. */
static size_t message_id(const char *p, const char *end)
{
    static const size_t lens[2][3] = { { 6, 6, 2 }, { 6, 11, 4 } };
    for (int f = 0; f < 2; f++) {
        const char *q = p;
        int ok = 1;
        for (int part = 0; part < 3 && ok; part++) {
            for (size_t i = 0; i < lens[f][part]; i++, q++)
                if (q >= end || !alnum(*q))
                    ok = 0;
            if (ok && part < 2) {
                if (q >= end || *q != '-')
                    ok = 0;
                else
                    q++;
            }
        }
        if (ok && (q == end || *q == ' '))
            return (size_t)(q - p);
    }
    return 0;
}

/* The first ": " at or after p outside <...> and "...", or NULL. */
static const char *explanation_sep(const char *p, const char *end)
{
    int angle = 0, quote = 0;
    for (; p + 1 < end; p++) {
        if (*p == '"')
            quote = !quote;
        else if (!quote && *p == '<')
            angle++;
        else if (!quote && *p == '>' && angle > 0)
            angle--;
        else if (!quote && angle == 0 && p[0] == ':' && p[1] == ' ')
            return p;
    }
    return NULL;
}

/* H=host [ip]:port  (the value spans two tokens) */
static void read_host(const char *v, const char *end, struct tap_event *ev)
{
    const char *sp = v;
    while (sp < end && *sp != ' ')
        sp++;
    ev->relay_host = view(v, (size_t)(sp - v));
    if (sp + 1 < end && sp[1] == '[') {
        const char *lb = sp + 1;
        const char *rb = memchr(lb, ']', (size_t)(end - lb));
        if (rb != NULL) {
            ev->relay_ip = view(lb + 1, (size_t)(rb - lb - 1));
            if (rb + 1 < end && rb[1] == ':') {
                int port = 0;
                for (const char *d = rb + 2; d < end && *d >= '0' && *d <= '9' && port < 65536; d++)
                    port = port * 10 + (*d - '0');
                ev->relay_port = port <= 65535 ? port : 0;
            }
        }
    } else if (ev->relay_host.n > 2 && ev->relay_host.p[0] == '[') {
        /* H=[ip] for a host without a name */
        const char *rb = memchr(v, ']', (size_t)(sp - v));
        if (rb != NULL)
            ev->relay_ip = view(v + 1, (size_t)(rb - v - 1));
    }
}

/* The key=value fields in [p, end); returns 1 when H= was seen. */
static int read_fields(const char *p, const char *end, struct tap_event *ev)
{
    int host = 0;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        const char *tok = p;
        if (has_prefix(tok, end, "C=\"")) {
            /* C="..." (smtp_confirmation) may hold spaces: up to the last quote */
            const char *q = end;
            while (q > tok + 3 && q[-1] != '"')
                q--;
            if (q > tok + 3) {
                ev->reply = view(tok + 3, (size_t)(q - 1 - (tok + 3)));
                p = q;
                continue;
            }
        }
        while (p < end && *p != ' ')
            p++;
        struct tap_str t = view(tok, (size_t)(p - tok));
        if (t.n > 2 && t.p[1] == '=') {
            struct tap_str v = view(t.p + 2, t.n - 2);
            switch (t.p[0]) {
            case 'T':
                ev->service = v;
                ev->transport = v;
                break;
            case 'H':
                read_host(v.p, end, ev);
                host = 1;
                break;
            case 'I': {
                const char *a = v.p, *b = v.p + v.n;
                if (a < b && *a == '[') {
                    a++;
                    const char *rb = memchr(a, ']', (size_t)(b - a));
                    b = rb ? rb : a;
                }
                if (tap_is_ip(a, (size_t)(b - a)))
                    ev->source_ip = view(a, (size_t)(b - a));
                break;
            }
            default: break;
            }
        }
    }
    return host;
}

/* "SMTP error from remote mail server after STAGE: REPLY" */
static void read_smtp_error(struct tap_event *ev)
{
    const char *p = ev->text.p, *end = ev->text.p + ev->text.n;
    const char *a = tap_find(p, ev->text.n, "SMTP error from remote mail");
    if (a == NULL)
        return;
    const char *after = tap_find(a, (size_t)(end - a), " after ");
    if (after == NULL)
        return;
    const char *stage = after + 7;
    const char *sep = explanation_sep(stage, end);
    if (sep == NULL)
        return;
    ev->command = tap_command_name(stage, (size_t)(sep - stage));
    if (ev->command == NULL)
        ev->command = "OTHER";
    ev->reply = view(sep + 2, (size_t)(end - sep - 2));
    ev->remote_reply = true;
}

/* "defer (110)": a positive errno (network trouble) rather than Exim's own negative codes. */
static int network_defer(const char *p, const char *end)
{
    const char *d = tap_find(p, (size_t)(end - p), "defer (");
    return d != NULL && d + 7 < end && d[7] >= '1' && d[7] <= '9';
}

/* After "<id> <flag> <recipient>": the fields, the reply and what kind of
 * line it is (a remote outcome, a local one, a repeat). */
static enum tap_kind read_outcome(struct tap_event *ev, const char *p, const char *end)
{
    const char *fields_end = end;
    if (ev->status != TAP_STATUS_SENT) {
        const char *sep = explanation_sep(p, end);
        if (sep != NULL) {
            fields_end = sep;
            ev->text = view(sep + 2, (size_t)(end - sep - 2));
        }
    }
    int host = read_fields(p, fields_end, ev);
    if (tap_find(p, (size_t)(end - p), "retry time not reached") != NULL) {
        ev->kind = TAP_LINE_REPEAT;
        return ev->kind;
    }
    if (!host && !(ev->status == TAP_STATUS_DEFERRED && ev->transport.p != NULL && network_defer(p, fields_end))) {
        ev->kind = TAP_LINE_LOCAL;
        return ev->kind;
    }
    if (ev->status == TAP_STATUS_SENT) {
        if (ev->reply.p != NULL) {
            ev->remote_reply = true;
            ev->command = "DATA";
        }
    } else {
        read_smtp_error(ev);
        if (ev->command == NULL && ev->text.p != NULL &&
            (tap_find(ev->text.p, ev->text.n, "Connection refused") != NULL ||
             tap_find(ev->text.p, ev->text.n, "timed out") != NULL))
            ev->command = "CONNECT";
    }
    if (ev->reply.p != NULL)
        tap_reply_code(ev->reply.p, ev->reply.n, &ev->smtp_code, &ev->reply_dsn);
    if (ev->reply_dsn.p != NULL)
        ev->dsn = ev->reply_dsn; /* Exim logs no dsn= of its own */
    ev->kind = TAP_LINE_OUTCOME;
    return ev->kind;
}

enum tap_kind tap_exim_parse(const char *line, size_t n, struct tap_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->mta = TAP_MTA_EXIM;
    ev->time = -1;
    ev->kind = TAP_LINE_OTHER;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (n == 0 || n > TAP_LINE_MAX)
        return ev->kind;
    const char *end = line + n;
    size_t used = tap_time_iso(line, n, &ev->time);
    if (used == 0 || line[10] != ' ' || line + used >= end || line[used] != ' ')
        goto other;
    const char *p = line + used + 1;
    if (p < end && *p == '[') { /* +pid */
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (rb == NULL || rb - p > 12 || rb + 1 >= end || rb[1] != ' ')
            goto other;
        p = rb + 2;
    }
    size_t idlen = message_id(p, end);
    if (idlen == 0)
        goto other;
    ev->queue_id = view(p, idlen);
    p += idlen;
    if (end - p < 4 || p[0] != ' ' || p[3] != ' ')
        goto other;
    char f0 = p[1], f1 = p[2];
    if ((f0 == '=' && f1 == '>') || (f0 == '-' && f1 == '>'))
        ev->status = TAP_STATUS_SENT;
    else if (f0 == '=' && f1 == '=')
        ev->status = TAP_STATUS_DEFERRED;
    else if (f0 == '*' && f1 == '*')
        ev->status = TAP_STATUS_BOUNCED;
    else
        goto other;
    p += 4;
    const char *a = p;
    while (p < end && *p != ' ' && !(*p == ':' && p + 1 < end && p[1] == ' ') && !(*p == ':' && p + 1 == end))
        p++;
    if (p == a)
        goto other;
    ev->recipient = view(a, (size_t)(p - a));
    return read_outcome(ev, p, end);
other : {
    long long t = ev->time;
    memset(ev, 0, sizeof(*ev));
    ev->mta = TAP_MTA_EXIM;
    ev->time = t;
    ev->kind = TAP_LINE_OTHER;
}
    return ev->kind;
}
