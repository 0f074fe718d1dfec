/*
 * NAME
 *	policy_load - Postfix SMTPD access policy protocol load generator
 *
 * SYNOPSIS
 *	policy_load -a inet:HOST:PORT|unix:PATH [-c CONC] [-n REQS] [-T SECS]
 *	            [-P PID] [-S SEED] [-q]
 *
 * DESCRIPTION
 *	Opens CONC persistent connections to a policy server, as CONC Postfix
 *	smtpd processes would, and keeps one request in flight on each until
 *	REQS requests have been answered (or SECS seconds have passed).  One
 *	thread drives every connection with epoll; requests are written whole
 *	and replies are read until the empty line that ends them.
 *
 *	The requests follow what Postfix 3.7 sends (all attributes, empty ones
 *	included) and model mail flow: each connection sends messages of one
 *	to four recipients, an RCPT request per recipient and then an
 *	END-OF-MESSAGE request with recipient_count and size, all sharing one
 *	instance value.  Senders come from 400 addresses in 25 domains, clients
 *	from 64 addresses, a third of the messages are SASL-authenticated, and
 *	recipients are spread over mailbox providers (gmail.com 35%, outlook.com
 *	/ hotmail.com / live.com 20%, yahoo.com / aol.com 12%, others 33%).
 *	The mix is a fixed pseudo-random sequence (-S SEED) so runs compare.
 *
 *	Every reply must be "action=..." followed by an empty line; anything
 *	else, a closed connection or a 10 s stall counts as an error.  The
 *	first word of each action is counted (DUNNO, DEFER_IF_PERMIT, ...).
 *	With -P the resident set size of process PID is sampled every second.
 *
 * OUTPUT
 *	One line on stdout:
 *	RESULT reqs= errors= secs= req_per_s= p50_ms= p99_ms= p999_ms= max_ms=
 *	conc= rss_start_kib= rss_max_kib= rss_end_kib= actions=WORD:N,...
 *
 * EXIT STATUS
 *	0 when every request got a well-formed reply, 1 otherwise, 2 on usage
 *	or connection errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "latency.h"

#define PL_REQ_MAX   2048 /* one request */
#define PL_REPLY_MAX 4096 /* one reply, larger is an error */
#define PL_STALL_NS  (10ull * 1000000000ull)
#define PL_ACTIONS   16

struct pl_msg {           /* the message a connection is sending */
    unsigned rcpts, sent; /* recipients in total, requests sent */
    unsigned sender, client, sasl, size;
    char instance[40];
};

struct pl_conn {
    int fd;
    int busy; /* a request is in flight */
    uint64_t t_sent;
    struct pl_msg msg;
    char req[PL_REQ_MAX];
    size_t req_len, req_off;
    char reply[PL_REPLY_MAX + 1];
    size_t reply_len;
};

static const char *addr;
static long conc = 1, max_reqs = 10000, pid;
static double max_secs = 0;
static unsigned seed = 1;
static int quiet;

static int ep = -1; /* the epoll instance */
static uint64_t *lat_ns;
static long n_done, n_sent, n_errors;
static char action_name[PL_ACTIONS][24];
static long action_count[PL_ACTIONS];
static unsigned long long msg_serial;

/* ---- the request mix --------------------------------------------------- */

static unsigned pl_rand(void)
{
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) & 0xffffff;
}

static const char *const sender_domains[] = {
    "news.example.com",      "shop.example.net",    "mail.example.org",     "example.com",
    "billing.example.io",    "alerts.example.dev",  "club.example.fr",      "info.example.de",
    "letters.example.co.uk", "app.example.app",     "notify.example.cloud", "store.example.shop",
    "team.example.biz",      "hello.example.ai",    "promo.example.store",  "events.example.events",
    "travel.example.travel", "bank.example.bank",   "school.example.edu",   "city.example.gov",
    "jobs.example.jobs",     "media.example.media", "games.example.games",  "health.example.health",
    "green.example.eco",
};
#define N_SENDER_DOMAINS (sizeof(sender_domains) / sizeof(sender_domains[0]))

