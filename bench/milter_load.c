/*
 * NAME
 *	milter_load - drive a DKIM-signing milter the way Postfix does, and time it
 *
 * SYNOPSIS
 *	milter_load -a SOCKET [-c CONC] [-n MSGS] [-T SECS] [-s SIZE]
 *	            [-d DOMAIN] [-1] [-P PID] [-o FILE] [-q]
 *
 * DESCRIPTION
 *	A milter protocol version 6 client (the MTA side).  CONC threads each
 *	open one connection to SOCKET (inet:PORT@HOST or unix:PATH) and, like a
 *	Postfix smtpd/cleanup pair serving one SMTP session, send messages over
 *	it until MSGS messages have been sent in total:
 *	    OPTNEG, macros + CONNECT, HELO, then per message MAIL, RCPT, DATA,
 *	    each header, EOH, BODY chunks of at most 65535 bytes, EOM,
 *	and read replies until the final verdict of EOM.  Finally QUIT.
 *	With -1 each message gets its own connection (OPTNEG..QUIT), which is
 *	what an MTA that does not reuse milter connections would do.
 *
 *	The negotiated protocol flags are honoured: a stage the milter asked not
 *	to see is not sent (its macros are, as Postfix sends them), and a stage
 *	marked "no reply" (SMFIP_NR_*) is not waited for.  A SKIP reply to a body chunk stops the body.  Each command
 *	is queued in an output buffer that is written when a reply must be
 *	read (or when it is full), as Postfix's VSTREAM does, and at the point
 *	where Postfix's smtpd hands the connection to its cleanup server (after
 *	the DATA event), where smtpd flushes; the socket keeps its default
 *	options (no TCP_NODELAY, no TCP_QUICKACK).
 *
 *	Messages are SIZE bytes (headers + body) with the headers a bulk sender
 *	uses (From, To, Subject, Date, Message-ID, MIME-Version, Content-Type,
 *	List-Unsubscribe, List-Unsubscribe-Post, Feedback-ID ...); each message
 *	has its own Message-ID, queue id and recipient.
 *
 *	Every message must come back with at least one inserted or added
 *	DKIM-Signature header: messages are counted as signed or unsigned, and
 *	protocol errors, rejects and tempfails are counted as errors.
 *
 *	Timing starts after every connection has sent one warm-up message (so
 *	key loading, thread start-up and TCP slow start are excluded).  The
 *	latency of a message runs from its MAIL command (or its connect, with
 *	-1) to the final EOM verdict.  With -P the CPU time (utime+stime from
 *	/proc/PID/stat) that process PID spent during the timed part is divided
 *	by the number of timed messages.
 *
 * OPTIONS
 *	-a SOCKET  milter address: inet:PORT@HOST, inet:HOST:PORT or unix:PATH
 *	-c CONC    concurrent connections (threads), default 1
 *	-n MSGS    timed messages in total, default 1000
 *	-T SECS    start no new message after SECS seconds (whichever comes
 *	           first: MSGS or SECS)
 *	-s SIZE    message size in bytes, default 2048
 *	-d DOMAIN  From domain (what the signer signs for), default example.com
 *	-1         one connection per message instead of reusing connections
 *	-P PID     measure CPU time of this process
 *	-o FILE    write the first signed message (signature headers first,
 *	           CRLF line ends) to FILE for independent verification
 *	-q         no progress text on stderr
 *
 * OUTPUT
 *	One line on stdout, key=value pairs:
 *	RESULT msgs= signed= sigs= unsigned= errors= secs= msg_per_s= p50_ms=
 *	p99_ms= max_ms= cpu_ms_per_msg= prot=0xFLAGS
 *
 * EXIT STATUS
 *	0 when every message was signed and nothing failed; 1 when some
 *	message was unsigned or failed (a benchmark of a signer that does not
 *	sign is not a result); 2 on usage or connection errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <libmilter/mfdef.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "latency.h"

#define ML_MAX_REPLY   (1024 * 1024) /* largest milter reply accepted */
#define ML_CHUNK       MILTER_CHUNK_SIZE
#define ML_MAX_HEADERS 32
#define ML_WBUF        (2 * ML_CHUNK + 128) /* client output buffer */

/* What the MTA offers: protocol v6, every action, every protocol step. */
#define ML_VERSION 6u
#define ML_ACTIONS 0x1ffu
#define ML_PROTO   0x1fffffu

enum ml_outcome { ML_SIGNED, ML_UNSIGNED, ML_FAILED };

