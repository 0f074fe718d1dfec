/*
 * inbound_driver.c - the driver of bounce-proc and fbl-proc (see inbound_driver.h).
 *
 * DESCRIPTION
 *	Pipe mode (the MTA's pipe transport): one message on stdin, the
 *	envelope from argv (Postfix: SENDER RECIPIENT [ORIGINAL_RECIPIENT]
 *	[QUEUE_ID]) or Exim's environment (SENDER, RECIPIENT).  Batch mode:
 *	every positional argument names an existing file or directory (or
 *	--batch): messages are read from them (inbound_batch.h), with a
 *	progress line on a terminal and a summary at the end.
 *
 *	Per message: parse (the program's parser), attribute (inbound_attr),
 *	act (inbound_store, one Redis script; not with --dry-run), log one
 *	line per recipient, print JSON lines with --json.  Unrecognized
 *	messages are quarantined in pipe mode.  Exit codes (DESIGN.md): 0,
 *	75 for temporary trouble (Redis, disk, memory), 64/78 at start only.
 */
#include "inbound_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "exitcodes.h"
#include "inbound_attr.h"
#include "inbound_batch.h"
#include "inbound_conf.h"
#include "inbound_reclassify.h"
#include "inbound_store.h"
#include "inbound_summary.h"
#include "log.h"
#include "provider.h"
#include "redis.h"
#include "startup.h"
#include "trace.h"

struct driver_options {
    const char *config;
    bool dry_run, json, check, quiet, progress, batch, pipe, verbose, foreground, print_config, reclassify;
    char **args;
    int nargs;
};

struct driver {
    const struct inbound_program *prog;
    struct driver_options opt;
    struct log_conf log;
    struct redis_conf redis_conf;
    struct trace_conf trace;
    struct inbound_conf conf;
    struct cfg_section sections[4];
    struct reply_rules *rules;
    struct mail_limits limits;
    struct trace_key keys[2];
    size_t nkeys;
    struct provider_map *providers;
    struct rkeys rkeys;
    struct redis_conn *redis;
    char node[256];
    struct inbound_attr_ctx attr;
    struct inbound_store_ctx store;
    struct buf out;
    bool log_to_stderr;
};

static void usage(FILE *f, const char *name)
{
    fprintf(f,
            "usage: %s [-c FILE] [-f] [--dry-run] [--json] [SENDER RECIPIENT [ORIGINAL_RECIPIENT] [QUEUE_ID]]\n"
            "       %s [-c FILE] [--dry-run] [--json] [-q] [-v] [--no-progress] FILE|DIR|MBOX...\n"
            "       %s [-c FILE] [--dry-run] [--json] reclassify\n"
            "       %s -n [-v] [-c FILE] | --print-config [-c FILE] | --version | --help\n"
            "Pipe mode reads one message on stdin (envelope from argv, or SENDER/RECIPIENT in the\n"
            "environment under Exim), logging to syslog (-f: to stderr); batch mode reads every\n"
            "message of the files, directories (maildirs too) and mboxes named.  --dry-run touches\n"
            "no Redis and no files.  Exit: 0 done (unrecognized mail is quarantined), 75 temporary\n"
            "trouble (retry), 64 usage, 78 configuration.\n"
            "reclassify: after a rule change, read the quarantine again and re-judge the stored\n"
            "events (pf:bounces): suppressions that no longer hold are removed.\n",
            name, name, name, name);
}

