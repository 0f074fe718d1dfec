/*
 * bounce_parse.c - one inbound message read as a bounce (see bounce_parse.h).
 *
 * DESCRIPTION
 *	One MIME walk collects what the formats are made of: the top-level
 *	header (sender, subject, auto-reply markers), every
 *	message/delivery-status part (RFC 3464; RFC 6533's global form), the
 *	returned original (message/rfc822, text/rfc822-headers, or quoted in
 *	the text), and the first human-readable text part.  Then, in order:
 *	  1. delivery-status recipients found: a DSN (format rfc3464/rfc6533);
 *	  2. the top header or the text says "delivery failed" in one of the
 *	     ways MTAs say it: a human-readable bounce (bounce_text.c);
 *	  3. RFC 3834 auto-reply markers: an auto-reply, never a bounce;
 *	  4. otherwise not a report we read.
 *	Each recipient is then classified (reply_class.h) from its status,
 *	reply code, diagnostic text, action and the SMTP command it answered.
 */
#include "bounce_parse.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bounce_dsn.h"
#include "bounce_original.h"
#include "bounce_scan.h"
#include "bounce_text.h"
#include "buf.h"
#include "mail_header.h"
#include "mime.h"

#define TEXT_PART_MAX     (1024 * 1024) /* human-readable text kept for reading */
#define WALK_KINDS_MAX    1024
#define BOUNCE_FAILED_MAX 64 /* X-Failed-Recipients addresses kept */

struct walk {
    struct buf text; /* first human-readable part, decoded */
    bool text_is_html;
    bool have_text;
    char top_from[BOUNCE_ADDR_MAX];
    char top_from_raw[256];                          /* the From field as written ("mailer-daemon", no domain) */
    char top_to[BOUNCE_ADDR_MAX];                    /* the bounce's addressee: the original's sender */
    char delivered_to[BOUNCE_ADDR_MAX];              /* Delivered-To / Envelope-to / X-Original-To */
    char failed[BOUNCE_FAILED_MAX][BOUNCE_ADDR_MAX]; /* X-Failed-Recipients */
    size_t nfailed;
    char original_to[BOUNCE_ADDR_MAX];
    char subject[256];
    bool auto_reply;
    bool dsn_part;
    bool global;
    bool original_seen;
    const char *top_body; /* the top-level body, raw: the text when no part is text */
    size_t top_body_len;
    size_t parts;                        /* parts visited */
    unsigned char kinds[WALK_KINDS_MAX]; /* enum mime_kind of each part visited, by index */
    bool in_original[WALK_KINDS_MAX];    /* the part is (inside) a returned message, by index */
};

static void header_copy(const struct mail_headers *h, const char *name, char *out, size_t size);

/* The first address of header `name`, or "" */
static void header_address(const struct mail_headers *h, const char *name, char out[BOUNCE_ADDR_MAX])
{
    char v[1024];
    header_copy(h, name, v, sizeof(v));
    size_t pos = 0;
    if (bounce_scan_address(v, strlen(v), &pos, out) == 0)
        out[0] = '\0';
}

/* Every address of every X-Failed-Recipients field (Exim, Google, others). */
static void failed_recipients(const struct mail_headers *h, struct walk *w)
{
    const struct mail_field *f;
    size_t iter = 0;
    while ((f = mail_headers_find(h, "X-Failed-Recipients", &iter)) != NULL) {
        struct buf b;
        buf_init(&b, 0);
        mail_field_unfold(f->value, &b);
        size_t pos = 0;
        while (w->nfailed < BOUNCE_FAILED_MAX &&
               bounce_scan_address(b.data ? b.data : "", b.len, &pos, w->failed[w->nfailed]) > 0)
            w->nfailed++;
        buf_free(&b);
    }
}

static void header_copy(const struct mail_headers *h, const char *name, char *out, size_t size)
{
    const struct mail_field *f = mail_headers_find(h, name, NULL);
    out[0] = '\0';
    if (f == NULL)
        return;
    struct buf b;
    buf_init(&b, 0);
    mail_field_unfold(f->value, &b);
    size_t n = b.len < size - 1 ? b.len : size - 1;
    if (n > 0)
        memcpy(out, b.data, n);
    out[n] = '\0';
    buf_free(&b);
}

