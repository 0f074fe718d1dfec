/*
 * fuzz_policy_proto.c - libFuzzer target for the policy request parser.
 *
 * Feeds the input as one stream split at an input-chosen point (so the
 * incremental resume path is exercised), consumes every complete request
 * like the daemon does, and at the end retries with eof = 1 (Exim
 * half-close).  Checks that every view lies inside the buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_views(const struct policy_request *req, const char *buf, size_t len)
{
    for (int a = 0; a < PA_COUNT; a++) {
        const struct mail_view *v = &req->attr[a];
        if (v->ptr == NULL)
            continue;
        if (v->ptr < buf || v->ptr + v->len > buf + len)
            abort();
    }
    if (req->size == 0 || req->size > len)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct policy_limits lim;
    struct policy_request req;
    policy_limits_default(&lim);
    lim.max_request = 4096;
    lim.max_value = 512;
    lim.max_attrs = 32;
    if (size < 1)
        return 0;
    size_t split = data[0] % (size);
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    size_t off = 0, resume = 0;
    size_t avail = split < len ? split : len;
    for (;;) {
        enum policy_parse_status st = policy_parse(buf + off, avail - off, 0, &lim, &resume, &req);
        if (st == POLICY_OK) {
            check_views(&req, buf + off, avail - off);
            off += req.size;
            resume = 0;
            continue;
        }
        if (st != POLICY_NEED_MORE)
            return 0;
        if (avail < len) {
            avail = len;
            continue;
        }
        break;
    }
    enum policy_parse_status st = policy_parse(buf + off, len - off, 1, &lim, &resume, &req);
    if (st == POLICY_OK)
        check_views(&req, buf + off, len - off);
    return 0;
}
