/*
 * NAME
 *   milter_cb.c - libmilter callbacks (see milter_cb.h)
 *
 * DESCRIPTION
 *   Per connection: struct conn (set in xxfi_negotiate, freed in
 *   xxfi_close) with whether the client is trusted.  Per message: a
 *   snapshot reference taken at MAIL FROM and released when the message
 *   ends, so a reload never changes the rules under a message.
 *   Header values arrive with their leading space (SMFIP_HDR_LEADSPC) so
 *   that simple header canonicalization sees the field as transmitted.
 */
#include "milter_cb.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libmilter/mfapi.h>

#include "buf.h"
#include "log.h"
#include "mdkim_msg.h"
#include "mdkim_snap.h"
#include "mdkim_stats.h"
#include "xalloc.h"

#define QID_MAX 64

struct conn {
    unsigned long proto;            /* protocol flags agreed in negotiate */
    struct sockaddr_storage client; /* client address (ss_family 0: none given) */
    int local;                      /* Postfix non_smtpd (simulated localhost connect) */
    int in_msg;
    int trusted;
    int decision; /* mdkim_msg_eoh result: 1 sign, 0 skip, -1 fault */
    struct mdkim_snap *snap;
    struct mdkim_msg msg;
};

static sfsistat noreply(const struct conn *c, unsigned long flag)
{
    return (c != NULL && (c->proto & flag)) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static struct conn *conn_get(SMFICTX *ctx)
{
    return smfi_getpriv(ctx);
}

static void msg_end(struct conn *c)
{
    if (c->in_msg) {
        mdkim_msg_free(&c->msg);
        mdkim_snap_release(c->snap);
        c->snap = NULL;
        c->in_msg = 0;
    }
}

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
                             unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    /*
     * No reply to anything before end of message, except DATA: Postfix's smtpd flushes the envelope
     * events (and the macros of skipped events) when it hands the milter connection to cleanup, at
     * DATA.  If nothing answers that flush, the peer's ACK is delayed (~40 ms) and Nagle holds
     * cleanup's first small write until it comes: a 40 ms stall per message behind Postfix
     * (measured by bench/milter_load, which writes like Postfix; docs/benchmarks.md).  Our DATA
     * reply carries the ACK at once.
     */
    static const unsigned long wanted = SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NR_CONN | SMFIP_NR_MAIL |
                                        SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC;
    struct conn *c = xcalloc(1, sizeof *c);
    (void)f2;
    (void)f3;
    if ((f0 & SMFIF_ADDHDRS) == 0) {
        log_error("MTA does not allow adding headers: cannot sign");
        free(c);
        return SMFIS_REJECT;
    }
    *pf0 = SMFIF_ADDHDRS | (f0 & SMFIF_CHGHDRS);
    *pf1 = f1 & wanted;
    *pf2 = *pf3 = 0;
    c->proto = *pf1;
    smfi_setpriv(ctx, c);
    return SMFIS_CONTINUE;
}

/* DATA is answered at once (see cb_negotiate): the reply is what acknowledges smtpd's flush. */
static sfsistat cb_data(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

/*
 * Postfix's cleanup announces non-SMTP mail (sendmail(1), pickup: non_smtpd_milters) as a
 * connect from "localhost", 127.0.0.1, client port 0.  The port tells it apart from an SMTP
 * client on 127.0.0.1 whose reverse name is localhost: a TCP peer never has port 0.
 */
static int is_local_submission(const char *host, const _SOCK_ADDR *addr)
{
    if (host == NULL || strcmp(host, "localhost") != 0 || addr == NULL || addr->sa_family != AF_INET)
        return 0;
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)addr;
    return in->sin_addr.s_addr == htonl(INADDR_LOOPBACK) && in->sin_port == 0;
}

static sfsistat cb_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
    struct conn *c = conn_get(ctx);
    if (c == NULL) { /* an MTA that skipped negotiation */
        c = xcalloc(1, sizeof *c);
        smfi_setpriv(ctx, c);
    }
    memset(&c->client, 0, sizeof c->client);
    if (addr != NULL && addr->sa_family == AF_INET)
        memcpy(&c->client, addr, sizeof(struct sockaddr_in));
    else if (addr != NULL && addr->sa_family == AF_INET6)
        memcpy(&c->client, addr, sizeof(struct sockaddr_in6));
    c->local = is_local_submission(host, addr);
    return noreply(c, SMFIP_NR_CONN);
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
    struct conn *c = conn_get(ctx);
    (void)argv;
    if (c == NULL)
        return SMFIS_ACCEPT;
    msg_end(c);
    c->snap = mdkim_snap_current();
    if (c->snap == NULL)
        return noreply(c, SMFIP_NR_MAIL);
    const char *auth = smfi_getsymval(ctx, "{auth_authen}");
    /* Trust is decided with the message's snapshot, so a reload applies from the next message. */
    c->trusted = netlist_match_sockaddr(&c->snap->trusted, (const struct sockaddr *)&c->client) ||
                 (c->snap->trust_sasl && auth != NULL && auth[0] != '\0') || (c->snap->trust_non_smtpd && c->local);
    mdkim_msg_init(&c->msg, c->snap);
    c->in_msg = 1;
    c->decision = 0;
    return noreply(c, SMFIP_NR_MAIL);
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
    struct conn *c = conn_get(ctx);
    if (c != NULL && c->in_msg) {
        if (c->proto & SMFIP_HDR_LEADSPC) {
            mdkim_msg_header(&c->msg, name, value);
        } else { /* the MTA dropped the space after the colon: put the usual one back */
            struct buf v;
            buf_init(&v, 0);
            buf_append_char(&v, ' ');
            buf_append_str(&v, value);
            mdkim_msg_header(&c->msg, name, v.data);
            buf_free(&v);
        }
    }
    return noreply(c, SMFIP_NR_HDR);
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
    struct conn *c = conn_get(ctx);
    if (c != NULL && c->in_msg)
        c->decision = mdkim_msg_eoh(&c->msg, c->trusted, time(NULL));
    return noreply(c, SMFIP_NR_EOH);
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
    struct conn *c = conn_get(ctx);
    if (c != NULL && c->in_msg && c->decision == 1)
        mdkim_msg_body(&c->msg, data, len);
    return noreply(c, SMFIP_NR_BODY);
}

