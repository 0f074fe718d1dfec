/*
 * fbl_parse.c - one inbound message read as a feedback-loop report (see
 * fbl_parse.h): the MIME walk and the decision between the formats.
 *
 * DESCRIPTION
 *	One walk collects what the formats are made of: the top-level header
 *	(From, Subject, X-Apple-Unsubscribe, multipart/report or not), the
 *	first message/feedback-report part (fbl_arf.c), any
 *	message/delivery-status part (which makes the message a bounce, not a
 *	report of ours), the returned original (fbl_original.c: the child of
 *	message/rfc822 or text/rfc822-headers, or a text/rfc822-header leaf as
 *	some reporters misname it), and the first text part that holds a JSON
 *	object.  The returned original of an ARF report is the one beside its
 *	feedback-report part (same parent): when an ARF report arrives
 *	forwarded as an attachment, the first enclosed message is the report
 *	itself, and is forgotten when its feedback part turns up deeper.
 *	Then, in order:
 *	  1. a delivery-status part: not ours (UNRECOGNIZED);
 *	  2. a feedback-report part: ARF, kind by Feedback-Type;
 *	  3. the JMRP / Hotmail layout (fbl_provider.c);
 *	  4. an SES complaint notification (fbl_ses.c);
 *	  5. an unsubscribe request (fbl_provider.c);
 *	  6. otherwise not a report.
 */
#include "fbl_parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "fbl_addr.h"
#include "fbl_arf.h"
#include "fbl_original.h"
#include "fbl_provider.h"
#include "fbl_ses.h"
#include "mail_header.h"
#include "mime.h"
#include "xalloc.h"

#define JSON_PART_MAX  (1024 * 1024) /* a JSON notification body kept for reading */
#define FEEDBACK_MAX   (1024 * 1024) /* a decoded feedback-report body */
#define WALK_PARTS_MAX 4096          /* parts whose parent is remembered */
#define NO_PART        ((size_t)-1)

struct walk {
    struct fbl_top top;
    struct fbl_arf arf;
    struct fbl_original_rcpt orig;
    size_t orig_holder;     /* the multipart holding the original read */
    size_t feedback_holder; /* the multipart holding the feedback part */
    bool dsn;
    struct buf json;
    bool have_json;
    size_t parent[WALK_PARTS_MAX];
    unsigned char kind[WALK_PARTS_MAX];
};

/* Unfolds the field into b; false when absent or cut at b's limit. */
static bool unfold_into(const struct mail_headers *h, const char *name, struct buf *b)
{
    const struct mail_field *f = mail_headers_find(h, name, NULL);
    buf_reset(b);
    return f != NULL && mail_field_unfold(f->value, b) == 0;
}

static void read_top(const struct mime_part *p, struct fbl_top *top)
{
    struct buf b;
    buf_init(&b, 4096);
    if (unfold_into(&p->headers, "From", &b))
        fbl_addr_clean(b.data, b.len, top->from);
    (void)unfold_into(&p->headers, "Subject", &b); /* cut: compared whole, so no match */
    size_t n = b.len < sizeof(top->subject) - 1 ? b.len : sizeof(top->subject) - 1;
    if (n > 0)
        memcpy(top->subject, b.data, n);
    top->subject[n] = '\0';
    top->apple_unsubscribe =
        unfold_into(&p->headers, "X-Apple-Unsubscribe", &b) && b.len == 4 && strncasecmp(b.data, "true", 4) == 0;
    top->multipart = p->kind == MIME_KIND_MULTIPART;
    top->multipart_report = top->multipart && strcmp(p->subtype, "report") == 0;
    buf_free(&b);
}

/* The body of p, transfer-decoded, into out (cleared first). */
static void decoded(const struct mime_part *p, struct buf *out)
{
    buf_reset(out);
    if (p->cte == MIME_CTE_BASE64 || p->cte == MIME_CTE_QP)
        mime_part_decode(p, out); /* a bad byte or the limit: what decoded before it is read */
    else
        buf_append(out, p->body.ptr, p->body.len);
}

static size_t holder_of(const struct walk *w, size_t index)
{
    return index < WALK_PARTS_MAX ? w->parent[index] : NO_PART;
}

/* May an original found in holder be the report's? */
static bool original_wanted(const struct walk *w, size_t holder)
{
    if (w->orig.seen)
        return false;
    return !w->arf.seen || holder == w->feedback_holder;
}

static void visit_feedback(const struct mime_part *p, struct inbound_report *r, const struct inbound_parse_ctx *ctx,
                           struct walk *w)
{
    if (w->arf.seen)
        return; /* one report per message: the first feedback part is it */
    struct buf body;
    buf_init(&body, FEEDBACK_MAX);
    decoded(p, &body);
    fbl_arf_read(body.data ? body.data : "", body.len, ctx->limits, r, &w->arf);
    buf_free(&body);
    w->feedback_holder = p->parent;
    if (w->orig.seen && w->orig_holder != w->feedback_holder)
        fbl_original_forget(r, &w->orig);
}

static bool is_json_candidate(const struct mime_part *p)
{
    if (p->kind != MIME_KIND_LEAF || p->depth > 1)
        return false;
    return (strcmp(p->type, "text") == 0 && strcmp(p->subtype, "plain") == 0) ||
           (strcmp(p->type, "application") == 0 && strcmp(p->subtype, "json") == 0);
}

