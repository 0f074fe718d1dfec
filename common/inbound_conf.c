/*
 * inbound_conf.c - option table of the `bounce` / `fbl` sections (see inbound_conf.h).
 */
#include "inbound_conf.h"

#include <stddef.h>
#include <string.h>

static const struct cfg_option escalation_options[] = {
    CFG_ROW("category", CFG_STRING, inbound_escalation, category, NULL, 0, 32,
            "a soft category (mailboxfull, suspend, ...)", .required = 1),
    CFG_ROW("count", CFG_INT, inbound_escalation, count, "3", 1, 1000,
            "soft bounces of that category that suppress the address", .required = 1),
    CFG_ROW("span", CFG_DURATION, inbound_escalation, span, "72h", 0, 366LL * 86400,
            "the first and the last at least this far apart"),
    CFG_END
};

const struct inbound_escalation inbound_escalation_defaults[] = {
    { (char *)"mailboxfull", 3, 72 * 3600 },
    { (char *)"suspend", 2, 24 * 3600 },
};
const size_t inbound_escalation_ndefaults =
    sizeof(inbound_escalation_defaults) / sizeof(inbound_escalation_defaults[0]);

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
    CFG_ROW("accept_unverified", CFG_BOOL, inbound_conf, accept_unverified, "false", 0, 0,
            "act on reports whose trace header is missing or does not verify (forged bounces could then suppress)"),
    CFG_ROW("quarantine_dir", CFG_STRING, inbound_conf, quarantine_dir, NULL, 0, 4096,
            "unrecognized messages are written here (pipe mode) so nothing is lost"),
    CFG_ROW("rules_file", CFG_STRING, inbound_conf, rules_file, NULL, 0, 4096,
            "extra classifier rules, tried before the built-in ones"),
    CFG_ROW("verp_delimiters", CFG_STRING, inbound_conf, verp_delimiters, "+=", 2, 2,
            "VERP: prefix end and local/domain split characters"),
    CFG_ROW("verp_prefix", CFG_STRING, inbound_conf, verp_prefix, NULL, 0, 64,
            "VERP: required local-part prefix (e.g. bounces); unset: any"),
    CFG_ROW("soft_escalate", CFG_LIST, inbound_conf, soft_escalate, NULL, 0, 64,
            "soft-bounce escalation per category (unset: mailboxfull 3 over 72h, suspend 2 over 24h)",
            .sub = escalation_options, .elem_size = sizeof(struct inbound_escalation)),
    CFG_ROW("soft_escalate_window", CFG_DURATION, inbound_conf, soft_escalate_window, "30d", 3600, 366LL * 86400,
            "soft bounces are remembered this long"),
    CFG_ROW("soft_suppress_ttl", CFG_DURATION, inbound_conf, soft_suppress_ttl, "30d", 3600, 366LL * 86400,
            "an escalated soft-bounce suppression expires after this"),
    CFG_ROW("seen_ttl", CFG_DURATION, inbound_conf, seen_ttl, "30d", 3600, 366LL * 86400,
            "a report (by content digest) acts once within this (re-deliveries and re-runs count nothing twice)"),
    CFG_ROW("stream_maxlen", CFG_INT, inbound_conf, stream_maxlen, "100000", 100, 100000000,
            "pf:bounces / pf:complaints stream length cap"),
    CFG_ROW("max_message_size", CFG_SIZE, inbound_conf, max_message_size, "64M", 65536, 1LL << 30,
            "bytes read per message"),
    CFG_ROW("suppress_unsubscribe", CFG_BOOL, inbound_conf, suppress_unsubscribe, "true", 0, 0,
            "fbl: one-click unsubscribe reports suppress the address"),
    CFG_END
};