/* Recipient domain by weight (percent): providers first. */
static const char *pl_rcpt_domain(unsigned r)
{
    static const char *const others[] = {
        "gmx.de",           "web.de",      "orange.fr",  "free.fr",        "libero.it",   "mail.ru",
        "yandex.ru",        "comcast.net", "icloud.com", "protonmail.com", "example.org", "university.example.edu",
        "corp.example.com",
    };
    unsigned p = r % 100, k = r / 100;

    if (p < 35)
        return "gmail.com";
    if (p < 55)
        return (const char *[]){ "outlook.com", "hotmail.com", "live.com" }[k % 3];
    if (p < 67)
        return (const char *[]){ "yahoo.com", "aol.com" }[k % 2];
    return others[k % (sizeof(others) / sizeof(others[0]))];
}

static void pl_new_message(struct pl_conn *c)
{
    struct pl_msg *m = &c->msg;

    m->rcpts = 1 + pl_rand() % 4;
    m->sent = 0;
    m->sender = pl_rand() % 400;
    m->client = pl_rand() % 64;
    m->sasl = pl_rand() % 3 == 0;
    m->size = 2000 + pl_rand() % 120000;
    snprintf(m->instance, sizeof(m->instance), "%x.%llx.%x.0", (unsigned)(1000 + c->fd), ++msg_serial, pl_rand());
}

/* Builds the next request of connection c into c->req. */
static void pl_build_request(struct pl_conn *c)
{
    struct pl_msg *m = &c->msg;
    int eom, n;
    char sender[96], sasl_user[96], rcpt[96];
    const char *dom;

    if (m->rcpts == 0 || m->sent > m->rcpts)
        pl_new_message(c);
    eom = m->sent == m->rcpts;
    dom = sender_domains[m->sender % N_SENDER_DOMAINS];
    snprintf(sender, sizeof(sender), "sender%u@%s", m->sender, dom);
    snprintf(sasl_user, sizeof(sasl_user), "%s", m->sasl ? sender : "");
    if (eom)
        rcpt[0] = '\0';
    else
        snprintf(rcpt, sizeof(rcpt), "user%u@%s", pl_rand() % 100000, pl_rcpt_domain(pl_rand()));
    n = snprintf(c->req, sizeof(c->req),
                 "request=smtpd_access_policy\n"
                 "protocol_state=%s\n"
                 "protocol_name=ESMTP\n"
                 "client_address=10.%u.%u.%u\n"
                 "client_name=app%u.clients.example\n"
                 "client_port=%u\n"
                 "reverse_client_name=app%u.clients.example\n"
                 "server_address=127.0.0.1\n"
                 "server_port=25\n"
                 "helo_name=app%u.clients.example\n"
                 "sender=%s\n"
                 "recipient=%s\n"
                 "recipient_count=%u\n"
                 "queue_id=\n"
                 "instance=%s\n"
                 "size=%u\n"
                 "etrn_domain=\n"
                 "stress=\n"
                 "sasl_method=%s\n"
                 "sasl_username=%s\n"
                 "sasl_sender=\n"
                 "ccert_subject=\n"
                 "ccert_issuer=\n"
                 "ccert_fingerprint=\n"
                 "ccert_pubkey_fingerprint=\n"
                 "encryption_protocol=TLSv1.3\n"
                 "encryption_cipher=TLS_AES_256_GCM_SHA384\n"
                 "encryption_keysize=256\n"
                 "policy_context=\n"
                 "compatibility_level=3.6\n"
                 "mail_version=3.7.11\n"
                 "\n",
                 eom ? "END-OF-MESSAGE" : "RCPT", m->client / 16, m->client % 16, 10 + m->client, m->client,
                 30000 + pl_rand() % 30000, m->client, m->client, sender, rcpt, eom ? m->rcpts : m->sent, m->instance,
                 eom ? m->size : 0, m->sasl ? "PLAIN" : "", sasl_user);
    c->req_len = n > 0 && (size_t)n < sizeof(c->req) ? (size_t)n : 0;
    c->req_off = 0;
    m->sent++;
}

/* ---- connections ------------------------------------------------------- */

static int pl_connect(void)
{
    int fd;

    if (strncmp(addr, "unix:", 5) == 0) {
        struct sockaddr_un sun;

        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        if (strlen(addr + 5) >= sizeof(sun.sun_path))
            return -1;
        memcpy(sun.sun_path, addr + 5, strlen(addr + 5) + 1);
        if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
            return fd;
        close(fd);
        return -1;
    } else {
        struct sockaddr_in sin;
        char host[64];
        const char *spec = strncmp(addr, "inet:", 5) == 0 ? addr + 5 : addr;
        const char *colon = strrchr(spec, ':');

        if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
            return -1;
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)atoi(colon + 1));
        if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
            return -1;
        if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
            return fd;
        close(fd);
        return -1;
    }
}

