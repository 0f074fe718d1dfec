/*
 * mail_scan.c - resumable RFC 5322 header-section scanner (see mail_scan.h).
 *
 * NAME
 *	mail_scan - the state machine shared by the incremental and the
 *	whole-buffer header parsers
 *
 * DESCRIPTION
 *	Every byte is examined once.  Limits are checked on the byte that
 *	crosses them, so an overlong line is reported while it arrives, not
 *	after it has been buffered whole.  A field is complete only when the
 *	first byte of the following line is known not to be whitespace
 *	(RFC 5322 §2.2.3 folding), or at end of input.
 *
 *	Line endings are LF with an optional CR before it; a CR not followed
 *	by LF is an ordinary value byte (see mail_header.h).
 */
#include <string.h>

#include "mail_scan.h"

void mail_scan_init(struct mail_scan *s, const struct mail_limits *limits)
{
    memset(s, 0, sizeof(*s));
    s->lim = limits != NULL ? *limits : MAIL_LIMITS_DEFAULT;
    s->st = MAIL_SCAN_BOL;
    s->line_no = 1;
}

bool mail_scan_error_is_syntax(enum mail_error code)
{
    return code == MAIL_ERR_FIELD_NAME || code == MAIL_ERR_MISSING_COLON || code == MAIL_ERR_NUL_BYTE ||
           code == MAIL_ERR_CONTINUATION_FIRST;
}

size_t mail_scan_keep_from(const struct mail_scan *s)
{
    switch (s->st) {
    case MAIL_SCAN_NAME:
    case MAIL_SCAN_NAME_WSP:
    case MAIL_SCAN_VALUE:
    case MAIL_SCAN_EOL: return s->field_start;
    case MAIL_SCAN_END: return s->body_offset;
    case MAIL_SCAN_BLANK_CR: return s->pos - 1; /* keep the CR: an error may point at it */
    default: return s->pos;
    }
}

void mail_scan_shift(struct mail_scan *s, size_t n)
{
    s->base_off += n;
    s->pos -= n;
    if (s->st == MAIL_SCAN_END)
        s->body_offset -= n;
    if (s->st >= MAIL_SCAN_NAME && s->st <= MAIL_SCAN_EOL) {
        s->field_start -= n;
        s->line_start -= n;
        if (s->st >= MAIL_SCAN_VALUE)
            s->colon -= n;
        if (s->st != MAIL_SCAN_NAME)
            s->name_end -= n;
    }
}

static enum mail_scan_result scan_fail(struct mail_scan *s, enum mail_error code, size_t at)
{
    bool in_field = s->st >= MAIL_SCAN_NAME && s->st <= MAIL_SCAN_EOL;

    s->fail_start = in_field ? s->field_start : at;
    s->st = MAIL_SCAN_ERROR;
    s->err.code = code;
    s->err.offset = s->base_off + at;
    s->err.line = s->line_no;
    return MAIL_SCAN_FAIL;
}

static enum mail_scan_result scan_end(struct mail_scan *s, size_t body, bool sep)
{
    s->st = MAIL_SCAN_END;
    s->body_offset = body;
    s->has_separator = sep;
    return MAIL_SCAN_DONE;
}

/* Emits the pending field, which ends (line ending included) at `end`. */
static enum mail_scan_result scan_emit(struct mail_scan *s, const char *buf, size_t end, struct mail_field *f)
{
    size_t vend = end;

    if (vend > s->colon + 1 && buf[vend - 1] == '\n') {
        vend--;
        if (vend > s->colon + 1 && buf[vend - 1] == '\r')
            vend--;
    }
    f->name = mail_view_make(buf + s->field_start, s->name_end - s->field_start);
    f->value = mail_view_make(buf + s->colon + 1, vend - (s->colon + 1));
    f->raw = mail_view_make(buf + s->field_start, end - s->field_start);
    f->offset = s->base_off + s->field_start;
    s->nfields++;
    s->st = MAIL_SCAN_BOL;
    return MAIL_SCAN_FIELD;
}

