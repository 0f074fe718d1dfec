/*
 * tap_postfix.c - Postfix delivery lines -> struct tap_event (see
 * tap_postfix.h for the shapes read and what counts as a receiver answer).
 *
 * The line is cut left to right with explicit lengths: header (timestamp,
 * host, tag[pid]:), queue id, to=<...>, the key=value fields up to
 * status=WORD, and the parenthesised text, which ends at the line's last ')'.
 * Nothing is assumed about the bytes of the recipient or the reply.
 */
#include "tap_postfix.h"

#include <string.h>
#include <strings.h>

#include "tap_text.h"

static struct tap_str view(const char *p, size_t n)
{
    struct tap_str s = { p, n };
    return s;
}

static int eq(struct tap_str s, const char *w)
{
    size_t k = strlen(w);
    return s.p != NULL && s.n == k && strncasecmp(s.p, w, k) == 0;
}

static const char *find_char(const char *p, const char *end, char c)
{
    const void *q = memchr(p, c, (size_t)(end - p));
    return q;
}

static int has_prefix(const char *p, const char *end, const char *w)
{
    size_t k = strlen(w);
    return (size_t)(end - p) >= k && strncasecmp(p, w, k) == 0;
}

/* "Mmm dd hh:mm:ss host " or "YYYY-MM-DDThh:mm:ss... host "; returns the tag start. */
static const char *skip_header(const char *p, const char *end, long long ref, long long *t)
{
    size_t used = tap_time_iso(p, (size_t)(end - p), t);
    if (used == 0)
        used = tap_time_bsd(p, (size_t)(end - p), ref, t);
    if (used == 0 || p + used >= end || p[used] != ' ')
        return NULL;
    p += used + 1;
    const char *sp = find_char(p, end, ' '); /* host name */
    if (sp == NULL || sp == p)
        return NULL;
    return sp + 1;
}

/* The tag "a/b/c[pid]: " at p: fills syslog_name, service, transport, source_ip. */
static const char *read_tag(const char *p, const char *end, struct tap_event *ev)
{
    const char *q = p;
    while (q < end && *q != '[' && *q != ':' && *q != ' ')
        q++;
    if (q == end || q == p || q - p > 255)
        return NULL;
    const char *tag_end = q;
    if (*q == '[') {
        const char *rb = find_char(q, end, ']');
        if (rb == NULL || rb - q > 12)
            return NULL;
        q = rb + 1;
    }
    if (q + 2 > end || q[0] != ':' || q[1] != ' ')
        return NULL;
    const char *slash = NULL;
    for (const char *s = p; s < tag_end; s++)
        if (*s == '/')
            slash = s;
    if (slash == NULL || slash == p || slash + 1 == tag_end)
        return NULL; /* not a Postfix "name/program" tag */
    ev->syslog_name = view(p, (size_t)(slash - p));
    ev->service = view(slash + 1, (size_t)(tag_end - slash - 1));
    const char *inner = NULL;
    for (const char *s = p; s < slash; s++)
        if (*s == '/')
            inner = s;
    if (inner != NULL && slash - inner > 1)
        ev->transport = view(inner + 1, (size_t)(slash - inner - 1));
    else if (eq(ev->syslog_name, "postfix"))
        ev->transport = ev->service;
    else
        ev->transport = ev->syslog_name;
    const char *dash = NULL;
    for (const char *s = ev->transport.p; s < ev->transport.p + ev->transport.n; s++)
        if (*s == '-')
            dash = s;
    if (dash != NULL) {
        const char *ip = dash + 1;
        size_t iplen = (size_t)(ev->transport.p + ev->transport.n - ip);
        if (tap_is_ip(ip, iplen))
            ev->source_ip = view(ip, iplen);
    }
    return q + 2;
}

static int qid_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* "<...>" at p; the address ends at the first '>' followed by ',' or the end. */
static const char *read_angle(const char *p, const char *end, struct tap_str *out)
{
    if (p >= end || *p != '<')
        return NULL;
    for (const char *q = p + 1; q < end; q++)
        if (*q == '>' && (q + 1 == end || q[1] == ',')) {
            *out = view(p + 1, (size_t)(q - p - 1));
            return q + 1;
        }
    return NULL;
}

/* relay=host[ip]:port | none | local | private/... */
static void read_relay(struct tap_str v, struct tap_event *ev)
{
    const char *end = v.p + v.n;
    const char *lb = find_char(v.p, end, '[');
    if (lb == NULL) {
        ev->relay_host = v;
        return;
    }
    const char *rb = find_char(lb, end, ']');
    if (rb == NULL)
        return;
    ev->relay_host = view(v.p, (size_t)(lb - v.p));
    ev->relay_ip = view(lb + 1, (size_t)(rb - lb - 1));
    if (rb + 1 < end && rb[1] == ':') {
        int port = 0;
        for (const char *d = rb + 2; d < end && *d >= '0' && *d <= '9' && port < 65536; d++)
            port = port * 10 + (*d - '0');
        ev->relay_port = port <= 65535 ? port : 0;
    }
}

