/*
 * tap_provider.h - which mailbox provider a delivery went to: by the
 * recipient's domain, else by the receiving MX host.
 *
 * DESCRIPTION
 *	Receivers answer per provider, and most mail to a provider's hosted
 *	domains (Google Workspace, Microsoft 365, Yahoo small business) goes
 *	to the provider's own MX hosts, which the delivery line names
 *	(relay=gmail-smtp-in.l.google.com).  So the provider is looked up
 *	first by the recipient domain, then, when that says "other", by the
 *	relay host name.  Both lookups use common/provider.c maps built from
 *	a table that adds, to the four providers policyd-warmup knows
 *	(gmail, microsoft, yahoo, apple), the ones the shaping rules name:
 *	comcast, gmx (GMX, web.de, mail.com: United Internet) and orange.
 *
 *	Not yet configurable: when the follower gets its config section, the
 *	recipient map must be the same `providers` list policyd-warmup uses,
 *	so effects keyed IP x provider are the keys the policy daemon reads.
 *
 * USERS
 *	tap_classify.c, tap_rules_lint.c.
 *
 * OWNERSHIP
 *	tap_provider_new() returns a table the caller frees with
 *	tap_provider_free(); returned names are valid while it lives.
 */
#ifndef MAILLOG_TAP_PROVIDER_H
#define MAILLOG_TAP_PROVIDER_H

#include <stddef.h>

struct tap_provider;

struct tap_provider *tap_provider_new(char *err, size_t errlen);
void tap_provider_free(struct tap_provider *tp);

/* Provider of a delivery: recipient "local@domain" (or a bare domain) and
 * relay host (either may be NULL / 0 length).  Never NULL: "other" when
 * nothing matches. */
const char *tap_provider_of(const struct tap_provider *tp, const char *rcpt, size_t rcpt_len, const char *relay,
                            size_t relay_len);

/* True when name is a provider of the table ("other" included). */
int tap_provider_known(const struct tap_provider *tp, const char *name);

#endif
