/*
 * NAME
 *   wctl_out.c - JSON string escaping and aligned text tables (see wctl_out.h).
 */
#include "wctl_out.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Length of a valid UTF-8 sequence at s[0..n), or 0 when invalid (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t need;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        need = 2;
        cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        need = 3;
        cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        need = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

void wout_json_str(struct buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;

    buf_append_char(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        size_t k;
        if (c == '"' || c == '\\') {
            buf_append_char(b, '\\');
            buf_append_char(b, (char)c);
            i++;
        } else if (c == '\n') {
            buf_append_str(b, "\\n");
            i++;
        } else if (c == '\r') {
            buf_append_str(b, "\\r");
            i++;
        } else if (c == '\t') {
            buf_append_str(b, "\\t");
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            buf_printf(b, "\\u%04x", c);
            i++;
        } else if ((k = utf8_seq(u + i, n - i)) == 0) {
            buf_append_str(b, "\\ufffd");
            i++;
        } else {
            buf_append(b, s + i, k);
            i += k;
        }
    }
    buf_append_char(b, '"');
}

void wout_json_cstr(struct buf *b, const char *s)
{
    if (s == NULL)
        buf_append_str(b, "null");
    else
        wout_json_str(b, s, strlen(s));
}

void wout_json_key(struct buf *b, const char *key, int first)
{
    if (!first)
        buf_append_char(b, ',');
    wout_json_cstr(b, key);
    buf_append_char(b, ':');
}

void wtable_init(struct wtable *t, size_t ncols, const char *const *heads, unsigned right_mask)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols > WTABLE_MAX_COLS ? WTABLE_MAX_COLS : ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        t->head[i] = heads[i];
        t->right[i] = (right_mask >> i) & 1u;
    }
}

/* A copy with control bytes shown as '?': a cell never moves the cursor. */
static char *cell_copy(const char *s)
{
    char *c;

    if (s == NULL)
        s = "-";
    c = xstrdup(s);
    for (char *p = c; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return c;
}

void wtable_add(struct wtable *t, const char *const *cols)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof(char *));
    }
    for (size_t i = 0; i < t->ncols; i++)
        t->cells[t->nrows * t->ncols + i] = cell_copy(cols[i]);
    t->nrows++;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t width(const char *s)
{
    size_t w = 0;

    for (; *s != '\0'; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

static void render_row(const struct wtable *t, struct buf *b, const char *const *row, const size_t *wd)
{
    for (size_t i = 0; i < t->ncols; i++) {
        size_t w = width(row[i]);
        size_t pad = wd[i] > w ? wd[i] - w : 0;
        int last = i + 1 == t->ncols;
        if (i > 0)
            buf_append_str(b, "  ");
        if (t->right[i])
            for (size_t k = 0; k < pad; k++)
                buf_append_char(b, ' ');
        buf_append_str(b, row[i]);
        if (!t->right[i] && !last)
            for (size_t k = 0; k < pad; k++)
                buf_append_char(b, ' ');
    }
    buf_append_char(b, '\n');
}

void wtable_render(const struct wtable *t, struct buf *b)
{
    size_t wd[WTABLE_MAX_COLS];

    for (size_t i = 0; i < t->ncols; i++) {
        wd[i] = width(t->head[i]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t w = width(t->cells[r * t->ncols + i]);
            if (w > wd[i])
                wd[i] = w;
        }
    }
    render_row(t, b, t->head, wd);
    for (size_t r = 0; r < t->nrows; r++)
        render_row(t, b, (const char *const *)&t->cells[r * t->ncols], wd);
}

void wtable_free(struct wtable *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}
