/*
 * fuzz_mime.c - libFuzzer target for the MIME walker and its helpers.
 *
 * Walks the input with small limits (depth 6, 60 parts) so that nesting
 * and part-count limits are reached, checks structural invariants of
 * every part (views inside the message or decoded memory, parent before
 * child, depth bound), decodes every leaf body, looks up parameters, and
 * parses DSN/ARF field blocks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mail_header.h"
#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static bool inside(const char *msg, size_t len, struct mail_view v)
{
    return v.len == 0 || (v.ptr >= msg && v.ptr + v.len <= msg + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mail_limits lim = MAIL_LIMITS_INIT;
    const char *msg = (const char *)data;
    struct mime_walker *w;
    const struct mime_part *p;
    enum mime_status st;
    size_t n = 0;

    lim.max_mime_depth = 6;
    lim.max_mime_parts = 60;
    lim.max_boundary_len = 70;
    w = mime_walker_new(msg, size, &lim);
    while ((st = mime_next(w, &p)) == MIME_PART) {
        struct buf b;
        check(p->index == n++);
        check(p->depth <= lim.max_mime_depth);
        check(p->index == 0 ? p->parent == (size_t)-1 : p->parent < p->index);
        if (!(p->flags & MIME_F_IN_DECODED)) {
            check(inside(msg, size, p->body));
            check(inside(msg, size, p->header_raw));
            check(p->header_raw.len == 0 || p->header_raw.ptr + p->header_raw.len == p->body.ptr);
        }
        check(strlen(p->type) > 0 && strlen(p->subtype) > 0);
        buf_init(&b, 0);
        check(mime_part_decode(p, &b) != -1);
        check(b.len <= p->body.len);
        buf_reset(&b);
        mime_param_get(p->params, "charset", &b);
        buf_free(&b);
        if (p->kind == MIME_KIND_FIELD_BLOCKS) {
            struct mail_field_blocks fb;
            mail_field_blocks_parse(p->body.ptr, p->body.len, &lim, &fb, NULL);
            mail_field_blocks_free(&fb);
        }
    }
    check(st == MIME_DONE || mime_error(w)->code != MAIL_OK);
    check(n <= lim.max_mime_parts);
    mime_walker_free(w);
    return 0;
}