static sfsistat fault(struct conn *c, const char *qid, const char *what)
{
    int tempfail = c->snap != NULL && c->snap->on_error == MDKIM_ON_ERROR_TEMPFAIL;
    mdkim_stats_error();
    log_qid(LOG_LVL_ERROR, qid, "not signed: %s; %s", what, tempfail ? "tempfail" : "accepted unsigned");
    return tempfail ? SMFIS_TEMPFAIL : SMFIS_ACCEPT;
}

/* Inserts the new fields on top, in order; libmilter wants LF folds, and the leading space per protocol. */
static int insert_fields(SMFICTX *ctx, const struct conn *c, const struct mdkim_out *out)
{
    for (size_t i = out->nfields; i-- > 0;) {
        const struct buf *f = &out->fields[i];
        char *text = xstrndup(f->data, f->len), *w = text;
        for (const char *r = text; *r; r++) /* CRLF -> LF */
            if (!(r[0] == '\r' && r[1] == '\n'))
                *w++ = *r;
        *w = '\0';
        char *colon = strchr(text, ':');
        *colon = '\0';
        char *value = colon + 1;
        if (!(c->proto & SMFIP_HDR_LEADSPC) && *value == ' ')
            value++;
        int rc = smfi_insheader(ctx, 0, text, value);
        free(text);
        if (rc != MI_SUCCESS)
            return -1;
    }
    return 0;
}

/*
 * Removes trace fields the message already had (forged or stale), before
 * anything is inserted so that the indexes count the original fields only.
 */
static int drop_forged_trace(SMFICTX *ctx, const struct conn *c, size_t count)
{
    for (size_t i = count; i > 0; i--)
        if (smfi_chgheader(ctx, c->snap->trace_header, (int)i, NULL) != MI_SUCCESS)
            return -1;
    return 0;
}

static sfsistat cb_eom(SMFICTX *ctx)
{
    struct conn *c = conn_get(ctx);
    struct mdkim_out out;
    sfsistat verdict = SMFIS_ACCEPT;
    char qidbuf[QID_MAX];

    if (c == NULL || !c->in_msg)
        return SMFIS_ACCEPT;
    const char *qid = smfi_getsymval(ctx, "i");
    if (qid != NULL) {
        log_printable(qidbuf, sizeof qidbuf, qid, strlen(qid));
        qid = qidbuf;
    }
    if (c->snap == NULL) {
        verdict = fault(c, qid, "no configuration loaded");
    } else if (c->decision < 0) {
        verdict = fault(c, qid, c->msg.err.text);
    } else if (c->decision == 0) {
        mdkim_stats_skipped(c->msg.skip);
        if (c->msg.skip != MDKIM_SKIP_UNTRUSTED)
            log_qid(LOG_LVL_NOTICE, qid, "not signed: %s%s%s", mdkim_skip_name(c->msg.skip),
                    c->msg.from_domain[0] ? " from_domain=" : "", c->msg.from_domain);
    } else {
        mdkim_out_init(&out);
        if (mdkim_msg_eom(&c->msg, time(NULL), qid, &out) != 0) {
            verdict = fault(c, qid, c->msg.err.text);
        } else if (drop_forged_trace(ctx, c, out.drop_existing_trace) != 0 || insert_fields(ctx, c, &out) != 0) {
            verdict = fault(c, qid, "the MTA refused a header change");
        } else {
            if (c->msg.note[0] != '\0')
                log_qid(LOG_LVL_WARNING, qid, "%s", c->msg.note);
            if (out.drop_existing_trace)
                log_qid(LOG_LVL_NOTICE, qid, "removed %zu %s field(s) present before signing", out.drop_existing_trace,
                        c->snap->trace_header);
            char sigs[MDKIM_MAX_SIGS * 300];
            mdkim_out_describe(&out, sigs, sizeof sigs);
            log_qid(LOG_LVL_INFO, qid, "signed %s body=%llu bytes", sigs, (unsigned long long)c->msg.body_bytes);
            mdkim_stats_signed((unsigned)out.nsigs, c->msg.body_bytes);
        }
        mdkim_out_free(&out);
    }
    msg_end(c);
    return verdict;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
    struct conn *c = conn_get(ctx);
    if (c != NULL)
        msg_end(c);
    return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
    struct conn *c = conn_get(ctx);
    if (c != NULL) {
        msg_end(c);
        free(c);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

int milter_cb_register(void)
{
    static struct smfiDesc desc = {
        .xxfi_name = "milter-dkim",
        .xxfi_version = SMFI_VERSION,
        .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS,
        .xxfi_connect = cb_connect,
        .xxfi_envfrom = cb_envfrom,
        .xxfi_header = cb_header,
        .xxfi_eoh = cb_eoh,
        .xxfi_body = cb_body,
        .xxfi_data = cb_data,
        .xxfi_eom = cb_eom,
        .xxfi_abort = cb_abort,
        .xxfi_close = cb_close,
        .xxfi_negotiate = cb_negotiate,
    };
    return smfi_register(desc) == MI_SUCCESS ? 0 : -1;
}