/* RFC 3834 §5 and the common markers of vacation programs. */
static bool is_auto_reply(const struct mail_headers *h, const char *subject)
{
    if (mail_headers_find(h, "X-Autoreply", NULL) != NULL || mail_headers_find(h, "X-Autorespond", NULL) != NULL)
        return true;
    char v[128];
    header_copy(h, "Auto-Submitted", v, sizeof(v));
    if (strncasecmp(v, "auto-replied", 12) == 0)
        return true;
    header_copy(h, "Precedence", v, sizeof(v));
    if (strcasecmp(v, "auto_reply") == 0)
        return true;
    static const char *const subjects[] = {
        "out of office", "out of the office", "automatic reply", "auto:",   "autoreply", "auto-reply",
        "auto reply",    "vacation",          "abwesenheit",     "absence", NULL
    };
    for (const char *const *s = subjects; *s != NULL; s++)
        if (bounce_scan_find(subject, strlen(subject), *s) >= 0)
            return true;
    return false;
}

static void take_text(const struct mime_part *p, struct walk *w)
{
    bool html = strcmp(p->subtype, "html") == 0;
    if (w->have_text && !(w->text_is_html && !html))
        return;
    buf_reset(&w->text);
    if (mime_part_decode(p, &w->text) == -1 && w->text.len == 0)
        return;
    w->have_text = w->text.len > 0;
    w->text_is_html = html;
}

static void visit(const struct mime_part *p, struct inbound_report *r, const struct inbound_parse_ctx *ctx,
                  struct walk *w)
{
    w->parts++;
    if (p->index == 0) {
        w->top_body = p->body.ptr;
        w->top_body_len = p->body.len;
        header_address(&p->headers, "From", w->top_from);
        header_copy(&p->headers, "From", w->top_from_raw, sizeof(w->top_from_raw));
        header_address(&p->headers, "To", w->top_to);
        header_address(&p->headers, "Delivered-To", w->delivered_to);
        if (w->delivered_to[0] == '\0')
            header_address(&p->headers, "Envelope-to", w->delivered_to);
        if (w->delivered_to[0] == '\0')
            header_address(&p->headers, "X-Original-To", w->delivered_to);
        failed_recipients(&p->headers, w);
        header_copy(&p->headers, "Subject", w->subject, sizeof(w->subject));
        w->auto_reply = is_auto_reply(&p->headers, w->subject);
    }
    if (p->kind == MIME_KIND_FIELD_BLOCKS &&
        (strcmp(p->subtype, "delivery-status") == 0 || strcmp(p->subtype, "global-delivery-status") == 0)) {
        struct buf body;
        buf_init(&body, 0);
        if (p->cte == MIME_CTE_BASE64 || p->cte == MIME_CTE_QP) {
            mime_part_decode(p, &body);
        } else {
            buf_append(&body, p->body.ptr, p->body.len);
        }
        if (bounce_dsn_read(body.data ? body.data : "", body.len, ctx->limits, r) > 0) {
            w->dsn_part = true;
            w->global = w->global || p->subtype[0] == 'g';
        }
        buf_free(&body);
        return;
    }
    bool inside = p->depth > 0 && p->parent < WALK_KINDS_MAX &&
                  (w->in_original[p->parent] || w->kinds[p->parent] == MIME_KIND_MESSAGE ||
                   w->kinds[p->parent] == MIME_KIND_HEADERS);
    if (p->index < WALK_KINDS_MAX) {
        w->kinds[p->index] = (unsigned char)p->kind;
        w->in_original[p->index] = inside;
    }
    /* the returned original: the child of message/rfc822 or text/rfc822-headers */
    if (p->depth > 0 && p->parent < WALK_KINDS_MAX && !w->original_seen &&
        (w->kinds[p->parent] == MIME_KIND_MESSAGE || w->kinds[p->parent] == MIME_KIND_HEADERS)) {
        w->original_seen = true;
        bounce_original_read(&p->headers, r, w->original_to);
    }
    /* the notice's own text, however deep its multipart/related and
     * alternative nest it, never the returned message's */
    if (p->kind == MIME_KIND_LEAF && strcmp(p->type, "text") == 0 &&
        (strcmp(p->subtype, "plain") == 0 || strcmp(p->subtype, "html") == 0) && !inside && p->index < WALK_KINDS_MAX)
        take_text(p, w);
}

