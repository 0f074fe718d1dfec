/*
 * fbl_ses.c - Amazon SES complaint notifications (see fbl_ses.h).
 *
 * DESCRIPTION
 *	Two walks over the JSON: the first finds what the object is (its
 *	notificationType, or the SNS envelope's Message), the second reads a
 *	complaint's fields; JSON members come in any order, so the kind cannot
 *	be known before the fields are met.
 */
#include "fbl_ses.h"

#include <string.h>

#include "buf.h"
#include "fbl_addr.h"
#include "fbl_arf.h"
#include "fbl_json.h"
#include "mail_header.h"

#define SES_MESSAGE_MAX (1024 * 1024) /* the SNS Message string, unescaped */
#define SES_STRING_MAX  4096

struct probe {
    bool complaint;
    bool envelope;            /* SNS "Type":"Notification" */
    struct mail_view message; /* SNS "Message", raw */
};

static bool raw_is(struct mail_view v, const char *s)
{
    return v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0;
}

static void probe_value(const struct fbl_json_value *v, void *arg)
{
    struct probe *p = arg;
    if (v->type != FBL_JSON_STRING || v->depth != 1)
        return;
    if (fbl_json_path_is(v, "notificationType") && raw_is(v->raw, "Complaint"))
        p->complaint = true;
    else if (fbl_json_path_is(v, "Type") && raw_is(v->raw, "Notification"))
        p->envelope = true;
    else if (fbl_json_path_is(v, "Message"))
        p->message = v->raw;
}

struct collect {
    struct inbound_report *r;
    struct buf s;      /* scratch: one unescaped string */
    const char *type;  /* normalised complaintFeedbackType */
    size_t header_obj; /* the mail.headers[] element being read */
    struct mail_view header_name, header_value;
};

static const char *unescaped(struct collect *c, struct mail_view raw)
{
    buf_reset(&c->s);
    if (fbl_json_unescape(raw, &c->s) != 0 && c->s.len == 0)
        return NULL;
    return c->s.data ? c->s.data : "";
}

/* "d" tag of a DKIM-Signature value. */
static void dkim_domain(struct inbound_report *r, const char *v)
{
    const char *p = v;
    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        if (p[0] == 'd' && (p[1] == '=' || p[1] == ' ')) {
            const char *q = strchr(p, '=');
            if (q == NULL)
                return;
            q++;
            size_t n = strcspn(q, ";");
            inbound_set(&r->original.dkim_domain, q, n, 255);
            return;
        }
        p = strchr(p, ';');
    }
}

static void header_pair(struct collect *c)
{
    struct inbound_report *r = c->r;
    struct inbound_original *o = &r->original;
    struct mail_view name = c->header_name;
    char addr[FBL_ADDR_MAX];
    const char *v = unescaped(c, c->header_value);
    if (v == NULL)
        return;
    if (mail_view_eq_ci(name, "Message-ID") && o->message_id == NULL)
        inbound_set(&o->message_id, v, c->s.len, 0);
    else if (mail_view_eq_ci(name, "X-Postflow-Trace") && o->trace == NULL)
        inbound_set(&o->trace, v, c->s.len, 0);
    else if (mail_view_eq_ci(name, "Subject") && o->subject == NULL)
        inbound_set(&o->subject, v, c->s.len, 0);
    else if (mail_view_eq_ci(name, "From") && o->from == NULL && fbl_addr_clean(v, c->s.len, addr))
        inbound_set(&o->from, addr, strlen(addr), 0);
    else if (mail_view_eq_ci(name, "DKIM-Signature") && o->dkim_domain == NULL)
        dkim_domain(r, v);
}

