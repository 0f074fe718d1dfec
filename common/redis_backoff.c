/*
 * redis_backoff.c - the doubling reconnection delay (see redis_backoff.h).
 */
#include "redis_backoff.h"

long long redis_backoff_next(long long current_ms, long long min_ms, long long max_ms)
{
    long long cap = max_ms > min_ms ? max_ms : min_ms;

    if (current_ms <= 0)
        return min_ms;
    if (current_ms >= cap || current_ms > cap / 2)
        return cap;
    return current_ms * 2;
}