/*
 * Size checks for the byte at `pos`, which belongs to the header section
 * (and to the current field and line when in_field).  Returns MAIL_OK or
 * the limit crossed.
 */
static enum mail_error scan_check(const struct mail_scan *s, const char *buf, bool in_field)
{
    size_t pos = s->pos;
    unsigned char c = (unsigned char)buf[pos];

    if (in_field && c != '\n') {
        size_t line = pos + 1 - s->line_start; /* bytes so far, this one included */
        /* One byte past the limit is allowed if it is a CR: it may be the
         * line ending's.  If anything but LF follows it, that next byte
         * fails here.  No look-ahead, so chunking cannot change the result. */
        if (line > s->lim.max_line + 1 || (line == s->lim.max_line + 1 && c != '\r'))
            return MAIL_ERR_LINE_TOO_LONG;
    }
    if (in_field && pos + 1 - s->field_start > s->lim.max_field_size)
        return MAIL_ERR_FIELD_TOO_LARGE;
    if (s->base_off + pos + 1 > s->lim.max_header_size)
        return MAIL_ERR_HEADER_TOO_LARGE;
    return MAIL_OK;
}

/* Is the line at buf[pos] whitespace only?  *after = start of the next line. */
static bool ws_only_line(const char *buf, size_t len, size_t pos, size_t *after)
{
    while (pos < len && (buf[pos] == ' ' || buf[pos] == '\t'))
        pos++;
    if (pos < len && buf[pos] == '\r' && pos + 1 < len && buf[pos + 1] == '\n')
        pos++;
    if (pos < len && buf[pos] != '\n')
        return false;
    *after = pos < len ? pos + 1 : len;
    return true;
}

static bool is_ftext(unsigned char c)
{
    return c >= 33 && c <= 126 && c != ':';
}

/* End of input reached in state s->st. */
static enum mail_scan_result scan_at_eof(struct mail_scan *s, const char *buf, size_t len, struct mail_field *f)
{
    switch (s->st) {
    case MAIL_SCAN_BOL:
    case MAIL_SCAN_BLANK_CR: /* a lone CR at the very end: nothing follows */ return scan_end(s, len, false);
    case MAIL_SCAN_NAME:
    case MAIL_SCAN_NAME_WSP: return scan_fail(s, MAIL_ERR_MISSING_COLON, s->line_start);
    default: /* VALUE, EOL: the last field ends the input */ return scan_emit(s, buf, len, f);
    }
}

/* After a value line: a whitespace byte folds, anything else ends the field. */
static enum mail_scan_result scan_after_eol(struct mail_scan *s, const char *buf, size_t len, bool eof,
                                            struct mail_field *f)
{
    unsigned char c = (unsigned char)buf[s->pos];
    size_t after;

    if (c != ' ' && c != '\t')
        return scan_emit(s, buf, s->pos, f);
    if (s->ws_line_ends && eof && ws_only_line(buf, len, s->pos, &after)) {
        enum mail_scan_result r = scan_emit(s, buf, s->pos, f);
        scan_end(s, after, true);
        return r;
    }
    s->line_start = s->pos; /* folded: the field goes on */
    s->st = MAIL_SCAN_VALUE;
    return MAIL_SCAN_CONTINUE;
}

