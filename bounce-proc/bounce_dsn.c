/*
 * bounce_dsn.c - RFC 3464 delivery-status fields (see bounce_dsn.h).
 */
#include "bounce_dsn.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bounce_scan.h"
#include "buf.h"
#include "mail_header.h"

/* The unfolded value of the first field called name in block h, in b. */
static bool field_text(const struct mail_headers *h, const char *name, struct buf *b)
{
    const struct mail_field *f = mail_headers_find(h, name, NULL);
    buf_reset(b);
    if (f == NULL)
        return false;
    mail_field_unfold(f->value, b);
    return b->len > 0;
}

/* Drops an "address-type;" / "diagnostic-type;" / "mta-name-type;" prefix. */
static const char *after_type(const char *s, size_t *n)
{
    const char *semi = memchr(s, ';', *n);
    if (semi == NULL || semi - s > 16)
        return s;
    for (const char *p = s; p < semi; p++)
        if (*p == ' ' || *p == '@')
            return s;
    *n -= (size_t)(semi + 1 - s);
    s = semi + 1;
    while (*n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    return s;
}

/* A status is vague when it is X.0.0 or absent. */
static bool status_vague(const char *st)
{
    return st == NULL || strcmp(st + 1, ".0.0") == 0;
}

static const char *action_from_status(const char *st)
{
    if (st == NULL)
        return "failed";
    switch (st[0]) {
    case '2': return "delivered";
    case '4': return "delayed";
    default: return "failed";
    }
}

static void read_recipient(const struct mail_headers *h, struct inbound_rcpt *rc, struct buf *b, const char *addr)
{
    inbound_set(&rc->recipient, addr, strlen(addr), 0);
    char other[BOUNCE_ADDR_MAX];
    if (field_text(h, "Original-Recipient", b) && bounce_scan_clean_address(b->data, b->len, other))
        inbound_set(&rc->original_recipient, other, strlen(other), 0);
    char st[BOUNCE_STATUS_MAX];
    if (field_text(h, "Status", b) && bounce_scan_status(b->data, b->len, st) == 0)
        inbound_set(&rc->status, st, strlen(st), 0);
    if (field_text(h, "Diagnostic-Code", b) || field_text(h, "X-Diagnostic-Code", b)) {
        size_t n = b->len;
        const char *text = after_type(b->data, &n);
        rc->local_mailer = b->len >= 7 && strncasecmp(b->data, "x-unix;", 7) == 0;
        inbound_set(&rc->diagnostic, text, n, INBOUND_TEXT_MAX);
        rc->smtp_code = bounce_scan_smtp_code(text, n);
        char diag_st[BOUNCE_STATUS_MAX];
        if (bounce_scan_status(text, n, diag_st) >= 0 && status_vague(rc->status) &&
            (rc->status == NULL || rc->status[0] == diag_st[0]))
            inbound_set(&rc->status, diag_st, strlen(diag_st), 0);
    }
    /* Sendmail's X-Actual-Recipient names the local program or file the
     * address expanded to ("|exec procmail ...", "/var/mail/x") */
    if (field_text(h, "X-Actual-Recipient", b)) {
        size_t n = b->len;
        const char *actual = after_type(b->data, &n);
        if (n > 0 && (actual[0] == '|' || actual[0] == '/'))
            rc->local_mailer = true;
    }
    if (field_text(h, "Remote-MTA", b)) {
        size_t n = b->len;
        const char *host = after_type(b->data, &n);
        inbound_set(&rc->remote_mta, host, n, 255);
    }
    if (field_text(h, "Action", b)) {
        for (size_t i = 0; i < b->len; i++)
            b->data[i] = (char)((b->data[i] >= 'A' && b->data[i] <= 'Z') ? b->data[i] + 32 : b->data[i]);
        size_t n = strcspn(b->data, " \t(");
        inbound_set(&rc->action, b->data, n, 32);
    } else {
        const char *a = action_from_status(rc->status);
        inbound_set(&rc->action, a, strlen(a), 0);
    }
}

size_t bounce_dsn_read(const char *body, size_t n, const struct mail_limits *limits, struct inbound_report *r)
{
    struct mail_field_blocks blocks;
    struct mail_error_info err;
    memset(&blocks, 0, sizeof(blocks));
    if (mail_field_blocks_parse(body, n, limits, &blocks, &err) != MAIL_OK) {
        mail_field_blocks_free(&blocks);
        return 0;
    }
    struct buf b;
    buf_init(&b, INBOUND_TEXT_MAX * 2);
    size_t added = 0;
    for (size_t i = 0; i < blocks.nblocks; i++) {
        const struct mail_headers *h = &blocks.blocks[i];
        if (r->reporting_mta == NULL && field_text(h, "Reporting-MTA", &b)) {
            size_t len = b.len;
            const char *host = after_type(b.data, &len);
            inbound_set(&r->reporting_mta, host, len, 255);
        }
        if (r->arrival_date == NULL && field_text(h, "Arrival-Date", &b))
            inbound_set(&r->arrival_date, b.data, b.len, 128);
        char addr[BOUNCE_ADDR_MAX];
        bool have = (field_text(h, "Final-Recipient", &b) && bounce_scan_clean_address(b.data, b.len, addr)) ||
                    (field_text(h, "Original-Recipient", &b) && bounce_scan_clean_address(b.data, b.len, addr)) ||
                    (field_text(h, "X-Actual-Recipient", &b) && bounce_scan_clean_address(b.data, b.len, addr));
        if (!have || inbound_rcpt_find(r, addr) != NULL)
            continue;
        struct inbound_rcpt *rc = inbound_rcpt_add(r);
        if (rc == NULL)
            break;
        read_recipient(h, rc, &b, addr);
        added++;
    }
    buf_free(&b);
    mail_field_blocks_free(&blocks);
    return added;
}