static int parse_options(int argc, char **argv, const char *name, struct driver_options *o)
{
    enum { OPT_VERSION = 1000, OPT_NO_PROGRESS, OPT_BATCH, OPT_PIPE, OPT_DRY, OPT_JSON, OPT_PRINT };
    static const struct option longs[] = {
        { "config", required_argument, NULL, 'c' },
        { "check", no_argument, NULL, 'n' },
        { "dry-run", no_argument, NULL, OPT_DRY },
        { "json", no_argument, NULL, OPT_JSON },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "foreground", no_argument, NULL, 'f' },
        { "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
        { "batch", no_argument, NULL, OPT_BATCH },
        { "pipe", no_argument, NULL, OPT_PIPE },
        { "version", no_argument, NULL, OPT_VERSION },
        { "print-config", no_argument, NULL, OPT_PRINT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    memset(o, 0, sizeof(*o));
    o->progress = true;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+c:nqvfh", longs, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'n': o->check = true; break;
        case 'q': o->quiet = true; break;
        case 'v': o->verbose = true; break;
        case 'f': o->foreground = true; break;
        case OPT_DRY: o->dry_run = true; break;
        case OPT_JSON: o->json = true; break;
        case OPT_NO_PROGRESS: o->progress = false; break;
        case OPT_BATCH: o->batch = true; break;
        case OPT_PIPE: o->pipe = true; break;
        case OPT_PRINT: o->print_config = o->check = true; break;
        case OPT_VERSION: startup_print_version(name); return PF_EXIT_OK + 1000;
        case 'h': usage(stdout, name); return PF_EXIT_OK + 1000;
        default: usage(stderr, name); return PF_EXIT_USAGE;
        }
    }
    o->args = argv + optind;
    o->nargs = argc - optind;
    if (!o->batch && o->nargs == 1 && strcmp(o->args[0], "reclassify") == 0) {
        o->reclassify = true;
        o->nargs = 0;
        return -1;
    }
    if (o->batch && o->pipe) {
        fprintf(stderr, "%s: --batch and --pipe exclude each other\n", name);
        return PF_EXIT_USAGE;
    }
    if (!o->batch && !o->pipe && o->nargs > 0) {
        /* batch when every argument names something that exists; an envelope
         * address ("" for a bounce's null sender) never does */
        bool all_paths = true;
        struct stat st;
        for (int i = 0; i < o->nargs && all_paths; i++)
            all_paths = o->args[i][0] != '\0' && stat(o->args[i], &st) == 0;
        o->batch = all_paths;
    }
    if (o->batch && o->nargs == 0) {
        fprintf(stderr, "%s: --batch needs files or directories\n", name);
        return PF_EXIT_USAGE;
    }
    return -1;
}