static void visit_json(const struct mime_part *p, struct walk *w)
{
    decoded(p, &w->json);
    size_t i = 0;
    while (i < w->json.len &&
           (w->json.data[i] == ' ' || w->json.data[i] == '\r' || w->json.data[i] == '\n' || w->json.data[i] == '\t'))
        i++;
    w->have_json = i < w->json.len && w->json.data[i] == '{';
}

static void visit(const struct mime_part *p, struct inbound_report *r, const struct inbound_parse_ctx *ctx,
                  struct walk *w)
{
    if (p->index < WALK_PARTS_MAX) {
        w->parent[p->index] = p->parent;
        w->kind[p->index] = (unsigned char)p->kind;
    }
    if (p->index == 0)
        read_top(p, &w->top);
    if (p->kind == MIME_KIND_FIELD_BLOCKS) {
        if (strcmp(p->subtype, "feedback-report") == 0)
            visit_feedback(p, r, ctx, w);
        else
            w->dsn = true; /* delivery-status, global-delivery-status */
        return;
    }
    size_t container = p->parent;
    if (p->depth > 0 && container < WALK_PARTS_MAX &&
        (w->kind[container] == MIME_KIND_MESSAGE || w->kind[container] == MIME_KIND_HEADERS)) {
        size_t holder = holder_of(w, container);
        if (original_wanted(w, holder)) {
            fbl_original_read(&p->headers, r, &w->orig);
            w->orig_holder = holder;
        }
        return;
    }
    if (p->kind == MIME_KIND_LEAF && p->depth > 0 && strcmp(p->type, "text") == 0 &&
        strcmp(p->subtype, "rfc822-header") == 0 && original_wanted(w, p->parent)) {
        struct buf text;
        buf_init(&text, ctx->limits->max_header_size);
        decoded(p, &text);
        fbl_original_read_text(text.data ? text.data : "", text.len, ctx->limits, r, &w->orig);
        w->orig_holder = p->parent;
        buf_free(&text);
        return;
    }
    if (!w->have_json && is_json_candidate(p))
        visit_json(p, w);
}

/* The recipient of an ARF report that names none we may believe: the
 * original's own word for it, unless redacted. */
static const char *arf_fallback_rcpt(const struct walk *w)
{
    const char *c[] = { w->orig.hotmail, w->orig.to };
    for (size_t i = 0; i < 2; i++)
        if (c[i][0] != '\0' && !fbl_addr_redacted(c[i], &w->arf.red))
            return c[i];
    return NULL;
}

static void decide(struct inbound_report *r, struct walk *w)
{
    r->kind = INBOUND_UNRECOGNIZED;
    if (w->dsn)
        return;
    if (w->arf.seen) {
        const char *type = w->arf.type != NULL ? w->arf.type : "other";
        r->kind = fbl_arf_kind(type);
        r->format = "arf";
        if (r->nrcpts == 0)
            fbl_arf_rcpt_add(r, arf_fallback_rcpt(w), &w->arf, type);
        return;
    }
    if (fbl_provider_is_jmrp(&w->top, &w->orig)) {
        fbl_provider_jmrp(r, &w->orig);
        return;
    }
    if (w->have_json && fbl_ses_read(w->json.data, w->json.len, r))
        return;
    if (fbl_provider_is_unsubscribe(&w->top))
        fbl_provider_unsubscribe(r, &w->top);
}

/* Drops what a walk left in r when the message is no report after all. */
static void reset_unrecognized(struct inbound_report *r)
{
    size_t limit = r->rcpt_limit;
    inbound_report_free(r);
    r->rcpt_limit = limit;
}

/* CR-only mail (old Mac files): the first line ending is a bare CR. */
static bool bare_cr_endings(const char *msg, size_t len)
{
    const char *cr = memchr(msg, '\r', len);
    if (cr == NULL)
        return false;
    const char *lf = memchr(msg, '\n', (size_t)(cr - msg));
    return lf == NULL && (cr + 1 == msg + len || cr[1] != '\n');
}

int fbl_parse(const char *msg, size_t len, const struct inbound_parse_ctx *ctx, struct inbound_report *out)
{
    struct buf fixed;
    buf_init(&fixed, 0);
    if (bare_cr_endings(msg, len)) {
        mail_fix_bare_cr(msg, len, &fixed);
        msg = fixed.data ? fixed.data : "";
        len = fixed.len;
    }
    size_t skip = mail_skip_mbox_from(msg, len);
    struct mime_walker *mw = mime_walker_new(msg + skip, len - skip, ctx->limits);
    if (mw == NULL) {
        buf_free(&fixed);
        return -1;
    }
    struct walk *w = xcalloc(1, sizeof(*w)); /* ~40 KiB: not for the stack */
    buf_init(&w->json, JSON_PART_MAX);
    w->orig_holder = w->feedback_holder = NO_PART;
    const struct mime_part *p;
    while (mime_next(mw, &p) == MIME_PART) /* on a limit: decide on what was seen */
        visit(p, out, ctx, w);
    decide(out, w);
    if (out->kind == INBOUND_UNRECOGNIZED)
        reset_unrecognized(out);
    buf_free(&w->json);
    free(w);
    mime_walker_free(mw);
    buf_free(&fixed);
    return 0;
}
