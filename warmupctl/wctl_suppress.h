/*
 * NAME
 *   wctl_suppress.h - suppression helpers of wctl_suppress.c, shared with
 *   wctl_import.c.
 */
#ifndef WCTL_SUPPRESS_H
#define WCTL_SUPPRESS_H

#include "wctl.h"
#include "wctl_addr.h"
#include "wctl_fmt.h"

#define WCTL_SAFE_MAX 1400 /* buffer for text_safe() of untrusted text shown to the operator */

/* Normalises a command-line address; prints the error and returns -1 if bad. */
int wctl_suppress_address_arg(const char *arg, char addr[WCTL_ADDR_MAX + 1]);
/* The entry's key; -1 (reported) if impossible. */
int wctl_suppress_key(struct wctl *w, const char *addr, char key[RKEY_MAX]);
/*
 * Writes one entry with `script` (NULL: replace any existing entry).  The
 * script gets KEYS[1] = key, ARGV = reason, source, time, detail and
 * returns 1 when the key existed, or {1|0, the old reason}.  Returns that
 * flag, or -1 (reported).  old (may be NULL) gets the old reason, made
 * printable ("" when unknown).
 */
int wctl_suppress_write(struct wctl *w, const char *addr, const char *reason, const char *source, long long when,
                        const char *detail, struct redis_script *script, char *old, size_t oldsize);
/* Address inside a suppression key; -1 if the key is not one. */
int wctl_suppress_addr_from_key(const struct wctl *w, const char *key, size_t len, char addr[WCTL_ADDR_MAX + 1]);
/* Fetches the entries of one SCAN page and calls fn for each (0 go on, 1 stop, -1 fail). */
int wctl_suppress_fetch_page(struct wctl *w, redisReply **keys, size_t nkeys,
                             int (*fn)(struct wctl *w, const struct wsup_entry *e, void *arg), void *arg);

#endif
