/*
 * tap_follow.c - the rotating-log follower and its checkpoint file (see
 * tap_follow.h).
 *
 * Positions: `line_start` is the file offset where the line being
 * assembled begins (the checkpoint); `read_pos` is how far the descriptor
 * has been read.  Lines are assembled in one bounded buffer; a line longer
 * than TAP_LINE_MAX is skipped to its '\n' and counted.
 */
#include "tap_follow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap_event.h"
#include "xalloc.h"

#define CHUNK 65536

struct tap_follow {
    char *path;
    int fd;
    unsigned long long dev, ino;
    long long read_pos;
    long long line_start;
    bool then_path; /* reading PATH.1 after a restart: the path comes next, from 0 */
    bool skipping;  /* inside an overlong line */
    char *line;     /* TAP_LINE_MAX bytes */
    size_t len;
    char *chunk;
    size_t overlong, rotations;
    bool lost_rotation;
};

static int open_at(struct tap_follow *f, const char *path, long long offset, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (offset < 0 || offset > (long long)st.st_size)
        offset = offset < 0 ? (long long)st.st_size : 0; /* -1: the end; past the end: truncated, from 0 */
    if (lseek(fd, (off_t)offset, SEEK_SET) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (f->fd >= 0)
        close(f->fd);
    f->fd = fd;
    f->dev = (unsigned long long)st.st_dev;
    f->ino = (unsigned long long)st.st_ino;
    f->read_pos = f->line_start = offset;
    f->len = 0;
    f->skipping = false;
    return 0;
}

static int same_file(const char *path, unsigned long long dev, unsigned long long ino)
{
    struct stat st;
    return stat(path, &st) == 0 && (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

struct tap_follow *tap_follow_open(const char *path, const struct tap_checkpoint *cp, bool from_start, char *err,
                                   size_t errlen)
{
    struct tap_follow *f = xcalloc(1, sizeof(*f));
    f->fd = -1;
    f->path = xstrdup(path);
    f->line = xmalloc(TAP_LINE_MAX);
    f->chunk = xmalloc(CHUNK);
    int rc;
    if (cp != NULL && same_file(path, cp->dev, cp->ino)) {
        rc = open_at(f, path, cp->offset, err, errlen);
    } else if (cp != NULL) {
        size_t n = strlen(path) + 3;
        char *rotated = xmalloc(n);
        snprintf(rotated, n, "%s.1", path);
        if (same_file(rotated, cp->dev, cp->ino)) {
            rc = open_at(f, rotated, cp->offset, err, errlen);
            f->then_path = rc == 0;
        } else {
            f->lost_rotation = true;
            rc = open_at(f, path, 0, err, errlen);
        }
        free(rotated);
    } else {
        rc = open_at(f, path, from_start ? 0 : -1, err, errlen);
    }
    if (rc < 0) {
        tap_follow_close(f);
        return NULL;
    }
    return f;
}

void tap_follow_close(struct tap_follow *f)
{
    if (f == NULL)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f->line);
    free(f->chunk);
    free(f);
}

/* Bytes of one read: complete lines go to fn. */
static long take(struct tap_follow *f, const char *p, size_t n, tap_follow_line_fn fn, void *ctx)
{
    long lines = 0;
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t part = nl ? (size_t)(nl - p) : n;
        if (!f->skipping) {
            if (f->len + part > TAP_LINE_MAX) {
                f->skipping = true;
                f->overlong++;
            } else {
                memcpy(f->line + f->len, p, part);
                f->len += part;
            }
        }
        f->read_pos += (long long)part;
        if (nl == NULL)
            break;
        f->read_pos++; /* the '\n' */
        if (!f->skipping) {
            fn(f->line, f->len, ctx);
            lines++;
        }
        f->skipping = false;
        f->len = 0;
        f->line_start = f->read_pos;
        p = nl + 1;
        n -= part + 1;
    }
    return lines;
}

/* The end of a file that will not grow again: its last partial line is a line. */
static long finish(struct tap_follow *f, tap_follow_line_fn fn, void *ctx)
{
    long lines = 0;
    if (f->len > 0 && !f->skipping) {
        fn(f->line, f->len, ctx);
        lines++;
    }
    f->len = 0;
    f->skipping = false;
    return lines;
}

long tap_follow_poll(struct tap_follow *f, tap_follow_line_fn fn, void *ctx, char *err, size_t errlen)
{
    long lines = 0;
    for (;;) {
        ssize_t got = read(f->fd, f->chunk, CHUNK);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
            return -1;
        }
        if (got > 0) {
            lines += take(f, f->chunk, (size_t)got, fn, ctx);
            continue;
        }
        /* end of what is there: has the path moved on? */
        if (f->then_path) {
            lines += finish(f, fn, ctx);
            f->then_path = false;
            f->rotations++;
            if (open_at(f, f->path, 0, err, errlen) < 0)
                return -1;
            continue;
        }
        struct stat st;
        if (stat(f->path, &st) < 0)
            return lines; /* renamed, the new file not there yet */
        if ((unsigned long long)st.st_ino != f->ino || (unsigned long long)st.st_dev != f->dev) {
            /* renamed: one more read of the old file, then the new one from 0 */
            got = read(f->fd, f->chunk, CHUNK);
            if (got > 0) {
                lines += take(f, f->chunk, (size_t)got, fn, ctx);
                continue;
            }
            lines += finish(f, fn, ctx);
            f->rotations++;
            if (open_at(f, f->path, 0, err, errlen) < 0)
                return -1;
            continue;
        }
        if ((long long)st.st_size < f->read_pos) {
            /* copytruncate: the same file, shorter than what we read */
            f->rotations++;
            if (lseek(f->fd, 0, SEEK_SET) < 0) {
                snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
                return -1;
            }
            f->read_pos = f->line_start = 0;
            f->len = 0;
            f->skipping = false;
            continue;
        }
        return lines;
    }
}

void tap_follow_checkpoint(const struct tap_follow *f, struct tap_checkpoint *cp)
{
    cp->dev = f->dev;
    cp->ino = f->ino;
    cp->offset = f->line_start;
}

size_t tap_follow_overlong(const struct tap_follow *f)
{
    return f->overlong;
}

size_t tap_follow_rotations(const struct tap_follow *f)
{
    return f->rotations;
}

bool tap_follow_lost_rotation(const struct tap_follow *f)
{
    return f->lost_rotation;
}

#define CHECKPOINT_MAGIC "maillog-tap checkpoint 1"

int tap_checkpoint_save(const char *path, const struct tap_checkpoint *cp, char *err, size_t errlen)
{
    size_t n = strlen(path) + 8;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    char text[128];
    int len = snprintf(text, sizeof(text), "%s\ndev %llu\nino %llu\noffset %lld\n", CHECKPOINT_MAGIC, cp->dev, cp->ino,
                       cp->offset);
    int rc = -1;
    if (fd < 0)
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
    else if (write(fd, text, (size_t)len) != len || fsync(fd) < 0)
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
    else if (close(fd) < 0 || (fd = -1, rename(tmp, path) < 0))
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    else
        rc = 0;
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

int tap_checkpoint_load(const char *path, struct tap_checkpoint *cp, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char magic[64] = "";
    int n = fscanf(fp, "%63[^\n]\ndev %llu\nino %llu\noffset %lld\n", magic, &cp->dev, &cp->ino, &cp->offset);
    fclose(fp);
    if (n != 4 || strcmp(magic, CHECKPOINT_MAGIC) != 0 || cp->offset < 0) {
        snprintf(err, errlen, "%s: not a maillog-tap checkpoint", path);
        return -1;
    }
    return 0;
}
