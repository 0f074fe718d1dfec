/*
 * fuzz_dkim_canon.c - libFuzzer target for milter-dkim's byte parsers:
 * header and body canonicalization (both modes, the body in chunks whose
 * sizes come from the input), header selection, From mailbox scanning and
 * trace-header verification.  Checks invariants too: the body result must
 * not depend on how the body was split, relaxed output has no WSP before
 * CRLF, and simple output ends with CRLF.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_canon.h"
#include "dkim_sign.h"
#include "from_domain.h"
#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct acc {
    unsigned char *p;
    size_t len, cap;
};

static void acc_sink(void *arg, const void *d, size_t n)
{
    struct acc *a = arg;
    if (a->len + n > a->cap) {
        a->cap = (a->len + n) * 2;
        a->p = realloc(a->p, a->cap);
        if (a->p == NULL)
            abort();
    }
    memcpy(a->p + a->len, d, n);
    a->len += n;
}

static void body_check(enum dkim_canon mode, const uint8_t *d, size_t n, uint8_t step)
{
    static struct dkim_body_canon bc;
    struct acc one = { 0 }, many = { 0 };
    dkim_body_canon_init(&bc, mode, acc_sink, &one);
    dkim_body_canon_update(&bc, d, n);
    dkim_body_canon_final(&bc);
    dkim_body_canon_init(&bc, mode, acc_sink, &many);
    size_t s = (size_t)step + 1;
    for (size_t off = 0; off < n; off += s)
        dkim_body_canon_update(&bc, d + off, n - off < s ? n - off : s);
    dkim_body_canon_final(&bc);
    if (one.len != many.len || (one.len && memcmp(one.p, many.p, one.len) != 0))
        abort();
    if (mode == DKIM_CANON_SIMPLE && (one.len < 2 || memcmp(one.p + one.len - 2, "\r\n", 2) != 0))
        abort();
    if (mode == DKIM_CANON_RELAXED)
        for (size_t i = 0; i + 2 < one.len; i++)
            if ((one.p[i] == ' ' || one.p[i] == '\t') && one.p[i + 1] == '\r' && one.p[i + 2] == '\n')
                abort();
    free(one.p);
    free(many.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t step = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    /* Split header/body at the first empty line, like a message. */
    const char *sep = NULL;
    for (size_t i = 0; i + 3 < len; i++)
        if (memcmp(text + i, "\r\n\r\n", 4) == 0) {
            sep = text + i;
            break;
        }
    size_t hlen = sep ? (size_t)(sep - text) : len;
    const char *body = sep ? sep + 4 : text + len;
    size_t blen = sep ? len - hlen - 4 : 0;

    struct dkim_hdr hdrs[64];
    size_t nh = 0;
    for (size_t pos = 0; pos < hlen && nh < 64;) {
        size_t end = pos;
        while (end + 1 < hlen && !(text[end] == '\r' && text[end + 1] == '\n' && end + 2 < hlen &&
                                   text[end + 2] != ' ' && text[end + 2] != '\t'))
            end++;
        if (end + 1 >= hlen)
            end = hlen;
        hdrs[nh].raw = text + pos;
        hdrs[nh].len = end - pos;
        nh++;
        pos = end + 2;
    }
    for (size_t i = 0; i < nh; i++) {
        struct acc a = { 0 };
        for (int mode = 0; mode < 2; mode++) {
            a.len = 0;
            dkim_canon_header((enum dkim_canon)mode, hdrs[i].raw, hdrs[i].len, 1, acc_sink, &a);
        }
        free(a.p);
        if (dkim_hdr_is(&hdrs[i], "From")) {
            char dom[FROM_DOMAIN_MAX + 1];
            const char *colon = memchr(hdrs[i].raw, ':', hdrs[i].len);
            if (colon)
                from_domain_parse(colon + 1, hdrs[i].len - (size_t)(colon + 1 - hdrs[i].raw), dom, sizeof dom);
        }
    }
    static const char *const names[] = { "from", "to", "subject", "from", "x-a", "subject", "cc" };
    long idx[7];
    dkim_select_headers(hdrs, nh, names, 7, idx);
    for (int i = 0; i < 7; i++)
        if (idx[i] >= (long)nh)
            abort();

    body_check(DKIM_CANON_SIMPLE, (const uint8_t *)body, blen, step);
    body_check(DKIM_CANON_RELAXED, (const uint8_t *)body, blen, step);

    static struct trace_key key;
    if (key.len == 0)
        trace_key_set(&key, "k1", "0123456789abcdef0123456789abcdef", 32);
    struct trace_ref ref;
    trace_verify(&key, 1, text, len, 1000, 0, &ref);
    return 0;
}
