/*
 * xalloc.c - allocation that never returns NULL (see xalloc.h).
 *
 * The default failure action writes one line to stderr and syslog-free
 * stderr only (the log module may itself need memory) and exits 75 so the
 * MTA retries: memory exhaustion must never turn into a bounce.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcodes.h"
#include "xalloc.h"

static void (*failure_handler)(size_t);

void xalloc_set_failure_handler(void (*handler)(size_t requested))
{
    failure_handler = handler;
}

static void xalloc_fail(size_t size)
{
    static const char text[] = "postflow: fatal: out of memory\n";

    if (failure_handler != NULL)
        failure_handler(size);
    /* write(2) needs no memory; its result does not matter at this point. */
    if (write(STDERR_FILENO, text, sizeof(text) - 1) < 0) {
        /* nothing more we can do */
    }
    _exit(PF_EXIT_TEMPFAIL);
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL)
        xalloc_fail(size);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p;

    if (size != 0 && nmemb > SIZE_MAX / size)
        xalloc_fail(SIZE_MAX);
    p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (p == NULL)
        xalloc_fail(nmemb * size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (p == NULL)
        xalloc_fail(size);
    return p;
}

char *xstrndup(const char *s, size_t len)
{
    char *p = xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}
