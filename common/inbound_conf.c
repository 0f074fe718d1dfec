/*
 * inbound_conf.c - option table of the `bounce` / `fbl` sections (see inbound_conf.h).
 */
#include "inbound_conf.h"

#include <stddef.h>
#include <string.h>

#define ROW(type, field, def, min, max, doc) \
    { #field, type, offsetof(struct inbound_conf, field), def, min, max, doc, NULL, NULL, 0, 0 }

static const struct cfg_option escalation_options[] = {
    { "category", CFG_STRING, offsetof(struct inbound_escalation, category), NULL, 0, 32,
      "a soft category (mailboxfull, suspend, ...)", NULL, NULL, 0, 1 },
    { "count", CFG_INT, offsetof(struct inbound_escalation, count), "3", 1, 1000,
      "soft bounces of that category that suppress the address", NULL, NULL, 0, 1 },
    { "span", CFG_DURATION, offsetof(struct inbound_escalation, span), "72h", 0, 366LL * 86400,
      "the first and the last at least this far apart", NULL, NULL, 0, 0 },
    CFG_END
};

const struct inbound_escalation inbound_escalation_defaults[] = {
    { (char *)"mailboxfull", 3, 72 * 3600 },
    { (char *)"suspend", 2, 24 * 3600 },
};
const size_t inbound_escalation_ndefaults = sizeof(inbound_escalation_defaults) / sizeof(inbound_escalation_defaults[0]);

const struct inbound_escalation *inbound_escalation_find(const struct cfg_list *configured, const char *category)
{
    const struct inbound_escalation *v = inbound_escalation_defaults;
    size_t n = inbound_escalation_ndefaults;
    if (configured != NULL && configured->count > 0) {
        v = configured->items;
        n = configured->count;
    }
    for (size_t i = 0; category != NULL && i < n; i++)
        if (v[i].category != NULL && strcmp(v[i].category, category) == 0)
            return &v[i];
    return NULL;
}

const struct cfg_option inbound_conf_options[] = {
    ROW(CFG_BOOL, accept_unverified, "false", 0, 0,
        "act on reports whose trace header is missing or does not verify (forged bounces could then suppress)"),
    ROW(CFG_STRING, quarantine_dir, NULL, 0, 4096,
        "unrecognized messages are written here (pipe mode) so nothing is lost"),
    ROW(CFG_STRING, rules_file, NULL, 0, 4096, "extra classifier rules, tried before the built-in ones"),
    ROW(CFG_STRING, verp_delimiters, "+=", 2, 2, "VERP: prefix end and local/domain split characters"),
    ROW(CFG_STRING, verp_prefix, NULL, 0, 64, "VERP: required local-part prefix (e.g. bounces); unset: any"),
    { "soft_escalate", CFG_LIST, offsetof(struct inbound_conf, soft_escalate), NULL, 0, 64,
      "soft-bounce escalation per category (unset: mailboxfull 3 over 72h, suspend 2 over 24h)", NULL,
      escalation_options, sizeof(struct inbound_escalation), 0 },
    ROW(CFG_DURATION, soft_escalate_window, "30d", 3600, 366LL * 86400, "soft bounces are remembered this long"),
    ROW(CFG_DURATION, soft_suppress_ttl, "30d", 3600, 366LL * 86400,
        "an escalated soft-bounce suppression expires after this"),
    ROW(CFG_DURATION, seen_ttl, "30d", 3600, 366LL * 86400,
        "a report (by content digest) acts once within this (re-deliveries and re-runs count nothing twice)"),
    ROW(CFG_INT, stream_maxlen, "100000", 100, 100000000, "pf:bounces / pf:complaints stream length cap"),
    ROW(CFG_SIZE, max_message_size, "64M", 65536, 1LL << 30, "bytes read per message"),
    ROW(CFG_BOOL, suppress_unsubscribe, "true", 0, 0, "fbl: one-click unsubscribe reports suppress the address"),
    CFG_END
};
