/*
 * fbl_original.c - the returned original's identity (see fbl_original.h).
 */
#include "fbl_original.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

/* Unfolds f into b; false when it did not fit (b holds a prefix: enough
 * for text, which is cut anyway, never for an address). */
static bool unfolded(const struct mail_field *f, struct buf *b)
{
    buf_reset(b);
    return mail_field_unfold(f->value, b) == 0;
}

static void keep_first(char **field, const struct mail_headers *h, const char *name, struct buf *b)
{
    const struct mail_field *f = mail_headers_find(h, name, NULL);
    if (*field != NULL || f == NULL)
        return;
    (void)unfolded(f, b);
    inbound_set(field, b->data, b->len, 0);
}

static void keep_address(char **field, const struct mail_headers *h, const char *name, struct buf *b)
{
    const struct mail_field *f = mail_headers_find(h, name, NULL);
    char addr[FBL_ADDR_MAX];
    if (*field != NULL || f == NULL)
        return;
    if (unfolded(f, b) && fbl_addr_clean(b->data, b->len, addr))
        inbound_set(field, addr, strlen(addr), 0);
}

/* tag=value of a "tag=value; tag=value" list (DKIM-Signature, our trace). */
static void tag_value(const char *s, size_t n, const char *tag, char **field)
{
    size_t tl = strlen(tag), i = 0;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ';'))
            i++;
        size_t start = i;
        while (i < n && s[i] != ';')
            i++;
        size_t k = start + tl;
        if (i - start > tl && strncasecmp(s + start, tag, tl) == 0) {
            while (k < i && (s[k] == ' ' || s[k] == '\t'))
                k++;
            if (k < i && s[k] == '=') {
                inbound_set(field, s + k + 1, i - k - 1, 255);
                return;
            }
        }
    }
}

static void offer(const struct mail_headers *h, const char *name, char out[FBL_ADDR_MAX], struct buf *b)
{
    const struct mail_field *f = mail_headers_find(h, name, NULL);
    out[0] = '\0';
    if (f == NULL)
        return;
    if (unfolded(f, b))
        fbl_addr_clean(b->data, b->len, out);
}

void fbl_original_read(const struct mail_headers *h, struct inbound_report *r, struct fbl_original_rcpt *rc)
{
    struct inbound_original *o = &r->original;
    struct buf b;
    buf_init(&b, 0); /* bounded by the header parser's max_field_size */
    keep_first(&o->message_id, h, "Message-ID", &b);
    keep_first(&o->subject, h, "Subject", &b);
    keep_address(&o->from, h, "From", &b);
    keep_address(&o->return_path, h, "Return-Path", &b);
    if (o->trace == NULL) {
        keep_first(&o->trace, h, "X-Postflow-Trace", &b);
        if (o->trace != NULL && o->queue_id == NULL)
            tag_value(o->trace, strlen(o->trace), "q", &o->queue_id);
    }
    const struct mail_field *dkim = mail_headers_find(h, "DKIM-Signature", NULL);
    if (o->dkim_domain == NULL && dkim != NULL) {
        if (unfolded(dkim, &b)) /* a cut list could cut d= */
            tag_value(b.data, b.len, "d", &o->dkim_domain);
    }
    if (!rc->seen) {
        offer(h, "To", rc->to, &b);
        offer(h, "X-HmXmrOriginalRecipient", rc->hotmail, &b);
        rc->hotmail_field = mail_headers_find(h, "X-HmXmrOriginalRecipient", NULL) != NULL;
        rc->seen = true;
    }
    buf_free(&b);
}

void fbl_original_read_text(const char *text, size_t n, const struct mail_limits *limits, struct inbound_report *r,
                            struct fbl_original_rcpt *rc)
{
    struct mail_headers h;
    struct mail_error_info err;
    memset(&h, 0, sizeof(h));
    if (mail_headers_parse_lenient(text, n, limits, &h, NULL, &err) == MAIL_OK)
        fbl_original_read(&h, r, rc);
    mail_headers_free(&h);
}

void fbl_original_forget(struct inbound_report *r, struct fbl_original_rcpt *rc)
{
    struct inbound_original *o = &r->original;
    char **fields[] = {
        &o->message_id, &o->trace, &o->queue_id, &o->from, &o->return_path, &o->subject, &o->dkim_domain
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
    memset(rc, 0, sizeof(*rc));
}
