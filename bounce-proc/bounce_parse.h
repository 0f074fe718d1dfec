/*
 * bounce_parse.h - read one inbound message as delivery status notifications and non-standard bounces.
 *
 * USERS
 *	bounce_proc_main.c (through inbound_main, inbound_driver.h), tests/unit/bounce-proc, tests/fuzz.
 */
#ifndef POSTFLOW_BOUNCE_PARSE_H
#define POSTFLOW_BOUNCE_PARSE_H

#include "inbound_driver.h"

/* An inbound_parse_fn (see inbound_driver.h). */
int bounce_parse(const char *msg, size_t len, const struct inbound_parse_ctx *ctx, struct inbound_report *out);

#endif
