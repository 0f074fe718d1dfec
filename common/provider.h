/*
 * NAME
 *   provider.h - recipient domain -> mailbox provider (gmail, microsoft, ...).
 *
 * DESCRIPTION
 *   Warm-up shares, health counters and rate limits are kept per mailbox
 *   provider, because receivers judge reputation per provider, not per
 *   domain.  The map is built once from config (a list of {name, domains})
 *   or, when the list is empty, from a built-in table of the large
 *   consumer providers.  A domain matches itself and its subdomains
 *   ("mail.yahoo.co.jp" matches "yahoo.co.jp"); anything unmatched is
 *   PROVIDER_OTHER ("other").  Lookups are case-insensitive and allocation
 *   free (binary search over a sorted table), so they are cheap per request.
 *   Shared by policyd-warmup (counting) and bounce-proc/fbl-proc (charging).
 */
#ifndef POSTFLOW_PROVIDER_H
#define POSTFLOW_PROVIDER_H

#include <stddef.h>
#include "config.h"

#define PROVIDER_MAX      16 /* providers, "other" included */
#define PROVIDER_NAME_MAX 32
#define PROVIDER_OTHER    "other"

/* One element of the `providers` config list. */
struct provider_def {
    char *name;
    struct cfg_strlist domains;
};
extern const struct cfg_option provider_def_options[];

struct provider_map;

/*
 * Builds the map from defs[0..n) (n == 0: the built-in table).  Returns
 * NULL with a message in err when a name is invalid or repeated, there are
 * too many providers, or a domain is listed twice.  Caller frees with
 * provider_map_free().  The map copies what it needs from defs.
 */
struct provider_map *provider_map_new(const struct provider_def *defs, size_t n, char *err, size_t errlen);
void provider_map_free(struct provider_map *map);

/* Index of the provider of `domain` (0..count-1); "other" when unmatched. */
size_t provider_lookup(const struct provider_map *map, const char *domain, size_t len);
/* Number of providers, "other" included (it is always the last). */
size_t provider_count(const struct provider_map *map);
/* Name of provider i; valid as long as the map. */
const char *provider_name(const struct provider_map *map, size_t i);
/* Index of a provider by name, or -1. */
int provider_find(const struct provider_map *map, const char *name);

#endif