static int load_trace_keys(struct driver *d)
{
    char err[256];
    const char *ids[2] = { d->trace.key_id, d->trace.old_key_id };
    const char *files[2] = { d->trace.secret_file, d->trace.old_secret_file };
    for (size_t i = 0; i < 2; i++) {
        if (files[i] == NULL || files[i][0] == '\0')
            continue;
        if (trace_key_load(&d->keys[d->nkeys], ids[i] ? ids[i] : "1", files[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "%s: trace key: %s\n", d->prog->name, err);
            log_msg(LOG_LVL_ERROR, "trace key: %s", err);
            return PF_EXIT_CONFIG;
        }
        d->nkeys++;
    }
    return 0;
}

static int setup(struct driver *d)
{
    const char *name = d->prog->name;
    d->sections[0] = (struct cfg_section){ "log", log_conf_options, &d->log };
    d->sections[1] = (struct cfg_section){ "redis", redis_conf_options, &d->redis_conf };
    d->sections[2] = (struct cfg_section){ "trace", trace_conf_options, &d->trace };
    d->sections[3] = (struct cfg_section){ d->prog->section, inbound_conf_options, &d->conf };
    int rc = d->opt.dry_run && d->opt.config == NULL ? startup_load_defaults(name, d->sections, 4)
                                                     : startup_load_config(name, d->opt.config, d->sections, 4);
    if (rc != 0)
        return rc;
    const char *delims = d->conf.verp_delimiters;
    if (delims == NULL || strlen(delims) != 2) {
        fprintf(stderr, "%s: %s.verp_delimiters must be two characters\n", name, d->prog->section);
        return PF_EXIT_CONFIG;
    }
    char err[256] = "";
    d->rules = reply_rules_default(err, sizeof(err));
    if (d->rules == NULL || (d->conf.rules_file != NULL && d->conf.rules_file[0] != '\0' &&
                             reply_rules_load_file(d->rules, d->conf.rules_file, err, sizeof(err)) != 0)) {
        fprintf(stderr, "%s: classifier rules: %s\n", name, err);
        log_msg(LOG_LVL_ERROR, "classifier rules: %s", err);
        return PF_EXIT_CONFIG;
    }
    if (d->opt.batch)
        reply_rules_jit(d->rules); /* thousands of messages: worth compiling; one pipe message is not */
    if ((rc = load_trace_keys(d)) != 0)
        return rc;
    d->providers = provider_map_new(NULL, 0, err, sizeof(err));
    if (d->providers == NULL || rkeys_init(&d->rkeys, d->redis_conf.key_prefix) != 0) {
        fprintf(stderr, "%s: %s\n", name, d->providers == NULL ? err : "redis.key_prefix is invalid");
        return PF_EXIT_CONFIG;
    }
    if (d->opt.print_config) {
        cfg_print(stdout, d->sections, 4);
        return fflush(stdout) == 0 ? PF_EXIT_OK : PF_EXIT_FAILURE;
    }
    if (d->opt.check)
        return startup_check_only(name, d->opt.config, d->sections, 4, d->opt.verbose);
    /* batch and dry runs print a summary or JSON; their per-recipient lines need -v */
    if ((d->opt.batch || d->opt.dry_run) && !d->opt.verbose && log_get_level() > LOG_LVL_NOTICE)
        log_set_level(LOG_LVL_NOTICE);
    if (d->opt.verbose)
        log_set_level(LOG_LVL_INFO);
    d->limits = (struct mail_limits)MAIL_LIMITS_INIT;
    if (gethostname(d->node, sizeof(d->node) - 1) != 0)
        snprintf(d->node, sizeof(d->node), "unknown");
    if (!d->opt.dry_run)
        d->redis = redis_new(&d->redis_conf);
    d->attr = (struct inbound_attr_ctx){
        .keys = d->keys,
        .nkeys = d->nkeys,
        .max_age = d->trace.max_age,
        .redis = d->redis,
        .rkeys = &d->rkeys,
        .providers = d->providers,
        .verp_delim1 = delims[0],
        .verp_delim2 = delims[1],
        .verp_prefix = d->conf.verp_prefix,
    };
    d->store = (struct inbound_store_ctx){
        .redis = d->redis,
        .rkeys = &d->rkeys,
        .conf = &d->conf,
        .attr = &d->attr,
        .program = name,
        .node = d->node,
    };
    buf_init(&d->out, 0);
    return 0;
}

static void teardown(struct driver *d)
{
    buf_free(&d->out);
    if (d->redis != NULL)
        redis_free(d->redis);
    provider_map_free(d->providers);
    reply_rules_free(d->rules);
    cfg_free(d->sections, 4);
}

/* Old Mac archives end lines in a bare CR; the MIME reader knows LF and
 * CRLF.  A message with CRs and no LF at all gets its CRs turned into LFs
 * (same length, in place); any other message is left as it is. */
static void bare_cr_to_lf(char *msg, size_t len)
{
    if (len == 0 || memchr(msg, '\n', len) != NULL)
        return;
    for (char *p = msg; (p = memchr(p, '\r', len - (size_t)(p - msg))) != NULL; p++)
        *p = '\n';
}

/* Keeps an unrecognized message: quarantine_dir/<time>.<pid>.<digest>.eml,
 * mode 0600.  Returns 0, or -1 (disk trouble: the caller exits 75). */
static int quarantine(const struct driver *d, const char *msg, size_t len, const char *digest)
{
    if (d->conf.quarantine_dir == NULL || d->conf.quarantine_dir[0] == '\0') {
        log_msg(LOG_LVL_NOTICE, "not a report we read (no quarantine_dir: not kept), sha256 %.16s", digest);
        return 0;
    }
    char path[4200];
    snprintf(path, sizeof(path), "%s/%lld.%ld.%.16s.eml", d->conf.quarantine_dir, (long long)time(NULL), (long)getpid(),
             digest);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return 0; /* the same message, this second: kept already */
        log_msg(LOG_LVL_ERROR, "quarantine %s: %s: exit 75, the MTA retries", path, strerror(errno));
        return -1;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, msg + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            log_msg(LOG_LVL_ERROR, "quarantine %s: %s: exit 75, the MTA retries", path, strerror(errno));
            close(fd);
            unlink(path);
            return -1;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        log_msg(LOG_LVL_ERROR, "quarantine %s: %s: exit 75, the MTA retries", path, strerror(errno));
        unlink(path);
        return -1;
    }
    log_msg(LOG_LVL_NOTICE, "not a report we read: kept in %s", path);
    return 0;
}

