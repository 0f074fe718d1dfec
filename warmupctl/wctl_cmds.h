/*
 * NAME
 *   wctl_cmds.h - the warmupctl commands (one function each).
 *
 * DESCRIPTION
 *   Each returns the exit status; see wctl.h for the conventions and
 *   man/warmupctl.8 for what each command does.  a->pos[0] is the command
 *   word ("status", "ip", ...), operands follow.
 */
#ifndef WCTL_CMDS_H
#define WCTL_CMDS_H

#include "wctl.h"

int wcmd_status(struct wctl *w, const struct wctl_args *a);
int wcmd_metrics(struct wctl *w, const struct wctl_args *a);
int wcmd_counters(struct wctl *w, const struct wctl_args *a);
int wcmd_events(struct wctl *w, const struct wctl_args *a);
int wcmd_ip(struct wctl *w, const struct wctl_args *a);
int wcmd_suppress_add(struct wctl *w, const struct wctl_args *a);
int wcmd_suppress_remove(struct wctl *w, const struct wctl_args *a);
int wcmd_suppress_check(struct wctl *w, const struct wctl_args *a);
int wcmd_suppress_list(struct wctl *w, const struct wctl_args *a);
int wcmd_suppress_export(struct wctl *w, const struct wctl_args *a);
int wcmd_suppress_import(struct wctl *w, const struct wctl_args *a);

#endif
