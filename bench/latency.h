/*
 * latency.h - small helpers shared by the bench load generators.
 *
 * DESCRIPTION
 *	Monotonic clock in nanoseconds, percentile of a latency sample array,
 *	and the process counters read from /proc/PID (CPU ticks, resident set
 *	size) that the benchmarks report for the daemon under test.  Header-only
 *	(static functions) so that run.sh can build every load generator from a
 *	single .c file with one cc command.
 */
#ifndef POSTFLOW_BENCH_LATENCY_H
#define POSTFLOW_BENCH_LATENCY_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t lat_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int lat_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* Sorts v in place (n samples) so that lat_pct() can be called repeatedly. */
static inline void lat_sort(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), lat_cmp_u64);
}

/* Nearest-rank percentile p (0 < p <= 100) of sorted v, in milliseconds. */
static inline double lat_pct_ms(const uint64_t *v, size_t n, double p)
{
    size_t rank;

    if (n == 0)
        return 0.0;
    rank = (size_t)((p / 100.0) * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)v[rank - 1] / 1e6;
}

/*
 * Reads utime+stime (clock ticks) of process pid from /proc/PID/stat.
 * Returns -1 if the process is gone.  Field 2 (comm) may contain spaces and
 * parentheses, so parsing starts after the last ')'.
 */
static inline long long proc_cpu_ticks(long pid)
{
    char path[64], line[2048], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f;
    size_t n;
    int field;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = '\0';
    if ((p = strrchr(line, ')')) == NULL)
        return -1;
    /* After ") " comes field 3 (state); utime is field 14, stime 15. */
    p++;
    for (field = 2; field < 13 && p != NULL; field++)
        p = strchr(p + 1, ' ');
    if (p == NULL || sscanf(p, " %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

/* VmRSS of process pid in KiB from /proc/PID/status, -1 if unknown. */
static inline long proc_rss_kib(long pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

#endif