/* Words with which the formats we know announce a failed delivery. */
static bool says_bounce(const struct walk *w)
{
    static const char *const senders[] = { "mailer-daemon", "postmaster", "mail-daemon", "mdaemon",
                                           "mailerdaemon",  "bounce",     NULL };
    /* "post_master", "Mailer_Daemon": the names with their separators dropped */
    char from[sizeof(w->top_from_raw)];
    size_t n = 0;
    for (const char *p = w->top_from_raw; *p != '\0' && n < sizeof(from) - 1; p++)
        if (*p != '_' && *p != '.')
            from[n++] = *p;
    from[n] = '\0';
    for (const char *const *s = senders; *s != NULL; s++)
        if (bounce_scan_find(w->top_from_raw, strlen(w->top_from_raw), *s) >= 0 || bounce_scan_find(from, n, *s) >= 0)
            return true;
    static const char *const subjects[] = { "undeliver",
                                            "undelivered",
                                            "delivery fail",
                                            "delivery status",
                                            "failure notice",
                                            "returned mail",
                                            "could not be delivered",
                                            "non-delivery",
                                            "nondelivery",
                                            "delivery notification",
                                            "mail delivery",
                                            "not delivered",
                                            "delivery problem",
                                            "rejected",
                                            "mail system error",
                                            "delivery error",
                                            "returned to sender",
                                            "failed delivery",
                                            "permanent error",
                                            "error sending",
                                            "could not send",
                                            "unable to deliver",
                                            NULL };
    for (const char *const *s = subjects; *s != NULL; s++)
        if (bounce_scan_find(w->subject, strlen(w->subject), *s) >= 0)
            return true;
    /* a notice from a sender of its own name ("no-reply@"), its subject in
     * the reader's language: it returns the message and says, near the top,
     * in the words MTAs use, that delivery failed */
    static const char *const body[] = { "could not be delivered", "couldn't be delivered", "was not delivered",
                                        "undeliverable",          "delivery has failed",   "delivery to the following",
                                        "unable to deliver",      "failed permanently",    NULL };
    size_t head = w->text.len < 2048 ? w->text.len : 2048;
    for (const char *const *s = body; w->original_seen && w->have_text && *s != NULL; s++)
        if (bounce_scan_find(w->text.data, head, *s) >= 0)
            return true;
    return false;
}

/* Where the returned original's header starts: at `cut` when a header
 * field starts there, else after the marker line ("------ This is a copy
 * of the message ...") and the blank lines that follow it. */
static size_t past_marker(const char *t, size_t n, size_t cut)
{
    size_t i = cut;
    while (i < n && t[i] != '\n' && t[i] != ':' && t[i] != ' ' && t[i] != '\t')
        i++;
    if (i < n && t[i] == ':' && i > cut)
        return cut; /* "Name:" - a header field */
    while (i < n && t[i] != '\n')
        i++;
    while (i < n && (t[i] == '\n' || t[i] == '\r' || t[i] == ' ' || t[i] == '\t'))
        i++;
    while (i > cut && t[i - 1] != '\n') /* back to the line start */
        i--;
    return i;
}

/* Offset of the first line of s[0..n) starting with `field` (case-insensitive), or -1. */
static long line_with_field(const char *s, size_t n, const char *field)
{
    size_t m = strlen(field);
    for (size_t i = 0; i + m <= n; i++)
        if ((i == 0 || s[i - 1] == '\n') && strncasecmp(s + i, field, m) == 0)
            return (long)i;
    return -1;
}

/* DSN field blocks inside the text: from the per-message block (Reporting-MTA)
 * or the first recipient block on.  Returns true when recipients were read. */
static bool inline_dsn(struct walk *w, const struct inbound_parse_ctx *ctx, struct inbound_report *r)
{
    const char *t = w->text.data;
    size_t n = w->text.len;
    long rcpt = line_with_field(t, n, "Final-Recipient:");
    if (rcpt < 0)
        return false;
    long start = line_with_field(t, (size_t)rcpt, "Reporting-MTA:");
    if (start < 0)
        start = rcpt;
    return bounce_dsn_read(t + start, n - (size_t)start, ctx->limits, r) > 0;
}

