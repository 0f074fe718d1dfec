/*
 * fbl_arf.c - the message/feedback-report fields (see fbl_arf.h).
 */
#include "fbl_arf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mail_header.h"

static const struct {
    const char *name;
    const char *type;
} arf_types[] = {
    { "abuse", "abuse" },
    { "fraud", "fraud" },
    { "virus", "virus" },
    { "other", "other" },
    { "not-spam", "not-spam" },
    { "auth-failure", "auth-failure" },
    { "opt-out", "unsubscribe" },
    { "opt-out-list", "unsubscribe" },
    { "unsubscribe", "unsubscribe" },
};

const char *fbl_arf_type(const char *value, size_t n)
{
    size_t i = 0, len;
    while (i < n && (value[i] == ' ' || value[i] == '\t' || value[i] == '\r' || value[i] == '\n'))
        i++;
    for (len = 0; i + len < n; len++) {
        char c = value[i + len];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            break;
    }
    for (size_t k = 0; k < sizeof(arf_types) / sizeof(arf_types[0]); k++)
        if (strlen(arf_types[k].name) == len && strncasecmp(value + i, arf_types[k].name, len) == 0)
            return arf_types[k].type;
    return "other";
}

enum inbound_kind fbl_arf_kind(const char *type)
{
    return type != NULL && strcmp(type, "auth-failure") == 0 ? INBOUND_AUTHFAIL : INBOUND_COMPLAINT;
}

struct inbound_rcpt *fbl_arf_rcpt_add(struct inbound_report *r, const char *addr, const struct fbl_arf *arf,
                                      const char *type)
{
    struct inbound_rcpt *rc = inbound_rcpt_add(r);
    if (rc == NULL)
        return NULL;
    if (arf != NULL && arf->type != NULL)
        type = arf->type;
    if (addr != NULL)
        inbound_set(&rc->recipient, addr, strlen(addr), 0);
    if (type != NULL)
        inbound_set(&rc->feedback_type, type, strlen(type), 0);
    if (arf != NULL && arf->auth_failure[0] != '\0') {
        struct buf d;
        buf_init(&d, 0);
        buf_printf(&d, "auth-failure: %s", arf->auth_failure);
        inbound_set(&rc->diagnostic, d.data, d.len, 0);
        buf_free(&d);
    }
    return rc;
}

/* An IP literal as reporters write it ("192.0.2.1", "[2001:db8::1]"): only
 * hex digits, '.' and ':' are kept, so the value is safe in a Redis key. */
static void set_ip(char **field, const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t' || *s == '['))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == ']'))
        n--;
    if (n == 0 || n > 45) /* INET6_ADDRSTRLEN - 1 */
        return;
    bool dot = false, colon = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.')
            dot = true;
        else if (c == ':')
            colon = true;
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return;
    }
    if (dot || colon)
        inbound_set(field, s, n, 0);
}

static void set_once(char **field, const char *s, size_t n)
{
    if (*field == NULL)
        inbound_set(field, s, n, 0);
}

static void copy_small(char *out, size_t size, const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
    out[n] = '\0';
}

static unsigned long parse_count(const char *s, size_t n)
{
    unsigned long v = 0;
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > 100000000UL) /* absurd: keep the bound, not the number */
            return v;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v;
}

/* A recipient field (Original-Rcpt-To, Removal-Recipient). */
static size_t add_rcpt(struct inbound_report *r, struct fbl_arf *arf, const char *s, size_t n)
{
    char addr[FBL_ADDR_MAX];
    if (!fbl_addr_clean(s, n, addr))
        return 0;
    if (fbl_addr_redacted(addr, &arf->red)) {
        arf->redacted_rcpts++;
        return 0;
    }
    if (inbound_rcpt_find(r, addr) != NULL)
        return 0;
    return fbl_arf_rcpt_add(r, addr, arf, "other") != NULL ? 1 : 0;
}