/* One byte at s->pos in a line state (limits already checked). */
static enum mail_scan_result scan_line_byte(struct mail_scan *s, unsigned char c)
{
    switch (s->st) {
    case MAIL_SCAN_BOL:
        if (c == '\n')
            return scan_end(s, s->pos + 1, true);
        if (c == '\r') {
            s->st = MAIL_SCAN_BLANK_CR;
            break;
        }
        if (c == ' ' || c == '\t')
            return scan_fail(s, MAIL_ERR_CONTINUATION_FIRST, s->pos);
        if (!is_ftext(c))
            return scan_fail(s, MAIL_ERR_FIELD_NAME, s->pos);
        if (s->nfields >= s->lim.max_fields)
            return scan_fail(s, MAIL_ERR_TOO_MANY_FIELDS, s->pos);
        s->field_start = s->line_start = s->pos;
        s->st = MAIL_SCAN_NAME;
        break;
    case MAIL_SCAN_BLANK_CR:
        if (c == '\n')
            return scan_end(s, s->pos + 1, true);
        return scan_fail(s, MAIL_ERR_FIELD_NAME, s->pos - 1);
    case MAIL_SCAN_NAME:
        if (c == ':') {
            s->name_end = s->colon = s->pos;
            s->st = MAIL_SCAN_VALUE;
        } else if (c == ' ' || c == '\t') {
            s->name_end = s->pos; /* obs-optional: WSP before the colon */
            s->st = MAIL_SCAN_NAME_WSP;
        } else if (c == '\n' || c == '\r') {
            return scan_fail(s, MAIL_ERR_MISSING_COLON, s->line_start);
        } else if (!is_ftext(c)) {
            return scan_fail(s, MAIL_ERR_FIELD_NAME, s->pos);
        }
        break;
    case MAIL_SCAN_NAME_WSP:
        if (c == ':') {
            s->colon = s->pos;
            s->st = MAIL_SCAN_VALUE;
        } else if (c != ' ' && c != '\t') {
            return scan_fail(s, MAIL_ERR_MISSING_COLON, s->line_start);
        }
        break;
    case MAIL_SCAN_VALUE:
        if (c == '\n') {
            s->st = MAIL_SCAN_EOL;
            s->line_no++;
        }
        break;
    default: return scan_fail(s, MAIL_ERR_STATE, s->pos);
    }
    s->pos++;
    return MAIL_SCAN_CONTINUE;
}

/* In a value, bytes other than LF and NUL only move the position.  Skips
 * them in one go, up to the first byte where a limit could be reached (the
 * byte-wise path then checks it): the same result, without a state step
 * per byte. */
static void skip_value_bytes(struct mail_scan *s, const char *buf, size_t len)
{
    size_t stop = len;
    size_t line_end = s->line_start + s->lim.max_line, field_end = s->field_start + s->lim.max_field_size;
    if (line_end < stop)
        stop = line_end;
    if (field_end < stop)
        stop = field_end;
    if (s->lim.max_header_size <= s->base_off)
        return;
    if (s->lim.max_header_size - s->base_off < stop)
        stop = s->lim.max_header_size - s->base_off;
    if (stop <= s->pos)
        return;
    const char *nl = memchr(buf + s->pos, '\n', stop - s->pos);
    size_t end = nl ? (size_t)(nl - buf) : stop;
    const char *nul = memchr(buf + s->pos, '\0', end - s->pos);
    s->pos = nul ? (size_t)(nul - buf) : end;
}

enum mail_scan_result mail_scan_step(struct mail_scan *s, const char *buf, size_t len, bool eof, struct mail_field *f)
{
    enum mail_scan_result r;
    enum mail_error e;

    for (;;) {
        if (s->st == MAIL_SCAN_END)
            return MAIL_SCAN_DONE;
        if (s->st == MAIL_SCAN_ERROR)
            return MAIL_SCAN_FAIL;
        if (s->pos >= len)
            return eof ? scan_at_eof(s, buf, len, f) : MAIL_SCAN_NEED_MORE;
        if (s->st == MAIL_SCAN_EOL) {
            if ((r = scan_after_eol(s, buf, len, eof, f)) != MAIL_SCAN_CONTINUE)
                return r;
            continue;
        }
        if (s->st == MAIL_SCAN_VALUE) {
            skip_value_bytes(s, buf, len);
            if (s->pos >= len)
                continue;
        }
        unsigned char c = (unsigned char)buf[s->pos];
        bool in_field = s->st >= MAIL_SCAN_NAME && s->st <= MAIL_SCAN_VALUE;

        if ((e = scan_check(s, buf, in_field)) != MAIL_OK)
            return scan_fail(s, e, s->pos);
        if (c == '\0')
            return scan_fail(s, MAIL_ERR_NUL_BYTE, s->pos);
        if ((r = scan_line_byte(s, c)) != MAIL_SCAN_CONTINUE)
            return r;
    }
}