/* DSN recipients without a Diagnostic-Code: the human-readable part often
 * holds the receiver's answer (Sendmail's transcript).  Reads it for them
 * only; never adds a recipient. */
static void answers_from_text(struct walk *w, struct inbound_report *r)
{
    const char *only[BOUNCE_FAILED_MAX + 1];
    size_t k = 0;
    for (size_t i = 0; i < r->nrcpts && k < BOUNCE_FAILED_MAX; i++)
        if (r->rcpts[i].diagnostic == NULL && r->rcpts[i].recipient != NULL)
            only[k++] = r->rcpts[i].recipient;
    if (k == 0)
        return;
    only[k] = NULL;
    size_t cut = bounce_text_original_start(w->text.data, w->text.len);
    long fields = line_with_field(w->text.data, cut, "Reporting-MTA:");
    if (fields >= 0)
        cut = (size_t)fields;
    struct bounce_text_lists lists = { .skip = NULL, .only = only };
    struct inbound_report scratch; /* the answers, copied over where the DSN has none */
    inbound_report_init(&scratch);
    bounce_text_read(w->text.data, cut, &lists, &scratch);
    for (size_t i = 0; i < scratch.nrcpts; i++) {
        struct inbound_rcpt *from = &scratch.rcpts[i], *to = inbound_rcpt_find(r, from->recipient);
        if (to == NULL || from->diagnostic == NULL || to->diagnostic != NULL)
            continue;
        to->diagnostic = from->diagnostic;
        from->diagnostic = NULL;
        if (to->smtp_code == 0)
            to->smtp_code = from->smtp_code;
    }
    inbound_report_free(&scratch);
}

/* A recipient the notice names without an answer of its own gets the
 * notice's words (its first paragraphs) as diagnostic: for a one-recipient
 * bounce they are the explanation. */
static void notice_as_diagnostic(const char *text, size_t n, struct inbound_report *r)
{
    for (size_t i = 0; i < r->nrcpts; i++)
        if (r->rcpts[i].diagnostic == NULL && n > 0) {
            inbound_set(&r->rcpts[i].diagnostic, text, n, INBOUND_TEXT_MAX);
            r->rcpts[i].diagnostic_is_notice = true;
            if (r->rcpts[i].status == NULL) {
                char st[BOUNCE_STATUS_MAX];
                if (bounce_scan_status(text, n, st) >= 0)
                    inbound_set(&r->rcpts[i].status, st, strlen(st), 0);
            }
            if (r->rcpts[i].smtp_code == 0)
                r->rcpts[i].smtp_code = bounce_scan_smtp_code(text, n);
        }
}

/* The SMTP command an answer was given to, from the words MTAs use
 * ("in reply to end of DATA command", "after RCPT TO:", Sendmail's
 * ">>> DATA" transcript, "after MAIL FROM:", Exim's "after initial
 * connection", Postfix's "refused to talk to me"): "DATA", "RCPT", "MAIL",
 * "CONNECT", "EHLO" or NULL (maillog-tap's names).  Looks in the answer
 * itself first, then around the recipient's last mention in the notice,
 * taking the marker nearest to it (a transcript's ">>> COMMAND" line only
 * when it comes before).  A DATA answered "need RCPT", "no recipients" or
 * "bad sequence of commands" means the rejection came at RCPT (pipelined),
 * as does Postfix's "Recipient address rejected". */
