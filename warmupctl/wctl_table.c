/*
 * NAME
 *   wctl_table.c - aligned text tables (see wctl_table.h).
 */
#include "wctl_table.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void wctl_table_init(struct wtable *t, size_t ncols, const char *const *heads, unsigned right_mask)
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

void wctl_table_add(struct wtable *t, const char *const *cols)
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

void wctl_table_render(const struct wtable *t, struct buf *b)
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

void wctl_table_free(struct wtable *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}
