/*
 * inbound_conf.c - option table of the `bounce` / `fbl` sections (see inbound_conf.h).
 */
#include "inbound_conf.h"

#include <stddef.h>

#define ROW(type, field, def, min, max, doc) \
    { #field, type, offsetof(struct inbound_conf, field), def, min, max, doc, NULL, NULL, 0, 0 }

const struct cfg_option inbound_conf_options[] = {
    ROW(CFG_BOOL, accept_unverified, "false", 0, 0,
        "act on reports whose trace header is missing or does not verify (forged bounces could then suppress)"),
    ROW(CFG_STRING, quarantine_dir, NULL, 0, 4096,
        "unrecognized messages are written here (pipe mode) so nothing is lost"),
    ROW(CFG_STRING, rules_file, NULL, 0, 4096, "extra classifier rules, tried before the built-in ones"),
    ROW(CFG_STRING, verp_delimiters, "+=", 2, 2, "VERP: prefix end and local/domain split characters"),
    ROW(CFG_STRING, verp_prefix, NULL, 0, 64, "VERP: required local-part prefix (e.g. bounces); unset: any"),
    ROW(CFG_INT, soft_escalate_count, "5", 0, 1000, "soft bounces of one address that suppress it (0: never)"),
    ROW(CFG_DURATION, soft_escalate_span, "3d", 0, 366LL * 86400, "... spread over at least this long"),
    ROW(CFG_DURATION, soft_escalate_window, "30d", 3600, 366LL * 86400, "... counted over this window"),
    ROW(CFG_DURATION, soft_suppress_ttl, "30d", 3600, 366LL * 86400,
        "an escalated soft-bounce suppression expires after this"),
    ROW(CFG_DURATION, seen_ttl, "30d", 3600, 366LL * 86400,
        "a report (by content digest) acts once within this (re-deliveries and re-runs count nothing twice)"),
    ROW(CFG_INT, stream_maxlen, "100000", 100, 100000000, "pf:bounces / pf:complaints stream length cap"),
    ROW(CFG_SIZE, max_message_size, "64M", 65536, 1LL << 30, "bytes read per message"),
    ROW(CFG_BOOL, suppress_unsubscribe, "true", 0, 0, "fbl: one-click unsubscribe reports suppress the address"),
    CFG_END
};
