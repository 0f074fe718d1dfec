/*
 * NAME
 *   wctl_csv.c - CSV splitting, the line-joining reader and field quoting.
 *
 * DESCRIPTION
 *   See wctl_csv.h for the accepted dialect.  wctl_csv_split() walks the record
 *   once, writing each unquoted field's bytes back at a lower or equal
 *   offset (unquoting only ever shrinks), so it needs no memory of its own.
 */
#include "wctl_csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

const char *wctl_csv_strerror(enum csv_status st)
{
    switch (st) {
    case CSV_OK: return "ok";
    case CSV_ERR_QUOTE: return "quote inside an unquoted field";
    case CSV_ERR_AFTER_QUOTE: return "text after a closing quote";
    case CSV_ERR_UNTERMINATED: return "unterminated quoted field";
    case CSV_ERR_FIELDS: return "too many fields";
    case CSV_ERR_NUL: return "NUL byte in record";
    case CSV_ERR_LONG: return "record too long (unbalanced quote?)";
    }
    return "unknown CSV error";
}

int wctl_csv_record_complete(const char *rec, size_t len)
{
    /*
     * Only a field that starts with a quote can span lines: a stray quote
     * inside an unquoted field is an error of that record (wctl_csv_split says
     * so), and must not swallow the records that follow it.
     */
    enum { START, UNQUOTED, QUOTED, AFTER } st = START;

    for (size_t i = 0; i < len; i++) {
        char c = rec[i];
        switch (st) {
        case START:
            if (c == '"')
                st = QUOTED;
            else if (c != ',' && !is_blank(c))
                st = UNQUOTED;
            break;
        case UNQUOTED:
        case AFTER:
            if (c == ',')
                st = START;
            break;
        case QUOTED:
            if (c == '"') {
                if (i + 1 < len && rec[i + 1] == '"')
                    i++;
                else
                    st = AFTER;
            }
            break;
        }
    }
    return st != QUOTED;
}

/* Parses one field starting at rec[*pos]; the unquoted bytes go to rec[*w...]. */
static enum csv_status split_field(char *rec, size_t len, size_t *pos, size_t *w, struct csv_field *f)
{
    size_t i = *pos;
    size_t start;

    while (i < len && is_blank(rec[i]))
        i++;
    start = *w;
    if (i < len && rec[i] == '"') {
        i++;
        for (;;) {
            if (i >= len)
                return CSV_ERR_UNTERMINATED;
            if (rec[i] == '"') {
                if (i + 1 < len && rec[i + 1] == '"') {
                    rec[(*w)++] = '"';
                    i += 2;
                    continue;
                }
                i++;
                break;
            }
            rec[(*w)++] = rec[i++];
        }
        while (i < len && is_blank(rec[i]))
            i++;
        if (i < len && rec[i] != ',')
            return CSV_ERR_AFTER_QUOTE;
        f->ptr = rec + start;
        f->len = *w - start;
    } else {
        size_t end;
        while (i < len && rec[i] != ',') {
            if (rec[i] == '"')
                return CSV_ERR_QUOTE;
            rec[(*w)++] = rec[i++];
        }
        end = *w;
        while (end > start && is_blank(rec[end - 1]))
            end--;
        f->ptr = rec + start;
        f->len = end - start;
    }
    *pos = i;
    return CSV_OK;
}

enum csv_status wctl_csv_split(char *rec, size_t len, struct csv_record *out)
{
    size_t pos = 0, w = 0;

    out->nfields = 0;
    if (memchr(rec, '\0', len) != NULL)
        return CSV_ERR_NUL;
    for (;;) {
        enum csv_status st;
        if (out->nfields == CSV_MAX_FIELDS)
            return CSV_ERR_FIELDS;
        st = split_field(rec, len, &pos, &w, &out->f[out->nfields]);
        if (st != CSV_OK)
            return st;
        out->nfields++;
        if (pos >= len)
            return CSV_OK;
        pos++; /* the ',' */
        /*
         * Each field's bytes were written at w <= pos; a field view must not
         * be overwritten by the next field, so the next field starts after
         * this one's bytes (w only grows).
         */
    }
}