static const char *command_of(const struct inbound_rcpt *rc, const char *text, size_t n)
{
    static const struct {
        const char *marker;
        const char *cmd;
    } M[] = {
        { "end of data", "DATA" },
        { "after data", "DATA" },
        { ">>> data", "DATA" },
        { "rcpt to", "RCPT" },
        { ">>> rcpt", "RCPT" },
        { "after rcpt", "RCPT" },
        { "rcpt command", "RCPT" },
        { "[rcpt_to]", "RCPT" }, /* Yahoo's and AOL's "Remote host said: ... [RCPT_TO]" */
        /* before any recipient was named: about the sender or the host */
        { "after mail from", "MAIL" },
        { "[mail_from]", "MAIL" },
        { "mail from command", "MAIL" },
        { ">>> mail from", "MAIL" },
        { "after initial connection", "CONNECT" },
        { "refused to talk to me", "CONNECT" },
        { "initial greeting", "CONNECT" },
        /* qmail-remote's own words for where the session failed */
        { "but sender was rejected", "MAIL" },
        { "does not like recipient", "RCPT" },
        { "failed after i sent the message", "DATA" },
        { "but my name was rejected", "EHLO" },
        { "helo handshake", "EHLO" },
        { "helo command", "EHLO" },
        { "after helo", "EHLO" },
        { "after ehlo", "EHLO" },
    };
    static const char *const PIPELINED[] = { "need rcpt", "no valid recipients", "no recipients",
                                             "rcpt commands were rejected", "must precede data",
                                             "bad sequence of commands",
                                             /* Postfix smtpd's words for a refusal at RCPT TO */
                                             "recipient address rejected" };
    if (rc->diagnostic != NULL) {
        size_t dn = strlen(rc->diagnostic);
        for (size_t i = 0; i < sizeof(PIPELINED) / sizeof(PIPELINED[0]); i++)
            if (bounce_scan_find(rc->diagnostic, dn, PIPELINED[i]) >= 0)
                return "RCPT";
        for (size_t i = 0; i < sizeof(M) / sizeof(M[0]); i++)
            if (bounce_scan_find(rc->diagnostic, dn, M[i].marker) >= 0)
                return M[i].cmd;
    }
    if (text == NULL || n == 0 || rc->recipient == NULL)
        return NULL;
    long at = -1, from = 0, hit;
    while ((size_t)from < n && (hit = bounce_scan_find(text + from, n - (size_t)from, rc->recipient)) >= 0) {
        at = from + hit;
        from = at + 1;
    }
    if (at < 0)
        return NULL;
    size_t lo = at > 300 ? (size_t)at - 300 : 0, hi = (size_t)at + 300 < n ? (size_t)at + 300 : n;
    /* pipelining: the RCPT answers arrive after DATA was sent, and the DATA
     * answer says no recipient was taken */
    for (size_t i = 0; i < sizeof(PIPELINED) / sizeof(PIPELINED[0]); i++)
        if (bounce_scan_find(text + lo, hi - lo, PIPELINED[i]) >= 0)
            return "RCPT";
    const char *best = NULL;
    size_t best_distance = (size_t)-1;
    for (size_t i = 0; i < sizeof(M) / sizeof(M[0]); i++) {
        long m = bounce_scan_find(text + lo, hi - lo, M[i].marker);
        while (m >= 0) {
            size_t pos = lo + (size_t)m;
            size_t distance = pos > (size_t)at ? pos - (size_t)at : (size_t)at - pos;
            /* a transcript's ">>> COMMAND" comes before the reply to it */
            bool transcript_after = M[i].marker[0] == '>' && pos > (size_t)at;
            if (!transcript_after && distance < best_distance) {
                best_distance = distance;
                best = M[i].cmd;
            }
            size_t next = pos + 1;
            m = next < hi ? bounce_scan_find(text + next, hi - next, M[i].marker) : -1;
            if (m >= 0)
                m += (long)(next - lo);
        }
    }
    return best;
}

/* An RFC 3834 auto-reply: the mailbox that answered is alive.  One line
 * for it (category "vacation", never counted, never suppressing). */
static void auto_reply(const struct walk *w, struct inbound_report *r)
{
    r->kind = INBOUND_AUTOREPLY;
    r->format = "rfc3834";
    if (w->top_from[0] == '\0')
        return;
    struct inbound_rcpt *rc = inbound_rcpt_add(r);
    if (rc == NULL)
        return;
    inbound_set(&rc->recipient, w->top_from, strlen(w->top_from), 0);
    rc->verdict.category = "vacation";
    rc->verdict.cls = REPLY_CLASS_UNKNOWN;
    rc->verdict.rule = "auto-reply";
    snprintf(rc->verdict.why, sizeof(rc->verdict.why), "header:auto-reply (RFC 3834 markers)");
    rc->classified = true;
}

/* Did the network error say that nothing answered (a time-out, a host not
 * reachable)?  A lost
 * connection, a refused one, a DNS failure or a loop is a named failure
 * instead. */
static bool timed_out(const struct inbound_rcpt *rc)
{
    static const char *const WORDS[] = { "timed out", "time out",      "timeout",    "not responding",
                                         "no answer", "not reachable", "unreachable" };
    size_t n = rc->diagnostic ? strlen(rc->diagnostic) : 0;
    for (size_t i = 0; i < sizeof(WORDS) / sizeof(WORDS[0]); i++)
        if (n > 0 && bounce_scan_find(rc->diagnostic, n, WORDS[i]) >= 0)
            return true;
    return false;
}

