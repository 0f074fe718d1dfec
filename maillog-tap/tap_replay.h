/*
 * tap_replay.h - replay delivery-log files: one JSON line per receiver
 * outcome and per effect the rules would start, then a summary of rates.
 *
 * USERS
 *	maillog_tap_main.c (--dry-run --json), tap_watch.c (--follow).
 *
 * OWNERSHIP
 *	Borrows rules, classifier, provider table and the file names.
 */
#ifndef MAILLOG_TAP_REPLAY_H
#define MAILLOG_TAP_REPLAY_H

#include <stddef.h>
#include <stdio.h>

#include "reply_class.h"
#include <stdbool.h>
#include <stddef.h>

#include "tap_provider.h"
#include "tap_rules.h"

struct tap_event;
struct tap_verdict;
struct tap_shape_effect;

/* Called for every effect a rule starts (the event's views live during the call only). */
typedef void (*tap_replay_effect_fn)(void *ctx, const struct tap_event *ev, const struct tap_verdict *v,
                                     const struct tap_shape_effect *eff);

/* Called for every delivery outcome, with its classified verdict (same lifetime rule). */
typedef void (*tap_replay_outcome_fn)(void *ctx, const struct tap_event *ev, const struct tap_verdict *v);

/* Fills ip (NUL-terminated) with the sending IP of an outcome whose line names none, from
 * wherever the caller knows it (the daemon: the pf:q: attribution record); false: unknown. */
typedef bool (*tap_replay_ip_fn)(void *ctx, const struct tap_event *ev, char *ip, size_t ipsize);

struct tap_replay_opts {
    int from_start;                 /* read each file from its first byte (the only mode built yet) */
    int exim;                       /* the files are Exim main logs (default: Postfix) */
    int quiet;                      /* no delivery/effect JSON lines (the daemon); rates and summary still */
    tap_replay_effect_fn on_effect; /* may be NULL */
    void *effect_ctx;
    tap_replay_outcome_fn on_outcome; /* may be NULL; called with effect_ctx */
    tap_replay_ip_fn resolve_ip;      /* may be NULL; called with effect_ctx */
};

struct tap_replay;

/* The replay state, for callers that feed lines themselves (the follower).
 * Free with tap_replay_free(). */
struct tap_replay *tap_replay_new(const struct tap_rules *rules, const struct reply_rules *classifier,
                                  const struct tap_provider *tp, const struct tap_replay_opts *opts);
void tap_replay_free(struct tap_replay *r);
/* One line (ref: the year of a BSD timestamp); JSON goes to an internal
 * buffer, written to out when large or at tap_replay_flush(). */
void tap_replay_line(struct tap_replay *r, const char *p, size_t n, long long ref, FILE *out);
void tap_replay_flush(struct tap_replay *r, FILE *out);
/* The "rates" lines and the "summary" line. */
void tap_replay_summary(struct tap_replay *r, size_t nfiles, FILE *out);
long long tap_replay_lines(const struct tap_replay *r);

/* Returns 0, or -1 when a file cannot be read (reported on stderr). */
int tap_replay_files(const struct tap_rules *rules, const struct reply_rules *classifier, const struct tap_provider *tp,
                     const struct tap_replay_opts *opts, char **files, size_t nfiles, FILE *out);

#endif
