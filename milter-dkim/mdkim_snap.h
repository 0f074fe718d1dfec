/*
 * NAME
 *   mdkim_snap.h - an immutable, refcounted snapshot of milter-dkim's config
 *
 * DESCRIPTION
 *   Built from the parsed configuration: keys decoded once (checked for
 *   type, size and file mode), the signing table sorted for binary search,
 *   networks parsed, the trace key read.  A snapshot never changes once
 *   built; messages hold a reference from their first callback to their
 *   last, so SIGHUP can install a new one atomically while messages in
 *   flight finish with the old one (which is freed by its last user).
 */
#ifndef POSTFLOW_MDKIM_SNAP_H
#define POSTFLOW_MDKIM_SNAP_H

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "dkim_canon.h"
#include "dkim_key.h"
#include "mdkim_config.h"
#include "netlist.h"
#include "trace.h"

#define MDKIM_MAX_SIGS         8 /* signatures per message (keys per rule) */
#define FROM_DOMAIN_LOOKUP_MAX 260

struct mdkim_key {
    char *name, *domain, *selector; /* owned */
    struct dkim_key key;
    enum dkim_canon hcanon, bcanon;
    time_t not_before, not_after; /* 0: unbounded */
    int unaligned;
    char *error; /* owned; not NULL: the key file could not be used (why) */
};

enum mdkim_rule_kind { MDKIM_RULE_EXACT, MDKIM_RULE_SUFFIX, MDKIM_RULE_ANY };

struct mdkim_rule {
    char *pattern; /* owned, lower case: "example.com", "*.example.com", "*" */
    enum mdkim_rule_kind kind;
    size_t keys[MDKIM_MAX_SIGS];
    size_t nkeys;
};

struct mdkim_snap {
    atomic_int refs;
    struct mdkim_key *keys;
    size_t nkeys;
    struct mdkim_rule *rules; /* sorted by pattern */
    size_t nrules;
    struct netlist trusted;
    char **headers; /* owned copies */
    size_t nheaders;
    char **oversign;
    size_t noversign;
    int on_error;
    int trust_sasl, trust_non_smtpd;
    long long signature_ttl, max_header_bytes, max_headers;
    int trace_enabled;
    struct trace_key trace_key;
    char *trace_header; /* owned */
};

/*
 * Builds a snapshot (refs = 1).  Returns 0, or -1 with a message in err
 * (the first problem found: unreadable key, unknown key name, bad date...).
 * Warnings (weak RSA keys, expired keys) are logged.
 * With MDKIM_SNAP_TOLERATE_KEY_ERRORS a key file that cannot be used
 * (missing, unreadable, group-readable, not a key) does not fail the
 * build: it is logged, and messages that need that key get the on_error
 * verdict (the daemon's start: mail must flow).  Without it (-n, reload)
 * it is an error.
 */
#define MDKIM_SNAP_TOLERATE_KEY_ERRORS 0x1u
int mdkim_snap_build(const struct mdkim_conf *conf, const struct trace_conf *trace, unsigned flags,
                     struct mdkim_snap **out, char *err, size_t errsize);

/* Reference counting; the last release frees. */
struct mdkim_snap *mdkim_snap_ref(struct mdkim_snap *s);
void mdkim_snap_release(struct mdkim_snap *s);

/* The current snapshot, process-wide: get takes a reference, set replaces (and releases the old one). */
struct mdkim_snap *mdkim_snap_current(void);
void mdkim_snap_install(struct mdkim_snap *s);

/* The rule for a From domain (lower case): exact, then the longest *.suffix, then *. NULL if none. */
const struct mdkim_rule *mdkim_snap_lookup(const struct mdkim_snap *s, const char *domain);

/* 1 if DMARC relaxed alignment can hold between from_domain and d (same, or one under the other). */
int mdkim_domain_aligned(const char *from_domain, const char *d);

/* "2026-01-31" or "2026-01-31T12:00:00Z" -> time_t (UTC); -1 if malformed. */
time_t mdkim_parse_date(const char *text);

#endif
