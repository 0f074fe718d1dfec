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

int wctl_status_cmd(struct wctl *w, const struct wctl_args *a);
int wctl_metrics_cmd(struct wctl *w, const struct wctl_args *a);
int wctl_counters_cmd(struct wctl *w, const struct wctl_args *a);
int wctl_events_cmd(struct wctl *w, const struct wctl_args *a);
int wctl_ip_cmd(struct wctl *w, const struct wctl_args *a);
int wctl_suppress_add_cmd(struct wctl *w, const struct wctl_args *a);
int wctl_suppress_remove_cmd(struct wctl *w, const struct wctl_args *a);
int wctl_suppress_check_cmd(struct wctl *w, const struct wctl_args *a);
int wctl_suppress_list_cmd(struct wctl *w, const struct wctl_args *a);
int wctl_suppress_export_cmd(struct wctl *w, const struct wctl_args *a);
int wctl_import_cmd(struct wctl *w, const struct wctl_args *a);
int wctl_shaping_list_cmd(struct wctl *w, const struct wctl_args *a);
int wctl_shaping_show_cmd(struct wctl *w, const struct wctl_args *a);
int wctl_shaping_cancel_cmd(struct wctl *w, const struct wctl_args *a);
int wctl_shaping_extend_cmd(struct wctl *w, const struct wctl_args *a);
int wctl_report_cmd(struct wctl *w, const struct wctl_args *a);

#endif
