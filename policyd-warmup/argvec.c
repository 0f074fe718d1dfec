/*
 * NAME
 *   argvec.c - a reusable list of strings in one arena (see argvec.h).
 */
#include "argvec.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void argvec_reset(struct argvec *v)
{
    v->used = 0;
    v->n = 0;
}

void argvec_free(struct argvec *v)
{
    free(v->arena);
    free(v->off);
    free(v->len);
    free(v->ptr);
    memset(v, 0, sizeof *v);
}

void argvec_add(struct argvec *v, const char *s, size_t len)
{
    if (v->n == v->ncap) {
        size_t ncap = v->ncap ? v->ncap * 2 : 32;
        v->off = xrealloc(v->off, ncap * sizeof *v->off);
        v->len = xrealloc(v->len, ncap * sizeof *v->len);
        v->ptr = xrealloc(v->ptr, ncap * sizeof *v->ptr);
        v->ncap = ncap;
    }
    if (v->cap - v->used < len + 1) {
        size_t cap = v->cap ? v->cap : 1024;
        while (cap - v->used < len + 1)
            cap *= 2;
        v->arena = xrealloc(v->arena, cap);
        v->cap = cap;
    }
    memcpy(v->arena + v->used, s, len);
    v->arena[v->used + len] = '\0';
    v->off[v->n] = v->used;
    v->len[v->n] = len;
    v->n++;
    v->used += len + 1;
}

void argvec_add_str(struct argvec *v, const char *s)
{
    argvec_add(v, s, strlen(s));
}

size_t argvec_fmt_ll(char *out, long long x)
{
    char tmp[24];
    size_t n = 0, o = 0;
    unsigned long long u = x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (x < 0)
        out[o++] = '-';
    while (n > 0)
        out[o++] = tmp[--n];
    out[o] = '\0';
    return o;
}

void argvec_add_ll(struct argvec *v, long long x)
{
    char tmp[24];
    size_t n = argvec_fmt_ll(tmp, x);
    argvec_add(v, tmp, n);
}

char *const *argvec_seal(struct argvec *v)
{
    for (size_t i = 0; i < v->n; i++)
        v->ptr[i] = v->arena + v->off[i];
    return v->ptr;
}
