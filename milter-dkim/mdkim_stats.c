/*
 * NAME
 *   mdkim_stats.c - counters (see mdkim_stats.h)
 */
#include "mdkim_stats.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_ullong n_signed, n_signatures, n_errors, n_bytes, n_reload_ok, n_reload_failed;
static atomic_ullong n_skipped[MDKIM_SKIP__COUNT];

void mdkim_stats_signed(unsigned signatures, uint64_t body_bytes)
{
    atomic_fetch_add(&n_signed, 1);
    atomic_fetch_add(&n_signatures, signatures);
    atomic_fetch_add(&n_bytes, body_bytes);
}

void mdkim_stats_skipped(enum mdkim_skip reason)
{
    if ((unsigned)reason < MDKIM_SKIP__COUNT)
        atomic_fetch_add(&n_skipped[reason], 1);
}

void mdkim_stats_error(void)
{
    atomic_fetch_add(&n_errors, 1);
}

void mdkim_stats_reload(int ok)
{
    atomic_fetch_add(ok ? &n_reload_ok : &n_reload_failed, 1);
}

void mdkim_stats_print(FILE *out)
{
    fprintf(out, "milter_dkim_signed %llu\n", (unsigned long long)atomic_load(&n_signed));
    fprintf(out, "milter_dkim_signatures %llu\n", (unsigned long long)atomic_load(&n_signatures));
    fprintf(out, "milter_dkim_body_bytes %llu\n", (unsigned long long)atomic_load(&n_bytes));
    fprintf(out, "milter_dkim_errors %llu\n", (unsigned long long)atomic_load(&n_errors));
    for (int i = 1; i < MDKIM_SKIP__COUNT; i++)
        fprintf(out, "milter_dkim_skipped_%s %llu\n", mdkim_skip_name((enum mdkim_skip)i),
                (unsigned long long)atomic_load(&n_skipped[i]));
    fprintf(out, "milter_dkim_reloads %llu\n", (unsigned long long)atomic_load(&n_reload_ok));
    fprintf(out, "milter_dkim_reload_failures %llu\n", (unsigned long long)atomic_load(&n_reload_failed));
}

int mdkim_stats_write(const char *path)
{
    size_t len = strlen(path) + 8;
    char *tmp = malloc(len);
    if (tmp == NULL)
        return -1;
    snprintf(tmp, len, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        free(tmp);
        return -1;
    }
    mdkim_stats_print(f);
    int rc = (fclose(f) == 0 && rename(tmp, path) == 0) ? 0 : -1;
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}