/* A DSN that says "failed" over a temporary (4.x.x) status, SendGrid's
 * "expired" action, or qmail's "in the queue too long": the MTA retried and
 * gave up.  When the words say no
 * more than that (nothing specific, or that nothing answered), what happened
 * is that the message expired in the queue: soft, like Sisimai's "expired".
 * A specific reason (mailbox full, rate limited, blocked, a lost connection,
 * a DNS failure) stays. */
static void gave_up(struct inbound_rcpt *rc)
{
    bool expired_action = rc->action != NULL && strcasecmp(rc->action, "expired") == 0;
    bool failed = rc->action == NULL || strcasecmp(rc->action, "failed") == 0; /* a DSN's, or a failure notice */
    bool failed_temporary = failed && rc->status != NULL && rc->status[0] == '4';
    /* qmail ends the last answer with the queue lifetime: "I'm not going to
     * try again; this message has been in the queue too long." */
    if (rc->diagnostic != NULL &&
        bounce_scan_find(rc->diagnostic, strlen(rc->diagnostic), "in the queue too long") >= 0)
        failed_temporary = true;
    const char *cat = rc->verdict.category;
    bool nothing_answered = strcmp(cat, "networkerror") == 0 && timed_out(rc);
    if (rc->verdict.our_fault)
        return;
    /* a time-out is never final: a failure that reports one was given up on */
    if (!((expired_action || failed_temporary) && reply_undecided(&rc->verdict)) &&
        !((expired_action || failed) && nothing_answered))
        return;
    char was[REPLY_WHY_MAX];
    snprintf(was, sizeof(was), "%s", rc->verdict.why);
    snprintf(rc->verdict.why, sizeof(rc->verdict.why), "action:%s over temporary %.12s (%.20s: %.80s)",
             expired_action ? "expired" : "failed", rc->status ? rc->status : "answer", rc->verdict.category, was);
    rc->verdict.category = "expired";
    rc->verdict.cls = REPLY_CLASS_SOFT;
}

static bool domain_is(const char *addr, const char *domain)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    return at != NULL && strcasecmp(at + 1, domain) == 0;
}

/* Notices whose sender and failed recipient say what happened when their
 * words (written in the reader's language) name no reason: a service's own
 * refusal, not a receiver's SMTP answer. */
static void service_notice(const struct walk *w, struct inbound_rcpt *rc)
{
    static const struct {
        const char *notice_from; /* the notice's From domain */
        const char *rcpt_domain; /* the failed recipient's domain */
        const char *category;
        const char *why;
    } S[] = {
        /* Google Groups: the group does not exist or does not take posts from us */
        { "googlemail.com", "googlegroups.com", "rejected", "notice:Google Groups refused the post" },
        { "google.com", "googlegroups.com", "rejected", "notice:Google Groups refused the post" },
    };
    if (!reply_undecided(&rc->verdict) || rc->status != NULL || rc->smtp_code != 0)
        return;
    for (size_t i = 0; i < sizeof(S) / sizeof(S[0]); i++)
        if (domain_is(w->top_from, S[i].notice_from) && domain_is(rc->recipient, S[i].rcpt_domain)) {
            rc->verdict.category = S[i].category;
            rc->verdict.cls = REPLY_CLASS_SOFT;
            rc->verdict.rule = "notice";
            snprintf(rc->verdict.why, sizeof(rc->verdict.why), "%s", S[i].why);
            return;
        }
}

/* A Diagnostic-Code of type X-Unix, an X-Actual-Recipient that is a pipe or
 * a file, or Exim's "<path> generated by <address>" is a local delivery
 * program's answer (Sendmail's mailers, a pipe, procmail).  When no text rule read a reason
 * from it (it is often just an exit status: "X-Unix; 127"), or only a weak
 * one, the program failed: "mailererror". */
