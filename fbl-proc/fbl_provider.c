/*
 * fbl_provider.c - JMRP / Hotmail reports and unsubscribe requests (see
 * fbl_provider.h).
 */
#include "fbl_provider.h"

#include <string.h>
#include <strings.h>

#include "address.h"
#include "fbl_arf.h"
#include "provider.h"

static bool from_microsoft(const char *from)
{
    struct mail_view domain;
    if (from[0] == '\0' || !address_domain(from, strlen(from), &domain))
        return false;
    char err[128];
    struct provider_map *map = provider_map_new(NULL, 0, err, sizeof(err));
    if (map == NULL)
        return false;
    bool ms = strcmp(provider_name(map, provider_lookup(map, domain.ptr, domain.len)), "microsoft") == 0;
    provider_map_free(map);
    return ms;
}

bool fbl_provider_is_jmrp(const struct fbl_top *top, const struct fbl_original_rcpt *orig)
{
    if (!orig->seen || !top->multipart || top->multipart_report)
        return false;
    return orig->hotmail_field || from_microsoft(top->from);
}

void fbl_provider_jmrp(struct inbound_report *r, const struct fbl_original_rcpt *orig)
{
    const char *rcpt = NULL;
    if (orig->hotmail[0] != '\0' && !fbl_addr_redacted(orig->hotmail, NULL))
        rcpt = orig->hotmail;
    else if (orig->to[0] != '\0' && !fbl_addr_redacted(orig->to, NULL))
        rcpt = orig->to;
    r->kind = INBOUND_COMPLAINT;
    r->format = "jmrp";
    fbl_arf_rcpt_add(r, rcpt, NULL, "abuse");
}

bool fbl_provider_is_unsubscribe(const struct fbl_top *top)
{
    if (top->apple_unsubscribe)
        return true;
    return strcasecmp(top->subject, "unsubscribe") == 0;
}

void fbl_provider_unsubscribe(struct inbound_report *r, const struct fbl_top *top)
{
    r->kind = INBOUND_COMPLAINT;
    r->format = "unsubscribe";
    fbl_arf_rcpt_add(r, top->from[0] != '\0' ? top->from : NULL, NULL, "unsubscribe");
}
