/*
 * inbound_driver.h - the one driver behind bounce-proc and fbl-proc: command
 * line, configuration, pipe mode (one message on stdin, envelope from argv or
 * Exim's environment), batch mode (files, directories, mbox), dry-run JSON,
 * exit codes 0/75 (64/78 at start only).
 *
 * DESCRIPTION
 *	A program supplies its parser in a struct inbound_program; everything
 *	else (reading the message within limits, attribution, Redis actions,
 *	quarantine, JSON lines, progress and summary) is shared, so a fix lands
 *	once for both programs.
 *
 * USERS
 *	bounce-proc (bounce_proc_main.c), fbl-proc (fbl_proc_main.c).
 */
#ifndef POSTFLOW_INBOUND_DRIVER_H
#define POSTFLOW_INBOUND_DRIVER_H

#include <stddef.h>

#include "inbound_report.h"
#include "mail_limits.h"
#include "reply_class.h"

/* What a parser gets besides the message.  Read-only, owned by the driver. */
struct inbound_parse_ctx {
    const struct reply_rules *rules;  /* classifier rules (never NULL) */
    const struct mail_limits *limits; /* parsing limits (never NULL) */
    const char *envelope_sender;      /* pipe mode: ${sender}, or NULL */
    const char *envelope_recipient;   /* pipe mode: ${recipient} (the VERP address), or NULL */
};

/* Parses msg[0..len) into out (initialised by the caller).  Returns 0 when the
 * message was read, whatever it turned out to be (out->kind UNRECOGNIZED for
 * "not a report we know"); -1 only for a temporary failure (the driver exits 75). */
typedef int inbound_parse_fn(const char *msg, size_t len, const struct inbound_parse_ctx *ctx,
                             struct inbound_report *out);

struct inbound_program {
    const char *name;    /* "bounce-proc" */
    const char *section; /* its configuration section, "bounce" */
    inbound_parse_fn *parse;
};

/* The whole program; returns the process exit status. */
int inbound_main(int argc, char **argv, const struct inbound_program *prog);

#endif
