/*
 * startup.c - shared start-up steps (see startup.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exitcodes.h"
#include "log.h"
#include "startup.h"

#ifndef POSTFLOW_VERSION
#define POSTFLOW_VERSION "0.0.0"
#endif

/* Applies the "log" section if there is one; `origin` names where it came from, for the error. */
static int apply_log_section(const char *prog, const char *origin, const struct cfg_section *sections, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(sections[i].name, "log") == 0 && log_configure(sections[i].dest) < 0) {
            fprintf(stderr, "%s: %s: bad log section\n", prog, origin);
            return PF_EXIT_CONFIG;
        }
    }
    return PF_EXIT_OK;
}

int startup_load_config(const char *prog, const char *path, const struct cfg_section *sections, size_t n)
{
    struct cfg_error err;

    err.text[0] = '\0';
    if (cfg_load_defaults_and_file(path, path != NULL, sections, n, &err) < 0) {
        log_startup_error(prog, "%s", err.text);
        return PF_EXIT_CONFIG;
    }
    return apply_log_section(prog, path != NULL ? path : cfg_default_path(), sections, n);
}

int startup_load_defaults(const char *prog, const struct cfg_section *sections, size_t n)
{
    struct cfg_error err;

    err.text[0] = '\0';
    if (cfg_defaults(sections, n, &err) < 0) {
        fprintf(stderr, "%s: built-in defaults: %s\n", prog, err.text);
        return PF_EXIT_CONFIG;
    }
    return apply_log_section(prog, "built-in defaults", sections, n);
}

int startup_check_only(const char *prog, const char *path, const struct cfg_section *sections, size_t n, int verbose)
{
    const char *file = path != NULL ? path : cfg_default_path();

    if (verbose)
        cfg_print(stdout, sections, n);
    printf("%s: configuration OK (%s%s)\n", prog, file,
           path == NULL && access(file, F_OK) < 0 ? ": absent, built-in defaults" : "");
    return PF_EXIT_OK;
}

void startup_print_version(const char *prog)
{
    printf("%s (postflow) %s\n", prog, POSTFLOW_VERSION);
}
