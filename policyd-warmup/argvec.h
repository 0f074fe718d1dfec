/*
 * NAME
 *   argvec.h - a reusable list of strings in one arena, for script calls.
 *
 * DESCRIPTION
 *   A policy request becomes one EVALSHA with some twenty short KEYS and
 *   ARGV strings.  Allocating each one (and freeing it after the reply) was
 *   a tenth of the daemon's CPU at 35k requests/s; an argvec keeps them,
 *   NUL-terminated, in one buffer that lives as long as the connection and
 *   is reset, not freed, between requests.
 *
 *   Strings are appended with argvec_add*(); argvec_seal() then fills the
 *   pointer and length arrays (the arena may move while strings are added,
 *   so pointers exist only after sealing, and stay valid until the next
 *   add or reset).
 */
#ifndef ARGVEC_H
#define ARGVEC_H

#include <stddef.h>

struct argvec {
    char *arena; /* owned: the strings, each followed by a NUL */
    size_t used, cap;
    size_t *off; /* owned: offset of string i in the arena */
    size_t *len; /* owned: its length */
    char **ptr;  /* owned: filled by argvec_seal() */
    size_t n, ncap;
};

/* An all-zero argvec is empty and valid. */
void argvec_reset(struct argvec *v); /* n = 0, memory kept */
void argvec_free(struct argvec *v);  /* memory released; the argvec is empty again */
void argvec_add(struct argvec *v, const char *s, size_t len);
void argvec_add_str(struct argvec *v, const char *s);
void argvec_add_ll(struct argvec *v, long long x);
/* Fills v->ptr[0..n) (and returns it); valid until the next add or reset. */
char *const *argvec_seal(struct argvec *v);

/* Writes x in decimal to out (at least 21 bytes), NUL-terminated; returns the length. */
size_t argvec_fmt_ll(char *out, long long x);

#endif