static void pl_count_action(const char *reply)
{
    char word[24];
    size_t n = strcspn(reply + 7, " \n");
    int i;

    if (n >= sizeof(word))
        n = sizeof(word) - 1;
    memcpy(word, reply + 7, n);
    word[n] = '\0';
    for (i = 0; i < PL_ACTIONS && action_name[i][0] != '\0'; i++) {
        if (strcmp(action_name[i], word) == 0) {
            action_count[i]++;
            return;
        }
    }
    if (i < PL_ACTIONS) {
        memcpy(action_name[i], word, n + 1);
        action_count[i] = 1;
    }
}

static void pl_error(struct pl_conn *c, const char *what)
{
    if (n_errors++ < 10 && !quiet)
        fprintf(stderr, "policy_load: connection fd %d: %s\n", c->fd, what);
}

/* Starts the next request on c; returns 0, or -1 after a write error. */
static int pl_send(struct pl_conn *c)
{
    pl_build_request(c);
    c->reply_len = 0;
    c->busy = 1;
    c->t_sent = lat_now_ns();
    n_sent++;
    while (c->req_off < c->req_len) {
        ssize_t w = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };

            /* The rest goes out when the socket is writable again. */
            return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        }
        if (w <= 0)
            return -1;
        c->req_off += (size_t)w;
    }
    return 0;
}

/*
 * Reads what is available on c.  Returns 1 when a whole reply arrived,
 * 0 when more is needed, -1 on error (closed, oversized, malformed).
 */
