/*
 * fuzz_mail_header.c - libFuzzer target for the header parsers.
 *
 * The first input byte picks a chunk size; the rest is the message.  The
 * incremental parser (pushed in chunks) and the whole-buffer parser must
 * agree exactly (same fields, same end or same error): any difference
 * aborts.  Every field value then goes through the address parser, the
 * RFC 2047 decoder and the unfolder, and the input through the DSN
 * field-block and lenient parsers, with small limits so that limit paths are reached.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "buf.h"
#include "codec.h"
#include "mail_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void exercise_value(struct mail_view v)
{
    struct address_list l;
    struct buf b;

    address_list_parse(v.ptr, v.len, NULL, &l, NULL);
    for (size_t i = 0; i < l.n; i++) {
        struct mail_view d;
        buf_init(&b, 0);
        check(address_normalize(&l.v[i], &b) == 0);
        if (b.len > 0)
            address_domain(b.data, b.len, &d);
        buf_free(&b);
    }
    address_list_free(&l);
    buf_init(&b, 4096);
    codec_rfc2047_decode(v.ptr, v.len, &b);
    buf_free(&b);
    buf_init(&b, 0);
    check(mail_field_unfold(v, &b) == 0);
    check(b.len <= v.len);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mail_limits lim = MAIL_LIMITS_INIT;
    struct mail_headers h;
    struct mail_error_info err;
    struct mail_header_parser *p;
    struct mhp_result r;
    enum mail_error rc;
    size_t chunk, off = 0, nf = 0;
    const char *msg;
    bool done = false;

    if (size < 1)
        return 0;
    chunk = (size_t)(data[0] % 17) + 1;
    msg = (const char *)data + 1;
    size--;
    lim.max_line = 200;
    lim.max_fields = 40;
    lim.max_field_size = 600;
    lim.max_header_size = 2000;

    rc = mail_headers_parse(msg, size, &lim, &h, &err);
    p = mhp_new(&lim);
    while (!done) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (n > 0) {
            check(mhp_push(p, msg + off, n) == MAIL_OK);
            off += n;
        } else {
            mhp_finish(p);
        }
        for (;;) {
            enum mhp_event ev = mhp_next(p, &r);
            if (ev == MHP_NEED_MORE) {
                check(n > 0);
                break;
            }
            if (ev == MHP_FIELD) {
                check(nf < h.nfields);
                check(r.field.offset == h.fields[nf].offset);
                check(r.field.raw.len == h.fields[nf].raw.len);
                check(memcmp(r.field.raw.ptr, msg + r.field.offset, r.field.raw.len) == 0);
                check(r.field.name.len == h.fields[nf].name.len);
                check(r.field.value.len == h.fields[nf].value.len);
                nf++;
                continue;
            }
            if (ev == MHP_END) {
                check(rc == MAIL_OK);
                check(r.body_offset == h.body_offset);
                check(r.has_separator == h.has_separator);
            } else {
                check(rc == r.error.code);
                check(err.offset == r.error.offset);
                check(err.line == r.error.line);
            }
            check(nf == h.nfields);
            done = true;
            break;
        }
    }
    mhp_free(p);
    for (size_t i = 0; i < h.nfields; i++)
        exercise_value(h.fields[i].value);
    size_t h_body_offset = h.body_offset, h_nfields = h.nfields;
    mail_headers_free(&h);

    size_t skipped;
    struct mail_headers lh;
    enum mail_error lrc = mail_headers_parse_lenient(msg, size, &lim, &lh, &skipped, NULL);
    check(lh.body_offset <= size);
    /* without syntax damage, lenient and strict parsing agree */
    if (rc == MAIL_OK && skipped == 0)
        check(lrc == MAIL_OK && lh.body_offset == h_body_offset && lh.nfields == h_nfields);
    mail_headers_free(&lh);

    struct mail_field_blocks fb;
    mail_field_blocks_parse(msg, size, &lim, &fb, NULL);
    for (size_t i = 0; i < fb.nblocks; i++)
        check(fb.blocks[i].nfields > 0);
    mail_field_blocks_free(&fb);
    return 0;
}
