/*
 * tap_provider.c - recipient domain / MX host -> provider (see tap_provider.h).
 *
 * The MX suffixes are the providers' published inbound host names
 * (gmail-smtp-in.l.google.com, *.olc.protection.outlook.com,
 * mta*.am0.yahoodns.net, mx0*.mail.icloud.com, mx*.comcast.net /
 * mx*.xfinity.com, mx*.gmx.net / mx-ha*.web.de, smtp-in.orange.fr).
 */
#include "tap_provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"
#include "xalloc.h"

struct tap_provider {
    struct provider_map *by_rcpt;
    struct provider_map *by_mx;
};

static char *gmail_rcpt[] = { "gmail.com", "googlemail.com" };
static char *gmail_mx[] = { "google.com", "googlemail.com" };
static char *ms_rcpt[] = { "outlook.com",  "hotmail.com",   "live.com",   "msn.com",
                           "passport.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de",
                           "hotmail.it",   "hotmail.es",    "live.co.uk", "live.fr",
                           "live.de",      "outlook.fr",    "outlook.de", "windowslive.com" };
static char *ms_mx[] = { "outlook.com", "hotmail.com" };
static char *yahoo_rcpt[] = { "yahoo.com", "ymail.com", "rocketmail.com", "yahoo.co.uk", "yahoo.fr",
                              "yahoo.de",  "yahoo.it",  "yahoo.es",       "yahoo.co.jp", "yahoo.com.br",
                              "yahoo.ca",  "yahoo.in",  "aol.com",        "aim.com",     "verizon.net" };
static char *yahoo_mx[] = { "yahoodns.net", "aol.com" };
static char *apple_rcpt[] = { "icloud.com", "me.com", "mac.com" };
static char *apple_mx[] = { "icloud.com" };
static char *comcast_rcpt[] = { "comcast.net", "xfinity.com" };
static char *comcast_mx[] = { "comcast.net", "xfinity.com" };
static char *gmx_rcpt[] = { "gmx.net", "gmx.de",    "gmx.at", "gmx.ch",  "gmx.com",
                            "gmx.fr",  "gmx.co.uk", "web.de", "mail.com" };
static char *gmx_mx[] = { "gmx.net", "gmx.com", "web.de", "mail.com" };
static char *orange_rcpt[] = { "orange.fr", "wanadoo.fr" };
static char *orange_mx[] = { "orange.fr" };

#define N(a) (sizeof(a) / sizeof((a)[0]))
static const struct {
    char *name;
    char **rcpt;
    size_t nrcpt;
    char **mx;
    size_t nmx;
} table[] = {
    { "gmail", gmail_rcpt, N(gmail_rcpt), gmail_mx, N(gmail_mx) },
    { "microsoft", ms_rcpt, N(ms_rcpt), ms_mx, N(ms_mx) },
    { "yahoo", yahoo_rcpt, N(yahoo_rcpt), yahoo_mx, N(yahoo_mx) },
    { "apple", apple_rcpt, N(apple_rcpt), apple_mx, N(apple_mx) },
    { "comcast", comcast_rcpt, N(comcast_rcpt), comcast_mx, N(comcast_mx) },
    { "gmx", gmx_rcpt, N(gmx_rcpt), gmx_mx, N(gmx_mx) },
    { "orange", orange_rcpt, N(orange_rcpt), orange_mx, N(orange_mx) },
};

struct tap_provider *tap_provider_new(char *err, size_t errlen)
{
    struct provider_def defs[N(table)];
    struct tap_provider *tp = xcalloc(1, sizeof(*tp));
    for (size_t i = 0; i < N(table); i++) {
        defs[i].name = table[i].name;
        defs[i].domains.items = table[i].rcpt;
        defs[i].domains.count = table[i].nrcpt;
    }
    tp->by_rcpt = provider_map_new(defs, N(table), err, errlen);
    for (size_t i = 0; i < N(table); i++) {
        defs[i].domains.items = table[i].mx;
        defs[i].domains.count = table[i].nmx;
    }
    tp->by_mx = provider_map_new(defs, N(table), err, errlen);
    if (tp->by_rcpt == NULL || tp->by_mx == NULL) {
        tap_provider_free(tp);
        return NULL;
    }
    return tp;
}

void tap_provider_free(struct tap_provider *tp)
{
    if (tp == NULL)
        return;
    provider_map_free(tp->by_rcpt);
    provider_map_free(tp->by_mx);
    free(tp);
}

/* Host-name bytes only: the log is untrusted, and provider_lookup() wants a
 * name without NUL bytes (it compares with strncmp). */
static int hostname_ok(const char *s, size_t n)
{
    if (n == 0 || n >= 256)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == '_'))
            return 0;
    }
    return 1;
}

const char *tap_provider_of(const struct tap_provider *tp, const char *rcpt, size_t rcpt_len, const char *relay,
                            size_t relay_len)
{
    if (rcpt != NULL && rcpt_len > 0) {
        const char *at = NULL;
        for (size_t i = 0; i < rcpt_len; i++)
            if (rcpt[i] == '@')
                at = rcpt + i;
        const char *d = at ? at + 1 : rcpt;
        size_t dn = rcpt_len - (size_t)(d - rcpt);
        if (hostname_ok(d, dn)) {
            size_t i = provider_lookup(tp->by_rcpt, d, dn);
            const char *name = provider_name(tp->by_rcpt, i);
            if (strcmp(name, PROVIDER_OTHER) != 0)
                return name;
        }
    }
    if (relay != NULL && hostname_ok(relay, relay_len)) {
        size_t i = provider_lookup(tp->by_mx, relay, relay_len);
        return provider_name(tp->by_mx, i);
    }
    return PROVIDER_OTHER;
}

int tap_provider_known(const struct tap_provider *tp, const char *name)
{
    return provider_find(tp->by_rcpt, name) >= 0;
}