static int pl_read(struct pl_conn *c)
{
    for (;;) {
        ssize_t r = read(c->fd, c->reply + c->reply_len, PL_REPLY_MAX - c->reply_len);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return 0;
        if (r == 0) {
            pl_error(c, "server closed the connection");
            return -1;
        }
        if (r < 0) {
            pl_error(c, strerror(errno));
            return -1;
        }
        c->reply_len += (size_t)r;
        c->reply[c->reply_len] = '\0';
        if (c->reply_len >= 2 && memcmp(c->reply + c->reply_len - 2, "\n\n", 2) == 0) {
            if (strncmp(c->reply, "action=", 7) != 0 || strstr(c->reply, "\n\n") != c->reply + c->reply_len - 2) {
                pl_error(c, "malformed reply");
                return -1;
            }
            return 1;
        }
        if (c->reply_len >= PL_REPLY_MAX) {
            pl_error(c, "reply too long");
            return -1;
        }
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: policy_load -a inet:HOST:PORT|unix:PATH [-c CONC] [-n REQS] "
                    "[-T SECS] [-P PID] [-S SEED] [-q]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct pl_conn *conns;
    struct epoll_event ev, *evs;
    struct rlimit rl;
    uint64_t t0, t1, next_sample, deadline;
    long rss_start = -1, rss_max = -1, rss_end = -1, i, open_conns;
    int ch, k, n;
    double secs;

    while ((ch = getopt(argc, argv, "a:c:n:T:P:S:q")) != -1) {
        switch (ch) {
        case 'a': addr = optarg; break;
        case 'c': conc = atol(optarg); break;
        case 'n': max_reqs = atol(optarg); break;
        case 'T': max_secs = atof(optarg); break;
        case 'P': pid = atol(optarg); break;
        case 'S': seed = (unsigned)atol(optarg); break;
        case 'q': quiet = 1; break;
        default: usage();
        }
    }
    if (addr == NULL || conc < 1 || conc > 10000 || max_reqs < 1)
        usage();
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)conc + 16) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    conns = calloc((size_t)conc, sizeof(*conns));
    evs = calloc((size_t)conc, sizeof(*evs));
    lat_ns = calloc((size_t)max_reqs, sizeof(*lat_ns));
    if (conns == NULL || evs == NULL || lat_ns == NULL || (ep = epoll_create1(0)) < 0) {
        perror("policy_load: setup");
        return 2;
    }
    for (i = 0; i < conc; i++) {
        if ((conns[i].fd = pl_connect()) < 0) {
            fprintf(stderr, "policy_load: connect %s (connection %ld): %s\n", addr, i + 1, strerror(errno));
            return 2;
        }
        (void)fcntl(conns[i].fd, F_SETFL, fcntl(conns[i].fd, F_GETFL) | O_NONBLOCK);
        ev.events = EPOLLIN;
        ev.data.ptr = &conns[i];
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
    if (pid > 0)
        rss_start = rss_max = proc_rss_kib(pid);
    t0 = lat_now_ns();
    next_sample = t0 + 1000000000ull;
    deadline = max_secs > 0 ? t0 + (uint64_t)(max_secs * 1e9) : UINT64_MAX;
    open_conns = conc;
    for (i = 0; i < conc && n_sent < max_reqs; i++) {
        if (pl_send(&conns[i]) < 0) {
            pl_error(&conns[i], "write failed");
            close(conns[i].fd);
            conns[i].fd = -1;
            open_conns--;
        }
    }
    while (n_done + n_errors < n_sent && open_conns > 0) {
        uint64_t now;

        n = epoll_wait(ep, evs, (int)conc, 1000);
        now = lat_now_ns();
        for (k = 0; k < n; k++) {
            struct pl_conn *c = evs[k].data.ptr;
            int rc;

            if (c->fd < 0 || !c->busy)
                continue;
            if (c->req_off < c->req_len) { /* finish a partial write */
                ssize_t w = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);

                if (w > 0)
                    c->req_off += (size_t)w;
                if (c->req_off == c->req_len) {
                    struct epoll_event in = { .events = EPOLLIN, .data.ptr = c };

                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &in);
                }
            }
            rc = pl_read(c);
            if (rc == 0)
                continue;
            c->busy = 0;
            if (rc > 0) {
                lat_ns[n_done++] = lat_now_ns() - c->t_sent;
                pl_count_action(c->reply);
                if (n_sent < max_reqs && now < deadline && pl_send(c) == 0)
                    continue;
                if (n_sent < max_reqs && now < deadline)
                    pl_error(c, "write failed");
                else
                    continue;
            }
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->fd = -1;
            open_conns--;
        }
        if ((now = lat_now_ns()) < next_sample)
            continue;
        next_sample = now + 1000000000ull;
        if (pid > 0) {
            long rss = proc_rss_kib(pid);

            if (rss > rss_max)
                rss_max = rss;
        }
        for (i = 0; i < conc; i++) { /* stalled servers */
            if (conns[i].fd >= 0 && conns[i].busy && now > conns[i].t_sent + PL_STALL_NS) {
                pl_error(&conns[i], "no reply within 10 s");
                conns[i].busy = 0;
                close(conns[i].fd);
                conns[i].fd = -1;
                open_conns--;
            }
        }
    }
    t1 = lat_now_ns();
    if (pid > 0) {
        rss_end = proc_rss_kib(pid);
        if (rss_end > rss_max)
            rss_max = rss_end;
    }
    secs = (double)(t1 - t0) / 1e9;
    lat_sort(lat_ns, (size_t)n_done);
    printf("RESULT reqs=%ld errors=%ld secs=%.3f req_per_s=%.1f p50_ms=%.3f p99_ms=%.3f "
           "p999_ms=%.3f max_ms=%.3f conc=%ld rss_start_kib=%ld rss_max_kib=%ld "
           "rss_end_kib=%ld actions=",
           n_done, n_errors, secs, secs > 0 ? (double)n_done / secs : 0.0, lat_pct_ms(lat_ns, (size_t)n_done, 50),
           lat_pct_ms(lat_ns, (size_t)n_done, 99), lat_pct_ms(lat_ns, (size_t)n_done, 99.9),
           lat_pct_ms(lat_ns, (size_t)n_done, 100), conc, rss_start, rss_max, rss_end);
    for (k = 0; k < PL_ACTIONS && action_name[k][0] != '\0'; k++)
        printf("%s%s:%ld", k ? "," : "", action_name[k], action_count[k]);
    printf("\n");
    for (i = 0; i < conc; i++)
        if (conns[i].fd >= 0)
            close(conns[i].fd);
    free(conns);
    free(evs);
    free(lat_ns);
    return n_errors > 0 || n_done == 0 ? 1 : 0;
}
