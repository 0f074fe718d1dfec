/*
 * tap_event.h - one delivery outcome read from an MTA's delivery log.
 *
 * DESCRIPTION
 *	The model between the log-line parsers (tap_postfix.c, tap_exim.c)
 *	and what counts and shapes (tap_replay.c, later the Redis writer).
 *	A parser fills one struct tap_event per line.  Every string is a view
 *	(pointer + length) into the caller's line: nothing is copied, nothing
 *	is truncated, and the views live exactly as long as the line.
 *
 *	Only some lines are receiver answers.  tap_event.kind says which:
 *	    TAP_LINE_OUTCOME  an smtp/lmtp (Postfix) or remote-transport
 *	                      (Exim) outcome for one recipient: sent, deferred
 *	                      or bounced; `remote_reply` says whether the text
 *	                      is the remote server's own answer
 *	    TAP_LINE_REPEAT   a local repeat of an earlier answer (Postfix
 *	                      postfix/error "delivery temporarily suspended",
 *	                      Exim "retry time not reached"): never a new event
 *	    TAP_LINE_LOCAL    a delivery line of a local transport (local,
 *	                      pipe, virtual, error without a remote reply ...)
 *	    TAP_LINE_OTHER    any other line (qmgr, cleanup, connect, ...)
 *
 * USERS
 *	tap_postfix.c, tap_exim.c, tap_replay.c, the fuzz target.
 *
 * OWNERSHIP
 *	Caller storage; the views point into the parsed line.
 */
#ifndef MAILLOG_TAP_EVENT_H
#define MAILLOG_TAP_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#define TAP_LINE_MAX 16384 /* longest log line parsed; longer lines are TAP_LINE_OTHER */

struct tap_str {
    const char *p; /* NULL when absent */
    size_t n;
};

enum tap_kind {
    TAP_LINE_OTHER = 0,
    TAP_LINE_OUTCOME,
    TAP_LINE_REPEAT,
    TAP_LINE_LOCAL,
};

enum tap_status {
    TAP_STATUS_NONE = 0,
    TAP_STATUS_SENT,
    TAP_STATUS_DEFERRED,
    TAP_STATUS_BOUNCED,
};

enum tap_mta {
    TAP_MTA_POSTFIX = 1,
    TAP_MTA_EXIM,
};

struct tap_event {
    enum tap_kind kind;
    enum tap_mta mta;
    long long time;             /* Unix seconds (UTC), -1 when unreadable */
    struct tap_str syslog_name; /* Postfix: "postfix/smtp-192.0.2.10", "postfix-ip2" */
    struct tap_str service;     /* Postfix: smtp, lmtp, error, local ...; Exim: the T= transport */
    struct tap_str transport;   /* the per-IP label: "smtp-192.0.2.10", "postfix-ip2", Exim T= */
    struct tap_str source_ip;   /* the sending IP when the log names it (label or Exim I=) */
    struct tap_str queue_id;
    struct tap_str recipient;
    struct tap_str relay_host; /* remote host name, NULL when none */
    struct tap_str relay_ip;
    int relay_port;     /* 0 when absent */
    struct tap_str dsn; /* enhanced status the MTA logged ("4.7.28"), may be absent */
    enum tap_status status;
    struct tap_str text;      /* the MTA's whole explanation (inside the parentheses) */
    struct tap_str reply;     /* the remote server's reply: "421-4.7.28 ... gsmtp", no suffix */
    int smtp_code;            /* basic code of the reply's last line, 0 when none */
    struct tap_str reply_dsn; /* enhanced code of the reply's last line, may be absent */
    const char *command;      /* static: CONNECT, EHLO, MAIL, RCPT, DATA, ... or NULL */
    bool remote_reply;        /* reply is the remote server's own answer */
};

const char *tap_status_name(enum tap_status st); /* "sent" | "deferred" | "bounced" | "none" */
const char *tap_kind_name(enum tap_kind kind);

#endif
