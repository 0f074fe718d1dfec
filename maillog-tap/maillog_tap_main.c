/*
 * maillog_tap_main.c - maillog-tap: the delivery-log follower.
 *
 * SYNOPSIS
 *	maillog-tap --lint-rules [FILE] [--corpus FILE]
 *	maillog-tap --dry-run --json [--from-start] [--rules FILE] [--exim] FILE...
 *	maillog-tap --dry-run --json --follow [--checkpoint FILE] [--from-start] [--rules FILE] FILE
 *	maillog-tap [-c FILE] [-f] [-n [-v]] --follow [--checkpoint FILE] [--rules FILE] [--json] [FILE]
 *
 * DESCRIPTION
 *	Wiring only: argv, the rule set, the classifier, then the linter or
 *	the replay (tap_lint.c, tap_replay.c), or the follow loop
 *	(tap_watch.c), or the daemon that writes effects to Redis
 *	(tap_daemon.c): --follow without --dry-run, or -c.
 *
 * EXIT STATUS
 *	0 done (lint clean), 1 lint errors or unreadable input, 64 usage,
 *	78 bad rule file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "reply_class.h"
#include "tap_daemon.h"
#include "tap_lint.h"
#include "tap_provider.h"
#include "tap_replay.h"
#include "tap_rules.h"
#include "tap_watch.h"

#define DEFAULT_RULES  POSTFLOW_SYSCONFDIR "/postflow/shaping-rules.conf"
#define DEFAULT_CORPUS "tests/data/receiver-replies.txt"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: maillog-tap --lint-rules [FILE] [--corpus FILE] [-v]\n"
            "       maillog-tap --dry-run --json [--from-start] [--rules FILE] [--exim] FILE...\n"
            "       maillog-tap --dry-run --json --follow [--checkpoint FILE] [--from-start] [--rules FILE] FILE\n"
            "       maillog-tap [-c FILE] [-f] [-n [-v]] --follow [--checkpoint FILE] [--rules FILE] [--json] [FILE]\n"
            "       maillog-tap --print-config [-c FILE]\n"
            "       maillog-tap --version | --help\n");
}

struct opts {
    int lint, dry_run, json, from_start, exim, verbose, follow, foreground, check, print_config;
    const char *checkpoint;
    const char *config;
    int rules_given;
    const char *rules;
    const char *corpus;
    char **files;
    int nfiles;
};

static int parse_args(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->rules = DEFAULT_RULES;
    o->corpus = DEFAULT_CORPUS;
    o->files = calloc((size_t)argc, sizeof(char *));
    if (o->files == NULL)
        return -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--lint-rules") == 0) {
            o->lint = 1;
            if (i + 1 < argc && argv[i + 1][0] != '-')
                o->rules = argv[++i];
        } else if (strcmp(a, "--corpus") == 0 && i + 1 < argc) {
            o->corpus = argv[++i];
        } else if (strcmp(a, "--rules") == 0 && i + 1 < argc) {
            o->rules = argv[++i];
            o->rules_given = 1;
        } else if (strcmp(a, "-c") == 0 && i + 1 < argc) {
            o->config = argv[++i];
        } else if (strcmp(a, "-f") == 0) {
            o->foreground = 1;
        } else if (strcmp(a, "-n") == 0) {
            o->check = 1;
        } else if (strcmp(a, "--print-config") == 0) {
            o->check = o->print_config = 1;
        } else if (strcmp(a, "--dry-run") == 0) {
            o->dry_run = 1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--from-start") == 0) {
            o->from_start = 1;
        } else if (strcmp(a, "--follow") == 0) {
            o->follow = 1;
        } else if (strcmp(a, "--checkpoint") == 0 && i + 1 < argc) {
            o->checkpoint = argv[++i];
        } else if (strcmp(a, "-v") == 0) {
            o->verbose = 1;
        } else if (strcmp(a, "--exim") == 0) {
            o->exim = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            return -1;
        } else {
            o->files[o->nfiles++] = argv[i];
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("maillog-tap %s\n", POSTFLOW_VERSION);
        return PF_EXIT_OK;
    }
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return PF_EXIT_OK;
    }
    struct opts o;
    int pr = parse_args(argc, argv, &o);
    if (pr == 0 && !o.lint && !o.dry_run && (o.config != NULL || o.follow || o.check) && o.nfiles <= 1) {
        struct tap_daemon_opts d = {
            .config = o.config,
            .checkpoint = o.checkpoint,
            .rules = o.rules_given ? o.rules : NULL,
            .log_file = o.nfiles == 1 ? o.files[0] : NULL,
            .exim = o.exim,
            .from_start = o.from_start,
            .json = o.json,
            .foreground = o.foreground,
            .check = o.check,
            .verbose = o.verbose,
            .print_config = o.print_config,
        };
        int rc = tap_daemon_run(&d);
        free(o.files);
        return rc;
    }
    if (pr < 0 || (!o.lint && !(o.dry_run && o.json && o.nfiles > 0)) || (o.follow && o.nfiles != 1)) {
        usage(stderr);
        free(o.files);
        return PF_EXIT_USAGE;
    }
    char err[512] = "";
    struct tap_rules *rules = tap_rules_load_file(o.rules, err, sizeof(err));
    struct reply_rules *classifier = reply_rules_default(err, sizeof(err));
    if (classifier != NULL)
        reply_rules_jit(classifier); /* a replay classifies thousands of replies: worth compiling */
    struct tap_provider *tp = tap_provider_new(err, sizeof(err));
    int rc = PF_EXIT_OK;
    if (rules == NULL || classifier == NULL || tp == NULL) {
        fprintf(stderr, "maillog-tap: %s\n", err);
        rc = PF_EXIT_CONFIG;
    } else if (o.lint) {
        struct tap_lint_stats st = { .list = o.verbose ? stdout : NULL };
        int n = tap_lint(rules, classifier, tp, o.corpus, stderr, &st);
        if (n >= 0)
            fprintf(stderr, "lint: %zu rules, %zu replies (%zu matched by a rule), %zu errors\n",
                    tap_rules_count(rules), st.samples, st.matched, st.errors);
        rc = n == 0 ? PF_EXIT_OK : PF_EXIT_FAILURE;
    } else if (o.follow) {
        struct tap_replay_opts ro = { .from_start = o.from_start, .exim = o.exim };
        struct tap_replay *r = tap_replay_new(rules, classifier, tp, &ro);
        rc =
            tap_watch(r, o.files[0], o.checkpoint, o.from_start, 200, stdout, NULL) == 0 ? PF_EXIT_OK : PF_EXIT_FAILURE;
        tap_replay_free(r);
    } else {
        struct tap_replay_opts ro = { .from_start = o.from_start, .exim = o.exim };
        rc = tap_replay_files(rules, classifier, tp, &ro, o.files, (size_t)o.nfiles, stdout) == 0 ? PF_EXIT_OK
                                                                                                  : PF_EXIT_FAILURE;
    }
    tap_rules_free(rules);
    reply_rules_free(classifier);
    tap_provider_free(tp);
    free(o.files);
    return rc;
}
