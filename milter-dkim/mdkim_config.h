/*
 * NAME
 *   mdkim_config.h - the `milter_dkim` configuration section
 *
 * DESCRIPTION
 *   The typed option tables (common/config.h) of the milter_dkim section,
 *   its key table and signing table, and the list of sections milter-dkim
 *   reads (log, trace, milter_dkim).  Values here are as written in the
 *   file; mdkim_snap.c turns them into a ready-to-use snapshot (keys
 *   decoded, networks parsed, dates converted).
 */
#ifndef POSTFLOW_MDKIM_CONFIG_H
#define POSTFLOW_MDKIM_CONFIG_H

#include <stddef.h>

#include "config.h"
#include "log.h"
#include "trace.h"

enum mdkim_on_error { MDKIM_ON_ERROR_ACCEPT = 0, MDKIM_ON_ERROR_TEMPFAIL = 1 };

/* One entry of the key table. */
struct mdkim_key_conf {
    char *name;           /* referenced by the signing table */
    char *domain;         /* d= */
    char *selector;       /* s= */
    char *key_file;       /* PEM private key */
    int algorithm;        /* index in mdkim_algorithm_names: auto, rsa-sha256, ed25519-sha256 */
    int canonicalization; /* index in mdkim_canon_names: "relaxed/relaxed", ... */
    char *not_before;     /* "YYYY-MM-DD[THH:MM:SSZ]" or NULL */
    char *not_after;
    int unaligned; /* may sign mail whose From domain does not align with d= */
};

/* One rule of the signing table. */
struct mdkim_rule_conf {
    char *from;              /* "example.com", "*.example.com" or "*" */
    struct cfg_strlist keys; /* key names, one signature each */
};

struct mdkim_conf {
    char *socket;
    char *user;
    char *group;
    char *pid_file;
    long long unix_mode;
    int on_error; /* enum mdkim_on_error */
    struct cfg_strlist trusted_networks;
    int trust_sasl;
    int trust_non_smtpd;
    int allow_group_readable_keys;
    struct cfg_strlist headers;
    struct cfg_strlist oversign;
    long long signature_ttl; /* x= = t= + ttl; 0: no x= */
    long long max_header_bytes;
    long long max_headers;
    int trace_header;
    char *stats_file;
    long long stats_interval;
    struct cfg_list keys;          /* struct mdkim_key_conf */
    struct cfg_list signing_table; /* struct mdkim_rule_conf */
};

extern const char *const mdkim_algorithm_names[];
extern const char *const mdkim_canon_names[];
extern const struct cfg_option mdkim_conf_options[];

/* Everything milter-dkim reads from the file, bound to the given structs. */
#define MDKIM_NSECTIONS 3
void mdkim_config_sections(struct cfg_section out[MDKIM_NSECTIONS], struct log_conf *log, struct trace_conf *trace,
                           struct mdkim_conf *conf);

/*
 * The one-key command line (-d DOMAIN[,DOMAIN...] -s SELECTOR -k KEYFILE):
 * appends a key entry per domain (d= that domain) and an exact signing
 * rule for it to conf, as if they had been configured.  Returns 0, or -1
 * with a message in err (bad domain list, a rule for that domain exists).
 */
int mdkim_config_add_cmdline(struct mdkim_conf *conf, const char *domains, const char *selector, const char *key_file,
                             char *err, size_t errsize);
#endif