static void log_report(const struct driver *d, const struct inbound_report *r, const struct inbound_attr_result *a,
                       const struct inbound_store_result *res, const char *name)
{
    char rcpt[400], why[200];
    for (size_t i = 0; i < r->nrcpts; i++) {
        const struct inbound_rcpt *rc = &r->rcpts[i];
        log_printable(rcpt, sizeof(rcpt), rc->recipient ? rc->recipient : "(none)",
                      rc->recipient ? strlen(rc->recipient) : 6);
        log_printable(why, sizeof(why), rc->classified ? rc->verdict.why : "-",
                      rc->classified ? strlen(rc->verdict.why) : 1);
        log_qid(LOG_LVL_INFO, a->queue_id[0] ? a->queue_id : NULL,
                "%s%s%s %s to=<%s> status=%s class=%s category=%s why=%s ip=%s verified=%s%s", name ? name : "",
                name ? ": " : "", inbound_kind_name(r->kind), r->format ? r->format : "-", rcpt,
                rc->status ? rc->status : "-", rc->classified ? reply_class_name(rc->verdict.cls) : "-",
                rc->classified ? rc->verdict.category : "-", why, a->ip[0] ? a->ip : "-",
                a->view.verified   ? "yes"
                : a->trace_present ? trace_result_name(a->trace)
                                   : "no-trace",
                res == NULL      ? " (dry run)"
                : res->duplicate ? " (seen before: nothing done)"
                                 : "");
    }
    (void)d;
}

/* One message.  Returns 0, or PF_EXIT_TEMPFAIL. */
static int handle(struct driver *d, char *msg, size_t len, const char *envelope_recipient, const char *name,
                  bool pipe_mode, struct inbound_summary *sum, enum inbound_kind *kind_out)
{
    bare_cr_to_lf(msg, len);
    struct inbound_parse_ctx pctx = {
        .rules = d->rules,
        .limits = &d->limits,
        .envelope_sender = NULL,
        .envelope_recipient = envelope_recipient,
    };
    struct inbound_report report;
    inbound_report_init(&report);
    int rc = 0;
    /* the message's SHA-256 keys the stored event and names a quarantined
     * file; a dry run does neither */
    char digest[INBOUND_DIGEST_HEX] = "";
    if (!d->opt.dry_run)
        inbound_digest(msg, len, digest);
    if (d->prog->parse(msg, len, &pctx, &report) != 0) {
        log_msg(LOG_LVL_ERROR, "%s%sout of memory while parsing: exit 75", name ? name : "", name ? ": " : "");
        rc = PF_EXIT_TEMPFAIL;
        goto done;
    }
    struct inbound_attr_result attr;
    d->attr.envelope_recipient = envelope_recipient;
    if (inbound_attr_resolve(&d->attr, &report, time(NULL), &attr) != 0) {
        log_msg(LOG_LVL_ERROR, "attribution: Redis unavailable (%s): exit 75, the MTA retries",
                redis_last_error(d->redis));
        rc = PF_EXIT_TEMPFAIL;
        goto done;
    }
    /* a report naming no recipient, sent to a VERP address: the address decodes it */
    if (report.kind != INBOUND_UNRECOGNIZED && report.nrcpts == 0 && attr.verp_recipient[0] != '\0') {
        struct inbound_rcpt *r = inbound_rcpt_add(&report);
        if (r != NULL)
            inbound_set(&r->recipient, attr.verp_recipient, strlen(attr.verp_recipient), 0);
    }
    /* a complaint whose recipient is redacted (JMRP), about a message of ours that had
     * one recipient: the attribution record names it, trusted only under a verified
     * trace (an unverified queue id could point at anyone's record) */
    if (report.kind == INBOUND_COMPLAINT && attr.view.verified && strchr(attr.record_rcpt, '@') != NULL) {
        struct inbound_rcpt *r = report.nrcpts == 0                                        ? inbound_rcpt_add(&report)
                                 : report.nrcpts == 1 && report.rcpts[0].recipient == NULL ? &report.rcpts[0]
                                                                                           : NULL;
        if (r != NULL)
            inbound_set(&r->recipient, attr.record_rcpt, strlen(attr.record_rcpt), 0);
    }
    struct inbound_store_result res = { 0 };
    bool stored = false;
    if (report.kind == INBOUND_UNRECOGNIZED) {
        if (pipe_mode && !d->opt.dry_run && quarantine(d, msg, len, digest) != 0) {
            rc = PF_EXIT_TEMPFAIL;
            goto done;
        }
    } else if (!d->opt.dry_run) {
        if (inbound_store_apply(&d->store, &report, &attr, digest, time(NULL), &res) != 0) {
            rc = PF_EXIT_TEMPFAIL;
            goto done;
        }
        stored = true;
    }
    log_report(d, &report, &attr, stored ? &res : NULL, name);
    if (kind_out != NULL)
        *kind_out = report.kind;
    if (sum != NULL) {
        inbound_summary_add(sum, &report);
        sum->duplicates += res.duplicate;
        sum->suppressed += (size_t)res.suppressed;
        sum->escalated += (size_t)res.escalated;
    }
    if (d->opt.json) {
        buf_reset(&d->out);
        inbound_report_json(&report, &attr.view, &d->out);
        if (d->out.len > 0 && fwrite(d->out.data, 1, d->out.len, stdout) != d->out.len)
            rc = PF_EXIT_TEMPFAIL;
    }
done:
    inbound_report_free(&report);
    return rc;
}

