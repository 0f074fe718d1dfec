/*
 * shaping.c - netblocks and holds of traffic-shaping effects (see
 * shaping.h).
 */
#include "shaping.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

int shaping_netblock(const char *ip, size_t n, char *out, size_t outsize)
{
    char tmp[INET6_ADDRSTRLEN + 1], txt[INET6_ADDRSTRLEN];
    unsigned char a[16];
    if (outsize > 0)
        out[0] = '\0';
    if (ip == NULL || n == 0 || n >= sizeof tmp || memchr(ip, '\0', n) != NULL)
        return -1;
    memcpy(tmp, ip, n);
    tmp[n] = '\0';
    int w;
    if (inet_pton(AF_INET, tmp, a) == 1) {
        a[3] = 0;
        inet_ntop(AF_INET, a, txt, sizeof txt);
        w = snprintf(out, outsize, "%s/24", txt);
    } else if (inet_pton(AF_INET6, tmp, a) == 1) {
        memset(a + 8, 0, 8);
        inet_ntop(AF_INET6, a, txt, sizeof txt);
        w = snprintf(out, outsize, "%s/64", txt);
    } else {
        return -1;
    }
    if (w < 0 || (size_t)w >= outsize) {
        if (outsize > 0)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

int shaping_index_field(char *out, size_t outsize, const char *action, const char *subject, const char *provider)
{
    int w = snprintf(out, outsize, "%s|%s|%s", action, subject, provider);
    return w < 0 || (size_t)w >= outsize ? -1 : 0;
}

int shaping_hold(struct wm_evaluation *ev, long stage, const char *why)
{
    if (ev->verdict != WM_ADVANCE)
        return 0;
    ev->verdict = WM_HOLD;
    ev->new_stage = stage;
    snprintf(ev->reason, sizeof ev->reason, "shaping hold: %s", why != NULL && why[0] ? why : "active");
    return 1;
}