struct ml_opts {
    const char *addr;
    int conc;
    long msgs;
    size_t size;
    const char *domain;
    int per_msg_conn;
    double max_secs;
    long pid;
    const char *out_file;
    int quiet;
};

struct ml_header {
    char name[64];
    char value[512];
};

/* One connection's state; owned by its thread. */
struct ml_conn {
    int fd;
    uint32_t prot;       /* protocol flags the milter asked for */
    unsigned char *rbuf; /* reply buffer (ML_MAX_REPLY + 1) */
    unsigned char *wbuf; /* output buffer (ML_WBUF) */
    size_t wlen;         /* bytes waiting in wbuf */
    int tid;
};

/* One message's result. */
struct ml_msg_result {
    enum ml_outcome outcome;
    int sigs;
    char *ins_text; /* malloc'd "Name: value\r\n..." inserted on top */
    char *add_text; /* same, appended after the original headers */
    char why[160];
};

static struct ml_opts opt = { NULL, 1, 1000, 2048, "example.com", 0, 0.0, 0, NULL, 0 };
static char *body_text; /* shared, read-only after start */
static size_t body_len;
static uint64_t *lat_ns; /* per timed message */
static atomic_long next_msg;
static atomic_long n_signed, n_sigs, n_unsigned, n_failed, n_timed;
static atomic_int wrote_sample;
static atomic_int stop_all;                       /* set when the milter cannot be reached */
static _Atomic uint64_t deadline_ns = UINT64_MAX; /* -T: no new message after */
static atomic_uint last_prot;
static pthread_barrier_t start_barrier;
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static int err_printed;