/* Splits ev->text into the remote reply and the command it answered. */
static void read_reply(struct tap_event *ev)
{
    const char *p = ev->text.p, *end = ev->text.p + ev->text.n;
    if (ev->status == TAP_STATUS_SENT) {
        /* "250 2.0.0 OK ..." straight from the server (smtp/lmtp) */
        int code;
        struct tap_str dsn;
        tap_reply_code(p, ev->text.n, &code, &dsn);
        if (code != 0) {
            ev->reply = ev->text;
            ev->smtp_code = code;
            ev->reply_dsn = dsn;
            ev->remote_reply = true;
            ev->command = "DATA";
        }
        return;
    }
    if (!has_prefix(p, end, "host "))
        return;
    const char *rb = NULL;
    for (const char *q = p + 5; q < end && *q != ' '; q++)
        if (*q == ']')
            rb = q;
    if (rb == NULL)
        return;
    const char *r;
    if (has_prefix(rb + 1, end, " said: ")) {
        r = rb + 8;
    } else if (has_prefix(rb + 1, end, " refused to talk to me: ")) {
        r = rb + 25;
        ev->command = "CONNECT";
    } else {
        return;
    }
    if (r > end)
        return;
    const char *rend = end;
    const char *irt = tap_find_last(r, (size_t)(end - r), " (in reply to ");
    if (irt != NULL && end - irt > 14) {
        const char *cmd = irt + 14;
        ev->command = tap_command_name(cmd, (size_t)(end - cmd));
        if (ev->command == NULL)
            ev->command = "OTHER";
        rend = irt;
    } else if (ev->command == NULL) {
        ev->command = "CONNECT"; /* greeting or unsolicited reply (field notes, pitfall 4) */
    }
    ev->reply = view(r, (size_t)(rend - r));
    tap_reply_code(ev->reply.p, ev->reply.n, &ev->smtp_code, &ev->reply_dsn);
    ev->remote_reply = true;
}

static enum tap_status status_word(struct tap_str w)
{
    if (eq(w, "sent"))
        return TAP_STATUS_SENT;
    if (eq(w, "deferred"))
        return TAP_STATUS_DEFERRED;
    if (eq(w, "bounced"))
        return TAP_STATUS_BOUNCED;
    return TAP_STATUS_NONE;
}

/* The fields after "to=<...>": ", key=value" ... up to ", status=WORD (text)". */
static int read_fields(const char *p, const char *end, struct tap_event *ev)
{
    while (p < end) {
        if (!has_prefix(p, end, ", "))
            return -1;
        p += 2;
        const char *eqs = p;
        while (eqs < end && *eqs != '=' && *eqs != ',' && *eqs != ' ')
            eqs++;
        if (eqs >= end || *eqs != '=')
            return -1;
        struct tap_str key = view(p, (size_t)(eqs - p));
        const char *v = eqs + 1;
        if (eq(key, "status")) {
            const char *w = v;
            while (w < end && *w != ' ' && *w != ',')
                w++;
            ev->status = status_word(view(v, (size_t)(w - v)));
            if (w + 1 < end && w[0] == ' ' && w[1] == '(') {
                const char *close = end;
                while (close > w + 2 && close[-1] != ')')
                    close--;
                if (close[-1] == ')' && close - 1 >= w + 2)
                    ev->text = view(w + 2, (size_t)(close - 1 - (w + 2)));
            }
            return 0;
        }
        if (eq(key, "orig_to")) {
            struct tap_str ignored;
            const char *q = read_angle(v, end, &ignored);
            if (q == NULL)
                return -1;
            p = q;
            continue;
        }
        const char *ve = v;
        while (ve < end && !(ve[0] == ',' && ve + 1 < end && ve[1] == ' '))
            ve++;
        struct tap_str val = view(v, (size_t)(ve - v));
        if (eq(key, "relay"))
            read_relay(val, ev);
        else if (eq(key, "dsn"))
            ev->dsn = val;
        p = ve;
    }
    return -1;
}

enum tap_kind tap_postfix_parse(const char *line, size_t n, long long ref, struct tap_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->mta = TAP_MTA_POSTFIX;
    ev->time = -1;
    ev->kind = TAP_LINE_OTHER;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (n == 0 || n > TAP_LINE_MAX)
        return ev->kind;
    const char *end = line + n;
    const char *p = skip_header(line, end, ref, &ev->time);
    if (p == NULL || (p = read_tag(p, end, ev)) == NULL)
        goto other;
    const char *q = p;
    while (q < end && qid_char(*q))
        q++;
    if (q - p < 5 || q - p > 20 || !has_prefix(q, end, ": to=<"))
        goto other;
    ev->queue_id = view(p, (size_t)(q - p));
    p = read_angle(q + 5, end, &ev->recipient);
    if (p == NULL || read_fields(p, end, ev) < 0 || ev->status == TAP_STATUS_NONE)
        goto other;
    if (has_prefix(ev->text.p, ev->text.p + ev->text.n, "delivery temporarily suspended")) {
        ev->kind = TAP_LINE_REPEAT;
        return ev->kind;
    }
    if (!eq(ev->service, "smtp") && !eq(ev->service, "lmtp")) {
        ev->kind = TAP_LINE_LOCAL;
        return ev->kind;
    }
    read_reply(ev);
    if (ev->command == NULL) {
        /* no remote text: connect/timeout/TLS failure, our side's words */
        const char *w = tap_find(ev->text.p, ev->text.n, " while sending ");
        if (w != NULL)
            ev->command = tap_command_name(w + 15, (size_t)(ev->text.p + ev->text.n - (w + 15)));
        else if (tap_find(ev->text.p, ev->text.n, "greeting") != NULL ||
                 has_prefix(ev->text.p, ev->text.p + ev->text.n, "connect to "))
            ev->command = "CONNECT";
    }
    ev->kind = TAP_LINE_OUTCOME;
    return ev->kind;
other : {
    long long t = ev->time;
    memset(ev, 0, sizeof(*ev));
    ev->mta = TAP_MTA_POSTFIX;
    ev->time = t;
    ev->kind = TAP_LINE_OTHER;
}
    return ev->kind;
}
