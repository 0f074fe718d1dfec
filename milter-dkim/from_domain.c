/*
 * NAME
 *   from_domain.c - mailbox count and domain of a From: value (see from_domain.h)
 *
 * DESCRIPTION
 *   A thin wrapper over the project's RFC 5322 address parser
 *   (common/address.c): it counts the mailboxes of the address-list and
 *   checks the first one's domain (letters, digits, '-', '.', 8-bit
 *   U-labels; a domain literal is not a domain we can sign for).
 */
#include "from_domain.h"

#include <string.h>

#include "address.h"

static int domain_copy(const struct mail_address *a, char *out, size_t outsize)
{
    const char *d = a->domain.ptr;
    size_t n = a->domain.len;
    if ((a->flags & (ADDRESS_F_NO_DOMAIN | ADDRESS_F_DOMAIN_LITERAL)) || n == 0)
        return -1;
    while (n > 0 && d[n - 1] == '.')
        n--;
    if (n == 0 || n > FROM_DOMAIN_MAX || n >= outsize)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c >= 0x80))
            return -1;
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
    }
    out[n] = '\0';
    return 0;
}

int from_domain_parse(const char *v, size_t len, char *domain, size_t dsize)
{
    struct address_list list = { NULL, 0 };
    int count;

    if (dsize > 0)
        domain[0] = '\0';
    if (address_list_parse(v, len, NULL, &list, NULL) != MAIL_OK) {
        address_list_free(&list);
        return -1;
    }
    count = list.n > 1000 ? 1000 : (int)list.n;
    if (count == 1 && domain_copy(&list.v[0], domain, dsize) != 0 && dsize > 0)
        domain[0] = '\0';
    address_list_free(&list);
    return count;
}