static int read_stdin(struct buf *b)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read(0, chunk, sizeof(chunk));
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (buf_append(b, chunk, (size_t)n) != BUF_OK)
            return 0; /* over max_message_size: parse what fits, drain the rest */
    }
}

static int run_pipe(struct driver *d)
{
    const char *recipient = d->opt.nargs >= 2 ? d->opt.args[1] : getenv("RECIPIENT");
    struct buf msg;
    buf_init(&msg, (size_t)d->conf.max_message_size);
    int rc;
    if (read_stdin(&msg) != 0) {
        log_msg(LOG_LVL_ERROR, "reading the message: %s: exit 75", strerror(errno));
        rc = PF_EXIT_TEMPFAIL;
    } else {
        rc = handle(d, msg.data ? msg.data : (char *)"", msg.len, recipient, NULL, true, NULL, NULL);
    }
    buf_free(&msg);
    if (rc == 0 && fflush(stdout) != 0)
        rc = PF_EXIT_TEMPFAIL;
    /* Postfix's pipe(8) and Exim put the command's output into the deferral
     * reason (mailq, the log): say there why, once, when the log is elsewhere */
    if (rc == PF_EXIT_TEMPFAIL && !d->log_to_stderr) {
        const char *why = d->redis != NULL ? redis_last_error(d->redis) : "";
        fprintf(stderr, "%s: temporary failure%s%s: exit 75, retry later\n", d->prog->name, why[0] ? ", Redis: " : "",
                why);
    }
    return rc;
}

static int run_batch(struct driver *d)
{
    char err[512] = "";
    struct inbound_batch *b = inbound_batch_open(d->opt.args, (size_t)d->opt.nargs, err, sizeof(err));
    if (b == NULL) {
        fprintf(stderr, "%s: %s\n", d->prog->name, err);
        return PF_EXIT_USAGE;
    }
    struct inbound_summary sum;
    inbound_summary_init(&sum, inbound_batch_bytes(b), d->opt.progress && !d->opt.quiet && isatty(2));
    struct inbound_message m;
    int rc = 0, got;
    while ((got = inbound_batch_next(b, &m, err, sizeof(err))) != 0) {
        if (got < 0) {
            fprintf(stderr, "%s: %s\n", d->prog->name, err);
            sum.errors++;
            continue;
        }
        if ((rc = handle(d, m.data, m.len, NULL, m.name, false, &sum, NULL)) != 0)
            break;
        inbound_summary_progress(&sum, m.offset + m.len);
    }
    if (!d->opt.quiet)
        inbound_summary_print(&sum, stderr);
    inbound_batch_close(b);
    if (rc == 0 && fflush(stdout) != 0)
        rc = PF_EXIT_TEMPFAIL;
    return rc;
}

