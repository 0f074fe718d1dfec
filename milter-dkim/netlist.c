/*
 * NAME
 *   netlist.c - CIDR network lists (see netlist.h)
 */
#include "netlist.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static int parse_one(const char *item, struct netlist_entry *e)
{
    char text[64];
    const char *slash = strchr(item, '/');
    size_t alen = slash ? (size_t)(slash - item) : strlen(item);
    if (alen == 0 || alen >= sizeof text)
        return -1;
    memcpy(text, item, alen);
    text[alen] = '\0';
    if (inet_pton(AF_INET, text, e->addr) == 1) {
        e->family = AF_INET;
        e->prefix = 32;
    } else if (inet_pton(AF_INET6, text, e->addr) == 1) {
        e->family = AF_INET6;
        e->prefix = 128;
    } else {
        return -1;
    }
    if (slash != NULL) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end != '\0' || p < 0 || p > e->prefix)
            return -1;
        e->prefix = (int)p;
    }
    return 0;
}

int netlist_parse(struct netlist *nl, char *const *items, size_t count, char *err, size_t errsize)
{
    nl->v = count ? xcalloc(count, sizeof *nl->v) : NULL;
    nl->n = 0;
    for (size_t i = 0; i < count; i++) {
        if (parse_one(items[i], &nl->v[nl->n]) != 0) {
            snprintf(err, errsize, "'%s' is not a network (ADDRESS or ADDRESS/PREFIX)", items[i]);
            netlist_free(nl);
            return -1;
        }
        nl->n++;
    }
    return 0;
}

void netlist_free(struct netlist *nl)
{
    free(nl->v);
    nl->v = NULL;
    nl->n = 0;
}

static int prefix_equal(const unsigned char *a, const unsigned char *b, int prefix)
{
    int full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, b, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

static int match(const struct netlist *nl, int family, const unsigned char *addr)
{
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (family == AF_INET6 && memcmp(addr, mapped, 12) == 0) {
        family = AF_INET;
        addr += 12;
    }
    for (size_t i = 0; i < nl->n; i++)
        if (nl->v[i].family == family && prefix_equal(nl->v[i].addr, addr, nl->v[i].prefix))
            return 1;
    return 0;
}

int netlist_match_sockaddr(const struct netlist *nl, const struct sockaddr *sa)
{
    if (sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET)
        return match(nl, AF_INET, (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr);
    if (sa->sa_family == AF_INET6)
        return match(nl, AF_INET6, ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr);
    return 0;
}

int netlist_match_text(const struct netlist *nl, const char *text)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, text, a) == 1)
        return match(nl, AF_INET, a);
    if (inet_pton(AF_INET6, text, a) == 1)
        return match(nl, AF_INET6, a);
    return 0;
}