static void local_mailer(struct inbound_rcpt *rc)
{
    /* Exim's "  /home/u/.forward-file\n    generated by u@example.org": the
     * failed address was a file or a pipe */
    const char *d = rc->diagnostic;
    bool path = d != NULL && (d[0] == '/' || d[0] == '|') && bounce_scan_find(d, strlen(d), "generated by") >= 0;
    if (!(rc->local_mailer || path) || rc->verdict.our_fault || !(rc->verdict.weak || reply_undecided(&rc->verdict)))
        return;
    char was[REPLY_WHY_MAX];
    snprintf(was, sizeof(was), "%s", rc->verdict.why);
    snprintf(rc->verdict.why, sizeof(rc->verdict.why), "diagnostic:X-Unix, a local mailer failed (%.100s)", was);
    rc->verdict.category = "mailererror";
    rc->verdict.cls = REPLY_CLASS_SOFT;
    rc->verdict.weak = false;
    rc->verdict.rule = "x-unix";
}

/* A delay warning (Action: delayed) whose answer says nothing more specific
 * than a vague code: the message waits in a queue that will expire it,
 * Sisimai's "expired".  It never counts as a failure (inbound_decide.c). */
static void delay_warning(struct inbound_rcpt *rc)
{
    if (rc->action == NULL || strcasecmp(rc->action, "delayed") != 0 || rc->verdict.our_fault)
        return;
    size_t sn = rc->status ? strlen(rc->status) : 0;
    bool vague = sn == 0 || (sn > 2 && strcmp(rc->status + sn - 2, ".0") == 0);
    if (!reply_undecided(&rc->verdict) && !(rc->verdict.weak && vague))
        return;
    char was[REPLY_WHY_MAX];
    snprintf(was, sizeof(was), "%s", rc->verdict.why);
    snprintf(rc->verdict.why, sizeof(rc->verdict.why), "action:delayed, nothing more specific (%.100s)", was);
    rc->verdict.category = "expired";
    rc->verdict.cls = REPLY_CLASS_SOFT;
}

/* notice_len: the human-readable notice's length in text (cut at the
 * returned original), or 0 when the verdict must come from each recipient's
 * own answer (a DSN). */
static void classify(struct inbound_report *r, const struct inbound_parse_ctx *ctx, const struct walk *w,
                     const char *text, size_t n, size_t notice_len)
{
    for (size_t i = 0; i < r->nrcpts; i++) {
        struct inbound_rcpt *rc = &r->rcpts[i];
        struct reply_input in = {
            .status = rc->status,
            .smtp_code = rc->smtp_code,
            .text = rc->diagnostic,
            .text_len = rc->diagnostic ? strlen(rc->diagnostic) : 0,
            .provider = NULL,
            .action = rc->action,
            .text_is_notice = rc->diagnostic_is_notice,
            .command = command_of(rc, text, n),
        };
        rc->command = in.command;
        reply_classify(ctx->rules, &in, &rc->verdict);
        rc->classified = true;
        local_mailer(rc);
        gave_up(rc);
        delay_warning(rc);
        /* a human-readable bounce whose words after the address decide
         * nothing: the notice as a whole is the explanation */
        if (notice_len > 0 && reply_undecided(&rc->verdict)) {
            struct reply_verdict whole;
            in.text = text;
            in.text_len = notice_len;
            in.text_is_notice = true;
            reply_classify(ctx->rules, &in, &whole);
            if (!reply_undecided(&whole)) {
                rc->verdict = whole;
                size_t k = strlen(rc->verdict.why);
                snprintf(rc->verdict.why + k, sizeof(rc->verdict.why) - k, " (in the notice)");
            }
        }
        service_notice(w, rc);
    }
}

/* A notice that names no failed recipient in its words may still show the
 * envelope it tried: a line "RCPT TO: <addr>" (in a transcript or in a
 * "message details" block).  RCPT TO is no header field, so such a line is
 * never the returned message's own header. */
static void envelope_recipients(const char *t, size_t n, const struct bounce_text_lists *lists,
                                struct inbound_report *r)
{
    long at;
    size_t from = 0;
    while (from < n && (at = bounce_scan_find(t + from, n - from, "rcpt to:")) >= 0) {
        size_t p = from + (size_t)at + 8, eol = p;
        while (eol < n && t[eol] != '\n')
            eol++;
        char addr[BOUNCE_ADDR_MAX];
        size_t pos = 0;
        if (bounce_scan_address(t + p, eol - p, &pos, addr) > 0 && inbound_rcpt_find(r, addr) == NULL) {
            bool skipped = false;
            for (const char *const *s = lists->skip; s != NULL && *s != NULL; s++)
                skipped = skipped || strcasecmp(*s, addr) == 0;
            struct inbound_rcpt *rc = skipped ? NULL : inbound_rcpt_add(r);
            if (rc != NULL)
                inbound_set(&rc->recipient, addr, strlen(addr), 0);
        }
        from = eol;
    }
}

