/*
 * NAME
 *   wctl_import.c - `warmupctl suppress import FILE.csv [--reason R]`.
 *
 * DESCRIPTION
 *   Reads the file with the CSV reader, recognises the layout from its
 *   first record (wctl_import_fmt.c: postflow, SES, SES bulk import,
 *   SendGrid) and adds each row's address with source "import:<file
 *   name>".  An address that is already suppressed is left as it is (its
 *   reason and time are more precise than an import's): the Lua call sets
 *   an entry only when its key does not exist, so importing the same file
 *   twice changes nothing.  Rows are sent BATCH at a time (one Lua call,
 *   atomic per batch), which makes an import about ten times faster than
 *   one round trip per row.
 *
 *   Bad rows (bad CSV, bad address, unknown reason, bad time) are reported
 *   on stderr as "FILE:LINE: why" and skipped; the import goes on.  At the
 *   end one line of counts is printed (or a JSON object with --json), and,
 *   when rows were added, one change line is logged for the whole file
 *   (wctl_audit.c; a line per row would flood the log on a migration).
 *
 * EXIT STATUS
 *   0 every row imported or already present; 1 some rows were bad (the good
 *   ones are imported); 64 usage or unrecognised file layout; 75 Redis
 *   unreachable (rows before the outage stay imported; importing again is
 *   safe).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "exitcodes.h"
#include "wctl_audit.h"
#include "wctl_cmds.h"
#include "wctl_csv.h"
#include "wctl_import_fmt.h"
#include "wctl_table.h"
#include "wctl_suppress.h"

#define MAX_BAD_REPORTED 100

/*
 * Adds the entries of one batch that do not exist yet.  KEYS = entries,
 * ARGV[1] = source, then reason, time, detail per key.  Returns per key 1
 * (already there, left alone) or 0 (added).  Atomic per batch.
 */
static struct redis_script SUP_ADD_NEW = {
    "warmupctl_sup_add_new",
    "local out = {}\n"
    "for i, k in ipairs(KEYS) do\n"
    "  local a = 2 + (i - 1) * 3\n"
    "  if redis.call('EXISTS', k) == 1 then out[i] = 1\n"
    "  else\n"
    "    redis.call('HSET', k, 'reason', ARGV[a], 'source', ARGV[1], 'time', ARGV[a + 1], 'detail', ARGV[a + 2])\n"
    "    out[i] = 0\n"
    "  end\n"
    "end\n"
    "return out\n",
    ""
};

/* Rows per Lua call: 1 key + 3 arguments each, plus the source, within WCTL_EVAL_MAX. */
#define BATCH ((WCTL_EVAL_MAX - 1) / 4)

struct import_counts {
    long long rows, imported, existing, bad;
};

struct batch {
    struct wimp_entry e[BATCH];
    char key[BATCH][RKEY_MAX];
    char ts[BATCH][32];
    unsigned long first_line; /* of the batch's first row */
    size_t n;
};

static void report_bad(const char *path, unsigned long line, const char *why, struct import_counts *n)
{
    n->bad++;
    if (n->bad <= MAX_BAD_REPORTED)
        wctl_err("%s:%lu: %s; row skipped", path, line, why);
    else if (n->bad == MAX_BAD_REPORTED + 1)
        wctl_err("%s: more bad rows; only the first %d are listed", path, MAX_BAD_REPORTED);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL ? s + 1 : path;
}

/* Writes the batch; returns 0, or -1 when Redis failed (reported). */
static int batch_flush(struct wctl *w, struct batch *b, const char *source, struct import_counts *n)
{
    const char *keys[BATCH];
    const char *args[1 + 3 * BATCH];
    int nargs = 0;
    redisReply *r;

    if (b->n == 0)
        return 0;
    args[nargs++] = source;
    for (size_t i = 0; i < b->n; i++) {
        keys[i] = b->key[i];
        snprintf(b->ts[i], sizeof b->ts[i], "%lld", b->e[i].time > 0 ? b->e[i].time : w->now);
        args[nargs++] = b->e[i].reason;
        args[nargs++] = b->ts[i];
        args[nargs++] = b->e[i].detail;
    }
    if ((r = wctl_eval(w, &SUP_ADD_NEW, (int)b->n, keys, nargs, args)) == NULL)
        return -1;
    for (size_t i = 0; i < b->n; i++) {
        if (r->type == REDIS_REPLY_ARRAY && i < r->elements && r->element[i]->type == REDIS_REPLY_INTEGER &&
            r->element[i]->integer == 1)
            n->existing++;
        else
            n->imported++;
    }
    redis_reply_free(r);
    b->n = 0;
    return 0;
}

/* Queues one mapped row (flushing a full batch); 0, or -1 when Redis failed. */
static int batch_add(struct wctl *w, struct batch *b, const struct wimp_entry *e, unsigned long line,
                     const char *source, struct import_counts *n)
{
    if (b->n == BATCH && batch_flush(w, b, source, n) < 0)
        return -1;
    if (wctl_suppress_key(w, e->address, b->key[b->n]) < 0) {
        n->bad++; /* cannot happen: the address was normalised */
        return 0;
    }
    if (b->n == 0)
        b->first_line = line;
    b->e[b->n++] = *e;
    return 0;
}

