/*
 * NAME
 *   mdkim_snap.c - build, look up and swap configuration snapshots
 *
 * DESCRIPTION
 *   See mdkim_snap.h.  The current snapshot pointer is guarded by a mutex
 *   held only for the pointer copy and the reference increment, so
 *   messages never wait on a reload: the slow part (reading and decoding
 *   keys) happens before the swap.
 */
#include "mdkim_snap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "xalloc.h"

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mdkim_snap *current;

/* Strings printed by --print-config come back as "": treat them as unset. */
static int is_set(const char *s)
{
    return s != NULL && *s != '\0';
}

static char *lower_dup(const char *s)
{
    char *d = xstrdup(s);
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    return d;
}

static char **strv_dup(const struct cfg_strlist *l)
{
    char **v = xcalloc(l->count ? l->count : 1, sizeof *v);
    for (size_t i = 0; i < l->count; i++)
        v[i] = xstrdup(l->items[i]);
    return v;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n && v; i++)
        free(v[i]);
    free(v);
}

time_t mdkim_parse_date(const char *text)
{
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, s = 0, n = 0;
    size_t len = strlen(text);
    memset(&tm, 0, sizeof tm);
    if (len == 10) {
        if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
            return -1;
    } else if (len == 20) {
        if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 || n != 20)
            return -1;
    } else {
        return -1;
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return timegm(&tm);
}

int mdkim_domain_aligned(const char *f, const char *d)
{
    size_t fl = strlen(f), dl = strlen(d);
    if (fl == dl)
        return strcasecmp(f, d) == 0;
    if (fl > dl)
        return f[fl - dl - 1] == '.' && strcasecmp(f + fl - dl, d) == 0;
    return d[dl - fl - 1] == '.' && strcasecmp(d + dl - fl, f) == 0;
}

static void key_free(struct mdkim_key *k);

static void snap_free(struct mdkim_snap *s)
{
    for (size_t i = 0; i < s->nkeys; i++)
        key_free(&s->keys[i]);
    free(s->keys);
    for (size_t i = 0; i < s->nrules; i++)
        free(s->rules[i].pattern);
    free(s->rules);
    netlist_free(&s->trusted);
    strv_free(s->headers, s->nheaders);
    strv_free(s->oversign, s->noversign);
    free(s->trace_header);
    OPENSSL_cleanse(&s->trace_key, sizeof s->trace_key);
    free(s);
}

static int rule_cmp(const void *a, const void *b)
{
    return strcmp(((const struct mdkim_rule *)a)->pattern, ((const struct mdkim_rule *)b)->pattern);
}

/* The entry's settings (not the key file): errors here are configuration errors. */
static int key_settings(const struct mdkim_key_conf *kc, struct mdkim_key *k, char *err, size_t errsize)
{
    static const enum dkim_canon hc[] = { DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE,
                                          DKIM_CANON_SIMPLE };
    static const enum dkim_canon bc[] = { DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED,
                                          DKIM_CANON_SIMPLE };

    k->name = xstrdup(kc->name);
    k->domain = lower_dup(kc->domain);
    k->selector = xstrdup(kc->selector);
    k->hcanon = hc[kc->canonicalization];
    k->bcanon = bc[kc->canonicalization];
    k->unaligned = kc->unaligned;
    k->not_before = k->not_after = 0;
    if (is_set(kc->not_before) && (k->not_before = mdkim_parse_date(kc->not_before)) == (time_t)-1) {
        snprintf(err, errsize, "key '%s': not_before '%s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", kc->name,
                 kc->not_before);
        return -1;
    }
    if (is_set(kc->not_after) && (k->not_after = mdkim_parse_date(kc->not_after)) == (time_t)-1) {
        snprintf(err, errsize, "key '%s': not_after '%s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", kc->name,
                 kc->not_after);
        return -1;
    }
    if (k->not_after && k->not_after < time(NULL))
        log_warning("key '%s' expired (not_after %s): it signs nothing", kc->name, kc->not_after);
    return 0;
}

