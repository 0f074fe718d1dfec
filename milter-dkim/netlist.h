/*
 * NAME
 *   netlist.h - a list of IPv4/IPv6 networks (CIDR) and membership tests
 *
 * DESCRIPTION
 *   Pure: "192.0.2.0/24", "2001:db8::/32", a bare address (/32 or /128).
 *   IPv4-mapped IPv6 client addresses (::ffff:a.b.c.d) match IPv4 networks.
 */
#ifndef POSTFLOW_NETLIST_H
#define POSTFLOW_NETLIST_H

#include <stddef.h>
#include <sys/socket.h>

struct netlist_entry {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix;
};

struct netlist {
    struct netlist_entry *v; /* owned */
    size_t n;
};

/* Parses items; returns 0, or -1 with the bad item in err. Free with netlist_free(). */
int netlist_parse(struct netlist *nl, char *const *items, size_t count, char *err, size_t errsize);
void netlist_free(struct netlist *nl);
/* 1 if sa (AF_INET/AF_INET6) is in the list. */
int netlist_match_sockaddr(const struct netlist *nl, const struct sockaddr *sa);
/* Same for a textual address; 0 if text is not an address. */
int netlist_match_text(const struct netlist *nl, const char *text);

#endif
