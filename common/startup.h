/*
 * startup.h - the start-up steps every postflow program shares: load the
 * configuration (the default file may be absent, an explicit -c file may
 * not), report errors as "prog: file:line: message" on stderr and in the log,
 * apply the `log` section, and implement -n (check) and --print-config.
 */
#ifndef POSTFLOW_STARTUP_H
#define POSTFLOW_STARTUP_H

#include <stddef.h>

#include "config.h"

/*
 * Sets defaults, then loads `path` (NULL: cfg_default_path(), skipped when it
 * does not exist so that command-line-only use works).  If a section named
 * "log" is among `sections`, its struct log_conf is applied.
 * Returns 0, or PF_EXIT_CONFIG after printing the error.
 */
int startup_load_config(const char *prog, const char *path, const struct cfg_section *sections, size_t n);

/*
 * The same with no file at all: defaults only, then the "log" section
 * applied (a program whose command line is its whole configuration, such
 * as milter-dkim -d/-s/-k without -c).  Returns 0 or PF_EXIT_CONFIG.
 */
int startup_load_defaults(const char *prog, const struct cfg_section *sections, size_t n);

/*
 * -n: prints "prog: configuration OK (file)" and, when verbose, the effective
 * configuration; returns PF_EXIT_OK.  Call after startup_load_config()
 * succeeded and after the program's own semantic checks.
 */
int startup_check_only(const char *prog, const char *path, const struct cfg_section *sections, size_t n, int verbose);

/* Prints "prog (postflow) VERSION" to stdout. */
void startup_print_version(const char *prog);

#endif
