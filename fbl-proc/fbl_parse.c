/*
 * fbl_parse.c - feedback-loop reports (ARF and provider formats) (see fbl_parse.h).
 *
 * DESCRIPTION
 *	First cut: recognises nothing yet.
 */
#include "fbl_parse.h"

int fbl_parse(const char *msg, size_t len, const struct inbound_parse_ctx *ctx,
               struct inbound_report *out)
{
    (void)msg;
    (void)len;
    (void)ctx;
    out->kind = INBOUND_UNRECOGNIZED;
    return 0;
}