/* The key file: missing, unreadable, group-readable, not a key, wrong type or too small. */
static int key_file(const struct mdkim_key_conf *kc, int allow_group, struct mdkim_key *k, char *err, size_t errsize)
{
    struct dkim_err derr;
    char warn[200];

    if (dkim_key_load_file(kc->key_file, allow_group, &k->key, warn, sizeof warn, &derr) != 0) {
        snprintf(err, errsize, "key '%s': %s", kc->name, derr.text);
        return -1;
    }
    if (warn[0] != '\0')
        log_warning("key '%s' (%s): %s", kc->name, kc->key_file, warn);
    if ((kc->algorithm == 1 && k->key.alg != DKIM_ALG_RSA_SHA256) ||
        (kc->algorithm == 2 && k->key.alg != DKIM_ALG_ED25519_SHA256)) {
        snprintf(err, errsize, "key '%s': %s holds a %s key, not %s", kc->name, kc->key_file, dkim_alg_name(k->key.alg),
                 mdkim_algorithm_names[kc->algorithm]);
        dkim_key_free(&k->key);
        return -1;
    }
    return 0;
}

static void key_free(struct mdkim_key *k)
{
    free(k->name);
    free(k->domain);
    free(k->selector);
    free(k->error);
    dkim_key_free(&k->key);
    memset(k, 0, sizeof *k);
}

static int valid_name_token(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_'))
            return 0;
    }
    return 1;
}

static int build_rules(const struct mdkim_conf *conf, struct mdkim_snap *s, char *err, size_t errsize)
{
    const struct mdkim_rule_conf *rc = conf->signing_table.items;
    s->rules = xcalloc(conf->signing_table.count ? conf->signing_table.count : 1, sizeof *s->rules);
    for (size_t i = 0; i < conf->signing_table.count; i++) {
        struct mdkim_rule *r = &s->rules[s->nrules++];
        r->pattern = lower_dup(rc[i].from);
        if (strcmp(r->pattern, "*") == 0)
            r->kind = MDKIM_RULE_ANY;
        else if (strncmp(r->pattern, "*.", 2) == 0 && valid_name_token(r->pattern + 2))
            r->kind = MDKIM_RULE_SUFFIX;
        else if (valid_name_token(r->pattern))
            r->kind = MDKIM_RULE_EXACT;
        else {
            snprintf(err, errsize, "signing_table: '%s' is not a domain, *.domain or *", rc[i].from);
            return -1;
        }
        if (rc[i].keys.count > MDKIM_MAX_SIGS) {
            snprintf(err, errsize, "signing_table '%s': at most %d keys", rc[i].from, MDKIM_MAX_SIGS);
            return -1;
        }
        for (size_t k = 0; k < rc[i].keys.count; k++) {
            size_t j;
            for (j = 0; j < s->nkeys && strcmp(s->keys[j].name, rc[i].keys.items[k]) != 0; j++)
                ;
            if (j == s->nkeys) {
                snprintf(err, errsize, "signing_table '%s': no key named '%s' in keys", rc[i].from,
                         rc[i].keys.items[k]);
                return -1;
            }
            r->keys[r->nkeys++] = j;
        }
    }
    qsort(s->rules, s->nrules, sizeof *s->rules, rule_cmp);
    for (size_t i = 1; i < s->nrules; i++)
        if (strcmp(s->rules[i - 1].pattern, s->rules[i].pattern) == 0) {
            snprintf(err, errsize, "signing_table: '%s' appears twice", s->rules[i].pattern);
            return -1;
        }
    return 0;
}

static int build_headers(const struct mdkim_conf *conf, const struct trace_conf *trace, struct mdkim_snap *s, char *err,
                         size_t errsize)
{
    int has_from = 0;
    s->headers = strv_dup(&conf->headers);
    s->nheaders = conf->headers.count;
    s->oversign = strv_dup(&conf->oversign);
    s->noversign = conf->oversign.count;
    for (size_t i = 0; i < s->nheaders; i++) {
        if (!valid_name_token(s->headers[i]) || strchr(s->headers[i], ':')) {
            snprintf(err, errsize, "headers: '%s' is not a header name", s->headers[i]);
            return -1;
        }
        if (strcasecmp(s->headers[i], "From") == 0)
            has_from = 1;
        if (strcasecmp(s->headers[i], "DKIM-Signature") == 0) {
            snprintf(err, errsize, "headers: DKIM-Signature cannot be signed by this signer");
            return -1;
        }
    }
    if (!has_from) {
        snprintf(err, errsize, "headers: must include From (RFC 6376 section 5.4)");
        return -1;
    }
    if (s->nheaders + s->noversign + 2 > DKIM_NAMES_MAX / 2) {
        snprintf(err, errsize, "headers: too many names");
        return -1;
    }
    s->trace_enabled = conf->trace_header;
    s->trace_header = xstrdup(is_set(trace->header_name) ? trace->header_name : "X-Postflow-Trace");
    if (s->trace_enabled) {
        if (!is_set(trace->secret_file)) {
            snprintf(err, errsize, "trace_header = true needs trace.secret_file");
            return -1;
        }
        if (!valid_name_token(s->trace_header)) {
            snprintf(err, errsize, "trace.header_name '%s' is not a header name", s->trace_header);
            return -1;
        }
        if (trace_key_load(&s->trace_key, trace->key_id, trace->secret_file, err, errsize) != 0)
            return -1;
    }
    return 0;
}

