/*
 * buf.h - a growable byte buffer with a hard limit.
 *
 * Used wherever untrusted bytes accumulate (header blocks, policy requests,
 * DSN fields).  Appends beyond `limit` fail with BUF_ERR_LIMIT and leave the
 * buffer unchanged: nothing is silently truncated, the caller decides what the
 * overflow means.  The data is always NUL-terminated (not counted in len) so
 * that it can be handed to C APIs, but may itself contain NUL bytes.
 */
#ifndef POSTFLOW_BUF_H
#define POSTFLOW_BUF_H

#include <stddef.h>
#include <stdarg.h>

struct buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t limit; /* maximum len; 0 means SIZE_MAX/2 */
};

enum buf_status { BUF_OK = 0, BUF_ERR_LIMIT = -1 };

void buf_init(struct buf *b, size_t limit);
/* Frees the data; the struct may be reused after buf_init(). */
void buf_free(struct buf *b);
void buf_reset(struct buf *b); /* len = 0, memory kept */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_append_char(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Removes the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Hands the data to the caller (who frees it) and resets the buffer. */
char *buf_detach(struct buf *b, size_t *len_out);

#endif