int bounce_parse(const char *msg, size_t len, const struct inbound_parse_ctx *ctx, struct inbound_report *out)
{
    size_t skip = mail_skip_mbox_from(msg, len);
    struct mime_walker *mw = mime_walker_new(msg + skip, len - skip, ctx->limits);
    if (mw == NULL)
        return -1;
    struct walk w;
    memset(&w, 0, sizeof(w));
    size_t notice_len = 0;
    buf_init(&w.text, TEXT_PART_MAX);
    const struct mime_part *p;
    while (mime_next(mw, &p) == MIME_PART)
        visit(p, out, ctx, &w);
    out->kind = INBOUND_UNRECOGNIZED;
    /* a multipart whose boundary never appears (or whose nested boundary
     * parameter was written on an unfolded line), or a top-level body that
     * is not text/plain: its raw body is the text to read */
    if (!w.have_text && w.top_body_len > 0) {
        buf_append(&w.text, w.top_body, w.top_body_len);
        w.have_text = w.text.len > 0;
    }
    /* delivery-status fields pasted into the text (a report whose MIME
     * structure was lost) */
    if (!w.dsn_part && w.have_text && inline_dsn(&w, ctx, out))
        w.dsn_part = true;
    if (w.dsn_part) {
        out->kind = INBOUND_BOUNCE;
        out->format = w.global ? "rfc6533" : "rfc3464";
        if (w.have_text)
            answers_from_text(&w, out);
    } else if ((says_bounce(&w) && w.have_text) || w.nfailed > 0) {
        if (w.text.data == NULL)
            buf_append(&w.text, "", 0);
        size_t cut = w.text.len > 0 ? bounce_text_original_start(w.text.data, w.text.len) : 0;
        if (out->original.message_id == NULL && cut < w.text.len) {
            size_t start = past_marker(w.text.data, w.text.len, cut);
            bounce_original_read_text(w.text.data + start, w.text.len - start, ctx->limits, out, w.original_to);
        }
        const char *skip_list[] = { w.top_from,
                                    w.top_to,
                                    w.delivered_to,
                                    ctx->envelope_recipient,
                                    out->original.from,
                                    out->original.return_path,
                                    NULL };
        /* entries may be NULL or empty: compact them so the list ends at its first NULL */
        size_t k = 0;
        for (size_t i = 0; i < sizeof(skip_list) / sizeof(skip_list[0]) - 1; i++)
            if (skip_list[i] != NULL && skip_list[i][0] != '\0')
                skip_list[k++] = skip_list[i];
        skip_list[k] = NULL;
        const char *only_list[BOUNCE_FAILED_MAX + 1];
        for (size_t i = 0; i < w.nfailed; i++)
            only_list[i] = w.failed[i];
        only_list[w.nfailed] = NULL;
        struct bounce_text_lists lists = { .skip = skip_list, .only = only_list };
        if (bounce_text_read(w.text.data, cut, &lists, out) == 0)
            envelope_recipients(w.text.data, w.text.len, &lists, out);
        if (out->nrcpts == 0 && w.original_to[0] != '\0') {
            struct inbound_rcpt *rc = inbound_rcpt_add(out);
            if (rc != NULL)
                inbound_set(&rc->recipient, w.original_to, strlen(w.original_to), 0);
        }
        if (out->nrcpts > 0) {
            out->kind = INBOUND_BOUNCE;
            out->format = "text";
            notice_as_diagnostic(w.text.data, cut, out);
            notice_len = cut;
        }
    }
    if (out->kind == INBOUND_UNRECOGNIZED && w.auto_reply)
        auto_reply(&w, out);
    if (out->kind == INBOUND_BOUNCE)
        classify(out, ctx, &w, w.have_text ? w.text.data : NULL, w.text.len, notice_len);
    buf_free(&w.text);
    mime_walker_free(mw);
    return 0;
}