static void collect_value(const struct fbl_json_value *v, void *arg)
{
    struct collect *c = arg;
    struct inbound_report *r = c->r;
    char addr[FBL_ADDR_MAX];
    const char *s;
    if (v->type != FBL_JSON_STRING)
        return;
    if (fbl_json_path_is(v, "complaint/complainedRecipients/*/emailAddress")) {
        if ((s = unescaped(c, v->raw)) != NULL && fbl_addr_clean(s, c->s.len, addr) && !fbl_addr_redacted(addr, NULL) &&
            inbound_rcpt_find(r, addr) == NULL)
            fbl_arf_rcpt_add(r, addr, NULL, NULL);
    } else if (fbl_json_path_is(v, "complaint/complaintFeedbackType")) {
        if ((s = unescaped(c, v->raw)) != NULL) {
            c->type = fbl_arf_type(s, c->s.len);
            inbound_set(&r->feedback_type, s, c->s.len, 64);
        }
    } else if (fbl_json_path_is(v, "complaint/userAgent")) {
        if ((s = unescaped(c, v->raw)) != NULL)
            inbound_set(&r->user_agent, s, c->s.len, 0);
    } else if (fbl_json_path_is(v, "complaint/arrivalDate")) {
        if ((s = unescaped(c, v->raw)) != NULL)
            inbound_set(&r->arrival_date, s, c->s.len, 0);
    } else if (fbl_json_path_is(v, "mail/source")) {
        if ((s = unescaped(c, v->raw)) != NULL && fbl_addr_clean(s, c->s.len, addr))
            inbound_set(&r->original_mail_from, addr, strlen(addr), 0);
    } else if (fbl_json_path_is(v, "mail/commonHeaders/messageId")) {
        if (r->original.message_id == NULL && (s = unescaped(c, v->raw)) != NULL)
            inbound_set(&r->original.message_id, s, c->s.len, 0);
    } else if (fbl_json_path_is(v, "mail/headers/*/name") || fbl_json_path_is(v, "mail/headers/*/value")) {
        bool is_name = v->path[v->depth - 1].len == 4;
        if (v->object != c->header_obj) {
            c->header_obj = v->object;
            c->header_name = c->header_value = mail_view_make(NULL, 0);
        }
        if (is_name)
            c->header_name = v->raw;
        else
            c->header_value = v->raw;
        if (c->header_name.ptr != NULL && c->header_value.ptr != NULL)
            header_pair(c);
    }
}

static bool read_notification(const char *text, size_t n, struct inbound_report *r, int level)
{
    struct probe p;
    memset(&p, 0, sizeof(p));
    if (fbl_json_walk(text, n, FBL_SES_VALUES_MAX, probe_value, &p) < 0)
        return false;
    if (!p.complaint) {
        if (!p.envelope || p.message.ptr == NULL || level > 0)
            return false;
        struct buf inner;
        buf_init(&inner, SES_MESSAGE_MAX);
        bool ok = fbl_json_unescape(p.message, &inner) == 0 &&
                  read_notification(inner.data ? inner.data : "", inner.len, r, level + 1);
        buf_free(&inner);
        return ok;
    }
    struct collect c;
    memset(&c, 0, sizeof(c));
    c.r = r;
    buf_init(&c.s, SES_STRING_MAX);
    fbl_json_walk(text, n, FBL_SES_VALUES_MAX, collect_value, &c);
    buf_free(&c.s);
    const char *type = c.type != NULL ? c.type : "abuse";
    for (size_t i = 0; i < r->nrcpts; i++)
        inbound_set(&r->rcpts[i].feedback_type, type, strlen(type), 0);
    if (r->nrcpts == 0)
        fbl_arf_rcpt_add(r, NULL, NULL, type);
    r->kind = fbl_arf_kind(type);
    r->format = "ses";
    return true;
}

/*
 * SNS mails the notification as one long line; a relay that enforces a line
 * length (sendmail's mailer L= limit) splits it by ending the line in "!"
 * and starting the next with a space, which puts a line break inside a JSON
 * string.  Such splits (a line of SPLIT_LINE_MIN bytes or more ending in
 * '!', the next starting with ' ') are undone into out.  Returns false when
 * there was none (out unused).
 */
#define SPLIT_LINE_MIN 900

static bool unsplit_long_lines(const char *s, size_t n, struct buf *out)
{
    size_t line = 0, copied = 0;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\n')
            continue;
        size_t end = i > line && s[i - 1] == '\r' ? i - 1 : i;
        if (end > line && end - line >= SPLIT_LINE_MIN && s[end - 1] == '!' && i + 1 < n && s[i + 1] == ' ') {
            buf_append(out, s + copied, end - 1 - copied);
            copied = i + 2;
            any = true;
        }
        line = i + 1;
    }
    if (any)
        buf_append(out, s + copied, n - copied);
    return any;
}

bool fbl_ses_read(const char *text, size_t n, struct inbound_report *r)
{
    size_t i = 0;
    while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    if (i >= n || text[i] != '{')
        return false;
    struct buf joined;
    buf_init(&joined, n);
    bool ok;
    if (unsplit_long_lines(text + i, n - i, &joined))
        ok = read_notification(joined.data, joined.len, r, 0);
    else
        ok = read_notification(text + i, n - i, r, 0);
    buf_free(&joined);
    return ok;
}
