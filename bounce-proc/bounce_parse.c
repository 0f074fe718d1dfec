/*
 * bounce_parse.c - delivery status notifications and non-standard bounces (see bounce_parse.h).
 *
 * DESCRIPTION
 *	First cut: recognises nothing yet.
 */
#include "bounce_parse.h"

int bounce_parse(const char *msg, size_t len, const struct inbound_parse_ctx *ctx,
               struct inbound_report *out)
{
    (void)msg;
    (void)len;
    (void)ctx;
    out->kind = INBOUND_UNRECOGNIZED;
    return 0;
}
