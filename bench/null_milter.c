/*
 * NAME
 *   null_milter - a libmilter milter that looks at everything and changes nothing
 *
 * SYNOPSIS
 *   null_milter SOCKET        (inet:PORT@127.0.0.1 or unix:PATH)
 *
 * DESCRIPTION
 *   The floor of the Postfix end-to-end benchmark: what attaching any
 *   libmilter milter costs Postfix before it does any work.  It negotiates
 *   the same events and "no reply" flags as milter-dkim (connect, MAIL,
 *   DATA with a reply, every header, end of headers, the body, end of
 *   message), answers CONTINUE to each and edits nothing.  Its listening
 *   socket has TCP_NODELAY, as milter-dkim's has.
 */
#include <libmilter/mfapi.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
                             unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    (void)ctx;
    (void)f0;
    (void)f2;
    (void)f3;
    *pf0 = 0;
    *pf1 = f1 & (SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_HDR |
                 SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC);
    *pf2 = *pf3 = 0;
    return SMFIS_CONTINUE;
}

static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
    (void)ctx;
    (void)host;
    (void)addr;
    return SMFIS_CONTINUE;
}
static sfsistat on_mail(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return SMFIS_CONTINUE;
}
static sfsistat on_data(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}
static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
    (void)ctx;
    (void)name;
    (void)value;
    return SMFIS_CONTINUE;
}
static sfsistat on_eoh(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}
static sfsistat on_body(SMFICTX *ctx, unsigned char *b, size_t n)
{
    (void)ctx;
    (void)b;
    (void)n;
    return SMFIS_CONTINUE;
}
static sfsistat on_eom(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
    struct smfiDesc d;
    if (argc != 2) {
        fprintf(stderr, "usage: null_milter SOCKET\n");
        return 2;
    }
    memset(&d, 0, sizeof d);
    d.xxfi_name = "null";
    d.xxfi_version = SMFI_VERSION;
    d.xxfi_connect = on_connect;
    d.xxfi_envfrom = on_mail;
    d.xxfi_data = on_data;
    d.xxfi_header = on_header;
    d.xxfi_eoh = on_eoh;
    d.xxfi_body = on_body;
    d.xxfi_eom = on_eom;
    d.xxfi_negotiate = on_negotiate;
    if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(d) != MI_SUCCESS || smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "null_milter: cannot listen on %s\n", argv[1]);
        return 1;
    }
    /* libmilter keeps its listening socket to itself: find it among our descriptors. */
    for (int fd = 3; fd < 64; fd++) {
        int acc = 0, one = 1;
        socklen_t len = sizeof acc;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0 && acc)
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