void wctl_csv_reader_init(struct csv_reader *r, FILE *fp, size_t max_record)
{
    r->fp = fp;
    buf_init(&r->rec, 0);
    r->line = NULL;
    r->linecap = 0;
    r->lines_read = 0;
    r->max_record = max_record ? max_record : CSV_RECORD_MAX_DEFAULT;
    r->at_start = 1;
}

void wctl_csv_reader_free(struct csv_reader *r)
{
    buf_free(&r->rec);
    free(r->line);
    r->line = NULL;
}

/* Removes one trailing LF or CRLF from the record's end. */
static void chomp(struct buf *b)
{
    if (b->len > 0 && b->data[b->len - 1] == '\n')
        b->len--;
    if (b->len > 0 && b->data[b->len - 1] == '\r')
        b->len--;
    if (b->data != NULL)
        b->data[b->len] = '\0';
}

/*
 * Reads one physical line (LF included) into r->line, keeping at most
 * `room` bytes: the rest of a longer line is read and dropped, and *over is
 * set, so memory stays bounded by the record limit whatever the input
 * (getline() would hold a line of any length).  Returns the bytes kept, or
 * -1 at end of input (or a read error) before any byte.
 */
static ssize_t line_read(struct csv_reader *r, size_t room, int *over)
{
    size_t n = 0;
    int c = EOF;
    *over = 0;
    if (r->linecap < room) {
        free(r->line);
        r->line = malloc(room);
        if (r->line == NULL) {
            r->linecap = 0;
            errno = ENOMEM;
            return -1;
        }
        r->linecap = room;
    }
    while ((c = getc(r->fp)) != EOF) {
        if (n < room)
            r->line[n++] = (char)c;
        else
            *over = 1;
        if (c == '\n')
            break;
    }
    if (c == EOF && n == 0 && !*over)
        return -1;
    return (ssize_t)n;
}

int wctl_csv_reader_next(struct csv_reader *r, struct csv_record *out, unsigned long *lineno, enum csv_status *st)
{
    for (;;) {
        ssize_t n;
        int too_long = 0;

        buf_reset(&r->rec);
        *lineno = r->lines_read + 1;
        /* Collect physical lines until the quotes balance. */
        for (;;) {
            const char *p;
            int over;
            errno = 0;
            /* Room for the rest of the record (+3 for a byte-order mark on the first line). */
            n = line_read(r, r->max_record - r->rec.len + (r->at_start ? 3 : 0), &over);
            if (n < 0) {
                if (ferror(r->fp) || errno == ENOMEM)
                    return -2;
                break;
            }
            r->lines_read++;
            p = r->line;
            if (r->at_start) {
                r->at_start = 0;
                if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
                    p += 3;
                    n -= 3;
                }
            }
            if (over || r->rec.len + (size_t)n > r->max_record) {
                /* Drop the record but stop at this line: resynchronise here. */
                too_long = 1;
                break;
            }
            buf_append(&r->rec, p, (size_t)n);
            if (wctl_csv_record_complete(r->rec.data, r->rec.len))
                break;
        }
        if (too_long) {
            *st = CSV_ERR_LONG;
            return -1;
        }
        if (n < 0 && r->rec.len == 0)
            return 0;
        chomp(&r->rec);
        if (r->rec.len == 0)
            continue; /* empty line */
        if (n < 0 && !wctl_csv_record_complete(r->rec.data, r->rec.len)) {
            *st = CSV_ERR_UNTERMINATED;
            return -1;
        }
        *st = wctl_csv_split(r->rec.data, r->rec.len, out);
        return *st == CSV_OK ? 1 : -1;
    }
}

int wctl_csv_write_field(struct buf *b, const char *s, size_t len)
{
    int quote = len > 0 && (is_blank(s[0]) || is_blank(s[len - 1]));

    for (size_t i = 0; i < len && !quote; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            quote = 1;
    if (!quote)
        return buf_append(b, s, len);
    if (buf_append_char(b, '"') != BUF_OK)
        return BUF_ERR_LIMIT;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' && buf_append_char(b, '"') != BUF_OK)
            return BUF_ERR_LIMIT;
        if (buf_append_char(b, s[i]) != BUF_OK)
            return BUF_ERR_LIMIT;
    }
    return buf_append_char(b, '"');
}
