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
 *   the entry only when the key does not exist, so importing the same file
 *   twice changes nothing.
 *
 *   Bad rows (bad CSV, bad address, unknown reason, bad time) are reported
 *   on stderr as "FILE:LINE: why" and skipped; the import goes on.  At the
 *   end one line of counts is printed (or a JSON object with --json).
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
#include "wctl_cmds.h"
#include "wctl_csv.h"
#include "wctl_import_fmt.h"
#include "wctl_out.h"
#include "wctl_sup.h"

#define MAX_BAD_REPORTED 100

static struct redis_script SUP_ADD_NEW = {
    "warmupctl_sup_add_new",
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end\n"
    "redis.call('HSET', KEYS[1], 'reason', ARGV[1], 'source', ARGV[2], 'time', ARGV[3], 'detail', ARGV[4])\n"
    "return 0\n",
    ""
};

struct import_counts {
    long long rows, imported, existing, bad;
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

/* Imports one mapped row; returns 0, or -1 when Redis failed (reported). */
static int import_row(struct wctl *w, const struct wimp_entry *e, const char *source, struct import_counts *n)
{
    int existed = wsup_write(w, e->address, e->reason, source, e->time, e->detail, &SUP_ADD_NEW);

    if (existed < 0)
        return -1;
    if (existed)
        n->existing++;
    else
        n->imported++;
    return 0;
}

static int import_stream(struct wctl *w, FILE *fp, const char *path, const char *forced,
                         struct import_counts *n, struct wimp_layout *lay)
{
    struct csv_reader rd;
    struct csv_record rec;
    char source[300];
    int have_layout = 0, rc = 0;

    snprintf(source, sizeof source, "import:%.280s", base_name(path));
    for (char *p = source; *p != '\0'; p++)          /* a file name is untrusted text too */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    csv_reader_init(&rd, fp, 0);
    for (;;) {
        unsigned long line;
        enum csv_status st;
        struct wimp_entry e;
        const char *why = NULL;
        int got = csv_reader_next(&rd, &rec, &line, &st);

        if (got == 0)
            break;
        if (got == -2) {
            wctl_err("%s: read error: %s", path, strerror(errno));
            rc = PF_EXIT_FAILURE;
            break;
        }
        if (got < 0) {
            n->rows++;
            report_bad(path, line, csv_strerror(st), n);
            continue;
        }
        if (!have_layout) {
            if (wimp_detect(&rec, lay, &why) < 0) {
                wctl_err("%s:%lu: %s", path, line, why);
                rc = PF_EXIT_USAGE;
                break;
            }
            have_layout = 1;
            if (lay->has_header)
                continue;
        }
        n->rows++;
        got = wimp_map(lay, &rec, forced, &e, &why);
        if (got == 0) {
            n->rows--;
            continue;
        }
        if (got < 0) {
            report_bad(path, line, why, n);
            continue;
        }
        if (import_row(w, &e, source, n) < 0) {
            wctl_err("%s:%lu: stopped; rows before this one are imported, importing again is safe",
                     path, line);
            rc = w->status ? w->status : PF_EXIT_FAILURE;
            break;
        }
    }
    csv_reader_free(&rd);
    if (rc == 0 && !have_layout) {
        wctl_err("%s: no records", path);
        rc = PF_EXIT_USAGE;
    }
    return rc;
}

int wcmd_suppress_import(struct wctl *w, const struct wctl_args *a)
{
    const char *path = a->pos[2];
    const char *forced = NULL;
    struct import_counts n = { 0, 0, 0, 0 };
    struct wimp_layout lay;
    FILE *fp;
    int rc;

    if (a->reason != NULL && (forced = wimp_reason_canonical(a->reason, strlen(a->reason))) == NULL) {
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
    if (w->json) {
        buf_append_str(&w->out, "{\"file\":");
        wout_json_cstr(&w->out, path);
        buf_printf(&w->out, ",\"format\":\"%s\",\"rows\":%lld,\"imported\":%lld,\"existing\":%lld,"
                   "\"bad\":%lld,\"complete\":%s}\n", wimp_format_name(lay.fmt), n.rows, n.imported,
                   n.existing, n.bad, rc == 0 ? "true" : "false");
    } else {
        buf_printf(&w->out, "%s: %s format, %lld rows: %lld imported, %lld already suppressed, %lld bad\n",
                   path, wimp_format_name(lay.fmt), n.rows, n.imported, n.existing, n.bad);
    }
    if (rc != 0)
        return rc;
    return n.bad > 0 ? PF_EXIT_FAILURE : PF_EXIT_OK;
}
