/*
 * bounce_text.c - recipients of human-readable bounces (see bounce_text.h).
 */
#include "bounce_text.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "bounce_scan.h"

#define ANSWER_MAX 1200   /* bytes of answer read after an address */

/* Phrases that introduce the returned original in the formats we know. */
static const char *const original_markers[] = {
    "copy of the message", "copy of your message", "copy of the original message",
    "original message follows", "original message ---", "original message headers",
    "message headers follow", "headers of the original message", "below this line is a copy",
    "this is a copy of the message", "the original message was received", "unsent message below",
    "--- the header of the original message", "original message header", "message header follows",
    "returned message", NULL,
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
    static const char *const fields[] = {"Received: ", "Return-Path: ", "Message-ID: ", "DKIM-Signature: ", NULL};
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
    static const char *const daemons[] = {"mailer-daemon@", "postmaster@", "mail-daemon@", "no-reply@",
                                          "noreply@", "abuse@", "mdaemon@", NULL};
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
 * break after some text, or the next address, capped at ANSWER_MAX. */
static size_t answer_end(const char *t, size_t n, size_t from, size_t next_addr)
{
    size_t limit = from + ANSWER_MAX < n ? from + ANSWER_MAX : n;
    if (next_addr < limit)
        limit = next_addr;
    bool text_seen = false;
    for (size_t i = from; i < limit; i++) {
        if (t[i] == '\n') {
            size_t j = i + 1;
            while (j < limit && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r'))
                j++;
            if (j < limit && t[j] == '\n' && text_seen)
                return i;
        } else if (!isspace((unsigned char)t[i]) && t[i] != ':' && t[i] != '>' && t[i] != ')') {
            text_seen = true;
        }
    }
    return limit;
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
}

size_t bounce_text_read(const char *text, size_t n, const char *const *skip, struct inbound_report *r)
{
    size_t pos = 0, added = 0;
    char addr[BOUNCE_ADDR_MAX];
    size_t len = bounce_scan_address(text, n, &pos, addr);
    while (len > 0) {
        size_t end = pos, start = pos - len;
        char next[BOUNCE_ADDR_MAX];
        size_t next_pos = pos;
        size_t next_len = bounce_scan_address(text, n, &next_pos, next);
        /* the same address repeated right after ("a@b (a@b)", "<a@b>... a@b") */
        while (next_len > 0 && strcmp(next, addr) == 0 && next_pos - end < 120) {
            next_len = bounce_scan_address(text, n, &next_pos, next);
        }
        size_t next_start = next_len > 0 ? next_pos - next_len : n;
        struct inbound_rcpt *rc = NULL;
        if (!skipped(addr, skip) && !embedded(text, n, start, end)) {
            rc = inbound_rcpt_find(r, addr);
            if (rc == NULL && (rc = inbound_rcpt_add(r)) != NULL) {
                inbound_set(&rc->recipient, addr, len, 0);
                added++;
            }
        }
        if (rc != NULL && rc->diagnostic == NULL)
            read_answer(text + end, answer_end(text, n, end, next_start) - end, rc);
        if (next_len == 0)
            break;
        memcpy(addr, next, next_len + 1);
        len = next_len;
        pos = next_pos;
    }
    return added;
}
