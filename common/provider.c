/*
 * NAME
 *   provider.c - the recipient-domain -> provider table.
 *
 * DESCRIPTION
 *   Domains are stored lowercased in one array sorted by name; a lookup
 *   tries the domain, then each parent ("a.b.c", "b.c", "c") with a binary
 *   search.  The built-in table lists the domains the large providers
 *   publish for their consumer mailboxes; hosted business domains (Google
 *   Workspace, Microsoft 365) need an MX lookup we do not do in the mail
 *   path, so they count as "other" unless configured.
 */
#include "provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

const struct cfg_option provider_def_options[] = {
    CFG_ROW("name", CFG_STRING, provider_def, name, NULL, 0, PROVIDER_NAME_MAX - 1,
            "provider name used in keys and metrics (gmail, microsoft, ...)", .required = 1),
    CFG_ROW("domains", CFG_STRLIST, provider_def, domains, NULL, 1, 0,
            "recipient domains of this provider (subdomains match too)", .required = 1),
    CFG_END
};

static const char *const builtin_gmail[] = { "gmail.com", "googlemail.com", NULL };
static const char *const builtin_microsoft[] = {
    "outlook.com", "hotmail.com",     "live.com",   "msn.com",    "passport.com", "hotmail.co.uk", "hotmail.fr",
    "hotmail.de",  "hotmail.it",      "hotmail.es", "live.co.uk", "live.fr",      "live.de",       "outlook.fr",
    "outlook.de",  "windowslive.com", NULL
};
static const char *const builtin_yahoo[] = { "yahoo.com",   "ymail.com",    "rocketmail.com", "yahoo.co.uk",
                                             "yahoo.fr",    "yahoo.de",     "yahoo.it",       "yahoo.es",
                                             "yahoo.co.jp", "yahoo.com.br", "yahoo.ca",       "yahoo.in",
                                             "aol.com",     "aim.com",      "verizon.net",    NULL };
static const char *const builtin_apple[] = { "icloud.com", "me.com", "mac.com", NULL };

static const struct {
    const char *name;
    const char *const *domains;
} builtin[] = {
    { "gmail", builtin_gmail },
    { "microsoft", builtin_microsoft },
    { "yahoo", builtin_yahoo },
    { "apple", builtin_apple },
};

struct domain_entry {
    char *domain; /* owned, lowercase */
    size_t provider;
};

struct provider_map {
    char names[PROVIDER_MAX][PROVIDER_NAME_MAX];
    size_t count;
    struct domain_entry *domains;
    size_t ndomains;
};

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct domain_entry *)a)->domain, ((const struct domain_entry *)b)->domain);
}

static char *lower_dup(const char *s, size_t n)
{
    char *d = xstrndup(s, n);
    for (size_t i = 0; i < n; i++)
        if (d[i] >= 'A' && d[i] <= 'Z')
            d[i] = (char)(d[i] - 'A' + 'a');
    return d;
}

static int name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= PROVIDER_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int add_provider(struct provider_map *m, const char *name, char *err, size_t errlen)
{
    if (!name_ok(name)) {
        snprintf(err, errlen, "provider name \"%s\": use 1-31 of a-z 0-9 - _", name);
        return -1;
    }
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->names[i], name) == 0) {
            snprintf(err, errlen, "provider \"%s\" listed twice", name);
            return -1;
        }
    if (m->count + 1 >= PROVIDER_MAX) { /* keep room for "other" */
        snprintf(err, errlen, "too many providers (at most %d)", PROVIDER_MAX - 1);
        return -1;
    }
    snprintf(m->names[m->count], PROVIDER_NAME_MAX, "%s", name);
    return (int)m->count++;
}

static void add_domain(struct provider_map *m, const char *domain, size_t provider)
{
    m->domains = xrealloc(m->domains, (m->ndomains + 1) * sizeof *m->domains);
    m->domains[m->ndomains].domain = lower_dup(domain, strlen(domain));
    m->domains[m->ndomains].provider = provider;
    m->ndomains++;
}

struct provider_map *provider_map_new(const struct provider_def *defs, size_t n, char *err, size_t errlen)
{
    struct provider_map *m = xcalloc(1, sizeof *m);
    if (n == 0) {
        for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) {
            int p = add_provider(m, builtin[i].name, err, errlen);
            for (size_t d = 0; p >= 0 && builtin[i].domains[d] != NULL; d++)
                add_domain(m, builtin[i].domains[d], (size_t)p);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (defs[i].name == NULL || strcmp(defs[i].name, PROVIDER_OTHER) == 0) {
            snprintf(err, errlen, "provider name \"%s\" is reserved or missing", defs[i].name ? defs[i].name : "");
            provider_map_free(m);
            return NULL;
        }
        int p = add_provider(m, defs[i].name, err, errlen);
        if (p < 0) {
            provider_map_free(m);
            return NULL;
        }
        for (size_t d = 0; d < defs[i].domains.count; d++)
            add_domain(m, defs[i].domains.items[d], (size_t)p);
    }
    snprintf(m->names[m->count], PROVIDER_NAME_MAX, "%s", PROVIDER_OTHER);
    m->count++;
    qsort(m->domains, m->ndomains, sizeof *m->domains, entry_cmp);
    for (size_t i = 1; i < m->ndomains; i++)
        if (strcmp(m->domains[i - 1].domain, m->domains[i].domain) == 0) {
            snprintf(err, errlen, "domain \"%s\" listed for two providers", m->domains[i].domain);
            provider_map_free(m);
            return NULL;
        }
    return m;
}

void provider_map_free(struct provider_map *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->ndomains; i++)
        free(m->domains[i].domain);
    free(m->domains);
    free(m);
}

static int find_exact(const struct provider_map *m, const char *d, size_t n)
{
    size_t lo = 0, hi = m->ndomains;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *e = m->domains[mid].domain;
        size_t el = strlen(e);
        /* by length, never past either end: d may hold any byte, NUL included */
        int c = memcmp(e, d, el < n ? el : n);
        if (c == 0)
            c = el < n ? -1 : el > n ? 1 : 0;
        if (c == 0)
            return (int)m->domains[mid].provider;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

size_t provider_lookup(const struct provider_map *m, const char *domain, size_t len)
{
    char low[256];
    if (domain == NULL || len == 0 || len >= sizeof low)
        return m->count - 1;
    for (size_t i = 0; i < len; i++) {
        char c = domain[i];
        low[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    if (low[len - 1] == '.') /* "gmail.com." */
        len--;
    size_t start = 0;
    while (start < len) {
        int p = find_exact(m, low + start, len - start);
        if (p >= 0)
            return (size_t)p;
        const char *dot = memchr(low + start, '.', len - start);
        if (dot == NULL)
            break;
        start = (size_t)(dot - low) + 1;
    }
    return m->count - 1;
}

size_t provider_count(const struct provider_map *m)
{
    return m->count;
}

const char *provider_name(const struct provider_map *m, size_t i)
{
    return i < m->count ? m->names[i] : PROVIDER_OTHER;
}

int provider_find(const struct provider_map *m, const char *name)
{
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->names[i], name) == 0)
            return (int)i;
    return -1;
}
