/*
 * warmup_job_scripts.h - Lua sources of the warm-up job (warmup_job_scripts.c).
 */
#ifndef WARMUP_JOB_SCRIPTS_H
#define WARMUP_JOB_SCRIPTS_H

extern const char warmup_register_lua[];
extern const char warmup_fetch_lua[];
extern const char warmup_apply_lua[];
extern const char warmup_watch_lua[];
extern const char warmup_pause_lua[];

#endif