int mdkim_snap_build(const struct mdkim_conf *conf, const struct trace_conf *trace, unsigned flags,
                     struct mdkim_snap **out, char *err, size_t errsize)
{
    struct mdkim_snap *s = xcalloc(1, sizeof *s);
    const struct mdkim_key_conf *kc = conf->keys.items;

    atomic_init(&s->refs, 1);
    s->on_error = conf->on_error;
    s->trust_sasl = conf->trust_sasl;
    s->trust_non_smtpd = conf->trust_non_smtpd;
    s->signature_ttl = conf->signature_ttl;
    s->max_header_bytes = conf->max_header_bytes;
    s->max_headers = conf->max_headers;
    s->keys = xcalloc(conf->keys.count ? conf->keys.count : 1, sizeof *s->keys);
    for (size_t i = 0; i < conf->keys.count; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcmp(kc[i].name, kc[j].name) == 0) {
                snprintf(err, errsize, "keys: name '%s' appears twice", kc[i].name);
                goto fail;
            }
        if (!valid_name_token(kc[i].domain) || !valid_name_token(kc[i].selector)) {
            snprintf(err, errsize, "key '%s': domain and selector must be DNS names", kc[i].name);
            goto fail;
        }
        struct mdkim_key *k = &s->keys[s->nkeys];
        if (key_settings(&kc[i], k, err, errsize) != 0) {
            key_free(k);
            goto fail;
        }
        if (key_file(&kc[i], conf->allow_group_readable_keys, k, err, errsize) != 0) {
            if (!(flags & MDKIM_SNAP_TOLERATE_KEY_ERRORS)) {
                key_free(k);
                goto fail;
            }
            /* Start anyway: mail for this key gets on_error, logged with its queue id. */
            log_error("%s: mail that needs this key is handled by on_error", err);
            k->error = xstrdup(err);
            err[0] = '\0';
        }
        s->nkeys++;
    }
    if (build_rules(conf, s, err, errsize) != 0)
        goto fail;
    if (netlist_parse(&s->trusted, conf->trusted_networks.items, conf->trusted_networks.count, err, errsize) != 0)
        goto fail;
    if (build_headers(conf, trace, s, err, errsize) != 0)
        goto fail;
    *out = s;
    return 0;
fail:
    snap_free(s);
    *out = NULL;
    return -1;
}

struct mdkim_snap *mdkim_snap_ref(struct mdkim_snap *s)
{
    atomic_fetch_add(&s->refs, 1);
    return s;
}

void mdkim_snap_release(struct mdkim_snap *s)
{
    if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1)
        snap_free(s);
}

struct mdkim_snap *mdkim_snap_current(void)
{
    pthread_mutex_lock(&current_lock);
    struct mdkim_snap *s = current ? mdkim_snap_ref(current) : NULL;
    pthread_mutex_unlock(&current_lock);
    return s;
}

void mdkim_snap_install(struct mdkim_snap *s)
{
    pthread_mutex_lock(&current_lock);
    struct mdkim_snap *old = current;
    current = s;
    pthread_mutex_unlock(&current_lock);
    mdkim_snap_release(old);
}

static const struct mdkim_rule *find(const struct mdkim_snap *s, const char *pattern)
{
    struct mdkim_rule key;
    key.pattern = (char *)pattern;
    return bsearch(&key, s->rules, s->nrules, sizeof *s->rules, rule_cmp);
}

const struct mdkim_rule *mdkim_snap_lookup(const struct mdkim_snap *s, const char *domain)
{
    char pat[FROM_DOMAIN_LOOKUP_MAX];
    const struct mdkim_rule *r;
    if (s->nrules == 0)
        return NULL;
    if ((r = find(s, domain)) != NULL && r->kind == MDKIM_RULE_EXACT)
        return r;
    /* Longest suffix first: a.b.example.com tries *.b.example.com, *.example.com, *.com. */
    for (const char *dot = strchr(domain, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
        int n = snprintf(pat, sizeof pat, "*%s", dot);
        if (n > 0 && (size_t)n < sizeof pat && (r = find(s, pat)) != NULL)
            return r;
    }
    return find(s, "*");
}
