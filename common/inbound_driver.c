/*
 * inbound_driver.c - the driver of bounce-proc and fbl-proc (see inbound_driver.h).
 *
 * DESCRIPTION
 *	First cut: --dry-run --json on one message from stdin.
 */
#include "inbound_driver.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "exitcodes.h"

#define INBOUND_MESSAGE_MAX (64u * 1024 * 1024)

static int read_all(int fd, struct buf *b)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n == 0)
            return 0;
        if (n < 0)
            return -1;
        if (buf_append(b, chunk, (size_t)n) != BUF_OK)
            return 0;   /* over the limit: parse what fits */
    }
}

/* Old Mac archives end lines in a bare CR; the MIME reader knows LF and
 * CRLF.  A message with CRs and no LF at all gets its CRs turned into LFs
 * (same length, in place); any other message is left as it is. */
static void bare_cr_to_lf(char *msg, size_t len)
{
    if (len == 0 || memchr(msg, '\n', len) != NULL)
        return;
    for (char *p = msg; (p = memchr(p, '\r', len - (size_t)(p - msg))) != NULL; p++)
        *p = '\n';
}

int inbound_main(int argc, char **argv, const struct inbound_program *prog)
{
    (void)argc;
    (void)argv;
    char err[256] = "";
    struct reply_rules *rules = reply_rules_default(err, sizeof(err));
    if (rules == NULL) {
        fprintf(stderr, "%s: default rules: %s\n", prog->name, err);
        return PF_EXIT_CONFIG;
    }
    struct mail_limits limits = MAIL_LIMITS_INIT;
    struct inbound_parse_ctx ctx = { .rules = rules, .limits = &limits };
    struct buf msg;
    buf_init(&msg, INBOUND_MESSAGE_MAX);
    int rc = PF_EXIT_OK;
    if (read_all(0, &msg) != 0) {
        rc = PF_EXIT_TEMPFAIL;
    } else {
        struct inbound_report report;
        inbound_report_init(&report);
        if (msg.data != NULL)
            bare_cr_to_lf(msg.data, msg.len);
        if (prog->parse(msg.data ? msg.data : "", msg.len, &ctx, &report) != 0) {
            rc = PF_EXIT_TEMPFAIL;
        } else {
            struct buf out;
            buf_init(&out, 0);
            inbound_report_json(&report, NULL, &out);
            fwrite(out.data, 1, out.len, stdout);
            buf_free(&out);
        }
        inbound_report_free(&report);
    }
    buf_free(&msg);
    reply_rules_free(rules);
    return rc;
}