/* The quarantine, read again: what the parser now recognizes is acted on
 * and leaves the quarantine.  0, or PF_EXIT_TEMPFAIL. */
static int replay_quarantine(struct driver *d, size_t *seen, size_t *recognized)
{
    *seen = *recognized = 0;
    const char *dir = d->conf.quarantine_dir;
    if (dir == NULL || dir[0] == '\0')
        return 0;
    char err[512] = "";
    char *paths[] = { (char *)dir };
    struct inbound_batch *b = inbound_batch_open(paths, 1, err, sizeof(err));
    if (b == NULL)
        return 0; /* empty or absent: nothing kept */
    struct inbound_message m;
    int rc = 0, got;
    while (rc == 0 && (got = inbound_batch_next(b, &m, err, sizeof(err))) != 0) {
        if (got < 0)
            continue;
        enum inbound_kind kind = INBOUND_UNRECOGNIZED;
        (*seen)++;
        if ((rc = handle(d, m.data, m.len, NULL, m.name, false, NULL, &kind)) != 0)
            break;
        if (kind == INBOUND_UNRECOGNIZED)
            continue;
        (*recognized)++;
        if (!d->opt.dry_run && unlink(m.name) != 0)
            log_msg(LOG_LVL_WARNING, "reclassify: %s: %s (processed, left in the quarantine)", m.name, strerror(errno));
    }
    inbound_batch_close(b);
    return rc;
}

static int run_reclassify(struct driver *d)
{
    size_t seen = 0, recognized = 0;
    int rc = replay_quarantine(d, &seen, &recognized);
    if (rc != 0)
        return rc;
    struct inbound_reclassify_result res = { 0 };
    if (d->redis == NULL)
        d->redis = redis_new(&d->redis_conf); /* a dry run reads the stream too */
    struct inbound_reclassify_ctx ctx = {
        .redis = d->redis,
        .rkeys = &d->rkeys,
        .rules = d->rules,
        .conf = &d->conf,
        .program = d->prog->name,
        .dry_run = d->opt.dry_run,
        .json = d->opt.json,
        .out = stdout,
    };
    if (inbound_reclassify_stream(&ctx, &res) != 0)
        return PF_EXIT_TEMPFAIL;
    fprintf(stderr,
            "%s reclassify: quarantine %zu message(s), %zu now recognized%s; stream %zu bounce event(s), "
            "%zu judged differently, %zu suppression(s) %sremoved, %zu %sadded\n",
            d->prog->name, seen, recognized, d->opt.dry_run ? " (dry run: left there)" : " and processed", res.events,
            res.changed, res.unsuppressed, d->opt.dry_run ? "would be " : "", res.suppressed,
            d->opt.dry_run ? "would be " : "");
    return fflush(stdout) == 0 ? 0 : PF_EXIT_TEMPFAIL;
}

int inbound_main(int argc, char **argv, const struct inbound_program *prog)
{
    signal(SIGPIPE, SIG_IGN); /* Redis closing its end: exit 75 and a retry, not a death by signal */
    /* OpenSSL serves a SHA-256 digest and our trace header's HMAC here, both
     * from its default provider: reading the system's openssl.cnf on every
     * pipe run costs about 0.4 ms of the start and changes neither */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
    static struct driver d; /* large; one per process */
    memset(&d, 0, sizeof(d));
    d.prog = prog;
    int rc = parse_options(argc, argv, prog->name, &d.opt);
    if (rc >= 1000)
        return rc - 1000;
    if (rc >= 0)
        return rc;
    d.log_to_stderr = d.opt.foreground || d.opt.batch || d.opt.dry_run || d.opt.check || isatty(2);
    log_open(prog->name, d.log_to_stderr);
    if ((rc = setup(&d)) != 0 || d.opt.check) {
        teardown(&d);
        return rc;
    }
    rc = d.opt.reclassify ? run_reclassify(&d) : d.opt.batch ? run_batch(&d) : run_pipe(&d);
    teardown(&d);
    return rc;
}