static void ml_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ml_warn(const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&err_lock);
    if (err_printed++ < 10) {
        va_start(ap, fmt);
        fputs("milter_load: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    pthread_mutex_unlock(&err_lock);
}

/* ---- socket I/O -------------------------------------------------------- */

static int ml_connect(const char *addr)
{
    int fd;

    if (strncmp(addr, "unix:", 5) == 0 || strncmp(addr, "local:", 6) == 0) {
        struct sockaddr_un sun;
        const char *path = strchr(addr, ':') + 1;

        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        if (strlen(path) >= sizeof(sun.sun_path))
            return -1;
        memcpy(sun.sun_path, path, strlen(path) + 1);
        if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
            close(fd);
            return -1;
        }
        return fd;
    }
    if (strncmp(addr, "inet:", 5) == 0) {
        struct sockaddr_in sin;
        char host[128] = "127.0.0.1";
        const char *spec = addr + 5, *at = strchr(spec, '@'), *colon;
        long port;

        memset(&sin, 0, sizeof(sin));
        if (at != NULL) { /* milter style PORT@HOST */
            port = strtol(spec, NULL, 10);
            snprintf(host, sizeof(host), "%s", at + 1);
        } else if ((colon = strrchr(spec, ':')) != NULL) { /* HOST:PORT */
            port = strtol(colon + 1, NULL, 10);
            snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
        } else {
            port = strtol(spec, NULL, 10);
        }
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)port);
        if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &sin.sin_addr) != 1)
            return -1;
        if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
            close(fd);
            return -1;
        }
        return fd;
    }
    return -1;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = write(fd, c, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n)
{
    char *c = p;

    while (n > 0) {
        ssize_t r = read(fd, c, n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Writes out whatever commands are buffered. */
static int ml_flush(struct ml_conn *c)
{
    int rc = c->wlen > 0 ? write_all(c->fd, c->wbuf, c->wlen) : 0;

    c->wlen = 0;
    return rc;
}

/*
 * Queues one command: 4-byte length (command byte + data), command, data.
 * Like Postfix's milter client (a VSTREAM), commands are buffered and the
 * buffer is written when a reply must be read or when it is full: macros
 * and their command, or headers that need no reply, leave in one write.
 */
static int ml_send(struct ml_conn *c, char cmd, const void *data, size_t len)
{
    uint32_t nlen = htonl((uint32_t)(len + 1));

    if (len > ML_CHUNK + 32)
        return -1;
    if (c->wlen + len + 5 > ML_WBUF && ml_flush(c) < 0)
        return -1;
    memcpy(c->wbuf + c->wlen, &nlen, 4);
    c->wbuf[c->wlen + 4] = (unsigned char)cmd;
    if (len > 0)
        memcpy(c->wbuf + c->wlen + 5, data, len);
    c->wlen += len + 5;
    return 0;
}

/* Reads one reply into c->rbuf (NUL-terminated); returns its length or -1. */
static long ml_recv(struct ml_conn *c, char *cmd)
{
    uint32_t nlen;
    size_t len;

    if (ml_flush(c) < 0 || read_all(c->fd, &nlen, 4) < 0)
        return -1;
    len = ntohl(nlen);
    if (len < 1 || len > ML_MAX_REPLY)
        return -1;
    if (read_all(c->fd, c->rbuf, len) < 0)
        return -1;
    *cmd = (char)c->rbuf[0];
    c->rbuf[len] = '\0';
    return (long)len - 1; /* data starts at rbuf + 1 */
}

/* Appends a NUL-terminated string (with its NUL) to a packet being built. */
static size_t put_str(char *dst, size_t off, size_t cap, const char *s)
{
    size_t n = strlen(s) + 1;

    if (off + n > cap)
        return cap + 1; /* caller checks for overflow */
    memcpy(dst + off, s, n);
    return off + n;
}

/* Sends a macro definition packet for stage `stage`: name/value pairs. */
static int ml_macros(struct ml_conn *c, char stage, const char *const *kv)
{
    char pkt[1024];
    size_t off = 0;

    pkt[off++] = stage;
    for (; kv[0] != NULL; kv += 2) {
        off = put_str(pkt, off, sizeof(pkt), kv[0]);
        off = put_str(pkt, off, sizeof(pkt), kv[1]);
        if (off > sizeof(pkt))
            return -1;
    }
    return ml_send(c, SMFIC_MACRO, pkt, off);
}

/*
 * Waits for the reply to a non-final command.  Returns 0 to go on, 1 when
 * the milter ended the message early (accept/reject/...: `why` says which),
 * 2 when it asked to skip the rest of this stage, -1 on protocol error.
 */
static int ml_step_reply(struct ml_conn *c, const char *stage, char *why, size_t whylen)
{
    char cmd;

    for (;;) {
        if (ml_recv(c, &cmd) < 0) {
            snprintf(why, whylen, "read error after %s", stage);
            return -1;
        }
        switch (cmd) {
        case SMFIR_PROGRESS: continue;
        case SMFIR_CONTINUE: return 0;
        case SMFIR_SKIP: return 2;
        case SMFIR_ACCEPT: snprintf(why, whylen, "accepted at %s (unsigned)", stage); return 1;
        default: snprintf(why, whylen, "reply '%c' at %s", cmd, stage); return 1;
        }
    }
}

/* Sends a step and, unless the milter waived it, reads its reply. */
static int ml_step(struct ml_conn *c, char cmd, const void *data, size_t len, uint32_t no_mask, uint32_t nr_mask,
                   const char *stage, char *why, size_t whylen)
{
    if (c->prot & no_mask)
        return 0;
    if (ml_send(c, cmd, data, len) < 0) {
        snprintf(why, whylen, "write error at %s", stage);
        return -1;
    }
    if (c->prot & nr_mask)
        return 0;
    return ml_step_reply(c, stage, why, whylen);
}

/* Option negotiation, connect and HELO: the per-connection part. */
static int ml_open(struct ml_conn *c, char *why, size_t whylen)
{
    uint32_t neg[3] = { htonl(ML_VERSION), htonl(ML_ACTIONS), htonl(ML_PROTO) };
    char pkt[256], cmd;
    size_t off;
    long len;
    uint16_t port = htons(40000 + (uint16_t)(c->tid % 20000));
    static const char *const conn_macros[] = { "j",
                                               "mta.bench.example",
                                               "{daemon_name}",
                                               "mta.bench.example",
                                               "{daemon_addr}",
                                               "127.0.0.1",
                                               "v",
                                               "Postfix 3.7.11",
                                               "_",
                                               "localhost [127.0.0.1]",
                                               NULL,
                                               NULL };

    if ((c->fd = ml_connect(opt.addr)) < 0) {
        snprintf(why, whylen, "connect %s: %s", opt.addr, strerror(errno));
        return -1;
    }
    if (ml_send(c, SMFIC_OPTNEG, neg, sizeof(neg)) < 0 || (len = ml_recv(c, &cmd)) < 12 || cmd != SMFIC_OPTNEG) {
        snprintf(why, whylen, "option negotiation failed");
        return -1;
    }
    memcpy(neg, c->rbuf + 1, 12);
    c->prot = ntohl(neg[2]);
    if (ntohl(neg[0]) > ML_VERSION || (ntohl(neg[1]) & ~ML_ACTIONS) != 0) {
        snprintf(why, whylen, "milter wants version %u actions 0x%x", ntohl(neg[0]), ntohl(neg[1]));
        return -1;
    }
    atomic_store(&last_prot, c->prot);

    if (ml_macros(c, SMFIC_CONNECT, conn_macros) < 0)
        return -1;
    off = 0;
    off = put_str(pkt, off, sizeof(pkt), "localhost");
    pkt[off++] = '4';
    memcpy(pkt + off, &port, 2);
    off += 2;
    off = put_str(pkt, off, sizeof(pkt), "127.0.0.1");
    if (ml_step(c, SMFIC_CONNECT, pkt, off, SMFIP_NOCONNECT, SMFIP_NR_CONN, "CONNECT", why, whylen) != 0)
        return -1;
    off = put_str(pkt, 0, sizeof(pkt), "client.bench.example");
    if (ml_step(c, SMFIC_HELO, pkt, off, SMFIP_NOHELO, SMFIP_NR_HELO, "HELO", why, whylen) != 0)
        return -1;
    return 0;
}

static void ml_close(struct ml_conn *c)
{
    if (c->fd >= 0) {
        if (ml_send(c, SMFIC_QUIT, NULL, 0) == 0)
            (void)ml_flush(c);
        close(c->fd);
        c->fd = -1;
    }
}

/* ---- messages ---------------------------------------------------------- */

static const char *const rcpt_domains[] = {
    "gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "gmx.de", "orange.fr", "example.org",
};

/* Fills the header list of message number seq; returns the header count. */
static int ml_headers(struct ml_header *h, long seq, const char *rcpt, const char *qid)
{
    int n = 0;

#define HDR(nm, ...) \
    do { \
        snprintf(h[n].name, sizeof(h[n].name), "%s", nm); \
        snprintf(h[n].value, sizeof(h[n].value), __VA_ARGS__); \
        n++; \
    } while (0)
    HDR("Received",
        "from client.bench.example (localhost [127.0.0.1]) by "
        "mta.bench.example (Postfix) with ESMTP id %s for <%s>; "
        "Sat, 28 Nov 2026 11:40:00 +0000 (UTC)",
        qid, rcpt);
    HDR("From", "\"Example News\" <news@%s>", opt.domain);
    HDR("To", "<%s>", rcpt);
    HDR("Subject", "Your weekly digest #%ld: five stories picked for you", seq);
    HDR("Date", "Sat, 28 Nov 2026 11:40:%02ld +0000", seq % 60);
    HDR("Message-ID", "<%ld.%s.bench@%s>", seq, qid, opt.domain);
    HDR("Reply-To", "<support@%s>", opt.domain);
    HDR("MIME-Version", "1.0");
    HDR("Content-Type", "text/plain; charset=utf-8");
    HDR("Content-Transfer-Encoding", "7bit");
    HDR("List-Id", "Weekly digest <digest.%s>", opt.domain);
    HDR("List-Unsubscribe", "<https://%s/u/%ld-%s>, <mailto:unsub-%ld@%s>", opt.domain, seq, qid, seq, opt.domain);
    HDR("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
    HDR("Feedback-ID", "digest:%ld:weekly:bench", seq % 97);
#undef HDR
    return n;
}

/* Deterministic text body of about n bytes: 72-column lines, CRLF ends. */
static void ml_make_body(size_t n)
{
    static const char *const words[] = {
        "the",       "digest", "delivery", "weekly",  "reader", "story", "update",  "policy", "mail",    "server",
        "signature", "domain", "warm",     "message", "news",   "offer", "account", "report", "friends", "details",
    };
    size_t cap = n + 128, len = 0, col = 0;
    unsigned x = 12345;

    body_text = malloc(cap);
    if (body_text == NULL) {
        perror("malloc");
        exit(2);
    }
    while (len + 2 < n) {
        const char *w;
        size_t wl;

        x = x * 1103515245u + 12345u;
        w = words[(x >> 16) % (sizeof(words) / sizeof(words[0]))];
        wl = strlen(w);
        if (col + wl + 1 > 72 || len + wl + 4 > n) {
            memcpy(body_text + len, "\r\n", 2);
            len += 2;
            col = 0;
            if (len + 4 > n)
                break;
            continue;
        }
        if (col > 0)
            body_text[len++] = ' ', col++;
        memcpy(body_text + len, w, wl);
        len += wl;
        col += wl;
    }
    if (col > 0) {
        memcpy(body_text + len, "\r\n", 2);
        len += 2;
    }
    body_len = len;
}

static int is_dkim_sig(const char *name)
{
    return strcasecmp(name, "DKIM-Signature") == 0;
}

/*
 * Adds "Name: value\r\n" (value's bare LFs made CRLF) to the malloc'd
 * string *acc (NULL at first; the caller frees it): at the end, or at the
 * start when `front` is set.
 */
static void ml_keep_header(char **acc, const char *name, const char *value, int leadspc, int front)
{
    size_t old = *acc ? strlen(*acc) : 0, vl = strlen(value), i, o;
    char *p = realloc(*acc, old + strlen(name) + 2 * vl + 8), *save = NULL;

    if (p == NULL)
        return;
    if (front && old > 0) { /* build the new line at the end, then rotate */
        if ((save = malloc(old + 1)) == NULL) {
            *acc = p;
            return;
        }
        memcpy(save, p, old + 1);
        old = 0;
    }
    o = old;
    memcpy(p + o, name, strlen(name));
    o += strlen(name);
    p[o++] = ':';
    if (!leadspc)
        p[o++] = ' ';
    for (i = 0; i < vl; i++) {
        if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
            p[o++] = '\r';
        p[o++] = value[i];
    }
    p[o++] = '\r';
    p[o++] = '\n';
    p[o] = '\0';
    if (save != NULL) {
        memcpy(p + o, save, strlen(save) + 1);
        free(save);
    }
    *acc = p;
}

/* Reads EOM replies until the final verdict; fills r. 0 or -1 (broken). */
static int ml_eom_replies(struct ml_conn *c, struct ml_msg_result *r)
{
    char cmd;
    long len;
    int top = 0;

    for (;;) {
        if ((len = ml_recv(c, &cmd)) < 0) {
            snprintf(r->why, sizeof(r->why), "read error waiting for the EOM verdict");
            return -1;
        }
        const char *d = (const char *)c->rbuf + 1, *name, *value;

        switch (cmd) {
        case SMFIR_INSHEADER: /* index, name, value */
        case SMFIR_ADDHEADER: /* name, value */
            if (cmd == SMFIR_INSHEADER) {
                uint32_t idx;

                if (len < 6)
                    goto bad;
                memcpy(&idx, d, 4);
                d += 4;
                len -= 4;
                top = ntohl(idx) == 0;
            }
            name = d;
            if (strnlen(name, (size_t)len) >= (size_t)len)
                goto bad;
            value = name + strlen(name) + 1;
            if (is_dkim_sig(name))
                r->sigs++;
            /*
             * Keep every added header for the sample (a signature may cover
             * a header the milter added, e.g. a trace header).  An insert
             * at index 0 lands above the previous ones.
             */
            if (opt.out_file != NULL)
                ml_keep_header(cmd == SMFIR_INSHEADER ? &r->ins_text : &r->add_text, name, value,
                               (c->prot & SMFIP_HDR_LEADSPC) != 0, cmd == SMFIR_INSHEADER && top);
            continue;
        case SMFIR_CHGHEADER:
        case SMFIR_CHGFROM:
        case SMFIR_ADDRCPT:
        case SMFIR_DELRCPT:
        case SMFIR_ADDRCPT_PAR:
        case SMFIR_REPLBODY:
        case SMFIR_QUARANTINE:
        case SMFIR_PROGRESS: continue;
        case SMFIR_ACCEPT:
        case SMFIR_CONTINUE:
            r->outcome = r->sigs > 0 ? ML_SIGNED : ML_UNSIGNED;
            if (r->sigs == 0)
                snprintf(r->why, sizeof(r->why), "accepted without a DKIM-Signature");
            return 0;
        default:
            r->outcome = ML_FAILED;
            snprintf(r->why, sizeof(r->why), "EOM verdict '%c' (%.80s)", cmd, len > 0 ? (const char *)c->rbuf + 1 : "");
            return 0;
        }
    bad:
        snprintf(r->why, sizeof(r->why), "malformed '%c' reply", cmd);
        return -1;
    }
}

/*
 * Sends message number seq over an open connection and reads the verdict.
 * Returns 0 when the connection can carry the next message, 1 when the
 * milter ended the message early (an ABORT must precede the next MAIL), -1
 * when the connection is unusable.
 */
static int ml_message(struct ml_conn *c, long seq, struct ml_msg_result *r)
{
    struct ml_header h[ML_MAX_HEADERS];
    char qid[24], rcpt[96], from[96], pkt[1200];
    const char *mail_macros[7], *rcpt_macros[7], *qid_macros[3];
    int nh, i, rc, leadspc = (c->prot & SMFIP_HDR_LEADSPC) != 0;
    size_t off, sent;

    memset(r, 0, sizeof(*r));
    r->outcome = ML_FAILED;
    snprintf(qid, sizeof(qid), "%02X%09lX", (unsigned)(c->tid & 0xff), (unsigned long)seq);
    snprintf(rcpt, sizeof(rcpt), "user%ld@%s", seq,
             rcpt_domains[seq % (long)(sizeof(rcpt_domains) / sizeof(rcpt_domains[0]))]);
    snprintf(from, sizeof(from), "<bounce-%ld@%s>", seq, opt.domain);
    mail_macros[0] = "i";
    mail_macros[1] = qid;
    mail_macros[2] = "{mail_addr}";
    mail_macros[3] = from;
    mail_macros[4] = NULL;
    mail_macros[5] = NULL;
    rcpt_macros[0] = "i";
    rcpt_macros[1] = qid;
    rcpt_macros[2] = "{rcpt_addr}";
    rcpt_macros[3] = rcpt;
    rcpt_macros[4] = NULL;
    rcpt_macros[5] = NULL;
    qid_macros[0] = "i";
    qid_macros[1] = qid;
    qid_macros[2] = NULL;

#define STEP(cmd, data, len, no, nr, name) \
    do { \
        rc = ml_step(c, cmd, data, len, no, nr, name, r->why, sizeof(r->why)); \
        if (rc < 0) \
            return -1; \
        if (rc == 1) \
            goto early; \
    } while (0)

    if (ml_macros(c, SMFIC_MAIL, mail_macros) < 0)
        return -1;
    off = put_str(pkt, 0, sizeof(pkt), from);
    STEP(SMFIC_MAIL, pkt, off, SMFIP_NOMAIL, SMFIP_NR_MAIL, "MAIL");
    snprintf(pkt, sizeof(pkt), "<%s>", rcpt);
    if (ml_macros(c, SMFIC_RCPT, rcpt_macros) < 0)
        return -1;
    off = strlen(pkt) + 1;
    STEP(SMFIC_RCPT, pkt, off, SMFIP_NORCPT, SMFIP_NR_RCPT, "RCPT");
    if (ml_macros(c, SMFIC_DATA, qid_macros) < 0)
        return -1;
    STEP(SMFIC_DATA, NULL, 0, SMFIP_NODATA, SMFIP_NR_DATA, "DATA");
    /*
     * Postfix's smtpd sends the envelope events, then hands the milter
     * connection to the cleanup server, which sends the content.  smtpd
     * flushes its buffer at the hand-over (milter8_send), so whatever the
     * envelope stage left unsent leaves here, in its own write.
     */
    if (ml_flush(c) < 0) {
        snprintf(r->why, sizeof(r->why), "write error after DATA");
        return -1;
    }

    nh = ml_headers(h, seq, rcpt, qid);
    for (i = 0; i < nh; i++) {
        off = put_str(pkt, 0, sizeof(pkt), h[i].name);
        if (leadspc)
            pkt[off++] = ' ';
        off = put_str(pkt, off, sizeof(pkt), h[i].value);
        rc = ml_step(c, SMFIC_HEADER, pkt, off, SMFIP_NOHDRS, SMFIP_NR_HDR, "header", r->why, sizeof(r->why));
        if (rc < 0)
            return -1;
        if (rc == 1)
            goto early;
        if (rc == 2) /* skip the remaining headers */
            break;
    }
    if (ml_macros(c, SMFIC_EOH, qid_macros) < 0)
        return -1;
    STEP(SMFIC_EOH, NULL, 0, SMFIP_NOEOH, SMFIP_NR_EOH, "EOH");
    for (sent = 0; sent < body_len && !(c->prot & SMFIP_NOBODY); sent += off) {
        off = body_len - sent < ML_CHUNK ? body_len - sent : ML_CHUNK;
        rc = ml_step(c, SMFIC_BODY, body_text + sent, off, 0, SMFIP_NR_BODY, "BODY", r->why, sizeof(r->why));
        if (rc < 0)
            return -1;
        if (rc == 1)
            goto early;
        if (rc == 2)
            break;
    }
#undef STEP
    if (ml_macros(c, SMFIC_BODYEOB, qid_macros) < 0 || ml_send(c, SMFIC_BODYEOB, NULL, 0) < 0) {
        snprintf(r->why, sizeof(r->why), "write error at EOM");
        return -1;
    }
    return ml_eom_replies(c, r);

early:
    r->outcome = strncmp(r->why, "accepted", 8) == 0 ? ML_UNSIGNED : ML_FAILED;
    return 1;
}

/* ---- threads ----------------------------------------------------------- */

static void ml_record(const struct ml_msg_result *r, long seq, uint64_t ns, int timed)
{
    switch (r->outcome) {
    case ML_SIGNED: /* warm-up messages are not counted as signed */
        if (timed) {
            atomic_fetch_add(&n_signed, 1);
            atomic_fetch_add(&n_sigs, r->sigs);
        }
        break;
    case ML_UNSIGNED:
        atomic_fetch_add(&n_unsigned, 1);
        ml_warn("message %ld unsigned: %s", seq, r->why);
        break;
    case ML_FAILED:
        atomic_fetch_add(&n_failed, 1);
        ml_warn("message %ld failed: %s", seq, r->why);
        break;
    }
    if (timed) {
        long k = atomic_fetch_add(&n_timed, 1);

        if (k < opt.msgs)
            lat_ns[k] = ns;
    }
}

/* Writes the first signed message: signature headers, headers, body. */
static void ml_write_sample(const struct ml_msg_result *r, long seq, int tid)
{
    struct ml_header h[ML_MAX_HEADERS];
    char qid[24], rcpt[96];
    FILE *f;
    int nh, i;

    if (opt.out_file == NULL || atomic_exchange(&wrote_sample, 1))
        return;
    snprintf(qid, sizeof(qid), "%02X%09lX", (unsigned)(tid & 0xff), (unsigned long)seq);
    snprintf(rcpt, sizeof(rcpt), "user%ld@%s", seq,
             rcpt_domains[seq % (long)(sizeof(rcpt_domains) / sizeof(rcpt_domains[0]))]);
    nh = ml_headers(h, seq, rcpt, qid);
    if ((f = fopen(opt.out_file, "wb")) == NULL) {
        ml_warn("%s: %s", opt.out_file, strerror(errno));
        return;
    }
    if (r->ins_text != NULL)
        fputs(r->ins_text, f);
    for (i = 0; i < nh; i++)
        fprintf(f, "%s: %s\r\n", h[i].name, h[i].value);
    if (r->add_text != NULL)
        fputs(r->add_text, f);
    fputs("\r\n", f);
    fwrite(body_text, 1, body_len, f);
    fclose(f);
}

/* One message over the thread's connection, reopening it when needed. */
static int ml_run_one(struct ml_conn *c, long seq, int timed)
{
    struct ml_msg_result r;
    uint64_t t0 = lat_now_ns();
    int rc;

    if (c->fd < 0 && ml_open(c, r.why, sizeof(r.why)) < 0) {
        ml_warn("connection %d: %s", c->tid, r.why);
        atomic_fetch_add(&n_failed, 1);
        atomic_store(&stop_all, 1);
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        c->wlen = 0;
        return -1;
    }
    rc = ml_message(c, seq, &r);
    ml_record(&r, seq, lat_now_ns() - t0, timed);
    if (r.outcome == ML_SIGNED)
        ml_write_sample(&r, seq, c->tid);
    free(r.ins_text);
    free(r.add_text);
    if (rc < 0) {
        close(c->fd);
        c->fd = -1;
        c->wlen = 0;
    } else if (opt.per_msg_conn) {
        ml_close(c);
    } else if (rc == 1) {
        /* Ended early: ABORT (sent with the next message's first write). */
        if (ml_send(c, SMFIC_ABORT, NULL, 0) < 0) {
            close(c->fd);
            c->fd = -1;
            c->wlen = 0;
        }
    }
    return 0;
}

static void *ml_thread(void *arg)
{
    struct ml_conn c;
    long seq;

    memset(&c, 0, sizeof(c));
    c.tid = (int)(intptr_t)arg;
    c.fd = -1;
    c.rbuf = malloc(ML_MAX_REPLY + 1);
    c.wbuf = malloc(ML_WBUF);
    if (c.rbuf == NULL || c.wbuf == NULL) {
        perror("malloc");
        exit(2);
    }
    /* Warm-up message (untimed), then wait for every thread. */
    (void)ml_run_one(&c, 1000000000L + c.tid, 0);
    pthread_barrier_wait(&start_barrier);
    while (!atomic_load(&stop_all) && lat_now_ns() < atomic_load(&deadline_ns) &&
           (seq = atomic_fetch_add(&next_msg, 1)) < opt.msgs)
        (void)ml_run_one(&c, seq, 1);
    ml_close(&c);
    free(c.rbuf);
    free(c.wbuf);
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: milter_load -a inet:PORT@HOST|unix:PATH [-c CONC] [-n MSGS] "
                    "[-T SECS] [-s SIZE] [-d DOMAIN] [-1] [-P PID] [-o FILE] [-q]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    pthread_t *th;
    uint64_t t0, t1;
    long long cpu0 = -1, cpu1 = -1;
    double secs, cpu_ms = -1.0;
    long timed;
    size_t hdr_len = 0;
    int ch, i;

    while ((ch = getopt(argc, argv, "a:c:n:s:d:1T:P:o:q")) != -1) {
        switch (ch) {
        case 'a': opt.addr = optarg; break;
        case 'c': opt.conc = atoi(optarg); break;
        case 'n': opt.msgs = atol(optarg); break;
        case 's': opt.size = (size_t)atol(optarg); break;
        case 'd': opt.domain = optarg; break;
        case '1': opt.per_msg_conn = 1; break;
        case 'T': opt.max_secs = atof(optarg); break;
        case 'P': opt.pid = atol(optarg); break;
        case 'o': opt.out_file = optarg; break;
        case 'q': opt.quiet = 1; break;
        default: usage();
        }
    }
    if (opt.addr == NULL || opt.conc < 1 || opt.conc > 1024 || opt.msgs < 1 || opt.size < 512 ||
        opt.size > 64 * 1024 * 1024)
        usage();
    /* Headers are about 900 bytes; the body makes up the rest of SIZE. */
    {
        struct ml_header h[ML_MAX_HEADERS];
        int nh = ml_headers(h, 0, "user0@gmail.com", "00000000000");

        for (i = 0; i < nh; i++)
            hdr_len += strlen(h[i].name) + strlen(h[i].value) + 4;
        hdr_len += 2;
    }
    ml_make_body(opt.size > hdr_len + 200 ? opt.size - hdr_len : 200);
    if ((lat_ns = calloc((size_t)opt.msgs, sizeof(*lat_ns))) == NULL ||
        (th = calloc((size_t)opt.conc, sizeof(*th))) == NULL) {
        perror("calloc");
        return 2;
    }
    pthread_barrier_init(&start_barrier, NULL, (unsigned)opt.conc + 1);
    for (i = 0; i < opt.conc; i++) {
        if (pthread_create(&th[i], NULL, ml_thread, (void *)(intptr_t)i) != 0) {
            perror("pthread_create");
            return 2;
        }
    }
    pthread_barrier_wait(&start_barrier);
    /* Warm-up results are not part of the figures, but failures are. */
    if (atomic_load(&n_failed) > 0 || atomic_load(&n_unsigned) > 0) {
        if (!opt.quiet)
            fprintf(stderr, "milter_load: warm-up messages failed or were unsigned\n");
    }
    if (opt.pid > 0)
        cpu0 = proc_cpu_ticks(opt.pid);
    t0 = lat_now_ns();
    if (opt.max_secs > 0)
        atomic_store(&deadline_ns, t0 + (uint64_t)(opt.max_secs * 1e9));
    for (i = 0; i < opt.conc; i++)
        pthread_join(th[i], NULL);
    t1 = lat_now_ns();
    if (opt.pid > 0)
        cpu1 = proc_cpu_ticks(opt.pid);
    secs = (double)(t1 - t0) / 1e9;
    timed = atomic_load(&n_timed);
    if (timed > opt.msgs)
        timed = opt.msgs;
    if (cpu0 >= 0 && cpu1 >= 0 && timed > 0)
        cpu_ms = (double)(cpu1 - cpu0) * 1000.0 / (double)sysconf(_SC_CLK_TCK) / (double)timed;
    lat_sort(lat_ns, (size_t)timed);
    printf("RESULT msgs=%ld signed=%ld sigs=%ld unsigned=%ld errors=%ld secs=%.3f "
           "msg_per_s=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f cpu_ms_per_msg=%.3f "
           "size=%zu conc=%d prot=0x%x\n",
           timed, atomic_load(&n_signed), atomic_load(&n_sigs), atomic_load(&n_unsigned), atomic_load(&n_failed), secs,
           secs > 0 ? (double)timed / secs : 0.0, lat_pct_ms(lat_ns, (size_t)timed, 50),
           lat_pct_ms(lat_ns, (size_t)timed, 99), lat_pct_ms(lat_ns, (size_t)timed, 100), cpu_ms, body_len + hdr_len,
           opt.conc, atomic_load(&last_prot));
    free(lat_ns);
    free(th);
    if (atomic_load(&n_failed) > 0 || atomic_load(&n_unsigned) > 0 || atomic_load(&n_signed) == 0)
        return 1;
    return 0;
}
