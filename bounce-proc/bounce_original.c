/*
 * bounce_original.c - the returned original's identity (see bounce_original.h).
 */
#include "bounce_original.h"

#include <string.h>
#include <strings.h>

#include "buf.h"

#define ORIGINAL_FIELD_MAX 4096

static void set_once(char **field, const struct mail_field *f)
{
    if (*field != NULL || f == NULL)
        return;
    struct buf b;
    buf_init(&b, ORIGINAL_FIELD_MAX);
    mail_field_unfold(f->value, &b);
    inbound_set(field, b.data, b.len, 0);
    buf_free(&b);
}

static void set_address_once(char **field, const struct mail_field *f)
{
    if (*field != NULL || f == NULL)
        return;
    char addr[BOUNCE_ADDR_MAX];
    size_t pos = 0;
    if (bounce_scan_address(f->value.ptr, f->value.len, &pos, addr) > 0)
        inbound_set(field, addr, strlen(addr), 0);
}

/* The value of tag name ("d", "q") in a "tag=value; tag=value" list. */
static void tag_value(const char *s, size_t n, const char *name, char **field)
{
    size_t nl = strlen(name);
    size_t i = 0;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n' || s[i] == ';'))
            i++;
        size_t start = i;
        while (i < n && s[i] != ';')
            i++;
        if (i - start > nl && strncasecmp(s + start, name, nl) == 0) {
            size_t k = start + nl;
            while (k < i && (s[k] == ' ' || s[k] == '\t'))
                k++;
            if (k < i && s[k] == '=') {
                inbound_set(field, s + k + 1, i - k - 1, 255);
                return;
            }
        }
    }
}

void bounce_original_read(const struct mail_headers *h, struct inbound_report *r, char to_out[BOUNCE_ADDR_MAX])
{
    struct inbound_original *o = &r->original;
    set_once(&o->message_id, mail_headers_find(h, "Message-ID", NULL));
    set_once(&o->subject, mail_headers_find(h, "Subject", NULL));
    set_address_once(&o->from, mail_headers_find(h, "From", NULL));
    set_address_once(&o->return_path, mail_headers_find(h, "Return-Path", NULL));
    const struct mail_field *trace = mail_headers_find(h, "X-Postflow-Trace", NULL);
    if (o->trace == NULL && trace != NULL) {
        set_once(&o->trace, trace);
        if (o->queue_id == NULL && o->trace != NULL)
            tag_value(o->trace, strlen(o->trace), "q", &o->queue_id);
    }
    const struct mail_field *dkim = mail_headers_find(h, "DKIM-Signature", NULL);
    if (o->dkim_domain == NULL && dkim != NULL)
        tag_value(dkim->value.ptr, dkim->value.len, "d", &o->dkim_domain);
    to_out[0] = '\0';
    const struct mail_field *to = mail_headers_find(h, "To", NULL);
    if (to != NULL) {
        size_t pos = 0;
        if (bounce_scan_address(to->value.ptr, to->value.len, &pos, to_out) == 0)
            to_out[0] = '\0';
    }
}

/* The offset of the first header field line in text[0..n): the quoted
 * original usually follows its marker line and an empty line ("------ This
 * is a copy of the message ... ------", "Original message headers:"), which
 * would otherwise end the header section before it starts.  Looks at the
 * first few lines only; 0 when none of them is a field. */
static size_t first_field_line(const char *text, size_t n)
{
    size_t i = 0;
    for (int line = 0; line < 8 && i < n; line++) {
        size_t j = i;
        while (j < n && text[j] > ' ' && text[j] < 0x7f && text[j] != ':')
            j++;
        if (j > i && j < n && text[j] == ':')
            return i;
        while (i < n && text[i] != '\n')
            i++;
        i++;
    }
    return 0;
}

void bounce_original_read_text(const char *text, size_t n, const struct mail_limits *limits, struct inbound_report *r,
                               char to_out[BOUNCE_ADDR_MAX])
{
    size_t start = first_field_line(text, n);
    text += start;
    n -= start;
    struct mail_headers h;
    size_t skipped = 0;
    struct mail_error_info err;
    to_out[0] = '\0';
    memset(&h, 0, sizeof(h));
    if (mail_headers_parse_lenient(text, n, limits, &h, &skipped, &err) == MAIL_OK)
        bounce_original_read(&h, r, to_out);
    mail_headers_free(&h);
}
