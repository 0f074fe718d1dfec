/*
 * tap_attempts.c - the in-flight (queue id, recipient) set (see
 * tap_attempts.h): open addressing over 64-bit fingerprints with
 * tombstones, rebuilt when they pile up.
 */
#include "tap_attempts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define EMPTY 0ULL
#define TOMB  1ULL

struct tap_attempts {
    uint64_t *slots;
    size_t cap; /* power of two */
    size_t live;
    size_t tombs;
    size_t limit;
    size_t untracked;
};

static uint64_t fingerprint(const char *q, size_t ql, const char *r, size_t rl)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < ql; i++) {
        h ^= (unsigned char)q[i];
        h *= 1099511628211ULL;
    }
    h ^= 0xff; /* separator: ("ab","c") != ("a","bc") */
    h *= 1099511628211ULL;
    for (size_t i = 0; i < rl; i++) {
        unsigned char c = (unsigned char)r[i];
        h ^= (c >= 'A' && c <= 'Z') ? c + 32 : c;
        h *= 1099511628211ULL;
    }
    h ^= h >> 29; /* mix the low bits used for the index */
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h < 2 ? h + 2 : h; /* 0 and 1 mark empty and deleted slots */
}

struct tap_attempts *tap_attempts_new(size_t limit)
{
    struct tap_attempts *a = xcalloc(1, sizeof(*a));
    a->cap = 1024;
    a->slots = xcalloc(a->cap, sizeof(*a->slots));
    a->limit = limit ? limit : 1;
    return a;
}

void tap_attempts_free(struct tap_attempts *a)
{
    if (a == NULL)
        return;
    free(a->slots);
    free(a);
}

static void rebuild(struct tap_attempts *a, size_t cap)
{
    uint64_t *old = a->slots;
    size_t oldcap = a->cap;
    a->slots = xcalloc(cap, sizeof(*a->slots));
    a->cap = cap;
    a->tombs = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i] > TOMB) {
            size_t j = (size_t)old[i] & (cap - 1);
            while (a->slots[j] != EMPTY)
                j = (j + 1) & (cap - 1);
            a->slots[j] = old[i];
        }
    free(old);
}

bool tap_attempts_add(struct tap_attempts *a, const char *qid, size_t qlen, const char *rcpt, size_t rlen, bool final)
{
    uint64_t f = fingerprint(qid, qlen, rcpt, rlen);
    size_t i = (size_t)f & (a->cap - 1), tomb = (size_t)-1;
    for (;;) {
        uint64_t s = a->slots[i];
        if (s == EMPTY)
            break;
        if (s == TOMB && tomb == (size_t)-1)
            tomb = i;
        if (s == f) {
            if (final) {
                a->slots[i] = TOMB;
                a->live--;
                a->tombs++;
            }
            return false;
        }
        i = (i + 1) & (a->cap - 1);
    }
    if (final)
        return true; /* first and last attempt: nothing to remember */
    if (a->live >= a->limit) {
        a->untracked++;
        return true;
    }
    a->slots[tomb != (size_t)-1 ? tomb : i] = f;
    if (tomb != (size_t)-1)
        a->tombs--;
    a->live++;
    if ((a->live + a->tombs) * 4 >= a->cap * 3)
        rebuild(a, a->live * 2 >= a->cap / 2 ? a->cap * 2 : a->cap);
    return true;
}

size_t tap_attempts_inflight(const struct tap_attempts *a)
{
    return a->live;
}

size_t tap_attempts_untracked(const struct tap_attempts *a)
{
    return a->untracked;
}
