/*
 * NAME
 *   wctl_addr.h - checks and normalises a suppression address for warmupctl.
 *
 * DESCRIPTION
 *   Every address an operator types or a CSV file carries goes through
 *   wctl_addr_normalize() before it reaches Redis.  Accepted forms (as
 *   docs/redis-keys.md defines the suppression entry):
 *
 *       local@domain        one recipient
 *       @domain             every recipient of a domain
 *
 *   optionally inside angle brackets ("<user@example.com>") and surrounded
 *   by blanks, which are removed.  Refused: empty, longer than
 *   RKEY_VALUE_MAX bytes, any byte <= 0x20 (NUL, CR, LF, space, controls)
 *   or DEL inside the address, a missing or empty domain, a local part
 *   longer than 64 bytes, a domain longer than 255 bytes, a second '@', a
 *   domain with an empty label ("a..b", ".com", "com.").  The result is
 *   lowercased: policyd-warmup looks up the lowercased recipient, so
 *   "User@Example.COM" and "user@example.com" are one entry.
 *
 *   Pure: no allocation, no I/O.
 */
#ifndef WCTL_ADDR_H
#define WCTL_ADDR_H

#include <stddef.h>

#include "redis_keys.h"

#define WCTL_ADDR_MAX RKEY_VALUE_MAX /* bytes, without the NUL */

/*
 * Normalises in[0..len) into out (WCTL_ADDR_MAX + 1 bytes, NUL-terminated).
 * Returns the length of the result, or -1 with *why set to a static text
 * ("contains a space or control byte", ...) that the caller prints.
 */
int wctl_addr_normalize(const char *in, size_t len, char out[WCTL_ADDR_MAX + 1], const char **why);

#endif
