/*
 * NAME
 *   wctl_args.c - warmupctl's command line and `warmupctl` config table.
 *
 * DESCRIPTION
 *   The contract is `warmupctl [-c FILE] COMMAND [--json]`: options may
 *   stand anywhere, so `warmupctl --json status` and `warmupctl status
 *   --json` are the same.  "--" ends the options: an address that starts
 *   with '-' is given as `warmupctl suppress add -- -x@example.com`.
 *   Whether an option makes sense for the command is checked by the
 *   command table in warmupctl_main.c, not here.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wctl.h"
#include "wctl_audit.h"

const struct cfg_option wctl_args_conf_options[] = {
    CFG_ROW("node", CFG_STRING, wctl_conf, node, NULL, 0, 255,
            "name written in the events of operator actions (default: policy.node_name, else the host name)"),
    CFG_ROW("scan_count", CFG_INT, wctl_conf, scan_count, "1000", 10, 100000,
            "COUNT hint of each SCAN call (suppress list/export, counters, metrics)"),
    CFG_ROW("audit_log", CFG_ENUM, wctl_conf, audit_log, "syslog", 0, 0,
            "where the line logged for each change (ip, suppress add/remove/import) goes: syslog | stderr | none",
            .choices = wctl_audit_names),
    CFG_END
};

struct valopt {
    const char *name;
    unsigned bit;
};

static const struct valopt VALOPTS[] = {
    { "--reason", WOPT_REASON }, { "--detail", WOPT_DETAIL }, { "--pool", WOPT_POOL },
    { "--limit", WOPT_LIMIT },   { "--html", WOPT_HTML },     { NULL, 0 },
};

static int set_value(struct wctl_args *a, unsigned bit, const char *v, char *err, size_t errsize)
{
    char *end;

    switch (bit) {
    case WOPT_REASON: a->reason = v; break;
    case WOPT_DETAIL: a->detail = v; break;
    case WOPT_POOL: a->pool = v; break;
    case WOPT_HTML: a->html = v; break;
    case WOPT_LIMIT:
        a->limit = strtoll(v, &end, 10);
        if (*v == '\0' || *end != '\0' || a->limit < 1) {
            snprintf(err, errsize, "--limit wants a positive number, not \"%s\"", v);
            return -1;
        }
        break;
    }
    a->given |= bit;
    return 0;
}

/* Handles argv[*i] when it is a value option ("--x V" or "--x=V"): 1 handled, 0 not, -1 error. */
static int value_option(int argc, char **argv, int *i, struct wctl_args *a, char *err, size_t errsize)
{
    const char *arg = argv[*i];

    for (const struct valopt *o = VALOPTS; o->name != NULL; o++) {
        size_t n = strlen(o->name);
        if (strncmp(arg, o->name, n) != 0)
            continue;
        if (arg[n] == '=')
            return set_value(a, o->bit, arg + n + 1, err, errsize) < 0 ? -1 : 1;
        if (arg[n] != '\0')
            continue;
        if (*i + 1 >= argc) {
            snprintf(err, errsize, "%s needs a value", o->name);
            return -1;
        }
        (*i)++;
        return set_value(a, o->bit, argv[*i], err, errsize) < 0 ? -1 : 1;
    }
    return 0;
}

int wctl_args_parse(int argc, char **argv, struct wctl_args *a, char *err, size_t errsize)
{
    int opts_done = 0;

    memset(a, 0, sizeof(*a));
    a->limit = -1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int rc;

        if (!opts_done && arg[0] == '-' && arg[1] != '\0') {
            if (strcmp(arg, "--") == 0) {
                opts_done = 1;
            } else if (strcmp(arg, "--json") == 0) {
                a->json = 1;
                a->given |= WOPT_JSON;
            } else if (strcmp(arg, "--force") == 0) {
                a->force = 1;
                a->given |= WOPT_FORCE;
            } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
                a->help = 1;
            } else if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
                a->version = 1;
            } else if (strcmp(arg, "-n") == 0) {
                a->check = 1;
            } else if (strcmp(arg, "--print-config") == 0) {
                a->print_config = 1;
            } else if (strcmp(arg, "-c") == 0) {
                if (i + 1 >= argc) {
                    snprintf(err, errsize, "-c needs a file name");
                    return -1;
                }
                a->config = argv[++i];
            } else if ((rc = value_option(argc, argv, &i, a, err, errsize)) != 0) {
                if (rc < 0)
                    return -1;
            } else {
                snprintf(err, errsize, "unknown option %s", arg);
                return -1;
            }
            continue;
        }
        if (a->npos == WCTL_MAX_POS) {
            snprintf(err, errsize, "too many arguments");
            return -1;
        }
        a->pos[a->npos++] = arg;
    }
    return 0;
}
