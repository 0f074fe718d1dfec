/*
 * reply_vocab.h - the category vocabulary of the reply classifier.
 *
 * DESCRIPTION
 *	The categories a verdict may carry (DESIGN.md: Sisimai's reasons, old
 *	and new names) and each category's default class.  Rule files are
 *	checked against this list at load: an unknown category is an error.
 *
 *	Class policy: "hard" means "this address is dead, suppress it".  Only
 *	categories that say so about the recipient are hard by default
 *	(userunknown, hostunknown, hasmoved, notaccept, suppressed), and only
 *	with a permanent (5xx) code; everything the sender, the content or the
 *	receiver's state can change is soft (escalated over time by
 *	bounce-proc), and non-failures (delivered, vacation, feedback) are
 *	unknown.  This follows Sisimai's soft/hard split.
 *
 * USERS
 *	reply_rules.c (validation), reply_class.c and reply_status.c (class).
 *
 * OWNERSHIP
 *	Every returned string is static.
 */
#ifndef POSTFLOW_REPLY_VOCAB_H
#define POSTFLOW_REPLY_VOCAB_H

#include "reply_class.h"

/* The canonical static name of a category (case-insensitive lookup), or NULL
 * when cat[0..len) is not in the vocabulary. */
const char *reply_vocab_lookup(const char *cat, size_t len);

/* The default class of a known category given the code's class digit
 * ('2', '4', '5' or 0 when unknown). */
enum reply_class reply_vocab_class(const char *category, char code_class);

/* The n-th category name (for tests and documentation), NULL past the end. */
const char *reply_vocab_at(size_t n);

#endif
