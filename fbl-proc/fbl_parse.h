/*
 * fbl_parse.h - read one inbound message as feedback-loop reports (ARF and provider formats).
 *
 * USERS
 *	fbl_proc_main.c (through inbound_main, inbound_driver.h), tests/unit/fbl-proc, tests/fuzz.
 */
#ifndef POSTFLOW_FBL_PARSE_H
#define POSTFLOW_FBL_PARSE_H

#include "inbound_driver.h"

/* An inbound_parse_fn (see inbound_driver.h). */
int fbl_parse(const char *msg, size_t len, const struct inbound_parse_ctx *ctx,
               struct inbound_report *out);

#endif
