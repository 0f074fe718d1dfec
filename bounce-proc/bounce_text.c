/*
 * bounce_text.c - recipients of human-readable bounces (see bounce_text.h).
 */
#include "bounce_text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce_scan.h"

#define ANSWER_MAX 1200 /* bytes of answer read after an address */

/* Phrases that introduce the returned original in the formats we know. */
static const char *const original_markers[] = {
    "copy of the message",
    "copy of your message",
    "copy of the original message",
    "original message follows",
    "original message ---",
    "original message headers",
    "message headers follow",
    "headers of the original message",
    "below this line is a copy",
    "this is a copy of the message",
    "unsent message below",
    "--- the header of the original message",
    "original message header",
    "message header follows",
    "returned message",
    NULL,
};

static bool line_starts_with(const char *s, size_t n, size_t i, const char *word)
{
    size_t m = strlen(word);
    return i + m <= n && strncasecmp(s + i, word, m) == 0;
}

size_t bounce_text_original_start(const char *text, size_t n)
{
    size_t cut = n;
    for (const char *const *m = original_markers; *m != NULL; m++) {
        long at = bounce_scan_find(text, cut, *m);
        if (at >= 0) {
            size_t line = (size_t)at;
            while (line > 0 && text[line - 1] != '\n')
                line--;
            cut = line;
        }
    }
    /* A quoted header block: a line starting Received:/Return-Path:/... */
    static const char *const fields[] = { "Received: ", "Return-Path: ", "Message-ID: ", "DKIM-Signature: ", NULL };
    for (size_t i = 0; i < cut; i++) {
        if (i > 0 && text[i - 1] != '\n')
            continue;
        size_t j = i;
        while (j < cut && (text[j] == ' ' || text[j] == '>' || text[j] == '\t'))
            j++;
        for (const char *const *f = fields; *f != NULL; f++)
            if (line_starts_with(text, cut, j, *f)) {
                cut = i;
                break;
            }
    }
    return cut;
}

static bool skipped(const char *addr, const char *const *skip)
{
    static const char *const daemons[] = { "mailer-daemon@", "postmaster@", "mail-daemon@", "no-reply@",
                                           "noreply@",       "abuse@",      "mdaemon@",     NULL };
    for (const char *const *d = daemons; *d != NULL; d++)
        if (strncasecmp(addr, *d, strlen(*d)) == 0)
            return true;
    for (const char *const *s = skip; s != NULL && *s != NULL; s++)
        if (strcasecmp(addr, *s) == 0)
            return true;
    return false;
}

/* True when the address at [start, end) looks like part of a Message-ID,
 * an URL or a path rather than a mailbox named on its own. */
static bool embedded(const char *t, size_t n, size_t start, size_t end)
{
    char before = start > 0 ? t[start - 1] : ' ';
    char after = end < n ? t[end] : ' ';
    if (before == '/' || before == '=' || after == '/' || (before == '<' && after != '>' && after != ' '))
        return true;
    /* Message-ID: <...@host> preceded by "id" on the same line */
    size_t line = start;
    while (line > 0 && t[line - 1] != '\n' && start - line < 200)
        line--;
    long id = bounce_scan_find(t + line, start - line, "message-id");
    return id >= 0;
}

/* End of the answer following an address at `from`: the next paragraph
 * break after some text, or the next recipient's address, capped at ANSWER_MAX. */
