/*
 * NAME
 *   warmup_watch.h - the rolling complaint watch of the warm-up job.
 *
 * DESCRIPTION
 *   Between daily evaluations: the complaints of the last 24 hours of every
 *   IP that is not paused (one script call per IP).  Complaints are what
 *   ruins an IP's reputation fastest, so they stop it the same hour, not the
 *   next day.  Called at every tick of the job (warmup_job.c).
 */
#ifndef WARMUP_WATCH_H
#define WARMUP_WATCH_H

#include "warmup_job_call.h"

void warmup_watch_run(struct warmup_job *job);

#endif
