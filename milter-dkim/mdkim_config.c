/*
 * NAME
 *   mdkim_config.c - option tables of the `milter_dkim` section
 *
 * DESCRIPTION
 *   One table per level (section, key table entry, signing rule), checked
 *   by common/config.c: unknown keys, wrong types and values out of range
 *   are errors with file:line.  The defaults make a useful bulk-mail
 *   signer: the header list suits newsletters (RFC 8058 List-Unsubscribe-Post
 *   included) and the headers an attacker would add to a signed message are
 *   oversigned.
 */
#include "mdkim_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

const char *const mdkim_algorithm_names[] = { "auto", "rsa-sha256", "ed25519-sha256", NULL };
const char *const mdkim_canon_names[] = { "relaxed/relaxed", "relaxed/simple", "simple/relaxed", "simple/simple",
                                          NULL };
static const char *const on_error_names[] = { "accept", "tempfail", NULL };

static const struct cfg_option key_options[] = {
    CFG_ROW("name", CFG_STRING, mdkim_key_conf, name, NULL, 0, 64, "name used in the signing table", .required = 1),
    CFG_ROW("domain", CFG_STRING, mdkim_key_conf, domain, NULL, 0, 253, "signing domain (d=)", .required = 1),
    CFG_ROW("selector", CFG_STRING, mdkim_key_conf, selector, NULL, 0, 63,
            "selector (s=): the key is published at SELECTOR._domainkey.DOMAIN", .required = 1),
    CFG_ROW("key_file", CFG_STRING, mdkim_key_conf, key_file, NULL, 0, 4096,
            "PEM private key (mode 0600; see dkim-keygen)", .required = 1),
    CFG_ROW("algorithm", CFG_ENUM, mdkim_key_conf, algorithm, "auto", 0, 0,
            "auto (from the key type), rsa-sha256 or ed25519-sha256", .choices = mdkim_algorithm_names),
    CFG_ROW("canonicalization", CFG_ENUM, mdkim_key_conf, canonicalization, "relaxed/relaxed", 0, 0,
            "header/body canonicalization", .choices = mdkim_canon_names),
    CFG_ROW("not_before", CFG_STRING, mdkim_key_conf, not_before, NULL, 0, 32,
            "do not sign with this key before this UTC date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)"),
    CFG_ROW("not_after", CFG_STRING, mdkim_key_conf, not_after, NULL, 0, 32,
            "do not sign with this key after this UTC date"),
    CFG_ROW("unaligned", CFG_BOOL, mdkim_key_conf, unaligned, "false", 0, 0,
            "allow d= that does not align with the From domain (e.g. an ESP domain as extra signature)"),
    CFG_END
};

static const struct cfg_option rule_options[] = {
    CFG_ROW("from", CFG_STRING, mdkim_rule_conf, from, NULL, 0, 253,
            "From domain: example.com, *.example.com (subdomains) or * (explicit catch-all)", .required = 1),
    CFG_ROW("keys", CFG_STRLIST, mdkim_rule_conf, keys, NULL, 1, 8, "key names, one signature each", .required = 1),
    CFG_END
};

