/*
 * inbound_batch.c - batch input: files, directories, mbox (see inbound_batch.h).
 */
#include "inbound_batch.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "xalloc.h"

#define BATCH_DEPTH_MAX 8        /* directory nesting followed */
#define BATCH_FILES_MAX 10000000 /* files per run */

struct batch_file {
    char *path;
    size_t size;
};

struct inbound_batch {
    struct batch_file *files;
    size_t nfiles, cap, bytes;
    size_t next_file;  /* index of the file to open next */
    size_t done_bytes; /* sizes of the files opened so far */
    /* the file being read */
    char *map;
    size_t map_len, map_offset; /* map_offset: batch bytes before this file */
    size_t *starts, nstarts, next_msg;
    char name[4200];
};

static int add_file(struct inbound_batch *b, const char *path, size_t size)
{
    if (b->nfiles >= BATCH_FILES_MAX)
        return -1;
    if (b->nfiles == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->files = xrealloc(b->files, b->cap * sizeof(*b->files));
    }
    b->files[b->nfiles].path = xstrdup(path);
    b->files[b->nfiles].size = size;
    b->nfiles++;
    b->bytes += size;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_path(struct inbound_batch *b, const char *path, int depth, char *err, size_t errsize)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errsize, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISREG(st.st_mode))
        return st.st_size > 0 ? add_file(b, path, (size_t)st.st_size) : 0;
    if (!S_ISDIR(st.st_mode) || depth >= BATCH_DEPTH_MAX)
        return 0;
    DIR *d = opendir(path);
    if (d == NULL) {
        snprintf(err, errsize, "%s: %s", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') /* ., .., and hidden files (maildir's tmp/ is not hidden: see below) */
            continue;
        if (strcmp(e->d_name, "tmp") == 0) /* a maildir's tmp/ holds messages being written */
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = xrealloc(names, cap * sizeof(*names));
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        names[n] = xmalloc(len);
        snprintf(names[n], len, "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), by_name);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && add_path(b, names[i], depth + 1, err, errsize) != 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

struct inbound_batch *inbound_batch_open(char *const *paths, size_t n, char *err, size_t errsize)
{
    struct inbound_batch *b = xcalloc(1, sizeof(*b));
    for (size_t i = 0; i < n; i++)
        if (add_path(b, paths[i], 0, err, errsize) != 0) {
            inbound_batch_close(b);
            return NULL;
        }
    if (b->nfiles == 0) {
        snprintf(err, errsize, "no message files in the paths given");
        inbound_batch_close(b);
        return NULL;
    }
    return b;
}

static void unmap(struct inbound_batch *b)
{
    if (b->map != NULL)
        munmap(b->map, b->map_len);
    b->map = NULL;
    b->map_len = 0;
    free(b->starts);
    b->starts = NULL;
    b->nstarts = b->next_msg = 0;
}

void inbound_batch_close(struct inbound_batch *b)
{
    if (b == NULL)
        return;
    unmap(b);
    for (size_t i = 0; i < b->nfiles; i++)
        free(b->files[i].path);
    free(b->files);
    free(b);
}

size_t inbound_batch_files(const struct inbound_batch *b)
{
    return b->nfiles;
}
size_t inbound_batch_bytes(const struct inbound_batch *b)
{
    return b->bytes;
}

static bool from_line(const char *data, size_t len, size_t i)
{
    return i + 5 <= len && memcmp(data + i, "From ", 5) == 0;
}

size_t inbound_mbox_split(const char *data, size_t len, size_t *starts, size_t max)
{
    if (!from_line(data, len, 0))
        return 0;
    size_t n = 0;
    if (max > 0)
        starts[0] = 0;
    n = 1;
    for (const char *p = data; (p = memchr(p, '\n', len - (size_t)(p - data))) != NULL;) {
        size_t i = (size_t)(p - data) + 1; /* start of the next line */
        bool blank_before = i >= 2 && (data[i - 2] == '\n' || (data[i - 2] == '\r' && i >= 3 && data[i - 3] == '\n'));
        if (blank_before && from_line(data, len, i)) {
            if (n < max)
                starts[n] = i;
            n++;
        }
        if (i >= len)
            break;
        p = data + i;
    }
    return n;
}

/* Maps the next file; 1 mapped, 0 none left, -1 unreadable (skipped). */
static int open_next_file(struct inbound_batch *b, char *err, size_t errsize)
{
    unmap(b);
    if (b->next_file >= b->nfiles)
        return 0;
    struct batch_file *f = &b->files[b->next_file++];
    b->map_offset = b->done_bytes;
    b->done_bytes += f->size;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
        snprintf(err, errsize, "%s: %s", f->path, fd < 0 ? strerror(errno) : "empty or unreadable");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, errsize, "%s: mmap: %s", f->path, strerror(errno));
        return -1;
    }
    b->map = map;
    b->map_len = (size_t)st.st_size;
    size_t n = inbound_mbox_split(b->map, b->map_len, NULL, 0);
    if (n > 1) {
        b->starts = xcalloc(n, sizeof(*b->starts));
        b->nstarts = inbound_mbox_split(b->map, b->map_len, b->starts, n);
    } else {
        b->starts = xcalloc(1, sizeof(*b->starts));
        b->nstarts = 1;
    }
    return 1;
}

int inbound_batch_next(struct inbound_batch *b, struct inbound_message *m, char *err, size_t errsize)
{
    while (b->map == NULL || b->next_msg >= b->nstarts) {
        int rc = open_next_file(b, err, errsize);
        if (rc <= 0)
            return rc;
    }
    size_t i = b->next_msg++;
    size_t start = b->starts[i], end = i + 1 < b->nstarts ? b->starts[i + 1] : b->map_len;
    const char *path = b->files[b->next_file - 1].path;
    if (b->nstarts > 1)
        snprintf(b->name, sizeof(b->name), "%s:%zu", path, i + 1);
    else
        snprintf(b->name, sizeof(b->name), "%s", path);
    m->data = b->map + start;
    m->len = end - start;
    m->name = b->name;
    m->offset = b->map_offset + start;
    return 1;
}