/* The `source` field of imported entries: "import:<file name>", control bytes replaced. */
static void import_source(char *out, size_t n, const char *path)
{
    snprintf(out, n, "import:%.280s", base_name(path));
    for (char *p = out; *p != '\0'; p++) /* a file name is untrusted text too */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

static int import_stream(struct wctl *w, FILE *fp, const char *path, const char *forced, struct import_counts *n,
                         struct wimp_layout *lay)
{
    struct csv_reader rd;
    struct csv_record rec;
    static struct batch batch; /* large: keep it off the stack */
    char source[300];
    int have_layout = 0, rc = 0;

    import_source(source, sizeof source, path);
    wctl_csv_reader_init(&rd, fp, 0);
    batch.n = 0;
    for (;;) {
        unsigned long line;
        enum csv_status st;
        struct wimp_entry e;
        const char *why = NULL;
        int got = wctl_csv_reader_next(&rd, &rec, &line, &st);

        if (got == 0)
            break;
        if (got == -2) {
            wctl_err("%s: read error: %s", path, strerror(errno));
            rc = PF_EXIT_FAILURE;
            break;
        }
        if (got < 0) {
            n->rows++;
            report_bad(path, line, wctl_csv_strerror(st), n);
            continue;
        }
        if (!have_layout) {
            if (wctl_import_fmt_detect(&rec, lay, &why) < 0) {
                wctl_err("%s:%lu: %s", path, line, why);
                rc = PF_EXIT_USAGE;
                break;
            }
            have_layout = 1;
            if (lay->has_header)
                continue;
        }
        n->rows++;
        got = wctl_import_fmt_map(lay, &rec, forced, &e, &why);
        if (got == 0) {
            n->rows--;
            continue;
        }
        if (got < 0) {
            report_bad(path, line, why, n);
            continue;
        }
        if (batch_add(w, &batch, &e, line, source, n) < 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && batch_flush(w, &batch, source, n) < 0)
        rc = -1;
    if (rc == -1) {
        wctl_err("%s:%lu: stopped; rows before this line are imported, later ones may not be; "
                 "importing again is safe",
                 path, batch.first_line);
        rc = w->status ? w->status : PF_EXIT_FAILURE;
    }
    wctl_csv_reader_free(&rd);
    if (rc == 0 && !have_layout) {
        wctl_err("%s: no records", path);
        rc = PF_EXIT_USAGE;
    }
    return rc;
}

int wctl_import_cmd(struct wctl *w, const struct wctl_args *a)
{
    const char *path = a->pos[2];
    const char *forced = NULL;
    struct import_counts n = { 0, 0, 0, 0 };
    struct wimp_layout lay;
    FILE *fp;
    int rc;

    if (a->reason != NULL && (forced = wctl_import_fmt_reason_canonical(a->reason, strlen(a->reason))) == NULL) {
        wctl_err("unknown reason \"%s\" (want hard, complaint, manual, unsubscribe or import)", a->reason);
        return PF_EXIT_USAGE;
    }
    fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (fp == NULL) {
        wctl_err("cannot open %s: %s", path, strerror(errno));
        return PF_EXIT_FAILURE;
    }
    memset(&lay, 0, sizeof lay);
    rc = import_stream(w, fp, path, forced, &n, &lay);
    if (fp != stdin)
        fclose(fp);
    if (rc == PF_EXIT_USAGE && n.rows == 0)
        return rc;
    if (n.imported > 0) {
        char shown[LOG_PRINTABLE_MAX];
        log_printable(shown, sizeof shown, path, strlen(path));
        wctl_audit(w,
                   "suppress import %s (%s format): none -> %s for %lld address(es); %lld row(s), "
                   "%lld already suppressed (left as they were), %lld bad%s",
                   shown, wctl_import_fmt_name(lay.fmt), forced ? forced : "the file's reasons", n.imported, n.rows,
                   n.existing, n.bad, rc == 0 ? "" : "; stopped early");
    }
    if (w->json) {
        buf_append_str(&w->out, "{\"file\":");
        json_cstr(&w->out, path);
        buf_printf(&w->out,
                   ",\"format\":\"%s\",\"rows\":%lld,\"imported\":%lld,\"existing\":%lld,"
                   "\"bad\":%lld,\"complete\":%s}\n",
                   wctl_import_fmt_name(lay.fmt), n.rows, n.imported, n.existing, n.bad, rc == 0 ? "true" : "false");
    } else {
        buf_printf(&w->out, "%s: %s format, %lld rows: %lld imported, %lld already suppressed, %lld bad\n", path,
                   wctl_import_fmt_name(lay.fmt), n.rows, n.imported, n.existing, n.bad);
    }
    if (rc != 0)
        return rc;
    return n.bad > 0 ? PF_EXIT_FAILURE : PF_EXIT_OK;
}