static void read_field(const struct mail_field *f, const char *v, size_t n, bool whole, struct inbound_report *r,
                       struct fbl_arf *arf)
{
    char addr[FBL_ADDR_MAX];
    if (mail_view_eq_ci(f->name, "Feedback-Type")) {
        if (r->feedback_type == NULL) {
            inbound_set(&r->feedback_type, v, n, 64);
            arf->type = fbl_arf_type(v, n);
        }
    } else if (mail_view_eq_ci(f->name, "User-Agent")) {
        set_once(&r->user_agent, v, n);
    } else if (mail_view_eq_ci(f->name, "Original-Mail-From")) {
        if (whole && r->original_mail_from == NULL && fbl_addr_clean(v, n, addr))
            inbound_set(&r->original_mail_from, addr, strlen(addr), 0);
    } else if (mail_view_eq_ci(f->name, "Arrival-Date")) {
        inbound_set(&r->arrival_date, v, n, 0);
    } else if (mail_view_eq_ci(f->name, "Received-Date")) {
        set_once(&r->arrival_date, v, n);
    } else if (mail_view_eq_ci(f->name, "Source-IP")) {
        if (r->source_ip == NULL)
            set_ip(&r->source_ip, v, n);
    } else if (mail_view_eq_ci(f->name, "Reported-Domain")) {
        set_once(&r->reported_domain, v, n);
    } else if (mail_view_eq_ci(f->name, "Reporting-MTA")) {
        struct mail_view type, rest;
        if (mail_field_typed(mail_view_make(v, n), &type, &rest))
            set_once(&r->reporting_mta, rest.ptr, rest.len);
        else
            set_once(&r->reporting_mta, v, n);
    } else if (mail_view_eq_ci(f->name, "Authentication-Results")) {
        set_once(&r->auth_results, v, n);
    } else if (mail_view_eq_ci(f->name, "Incidents")) {
        r->incidents = parse_count(v, n);
    } else if (mail_view_eq_ci(f->name, "Reported-URI")) {
        arf->reported_uris++;
    } else if (mail_view_eq_ci(f->name, "DKIM-Domain")) {
        size_t k = 0;
        while (k < n && v[k] != ';' && v[k] != ',' && v[k] != ' ')
            k++;
        set_once(&r->original.dkim_domain, v, k);
    } else if (mail_view_eq_ci(f->name, "Auth-Failure")) {
        if (arf->auth_failure[0] == '\0')
            copy_small(arf->auth_failure, sizeof(arf->auth_failure), v, n);
    }
}

static bool is_rcpt_field(const struct mail_field *f)
{
    return mail_view_eq_ci(f->name, "Original-Rcpt-To") || mail_view_eq_ci(f->name, "Removal-Recipient");
}

size_t fbl_arf_read(const char *body, size_t n, const struct mail_limits *limits, struct inbound_report *r,
                    struct fbl_arf *arf)
{
    struct mail_field_blocks fb;
    struct mail_error_info err;
    struct buf v;
    size_t added = 0;
    memset(&fb, 0, sizeof(fb));
    mail_field_blocks_parse(body, n, limits, &fb, &err); /* on a limit: the fields before it count */
    buf_init(&v, limits->max_field_size);                /* a field the parser let through unfolds whole */
    arf->seen = true;
    /* Two passes: the type and the placeholders a report declares must be
     * known before its recipients are added, wherever they stand. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t b = 0; b < fb.nblocks; b++) {
            const struct mail_headers *h = &fb.blocks[b];
            for (size_t i = 0; i < h->nfields; i++) {
                const struct mail_field *f = &h->fields[i];
                bool red = mail_view_eq_ci(f->name, "Redacted-Address");
                bool rcpt = is_rcpt_field(f);
                if (pass == 0 && !red && rcpt)
                    continue;
                if (pass == 1 && !rcpt)
                    continue;
                buf_reset(&v);
                bool whole = mail_field_unfold(f->value, &v) == 0;
                const char *s = v.data ? v.data : "";
                if (!whole && (red || rcpt))
                    continue; /* a cut address could name someone else */
                if (red)
                    fbl_addr_redaction_add(&arf->red, s, v.len);
                else if (rcpt)
                    added += add_rcpt(r, arf, s, v.len);
                else
                    read_field(f, s, v.len, whole, r, arf);
            }
        }
    }
    buf_free(&v);
    mail_field_blocks_free(&fb);
    return added;
}