const struct cfg_option mdkim_conf_options[] = {
    CFG_ROW("socket", CFG_STRING, mdkim_conf, socket, "inet:8891@127.0.0.1", 0, 200,
            "listen here: unix:/path or inet:PORT@HOST (-p overrides)"),
    CFG_ROW("user", CFG_STRING, mdkim_conf, user, NULL, 0, 64,
            "run as this user after keys are loaded (when started as root)"),
    CFG_ROW("group", CFG_STRING, mdkim_conf, group, NULL, 0, 64, "and this group (default: the user's)"),
    CFG_ROW("pid_file", CFG_STRING, mdkim_conf, pid_file, NULL, 0, 4096, "write the process id here"),
    CFG_ROW("unix_mode", CFG_INT, mdkim_conf, unix_mode, "432", 0, 0777, "mode of a unix socket (decimal; 432 = 0660)"),
    CFG_ROW("on_error", CFG_ENUM, mdkim_conf, on_error, "accept", 0, 0,
            "when a message cannot be signed because of a fault: accept (unsigned) or tempfail",
            .choices = on_error_names),
    CFG_ROW("trusted_networks", CFG_STRLIST, mdkim_conf, trusted_networks, "127.0.0.0/8,::1/128", 0, 1024,
            "sign mail from these client networks (CIDR)"),
    CFG_ROW("trust_sasl", CFG_BOOL, mdkim_conf, trust_sasl, "true", 0, 0, "sign mail from SASL-authenticated clients"),
    CFG_ROW("trust_non_smtpd", CFG_BOOL, mdkim_conf, trust_non_smtpd, "true", 0, 0,
            "sign locally submitted mail (Postfix non_smtpd_milters, sendmail(1))"),
    CFG_ROW("allow_group_readable_keys", CFG_BOOL, mdkim_conf, allow_group_readable_keys, "false", 0, 0,
            "accept private keys readable by group/other"),
    CFG_ROW("headers", CFG_STRLIST, mdkim_conf, headers,
            "From,To,Cc,Subject,Date,Message-ID,Reply-To,MIME-Version,Content-Type,Content-Transfer-Encoding,"
            "In-Reply-To,References,List-Id,List-Unsubscribe,List-Unsubscribe-Post,Feedback-ID",
            1, 64, "headers signed when present"),
    CFG_ROW("oversign", CFG_STRLIST, mdkim_conf, oversign,
            "From,Reply-To,Subject,To,Cc,List-Unsubscribe,List-Unsubscribe-Post", 0, 64,
            "headers listed once more than present, so none can be added after signing"),
    CFG_ROW("signature_ttl", CFG_DURATION, mdkim_conf, signature_ttl, "0", 0, 366LL * 86400,
            "add x= this long after t= (0: no x=)"),
    CFG_ROW("max_header_bytes", CFG_SIZE, mdkim_conf, max_header_bytes, "1M", 4096, 64LL * 1024 * 1024,
            "most header bytes kept per message; a bigger header block is passed unsigned"),
    CFG_ROW("max_headers", CFG_INT, mdkim_conf, max_headers, "1000", 16, 100000, "most header fields per message"),
    CFG_ROW("trace_header", CFG_BOOL, mdkim_conf, trace_header, "false", 0, 0,
            "add the HMAC trace header (section trace) and sign it"),
    CFG_ROW("stats_file", CFG_STRING, mdkim_conf, stats_file, NULL, 0, 4096,
            "write counters here (name value lines), replaced atomically"),
    CFG_ROW("stats_interval", CFG_DURATION, mdkim_conf, stats_interval, "10s", 1, 3600,
            "how often stats_file is written"),
    CFG_ROW("keys", CFG_LIST, mdkim_conf, keys, NULL, 0, 1000, "key table", .sub = key_options,
            .elem_size = sizeof(struct mdkim_key_conf)),
    CFG_ROW("signing_table", CFG_LIST, mdkim_conf, signing_table, NULL, 0, 100000,
            "From domain -> keys; first match by: exact domain, longest *.suffix, then *", .sub = rule_options,
            .elem_size = sizeof(struct mdkim_rule_conf)),
    CFG_END
};

void mdkim_config_sections(struct cfg_section out[MDKIM_NSECTIONS], struct log_conf *log, struct trace_conf *trace,
                           struct mdkim_conf *conf)
{
    out[0] = (struct cfg_section){ "log", log_conf_options, log };
    out[1] = (struct cfg_section){ "trace", trace_conf_options, trace };
    out[2] = (struct cfg_section){ "milter_dkim", mdkim_conf_options, conf };
}

int mdkim_config_add_cmdline(struct mdkim_conf *conf, const char *domains, const char *selector, const char *key_file,
                             char *err, size_t errsize)
{
    char *list = xstrdup(domains), *save = NULL;
    int rc = 0;
    for (char *d = strtok_r(list, ", ", &save); d != NULL; d = strtok_r(NULL, ", ", &save)) {
        struct mdkim_rule_conf *rules = conf->signing_table.items;
        for (size_t i = 0; i < conf->signing_table.count; i++)
            if (strcasecmp(rules[i].from, d) == 0) {
                snprintf(err, errsize, "-d %s: the signing table already has a rule for it", d);
                rc = -1;
                goto out;
            }
        size_t nk = conf->keys.count;
        conf->keys.items = xrealloc(conf->keys.items, (nk + 1) * sizeof(struct mdkim_key_conf));
        struct mdkim_key_conf *k = (struct mdkim_key_conf *)conf->keys.items + nk;
        memset(k, 0, sizeof *k);
        size_t nlen = strlen(d) + 16;
        k->name = xmalloc(nlen);
        snprintf(k->name, nlen, "cmdline:%s", d);
        k->domain = xstrdup(d);
        k->selector = xstrdup(selector);
        k->key_file = xstrdup(key_file);
        conf->keys.count++;

        size_t nr = conf->signing_table.count;
        conf->signing_table.items = xrealloc(conf->signing_table.items, (nr + 1) * sizeof(struct mdkim_rule_conf));
        struct mdkim_rule_conf *r = (struct mdkim_rule_conf *)conf->signing_table.items + nr;
        r->from = xstrdup(d);
        r->keys.items = xmalloc(sizeof(char *));
        r->keys.items[0] = xstrdup(k->name);
        r->keys.count = 1;
        conf->signing_table.count++;
    }
    if (conf->keys.count == 0) {
        snprintf(err, errsize, "-d: no domain given");
        rc = -1;
    }
out:
    free(list);
    return rc;
}