static size_t answer_end(const char *t, size_t n, size_t from, size_t next_rcpt)
{
    size_t limit = from + ANSWER_MAX < n ? from + ANSWER_MAX : n;
    if (next_rcpt < limit)
        limit = next_rcpt;
    if (limit < from) /* the next address token overlaps this one: no answer */
        return from;
    bool text_seen = false;
    char last = 0; /* last non-space byte: a paragraph ending in ':' ("because:") introduces the next */
    for (size_t i = from; i < limit; i++) {
        if (t[i] == '\n') {
            size_t j = i + 1;
            while (j < limit && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r'))
                j++;
            if (j < limit && t[j] == '\n' && text_seen && last != ':')
                return i;
        } else if (!isspace((unsigned char)t[i]) && t[i] != ':' && t[i] != '>' && t[i] != ')') {
            text_seen = true;
        }
        if (!isspace((unsigned char)t[i]))
            last = t[i];
    }
    return limit;
}

/* True when the address at `start` is the argument of an SMTP command or a
 * "from" phrase on its line ("after MAIL FROM:<a@b>", "from <a@b>"): part
 * of an answer, not a recipient named on its own. */
static bool in_command(const char *t, size_t start)
{
    size_t line = start;
    while (line > 0 && t[line - 1] != '\n' && start - line < 200)
        line--;
    const char *l = t + line;
    size_t n = start - line;
    return bounce_scan_find(l, n, "mail from") >= 0 || bounce_scan_find(l, n, "from:") >= 0 ||
           bounce_scan_find(l, n, "from <") >= 0 || bounce_scan_find(l, n, "sender") >= 0 ||
           bounce_scan_find(l, n, "envelope-from") >= 0;
}

/* True when the address at `start` is the argument of a "from" right
 * before it ("MAIL FROM:<a@b>", "from <a@b>"), not merely on a line that
 * also says "From:" (qmail's "From: <x> RCPT: <a@b>"). */
static bool sender_argument(const char *t, size_t start)
{
    size_t lo = start > 12 ? start - 12 : 0;
    for (size_t i = lo; i < start; i++)
        if (t[i] == '\n')
            lo = i + 1;
    return bounce_scan_find(t + lo, start - lo, "from") >= 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (isspace((unsigned char)**s) || **s == '>' || **s == ':' || **s == ')' || **s == ','))
        (*s)++, (*n)--;
    while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static void read_answer(const char *t, size_t n, struct inbound_rcpt *rc)
{
    trim(&t, &n);
    if (n == 0)
        return;
    inbound_set(&rc->diagnostic, t, n, INBOUND_TEXT_MAX);
    char st[BOUNCE_STATUS_MAX];
    if (bounce_scan_status(t, n, st) >= 0)
        inbound_set(&rc->status, st, strlen(st), 0);
    rc->smtp_code = bounce_scan_smtp_code(t, n);
    /* a notice of failure: a 2xx number in its words is a size, a count or
     * an earlier step of the session, never the answer */
    if (rc->smtp_code >= 200 && rc->smtp_code < 300)
        rc->smtp_code = 0;
}

/* True when the address at `start` echoes the envelope ("RCPT TO: <a@b>" in
 * a "message details" block) with no reply after it: what follows is more of
 * the block, not the receiver's answer.  A transcript's reply ("<<< 550 ..."
 * or a reply code opening the next line) is an answer. */
static bool envelope_echo(const char *t, size_t n, size_t start, size_t end)
{
    size_t line = start;
    while (line > 0 && t[line - 1] != '\n' && start - line < 200)
        line--;
    if (bounce_scan_find(t + line, start - line, "rcpt to") < 0)
        return false;
    size_t p = end;
    while (p < n && t[p] != '\n')
        if (!isspace((unsigned char)t[p]) && t[p] != '>' && t[p] != ':')
            return false; /* words after it on its line: an answer */
        else
            p++;
    while (p < n && isspace((unsigned char)t[p]))
        p++;
    bool reply = (p + 3 <= n && t[p] == '<' && t[p + 1] == '<' && t[p + 2] == '<') ||
                 (p + 4 <= n && (t[p] == '4' || t[p] == '5') && isdigit((unsigned char)t[p + 1]) &&
                  isdigit((unsigned char)t[p + 2]) && (t[p + 3] == ' ' || t[p + 3] == '-'));
    return !reply;
}

/* Start of the line holding `at` when that line begins with an SMTP reply
 * code (4xx/5xx followed by space or '-'), else `at`. */
static size_t reply_line_start(const char *t, size_t at)
{
    size_t line = at;
    while (line > 0 && t[line - 1] != '\n' && at - line < 200)
        line--;
    size_t j = line;
    while (j < at && (t[j] == ' ' || t[j] == '\t'))
        j++;
    if (at - j >= 4 && (t[j] == '4' || t[j] == '5') && isdigit((unsigned char)t[j + 1]) &&
        isdigit((unsigned char)t[j + 2]) && (t[j + 3] == ' ' || t[j + 3] == '-'))
        return j;
    return at;
}

static bool listed(const char *addr, const char *const *list)
{
    for (const char *const *a = list; a != NULL && *a != NULL; a++)
        if (strcasecmp(addr, *a) == 0)
            return true;
    return false;
}

/* One address occurrence in the notice. */
struct text_hit {
    size_t start, end;
    bool recipient; /* a failed recipient named on its own */
    char addr[BOUNCE_ADDR_MAX];
};

#define TEXT_HITS_MAX 512

size_t bounce_text_read(const char *text, size_t n, const struct bounce_text_lists *lists, struct inbound_report *r)
{
    struct text_hit *hits = calloc(TEXT_HITS_MAX, sizeof(*hits));
    if (hits == NULL)
        return 0;
    size_t nhits = 0, pos = 0, len;
    while (nhits < TEXT_HITS_MAX && (len = bounce_scan_address(text, n, &pos, hits[nhits].addr)) > 0) {
        struct text_hit *h = &hits[nhits++];
        h->start = pos - len;
        h->end = pos;
        if (lists->only != NULL && lists->only[0] != NULL)
            h->recipient = listed(h->addr, lists->only) && !in_command(text, h->start);
        else
            h->recipient =
                !skipped(h->addr, lists->skip) && !embedded(text, n, h->start, h->end) && !in_command(text, h->start);
    }
    /* an address the notice shows as a command's or a phrase's sender
     * ("after MAIL FROM:<a@b>") is the sender wherever else it appears
     * ("550 5.7.1 <a@b>... sender rejected") */
    for (size_t i = 0; i < nhits; i++)
        if (sender_argument(text, hits[i].start))
            for (size_t j = 0; j < nhits; j++)
                if (hits[j].recipient && strcmp(hits[j].addr, hits[i].addr) == 0)
                    hits[j].recipient = false;
    size_t added = 0;
    for (size_t i = 0; i < nhits; i++) {
        if (!hits[i].recipient)
            continue;
        /* the answer runs to the next recipient that is not this one
         * repeated ("a@b (a@b)", "<a@b>... a@b", the reply line naming it
         * again under "Technical details:"); answer_end still stops at
         * the end of its paragraph */
        size_t next = n;
        for (size_t j = i + 1; j < nhits; j++) {
            if (!hits[j].recipient)
                continue;
            if (strcmp(hits[j].addr, hits[i].addr) == 0)
                continue;
            next = hits[j].start;
            break;
        }
        struct inbound_rcpt *rc = inbound_rcpt_find(r, hits[i].addr);
        if (rc == NULL && (rc = inbound_rcpt_add(r)) != NULL) {
            inbound_set(&rc->recipient, hits[i].addr, strlen(hits[i].addr), 0);
            added++;
        }
        if (rc == NULL)
            continue;
        if (rc->diagnostic == NULL && envelope_echo(text, n, hits[i].start, hits[i].end)) {
            /* no answer of its own: the notice will explain it */
        } else if (rc->diagnostic == NULL) {
            read_answer(text + hits[i].end, answer_end(text, n, hits[i].end, next) - hits[i].end, rc);
        } else if (rc->status == NULL && rc->smtp_code == 0) {
            /* named again inside the receiver's reply line ("550 5.1.1
             * <a@b>... User Unknown") after words without a code (Gmail's
             * "Technical details"): that reply is the answer */
            size_t line = reply_line_start(text, hits[i].start);
            if (line < hits[i].start) {
                free(rc->diagnostic);
                rc->diagnostic = NULL;
                read_answer(text + line, answer_end(text, n, hits[i].end, next) - line, rc);
            }
        }
    }
    /* listed failed recipients the notice does not name */
    for (const char *const *a = lists->only; a != NULL && *a != NULL; a++) {
        if (inbound_rcpt_find(r, *a) != NULL)
            continue;
        struct inbound_rcpt *rc = inbound_rcpt_add(r);
        if (rc == NULL)
            break;
        inbound_set(&rc->recipient, *a, strlen(*a), 0);
        added++;
    }
    free(hits);
    return added;
}
