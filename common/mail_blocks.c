/*
 * mail_blocks.c - lenient header-like parsing: DSN / ARF "field blocks" and
 * mangled returned headers (see mail_header.h).
 *
 * NAME
 *	mail_field_blocks_parse, mail_field_blocks_free, mail_headers_parse_lenient,
 *	mail_field_typed
 *
 * DESCRIPTION
 *	RFC 3464 §2.1 (message/delivery-status) and RFC 5965 §3.1
 *	(message/feedback-report) bodies are groups of header-like fields
 *	separated by empty lines.  Each group is scanned with the header
 *	scanner (mail_scan.c); a line that is not a field (no colon, bad
 *	name, NUL byte) is skipped and counted, because a single sloppy line
 *	in a bounce must not hide the recipients around it.  Limit errors are
 *	never skipped.  Whitespace-only lines between blocks count as empty.
 */
#include <stdlib.h>
#include <string.h>

#include "mail_header.h"
#include "mail_scan.h"
#include "xalloc.h"

static size_t count_lf(const char *p, size_t n)
{
    size_t c = 0;
    const char *end = p + n;

    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        c++;
        p++;
    }
    return c;
}

/* Offset just past the line that holds buf[pos] (len if it is the last). */
static size_t next_line(const char *buf, size_t len, size_t pos)
{
    const char *nl = memchr(buf + pos, '\n', len - pos);

    return nl != NULL ? (size_t)(nl - buf) + 1 : len;
}

/* Skips empty and whitespace-only lines; returns the first other offset. */
static size_t skip_blank_lines(const char *buf, size_t len, size_t pos)
{
    while (pos < len) {
        size_t i = pos;
        while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r'))
            i++;
        if (i < len && buf[i] != '\n')
            break;
        pos = i < len ? i + 1 : len;
    }
    return pos;
}

static void block_add_field(struct mail_headers *b, size_t *cap, const struct mail_field *f)
{
    if (b->nfields == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        b->fields = xrealloc(b->fields, *cap * sizeof(*b->fields));
    }
    b->fields[b->nfields++] = *f;
}

static void blocks_add(struct mail_field_blocks *out, size_t *cap, struct mail_headers *b)
{
    if (out->nblocks == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        out->blocks = xrealloc(out->blocks, *cap * sizeof(*out->blocks));
    }
    out->blocks[out->nblocks++] = *b;
}

/*
 * Parses one header-like block at buf[*pos..len) into *block, skipping
 * (and counting) lines that are not fields, until an empty line or the
 * end.  *pos moves past the block and its separator; *lines counts the
 * LFs passed.  *total counts fields against max_fields.  Returns MAIL_OK
 * or a limit error (err filled with input offsets).
 */
static enum mail_error parse_block(const char *buf, size_t len, size_t *pos, size_t *lines,
                                   const struct mail_limits *lim, bool ws_line_ends, size_t *total,
                                   struct mail_headers *block, size_t *nskipped, struct mail_error_info *err)
{
    size_t fcap = 0;

    for (;;) {
        struct mail_limits l = *lim;
        struct mail_scan s;
        struct mail_field f;
        enum mail_scan_result r;

        l.max_fields = lim->max_fields - *total;
        mail_scan_init(&s, &l);
        s.ws_line_ends = ws_line_ends;
        while ((r = mail_scan_step(&s, buf + *pos, len - *pos, true, &f)) == MAIL_SCAN_FIELD) {
            f.offset += *pos;
            block_add_field(block, &fcap, &f);
            (*total)++;
        }
        if (r == MAIL_SCAN_DONE) {
            *lines += count_lf(buf + *pos, s.body_offset);
            *pos += s.body_offset;
            block->body_offset = *pos;
            block->has_separator = s.has_separator;
            return MAIL_OK;
        }
        if (!mail_scan_error_is_syntax(s.err.code)) {
            if (err != NULL) {
                *err = s.err;
                err->offset += *pos;
                err->line += *lines;
            }
            block->body_offset = *pos + s.fail_start;
            return s.err.code;
        }
        size_t after = next_line(buf, len, *pos + s.fail_start);
        *lines += count_lf(buf + *pos, after - *pos);
        *pos = after;
        (*nskipped)++;
        if (*pos >= len) {
            block->body_offset = len;
            return MAIL_OK;
        }
    }
}

/* The common start of both parsers: the limits to use, *err cleared, a NULL buffer (len 0) read as "". */
static const struct mail_limits *parse_begin(const struct mail_limits *limits, struct mail_error_info *err,
                                             const char **buf)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (*buf == NULL)
        *buf = "";
    return limits != NULL ? limits : &MAIL_LIMITS_DEFAULT;
}

enum mail_error mail_field_blocks_parse(const char *buf, size_t len, const struct mail_limits *limits,
                                        struct mail_field_blocks *out, struct mail_error_info *err)
{
    const struct mail_limits *lim = parse_begin(limits, err, &buf);
    size_t pos = 0, lines = 0, total = 0, bcap = 0;
    enum mail_error rc;

    memset(out, 0, sizeof(*out));
    for (;;) {
        size_t start = skip_blank_lines(buf, len, pos);
        struct mail_headers block = { 0 };

        lines += count_lf(buf + pos, start - pos);
        pos = start;
        if (pos >= len)
            return MAIL_OK;
        rc = parse_block(buf, len, &pos, &lines, lim, true, &total, &block, &out->nskipped, err);
        if (block.nfields > 0)
            blocks_add(out, &bcap, &block);
        else
            free(block.fields);
        if (rc != MAIL_OK)
            return rc;
    }
}

enum mail_error mail_headers_parse_lenient(const char *buf, size_t len, const struct mail_limits *limits,
                                           struct mail_headers *out, size_t *nskipped, struct mail_error_info *err)
{
    const struct mail_limits *lim = parse_begin(limits, err, &buf);
    size_t pos = 0, lines = 0, total = 0, skipped = 0;
    enum mail_error rc;

    memset(out, 0, sizeof(*out));
    rc = parse_block(buf, len, &pos, &lines, lim, false, &total, out, &skipped, err);
    if (nskipped != NULL)
        *nskipped = skipped;
    return rc;
}

void mail_field_blocks_free(struct mail_field_blocks *b)
{
    for (size_t i = 0; i < b->nblocks; i++)
        free(b->blocks[i].fields);
    free(b->blocks);
    memset(b, 0, sizeof(*b));
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct mail_view trim(const char *p, size_t n)
{
    while (n > 0 && is_space(*p)) {
        p++;
        n--;
    }
    while (n > 0 && is_space(p[n - 1]))
        n--;
    return mail_view_make(p, n);
}

bool mail_field_typed(struct mail_view value, struct mail_view *type, struct mail_view *rest)
{
    const char *semi = value.len > 0 ? memchr(value.ptr, ';', value.len) : NULL;

    if (semi == NULL)
        return false;
    *type = trim(value.ptr, (size_t)(semi - value.ptr));
    *rest = trim(semi + 1, value.len - (size_t)(semi - value.ptr) - 1);
    return true;
}
