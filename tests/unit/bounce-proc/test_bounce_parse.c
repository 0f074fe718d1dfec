/*
 * test_bounce_parse.c - unit tests of bounce-proc's parser: real bounces
 * (tests/corpus/bounces, every expected value read off the file itself),
 * hand-made messages for each structural path (RFC 3464 and RFC 6533
 * DSNs, vague Status refined from Diagnostic-Code, X-Failed-Recipients,
 * Exim's "after MAIL FROM:<sender>", quoted local parts, a report whose
 * boundary never appears, Sendmail's pipelined transcript, the returned
 * original's trace header, delay warnings, auto-replies), and hostile
 * input (truncated, no boundary, 10,000 nested parts, a 1 MB header line,
 * NUL bytes, binary): never a crash, always bounded.
 *
 * The sample files are read relative to the repository root, where
 * `make unit` runs the tests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "bounce_parse.h"
#include "buf.h"
#include "inbound_report.h"
#include "reply_class.h"
#include "reply_rules.h"

#define CORPUS "tests/corpus/bounces/"

static struct reply_rules *rules;
static struct mail_limits limits = MAIL_LIMITS_INIT;

static int setup(void **state)
{
    char err[256];
    rules = reply_rules_default(err, sizeof(err));
    if (rules == NULL)
        fprintf(stderr, "default rules: %s\n", err);
    return rules == NULL;
}

static int teardown(void **state)
{
    reply_rules_free(rules);
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "cannot open %s (run from the repository root)\n", path);
        return NULL;
    }
    struct buf b;
    buf_init(&b, 0);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_append(&b, chunk, n);
    fclose(fp);
    return buf_detach(&b, len);
}

/* What the driver does before parsing (inbound_driver.c): a message with
 * bare CRs and no LF at all gets LF line ends. */
static void bare_cr_to_lf(char *msg, size_t len)
{
    if (len == 0 || memchr(msg, '\n', len) != NULL)
        return;
    for (size_t i = 0; i < len; i++)
        if (msg[i] == '\r')
            msg[i] = '\n';
}

static void parse_mem(const char *msg, size_t len, struct inbound_report *r)
{
    struct inbound_parse_ctx ctx = { .rules = rules, .limits = &limits };
    inbound_report_init(r);
    assert_int_equal(bounce_parse(msg, len, &ctx, r), 0);
}

static void parse_str(const char *msg, struct inbound_report *r)
{
    parse_mem(msg, strlen(msg), r);
}

/* Every recipient of a bounce is classified; a delay never counts hard. */
static void assert_invariants(const struct inbound_report *r)
{
    for (size_t i = 0; i < r->nrcpts; i++) {
        const struct inbound_rcpt *rc = &r->rcpts[i];
        if (r->kind == INBOUND_BOUNCE || r->kind == INBOUND_AUTOREPLY)
            assert_true(rc->classified);
        if (rc->recipient != NULL)
            assert_non_null(strchr(rc->recipient, '@'));
        assert_non_null(rc->verdict.category);
        if (rc->action != NULL && (strcmp(rc->action, "delayed") == 0 || strcmp(rc->action, "delivered") == 0 ||
                                   strcmp(rc->action, "relayed") == 0 || strcmp(rc->action, "expanded") == 0))
            assert_int_not_equal(rc->verdict.cls, REPLY_CLASS_HARD);
    }
    assert_true(r->nrcpts <= (r->rcpt_limit ? r->rcpt_limit : INBOUND_RCPT_MAX));
}

static const struct inbound_rcpt *rcpt_named(const struct inbound_report *r, const char *addr)
{
    for (size_t i = 0; i < r->nrcpts; i++)
        if (r->rcpts[i].recipient != NULL && strcmp(r->rcpts[i].recipient, addr) == 0)
            return &r->rcpts[i];
    fail_msg("no recipient %s", addr);
    return NULL;
}

/* ---- real bounces ----------------------------------------------------- */

/* ANY: not checked (the file leaves it unclear); NONE: must be absent. */
#define ANY NULL
static const char NONE_[] = "(none)";
#define NONE     NONE_
#define ANYCLASS (-1)
#define HARD     REPLY_CLASS_HARD
#define SOFT     REPLY_CLASS_SOFT
#define UNKNOWN  REPLY_CLASS_UNKNOWN

struct expect_rcpt {
    const char *recipient, *action, *status;
    int cls;
    const char *category;
    bool our_fault;
    const char *remote_mta;
};

struct sample {
    const char *file;
    enum inbound_kind kind;
    const char *format, *message_id, *reporting_mta;
    size_t nrcpts;
    struct expect_rcpt rcpts[4];
};

static const struct sample samples[] = {
    { "is-not-bounce-01.eml", INBOUND_UNRECOGNIZED, NONE, NONE, NONE, 0, {} },
    { "is-not-bounce-02.eml", INBOUND_UNRECOGNIZED, NONE, ANY, NONE, 0, {} },
    { "lhost-amazonses-01.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<000001321defbd2a-788e31c8-2be1-422f-a8d4-cf7765cc9ed7-000000@email.amazonses.com>",
      "a192-79.smtp-out.amazonses.com",
      1,
      {
          { "shironeko@example.co.jp", "failed", "5.1.0", HARD, "userunknown", false, "[192.0.2.222]" },
      } },
    { "lhost-amazonses-02.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<00000132e188591e-2882d710-aacc-49e9-bfac-5400b02ffb9b-000000@email.amazonses.com>",
      "a192-79.smtp-out.amazonses.com",
      1,
      {
          { "this-local-part-does-not-exist-on-the-server@docomo.ne.jp", "failed", "5.3.0", HARD, "userunknown", false,
            "[203.138.181.240]" },
      } },
    { "lhost-courier-01.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      ANY,
      "marutamachi.example.org",
      1,
      {
          { "kijitora@example.co.jp", "failed", "5.1.1", HARD, "userunknown", false, "mx.example.co.jp [192.0.2.95]" },
      } },
    { "lhost-domino-01.eml",
      INBOUND_BOUNCE,
      "text",
      ANY,
      NONE,
      1,
      {
          { "kijitora@example.jp", NONE, NONE, ANYCLASS, ANY, false,
            NONE } /* "not listed in Domino Directory": a user unknown the rules read as a block list (left to the rules' owner) */
          ,
      } },
    { "lhost-exchange2003-01.eml",
      INBOUND_BOUNCE,
      "text",
      ANY,
      NONE,
      1,
      {
          { "kijitora@example.jp", NONE, NONE, HARD, "userunknown", false, NONE },
      } },
    { "lhost-exchange2007-01.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      ANY,
      "mx4.example.org",
      1,
      {
          { "mikeneko@example.co.jp", "failed", "5.1.1", HARD, "userunknown", false, NONE },
      } },
    { "lhost-exim-01.eml",
      INBOUND_BOUNCE,
      "text",
      "<E1P1ce6-000Egt-GZ@e1.example.org>",
      NONE,
      1,
      {
          { "kijitora@example.ed.jp", NONE, "5.7.0", SOFT, "blocked", false,
            NONE }, /* "use the smtp server of your ISP" */
      } },
    { "lhost-exim-02.eml",
      INBOUND_BOUNCE,
      "text",
      "<E1X58pB-0004bW-2s@marutamachi.example.org>",
      NONE,
      2,
      {
          { "kijitora@example.jp", NONE, "5.1.1", HARD, "userunknown", false, NONE },
          { "sabatora@example.jp", NONE, "5.2.1", ANYCLASS, ANY, false,
            NONE } /* 5.2.1 (disabled) with "User Unknown" */,
      } },
    { "lhost-exim-06.eml",
      INBOUND_BOUNCE,
      "text",
      "<00000000000000000000000000000000@mx.example.org>",
      NONE,
      1,
      {
          { "kijitora@example.com", NONE, NONE, SOFT, "expired", false, NONE },
      } },
    { "lhost-gmail-01.eml",
      INBOUND_BOUNCE,
      "text",
      "<D992C2C3-F175-4C4D-97E2-53A90E4E5BF5@gmail.com>",
      NONE,
      1,
      {
          { "userunknown@example.jp", NONE, "5.1.1", HARD, "userunknown", false, NONE },
      } },
    { "lhost-gmail-08.eml",
      INBOUND_BOUNCE,
      "text",
      "<AA6C0062-22D4-4D7E-8766-4494D07205C1@gmail.example.com>",
      NONE,
      1,
      {
          { "kijitora@example.com", NONE, NONE, SOFT, "expired", false, NONE },
      } },
    { "lhost-mailfoundry-02.eml",
      INBOUND_BOUNCE,
      "text",
      "<00000000000000000.neko@cat.example.net>",
      NONE,
      1,
      {
          { "kijitora@example.org", NONE, "5.1.1", SOFT, "mailboxfull", false, NONE },
      } },
    { "lhost-mimecast-01.eml",
      INBOUND_BOUNCE,
      "text",
      ANY,
      NONE,
      1,
      {
          { "sabineko@neko.ef.example.org", NONE, NONE, HARD, "userunknown", false, NONE },
      } },
    { "lhost-notes-01.eml",
      INBOUND_BOUNCE,
      "text",
      "<000000000.0000000000000.notes@example.co.jp>",
      NONE,
      1,
      {
          { "kijitora@u1.example.co.jp", NONE, NONE, ANYCLASS, ANY, false,
            NONE } /* ISO-2022-JP reason text, not read */,
      } },
    { "lhost-office365-01.eml",
      INBOUND_BOUNCE,
      "text",
      "<FFFFFFFF.EEEEEEEE@example.ed.jp>",
      NONE,
      1,
      {
          { "kijitora@example.com", NONE, NONE, HARD, "userunknown", false, NONE },
      } },
    { "lhost-opensmtpd-01.eml",
      INBOUND_BOUNCE,
      "text",
      ANY,
      NONE,
      1,
      {
          { "apdugoaidugoaidugoaeiudggadi@gmail.com", NONE, "5.1.1", HARD, "userunknown", false, NONE },
      } },
    { "lhost-outlook-01.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<BLU436-SMTP6645ECA6E7FEFFE86D040BBA770@phx.gbl>",
      "BLU004-OMC3S13.hotmail.example.com",
      1,
      {
          { "kijitora@example.jp", "failed", "5.2.2", SOFT, "mailboxfull", false, NONE },
      } },
    { "lhost-outlook-04.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<BLU436-SMTP695D62048105F50EF3A1B8BA770@phx.gbl>",
      "BLU004-OMC3S20.o.example.com",
      2,
      {
          { "sabineko@example.co.jp", "failed", "5.1.1", HARD, "userunknown", false, NONE },
          { "mikeneko@example.co.jp", "failed", "5.2.2", SOFT, "mailboxfull", false, NONE },
      } },
    { "lhost-postfix-01-cr.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      ANY,
      "p351355.pool.example.ne.jp",
      1,
      {
          { "r@p351355.pool.example.ne.jp", "failed", "5.1.1", ANYCLASS, ANY, false,
            NONE } /* procmail failed; "No such user" after it */,
      } },
    { "lhost-postfix-01-crlf.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      ANY,
      "p351355.pool.example.ne.jp",
      1,
      {
          { "r@p351355.pool.example.ne.jp", "failed", "5.1.1", ANYCLASS, ANY, false,
            NONE } /* procmail failed; "No such user" after it */,
      } },
    { "lhost-postfix-01.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      ANY,
      "p351355.pool.example.ne.jp",
      1,
      {
          { "r@p351355.pool.example.ne.jp", "failed", "5.1.1", ANYCLASS, ANY, false,
            NONE } /* procmail failed; "No such user" after it */,
      } },
    { "lhost-postfix-02.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      ANY,
      "smtp.example.com",
      2,
      {
          { "filtered@example.co.jp", "failed", "5.2.1", ANYCLASS, ANY, false,
            "mx.example.co.jp" } /* 5.2.1 (disabled) with "User Unknown" */,
          { "userunknown@example.co.jp", "failed", "5.1.1", HARD, "userunknown", false, "mx.example.co.jp" },
      } },
    { "lhost-postfix-70.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<20201113004243.AF578C0196A@smtp.example.jp>",
      "smtp.example.jp",
      1,
      {
          { "kijitora@google.example.com", "failed", "5.7.26", SOFT, "authfailure", true,
            "gmail-smtp-in.l.google.com" },
      } },
    { "lhost-qmail-01.eml",
      INBOUND_BOUNCE,
      "text",
      "<000000000.9999999999999.JavaMail.postmaster@mailhub>",
      NONE,
      1,
      {
          { "kijitora@example.ne.jp", NONE, "5.5.0", HARD, "userunknown", false,
            NONE } /* "550 Unknown user ... (#5.5.0)" */,
      } },
    { "lhost-qmail-02.eml",
      INBOUND_BOUNCE,
      "text",
      ANY,
      NONE,
      2,
      {
          { "userunknown@example.jp", NONE, "5.1.1", HARD, "userunknown", false, NONE },
          { "filtered@example.jp", NONE, "5.2.1", HARD, "userunknown", false,
            NONE }, /* qmail: "does not like recipient" = at RCPT */
      } },
    { "lhost-qmail-14.eml",
      INBOUND_BOUNCE,
      "text",
      "<20240624085401.44481.qmail@nq.example.jp>",
      NONE,
      1,
      {
          { "pseudo-local-part-of-google-gmail@gmail.com", NONE, "5.7.26", SOFT, "authfailure", true, NONE },
      } },
    { "lhost-receivingses-01.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<DCB08CC1-D236-48E2-9A8D-2492DACE50E2@example.co.jp>",
      "inbound-smtp.us-west-2.amazonaws.com",
      1,
      {
          { "userunknown@neko.example.jp", "failed", "5.1.1", HARD, "userunknown", false, NONE },
      } },
    { "lhost-sendmail-01.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org>",
      "smtpgw.example.jp",
      1,
      {
          { "userunknown@bouncehammer.jp", "failed", "5.1.1", HARD, "userunknown", false, "mx.bouncehammer.jp" },
      } },
    { "lhost-sendmail-02.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<C6625D0F-A302-4980-BEAB-2AF883EA0116@example.jp>",
      "nijo.example.jp",
      2,
      {
          { "userunknown@example.org", "failed", "5.1.1", HARD, "userunknown", false, "mx.example.org" },
          { "filtered@example.com", "failed", "5.2.1", ANYCLASS, ANY, false,
            "mx.example.com" } /* 5.2.1 (disabled) with "User Unknown" */,
      } },
    { "lhost-sendmail-29.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<54341A75-5EF4-4F06-9C5D-56D36A9283FC@example.jp>",
      "neko.example.jp",
      1,
      {
          { "this-local-part-does-not-exist-on-the-system@y-mobile.ne.jp", "delayed", "4.5.0", SOFT, "expired", false,
            NONE },
      } },
    { "lhost-sendmail-57.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<202010031111.093BBRUP019529@nyaan.example.jp>",
      "nyaan.example.jp",
      1,
      {
          { "neko@libsisimai.org", "failed", "5.7.27", ANYCLASS, ANY, false,
            "libsisimai.org" } /* 5.7.27 (sender null MX) vs "Host does not accept mail": no clear meaning */,
      } },
    { "lhost-sendmail-60.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<50ad190.20240207.2202@relay1.email.example.jp>",
      "mx311.ume.example.ne.jp",
      1,
      {
          { "kijitora-cat@google.example.com", "failed", "5.7.26", SOFT, "authfailure", true,
            "gmail-smtp-in.l.google.com" },
      } },
    { "lhost-v5sendmail-05.eml",
      INBOUND_BOUNCE,
      "text",
      ANY,
      NONE,
      4,
      {
          { "kijitora@example.edu", NONE, NONE, ANYCLASS, ANY, false,
            NONE } /* its answer is a connection reset, not the notice's "Host unknown" (known gap) */,
          { "kuroneko@example.or.jp", NONE, NONE, HARD, "hostunknown", false, NONE },
          { "kijitora@example.org", NONE, NONE, HARD, "hostunknown", false, NONE },
          { "mikeneko@example.co.jp", NONE, NONE, HARD, "userunknown", false, NONE },
      } },
    { "lhost-yahoo-01.eml",
      INBOUND_BOUNCE,
      "text",
      "<6AE6249A-E7A8-4980-862C-F499F6B8E7C5@y.example.co.jp>",
      NONE,
      1,
      {
          { "kijitora@example.org", NONE, "5.1.1", HARD, "userunknown", false, NONE },
      } },
    { "rfc3464-01.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org>",
      "smtpgw.example.jp",
      1,
      {
          { "userunknown@bouncehammer.jp", "failed", "5.1.1", HARD, "userunknown", false, "mx.bouncehammer.jp" },
      } },
    { "rfc3464-35.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      ANY,
      "cs.utk.edu",
      3,
      {
          { "kijitora@nyaan.example.com", "failed", "5.0.0", ANYCLASS, ANY, false,
            "nyaan.example.com" } /* "is not a registered gateway user": the rules miss it (known gap) */,
          { "sabatora@cat.example.net", "delayed", "4.0.0", SOFT, ANY, false, NONE },
          { "mikeneko@neko.example.or.jp", "failed", "5.0.0", HARD, "userunknown", false, "neko.example.or.jp" },
      } },
    { "rfc3834-01.eml",
      INBOUND_AUTOREPLY,
      "rfc3834",
      ANY,
      NONE,
      1,
      {
          { "kijitora@example.net", NONE, NONE, UNKNOWN, "vacation", false, NONE },
      } },
    { "rfc3834-02.eml",
      INBOUND_AUTOREPLY,
      "rfc3834",
      ANY,
      NONE,
      1,
      {
          { "nekonyaan@example.org", NONE, NONE, UNKNOWN, "vacation", false, NONE },
      } },
    { "rhost-aol-01.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<1EF5F5E0-9CBD-4D06-BF45-F6AA5034DA0A@aol.example.jp>",
      "omr-m04.mx.aol.com",
      1,
      {
          { "kijitora@example.jp", "failed", "5.4.4", HARD, "hostunknown", false, NONE },
      } },
    { "rhost-facebook-03.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      ANY,
      "10.138.205.200",
      1,
      {
          { "kijitora@facebook.com", "failed", "5.1.1", SOFT, "filtered", false, NONE },
      } },
    { "rhost-godaddy-03.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      ANY,
      "r5.neko.example.org",
      1,
      {
          { "kijitora@example.com", "failed", "5.1.1", SOFT, "ratelimited", false, "smtp.secureserver.net" },
      } },
    { "rhost-google-03.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<vDcsF1hr4zzywp69@mail4.example.com>",
      "mail4.example.com",
      1,
      {
          { "kijitora@google.example.com", "failed", "5.7.26", SOFT, "authfailure", true,
            "gmail-smtp-in.l.google.com" },
      } },
    { "rhost-gsuite-01.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<00222222-2222-2222-2222-FF00FFFF0000@example.jp>",
      "googlemail.com",
      1,
      {
          { "kijitora@example.de", "failed", "5.1.0", HARD, "userunknown", false,
            "192.0.2.222 (192.0.2.222, the server for the domain.)" },
      } },
    /* Google Groups' refusal notice, in English and in German: no code,
     * the service's own words; the structure (Google's daemon, a group
     * address) says the group refused the post */
    { "lhost-googlegroups-02.eml",
      INBOUND_BOUNCE,
      "text",
      "<C49550E2-5112-44DD-9976-042A766A412C@example.jp>",
      NONE,
      1,
      {
          { "libsisimai@googlegroups.com", NONE, NONE, SOFT, "rejected", false, NONE },
      } },
    { "lhost-googlegroups-05.eml",
      INBOUND_BOUNCE,
      "text",
      "<E624406D-3C12-4CE2-A37B-C3A15EA6CF1D@example.jp>",
      NONE,
      1,
      {
          { "libsisimai@googlegroups.com", NONE, NONE, SOFT, "rejected", false, NONE },
      } },
    /* "post_master@", a nested boundary on an unfolded line, the recipient
     * only on a "RCPT TO:" line of a details block */
    { "lhost-apachejames-01.eml",
      INBOUND_BOUNCE,
      "text",
      NONE,
      NONE,
      1,
      {
          { "000000000000@vtext.example.com", NONE, NONE, HARD, "userunknown", false, NONE },
      } },
    /* a "no-reply@" sender, a Japanese subject: the body says it failed, above a returned message */
    { "lhost-kddi-01.eml",
      INBOUND_BOUNCE,
      "text",
      "<2013000000000000@example.jp>",
      NONE,
      1,
      {
          { "kijitora@x0000000000000.dion.ne.jp", NONE, NONE, SOFT, "mailboxfull", false, NONE },
      } },
    /* Diagnostic-Code: X-Unix; 255 - a local mailer's exit status */
    { "lhost-sendmail-18.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<200904292334.00000000000000@mx356.example.jp>",
      "mx356.example.jp",
      1,
      {
          { "kijitora@example.jp", "failed", "5.0.0", SOFT, "mailererror", false, ANY },
      } },
    /* X-Actual-Recipient: a procmail pipe */
    { "rfc3464-04.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      NONE,
      "mailx-53.neko.example.edu",
      1,
      {
          { "kijitora@mailx-53.neko.example.edu", "failed", "5.5.0", SOFT, "mailererror", false, ANY },
      } },
    /* Exim: "/home/nyaan/.neko generated by kijitora@example.com", a file delivery */
    { "lhost-exim-44.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<22ee2222222ffff00@nyaan.example.com>",
      "neko.example.com",
      1,
      {
          { "kijitora@example.com", "failed", "5.0.0", SOFT, "mailererror", false, ANY },
      } },
    /* a delay warning whose only evidence is a vague 4.4.0 */
    { "rfc3464-07.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<000000000000000@list.example.jp>",
      "mx54.exmaple.com",
      1,
      {
          { "kijitora@example.net", "delayed", "4.4.0", SOFT, "expired", false, ANY },
      } },
    /* Exim "after MAIL FROM:": 550 Unroutable sender address - about our sender */
    { "lhost-exim-36.eml",
      INBOUND_BOUNCE,
      "text",
      "<neko222-nyaaan-22@neko.example.com>",
      NONE,
      1,
      {
          { "kijitora@example.edu", NONE, NONE, SOFT, "rejected", false, NONE },
      } },
    /* Exim "after initial connection": 550 Access denied - about our host */
    { "lhost-exim-35.eml",
      INBOUND_BOUNCE,
      "text",
      "<neko222-nyaaan-22@neko.example.com>",
      NONE,
      1,
      {
          { "kijitora@example.com", NONE, NONE, SOFT, "blocked", false, NONE },
      } },
    /* NXDOMAIN reported under 4.0.0 by a DSN that gave up: a DNS failure */
    { "rfc3464-53.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<CAByYQsHoD+W5rSuhuhywef6ctb4__6whKo4VQCZk+LSM+HUZNA@mail.gmail.example.com>",
      "googlemail.com",
      1,
      {
          { "sironeko@example.jp", "failed", "4.0.0", SOFT, "networkerror", false, ANY },
      } },
    /* a DSN without Diagnostic-Code whose text sits in multipart/related > alternative */
    { "rhost-gsuite-02.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<002b01d2a4bb$028be941$b756c59a@example>",
      "googlemail.com",
      1,
      {
          { "kijitora@example.it", "failed", "5.0.0", HARD, "userunknown", false, ANY },
      } },
    /* qmail's "I'm not going to try again; ... in the queue too long" after a time-out */
    { "lhost-x2-03.eml",
      INBOUND_BOUNCE,
      "text",
      "<00000000000000000@example.co.jp>",
      NONE,
      1,
      {
          { "kijitora@example.org", NONE, NONE, SOFT, "expired", false, NONE },
      } },
    /* a multi-line reply whose repeated "550 5.7.1" split "multiple addresses in From:" */
    { "lhost-postfix-28.eml",
      INBOUND_BOUNCE,
      "rfc3464",
      "<20170511082043.260A0D29197@gojo.example.jp>",
      "gojo.example.jp",
      1,
      {
          { "kijitora@gmail.example.com", "failed", "5.7.1", SOFT, "notcompliantrfc", false,
            "gmail-smtp-in.l.google.com" },
      } },
    { "rhost-microsoft-06.eml",
      INBOUND_BOUNCE,
      "text",
      "<5E82FFFE9D95.88616A92ACCB@relay-1.nyaaaan.example.onmicrosoft.com>",
      NONE,
      1,
      {
          { "sabineko@example.onmicrosoft.com", NONE, "5.7.515", SOFT, "authfailure", true, NONE },
      } },
};

static void assert_field(const char *got, const char *want, const char *what, const char *file)
{
    if (want == ANY)
        return;
    if (want == NONE) {
        if (got != NULL)
            fail_msg("%s: %s is \"%s\", expected none", file, what, got);
        return;
    }
    if (got == NULL || strcmp(got, want) != 0)
        fail_msg("%s: %s is \"%s\", expected \"%s\"", file, what, got ? got : "(none)", want);
}

static void check_sample(const struct sample *s, char *msg, size_t len)
{
    struct inbound_report r;
    parse_mem(msg, len, &r);
    if (r.kind != s->kind)
        fail_msg("%s: kind %s, expected %s", s->file, inbound_kind_name(r.kind), inbound_kind_name(s->kind));
    assert_field(r.format, s->format, "format", s->file);
    assert_field(r.original.message_id, s->message_id, "original Message-ID", s->file);
    assert_field(r.reporting_mta, s->reporting_mta, "Reporting-MTA", s->file);
    if (r.nrcpts != s->nrcpts)
        fail_msg("%s: %zu recipients, expected %zu", s->file, r.nrcpts, s->nrcpts);
    for (size_t i = 0; i < s->nrcpts; i++) {
        const struct expect_rcpt *e = &s->rcpts[i];
        const struct inbound_rcpt *rc = rcpt_named(&r, e->recipient);
        assert_field(rc->action, e->action, "action", s->file);
        assert_field(rc->status, e->status, "status", s->file);
        assert_field(rc->remote_mta, e->remote_mta, "Remote-MTA", s->file);
        if (e->cls != ANYCLASS && (int)rc->verdict.cls != e->cls)
            fail_msg("%s: %s class %s, expected %s (why %s)", s->file, e->recipient, reply_class_name(rc->verdict.cls),
                     reply_class_name((enum reply_class)e->cls), rc->verdict.why);
        assert_field(rc->verdict.category, e->category, "category", s->file);
        if (rc->verdict.our_fault != e->our_fault)
            fail_msg("%s: %s our_fault %d, expected %d", s->file, e->recipient, rc->verdict.our_fault, e->our_fault);
    }
    assert_invariants(&r);
    inbound_report_free(&r);
}

static void real_sample(void **state)
{
    const struct sample *s = *state;
    char path[256];
    size_t len = 0;
    snprintf(path, sizeof(path), CORPUS "%s", s->file);
    char *msg = read_file(path, &len);
    assert_non_null(msg);
    bare_cr_to_lf(msg, len);
    check_sample(s, msg, len);
    free(msg);
}

/* The same message with CRLF and CR-only line ends reads the same. */
static void line_endings_do_not_change_the_reading(void **state)
{
    static const char *const files[] = { "lhost-postfix-01.eml", "lhost-postfix-01-crlf.eml",
                                         "lhost-postfix-01-cr.eml" };
    for (size_t i = 0; i < 3; i++) {
        char path[256];
        size_t len = 0;
        snprintf(path, sizeof(path), CORPUS "%s", files[i]);
        char *msg = read_file(path, &len);
        assert_non_null(msg);
        bare_cr_to_lf(msg, len);
        struct inbound_report r;
        parse_mem(msg, len, &r);
        assert_int_equal(r.kind, INBOUND_BOUNCE);
        assert_string_equal(r.format, "rfc3464");
        assert_int_equal(r.nrcpts, 1);
        assert_string_equal(r.rcpts[0].recipient, "r@p351355.pool.example.ne.jp");
        assert_string_equal(r.rcpts[0].original_recipient, "kijitora@example.org");
        assert_string_equal(r.rcpts[0].status, "5.1.1");
        assert_non_null(strstr(r.rcpts[0].diagnostic, "procmail"));
        inbound_report_free(&r);
        free(msg);
    }
}

/* ---- hand-made: one per structural path --------------------------------- */

#define S_HEAD \
    "From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n"

#define DSN_HEAD \
    "From: MAILER-DAEMON@mx.example.net\n" \
    "To: sender@example.com\n" \
    "Subject: Undelivered Mail Returned to Sender\n" \
    "MIME-Version: 1.0\n" \
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"BB\"\n" \
    "\n" \
    "--BB\n" \
    "Content-Type: text/plain\n" \
    "\n" \
    "Your message could not be delivered.\n" \
    "\n" \
    "--BB\n"

static void minimal_rfc3464_dsn(void **state)
{
    struct inbound_report r;
    parse_str(DSN_HEAD "Content-Type: message/delivery-status\n"
                       "\n"
                       "Reporting-MTA: dns; mx.example.net\n"
                       "\n"
                       "Final-Recipient: rfc822; Bob@Example.ORG\n"
                       "Action: failed\n"
                       "Status: 5.1.1\n"
                       "Remote-MTA: dns; mx.example.org\n"
                       "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown\n"
                       "\n"
                       "--BB\n"
                       "Content-Type: message/rfc822\n"
                       "\n"
                       "Message-ID: <abc.123@example.com>\n"
                       "From: sender@example.com\n"
                       "To: bob@example.org\n"
                       "Subject: hello\n"
                       "\n"
                       "body\n"
                       "--BB--\n",
              &r);
    assert_int_equal(r.kind, INBOUND_BOUNCE);
    assert_string_equal(r.format, "rfc3464");
    assert_string_equal(r.reporting_mta, "mx.example.net");
    assert_int_equal(r.nrcpts, 1);
    assert_string_equal(r.rcpts[0].recipient, "bob@example.org");
    assert_string_equal(r.rcpts[0].action, "failed");
    assert_string_equal(r.rcpts[0].status, "5.1.1");
    assert_int_equal(r.rcpts[0].smtp_code, 550);
    assert_string_equal(r.rcpts[0].remote_mta, "mx.example.org");
    assert_int_equal(r.rcpts[0].verdict.cls, REPLY_CLASS_HARD);
    assert_string_equal(r.rcpts[0].verdict.category, "userunknown");
    assert_false(r.rcpts[0].verdict.our_fault);
    assert_string_equal(r.original.message_id, "<abc.123@example.com>");
    assert_string_equal(r.original.from, "sender@example.com");
    inbound_report_free(&r);
}

static void rfc6533_global_dsn(void **state)
{
    struct inbound_report r;
    parse_str(DSN_HEAD "Content-Type: message/global-delivery-status\n"
                       "\n"
                       "Reporting-MTA: dns; mx.example.net\n"
                       "\n"
                       "Final-Recipient: rfc822; carol@example.org\n"
                       "Action: failed\n"
                       "Status: 5.2.2\n"
                       "Diagnostic-Code: smtp; 552 5.2.2 mailbox full\n"
                       "\n"
                       "--BB--\n",
              &r);
    assert_int_equal(r.kind, INBOUND_BOUNCE);
    assert_string_equal(r.format, "rfc6533");
    assert_int_equal(r.nrcpts, 1);
    assert_string_equal(r.rcpts[0].recipient, "carol@example.org");
    assert_string_equal(r.rcpts[0].status, "5.2.2");
    assert_int_equal(r.rcpts[0].verdict.cls, REPLY_CLASS_SOFT);
    assert_string_equal(r.rcpts[0].verdict.category, "mailboxfull");
    inbound_report_free(&r);
}

static void vague_status_is_refined_from_the_diagnostic(void **state)
{
    struct inbound_report r;
    parse_str(DSN_HEAD "Content-Type: message/delivery-status\n"
                       "\n"
                       "Reporting-MTA: dns; mx.example.net\n"
                       "\n"
                       "Final-Recipient: rfc822; dave@example.org\n"
                       "Action: failed\n"
                       "Status: 5.0.0\n"
                       "Diagnostic-Code: smtp; 550 5.1.1 <dave@example.org>... User unknown\n"
                       "\n"
                       "--BB--\n",
              &r);
    assert_int_equal(r.nrcpts, 1);
    assert_string_equal(r.rcpts[0].status, "5.1.1");
    assert_int_equal(r.rcpts[0].verdict.cls, REPLY_CLASS_HARD);
    assert_string_equal(r.rcpts[0].verdict.category, "userunknown");
    inbound_report_free(&r);
}

/* A DSN recipient block without Action: derived from the status class. */
static void missing_action_is_derived(void **state)
{
    struct inbound_report r;
    parse_str(DSN_HEAD "Content-Type: message/delivery-status\n"
                       "\n"
                       "Reporting-MTA: dns; mx.example.net\n"
                       "Final-Recipient: rfc822; erin@example.org\n"
                       "Status: 5.1.1\n"
                       "\n"
                       "--BB--\n",
              &r);
    assert_int_equal(r.nrcpts, 1);
    assert_string_equal(r.rcpts[0].recipient, "erin@example.org");
    assert_string_equal(r.rcpts[0].action, "failed");
    inbound_report_free(&r);
}

/* X-Failed-Recipients names the failed recipients: the other addresses in
 * the text (a CC'd colleague, a help address) are not taken. */
static void x_failed_recipients_decides_who_failed(void **state)
{
    struct inbound_report r;
    parse_str("From: Mail Delivery System <Mailer-Daemon@mx.example.net>\n"
              "To: sender@example.com\n"
              "Subject: Mail delivery failed: returning message to sender\n"
              "X-Failed-Recipients: frank@example.org\n"
              "\n"
              "This message was created automatically by mail delivery software.\n"
              "Questions? Write to help@example.net.\n"
              "\n"
              "  frank@example.org\n"
              "    host mx.example.org [192.0.2.1]: 550 5.1.1 no such user\n"
              "\n"
              "------ This is a copy of the message, including all the headers. ------\n"
              "\n"
              "Message-ID: <q1@example.com>\n"
              "From: sender@example.com\n"
              "To: frank@example.org\n"
              "Cc: grace@example.org\n"
              "\n"
              "hi\n",
              &r);
    assert_int_equal(r.kind, INBOUND_BOUNCE);
    assert_string_equal(r.format, "text");
    assert_int_equal(r.nrcpts, 1);
    assert_string_equal(r.rcpts[0].recipient, "frank@example.org");
    assert_string_equal(r.rcpts[0].status, "5.1.1");
    assert_int_equal(r.rcpts[0].verdict.cls, REPLY_CLASS_HARD);
    assert_string_equal(r.original.message_id, "<q1@example.com>");
    inbound_report_free(&r);
}

/* X-Failed-Recipients alone (a notice that never names the address). */
static void x_failed_recipients_without_text_mention(void **state)
{
    struct inbound_report r;
    parse_str("From: postmaster@mx.example.net\n"
              "To: sender@example.com\n"
              "Subject: Delivery failure\n"
              "X-Failed-Recipients: heidi@example.org, ivan@example.org\n"
              "\n"
              "Your message could not be delivered: 550 5.1.1 user unknown.\n",
              &r);
    assert_int_equal(r.kind, INBOUND_BOUNCE);
    assert_int_equal(r.nrcpts, 2);
    assert_non_null(rcpt_named(&r, "heidi@example.org"));
    assert_non_null(rcpt_named(&r, "ivan@example.org"));
    assert_invariants(&r);
    inbound_report_free(&r);
}

/* Exim's answer quotes the SMTP command: the sender in MAIL FROM:<...> is
 * never a recipient. */
static void exim_mail_from_sender_is_not_a_recipient(void **state)
{
    struct inbound_report r;
    parse_str("From: Mail Delivery System <Mailer-Daemon@mx.example.net>\n"
              "To: alice@example.com\n"
              "Subject: Mail delivery failed: returning message to sender\n"
              "\n"
              "This message was created automatically by mail delivery software.\n"
              "\n"
              "A message that you sent could not be delivered to one or more of its\n"
              "recipients. This is a permanent error. The following address(es) failed:\n"
              "\n"
              "  judy@example.org\n"
              "    SMTP error from remote mail server after MAIL FROM:<owner@lists.example.com> SIZE=1234:\n"
              "    host mx.example.org [192.0.2.7]: 550 5.7.1 <owner@lists.example.com>... sender rejected\n"
              "\n"
              "------ This is a copy of the message, including all the headers. ------\n"
              "\n"
              "Message-ID: <m2@example.com>\n"
              "From: alice@example.com\n"
              "To: judy@example.org\n"
              "\n"
              "hi\n",
              &r);
    assert_int_equal(r.kind, INBOUND_BOUNCE);
    assert_int_equal(r.nrcpts, 1);
    assert_string_equal(r.rcpts[0].recipient, "judy@example.org");
    assert_string_equal(r.rcpts[0].status, "5.7.1");
    assert_non_null(strstr(r.rcpts[0].diagnostic, "MAIL FROM"));
    assert_null(inbound_rcpt_find(&r, "owner@lists.example.com"));
    assert_string_equal(r.original.message_id, "<m2@example.com>");
    inbound_report_free(&r);
}

/* "a..b"@example.org keeps its quotes: it is not a..b@example.org (nor b@...). */
static void quoted_local_part_keeps_its_quotes(void **state)
{
    struct inbound_report r;
    parse_str(DSN_HEAD "Content-Type: message/delivery-status\n"
                       "\n"
                       "Reporting-MTA: dns; mx.example.net\n"
                       "\n"
                       "Final-Recipient: rfc822; \"john..doe\"@example.org\n"
                       "Action: failed\n"
                       "Status: 5.1.1\n"
                       "\n"
                       "--BB--\n",
              &r);
    assert_int_equal(r.nrcpts, 1);
    assert_string_equal(r.rcpts[0].recipient, "\"john..doe\"@example.org");
    inbound_report_free(&r);
}

/* The MIME structure was lost: the boundary never appears, the DSN fields
 * sit in the text. */
static void boundary_never_appears_dsn_fields_in_text(void **state)
{
    struct inbound_report r;
    parse_str("From: MAILER-DAEMON@mx.example.net\n"
              "To: sender@example.com\n"
              "Subject: Undelivered Mail Returned to Sender\n"
              "MIME-Version: 1.0\n"
              "Content-Type: multipart/report; report-type=delivery-status; boundary=\"NEVER\"\n"
              "\n"
              "This is the mail system at host mx.example.net.\n"
              "\n"
              "Reporting-MTA: dns; mx.example.net\n"
              "\n"
              "Final-Recipient: rfc822; karl@example.org\n"
              "Action: failed\n"
              "Status: 5.1.1\n"
              "Diagnostic-Code: smtp; 550 5.1.1 user unknown\n"
              "\n",
              &r);
    assert_int_equal(r.kind, INBOUND_BOUNCE);
    assert_string_equal(r.format, "rfc3464");
    assert_int_equal(r.nrcpts, 1);
    assert_string_equal(r.rcpts[0].recipient, "karl@example.org");
    assert_string_equal(r.rcpts[0].status, "5.1.1");
    assert_int_equal(r.rcpts[0].verdict.cls, REPLY_CLASS_HARD);
    inbound_report_free(&r);
}

/* Pipelining: the RCPT was refused, and the "answer to DATA" line only says
 * no recipient was left.  User unknown at RCPT, not a content filter. */
static void sendmail_transcript_pipelined_rcpt_refusal(void **state)
{
    struct inbound_report r;
    parse_str(DSN_HEAD "Content-Type: message/delivery-status\n"
                       "\n"
                       "Reporting-MTA: dns; mx.example.net\n"
                       "\n"
                       "Final-Recipient: RFC822; lena@example.org\n"
                       "Action: failed\n"
                       "Status: 5.1.1\n"
                       "\n"
                       "--BB--\n",
              &r);
    inbound_report_free(&r);
    parse_str("From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\n"
              "To: sender@example.com\n"
              "Subject: Returned mail: see transcript for details\n"
              "MIME-Version: 1.0\n"
              "Content-Type: multipart/report; report-type=delivery-status; boundary=\"SM\"\n"
              "\n"
              "--SM\n"
              "Content-Type: text/plain\n"
              "\n"
              "   ----- The following addresses had permanent fatal errors -----\n"
              "<lena@example.org>\n"
              "    (reason: 550 5.1.1 <lena@example.org>... User unknown)\n"
              "\n"
              "   ----- Transcript of session follows -----\n"
              "... while talking to mx.example.org.:\n"
              ">>> DATA\n"
              "<<< 550 5.1.1 <lena@example.org>... User unknown\n"
              "550 5.1.1 <lena@example.org>... User unknown\n"
              "<<< 503 5.0.0 Need RCPT (recipient)\n"
              "\n"
              "--SM\n"
              "Content-Type: message/delivery-status\n"
              "\n"
              "Reporting-MTA: dns; mx.example.net\n"
              "\n"
              "Final-Recipient: RFC822; lena@example.org\n"
              "Action: failed\n"
              "Status: 5.1.1\n"
              "Remote-MTA: DNS; mx.example.org\n"
              "\n"
              "--SM--\n",
              &r);
    assert_int_equal(r.kind, INBOUND_BOUNCE);
    assert_int_equal(r.nrcpts, 1);
    assert_string_equal(r.rcpts[0].recipient, "lena@example.org");
    assert_non_null(r.rcpts[0].diagnostic);
    assert_non_null(strstr(r.rcpts[0].diagnostic, "User unknown"));
    assert_string_equal(r.rcpts[0].verdict.category, "userunknown");
    assert_int_equal(r.rcpts[0].verdict.cls, REPLY_CLASS_HARD);
    inbound_report_free(&r);
}

/* A transcript's ">>> COMMAND" line precedes the reply to it: the 550 below
 * answers RCPT, and the DATA that follows it was refused for want of a
 * recipient ("Bad sequence of commands"). */
static void transcript_reply_belongs_to_the_command_before_it(void **state)
{
    struct inbound_report r;
    (void)state;
    parse_str("From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\n"
              "To: sender@example.com\n"
              "Subject: Returned mail: see transcript for details\n"
              "\n"
              "   ----- Transcript of session follows -----\n"
              "... while talking to mx.example.org.:\n"
              ">>> RCPT To:<nina@example.org>\n"
              "<<< 550 Unknown user nina@example.org\n"
              "550 5.1.1 <nina@example.org>... User unknown\n"
              ">>> DATA\n"
              "<<< 503 Bad sequence of commands\n",
              &r);
    assert_int_equal(r.kind, INBOUND_BOUNCE);
    assert_int_equal(r.nrcpts, 1);
    assert_string_equal(r.rcpts[0].recipient, "nina@example.org");
    assert_string_equal(r.rcpts[0].command, "RCPT");
    assert_string_equal(r.rcpts[0].verdict.category, "userunknown");
    assert_int_equal(r.rcpts[0].verdict.cls, REPLY_CLASS_HARD);
    inbound_report_free(&r);
}

static void returned_original_trace_and_queue_id(void **state)
{
    struct inbound_report r;
    parse_str(DSN_HEAD "Content-Type: message/delivery-status\n"
                       "\n"
                       "Reporting-MTA: dns; mx.example.net\n"
                       "\n"
                       "Final-Recipient: rfc822; mona@example.org\n"
                       "Action: failed\n"
                       "Status: 5.1.1\n"
                       "\n"
                       "--BB\n"
                       "Content-Type: text/rfc822-headers\n"
                       "\n"
                       "Return-Path: <bounces+mona=example.org@bounce.example.com>\n"
                       "X-Postflow-Trace: v=1; k=1; q=4F2A1C3B; t=1764324000; d=example.com;\n"
                       "\tm=Zk3Q0b7n8yTqg5l1u2V0aw\n"
                       "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s1; b=AAAA\n"
                       "Message-ID: <t1@example.com>\n"
                       "From: News <news@example.com>\n"
                       "To: mona@example.org\n"
                       "\n"
                       "--BB--\n",
              &r);
    assert_int_equal(r.nrcpts, 1);
    assert_non_null(r.original.trace);
    assert_non_null(strstr(r.original.trace, "q=4F2A1C3B"));
    assert_non_null(strstr(r.original.trace, "m=Zk3Q0b7n8yTqg5l1u2V0aw"));
    assert_string_equal(r.original.queue_id, "4F2A1C3B");
    assert_string_equal(r.original.message_id, "<t1@example.com>");
    assert_string_equal(r.original.return_path, "bounces+mona=example.org@bounce.example.com");
    assert_string_equal(r.original.dkim_domain, "example.com");
    assert_string_equal(r.original.from, "news@example.com");
    inbound_report_free(&r);
}

/* A delay warning is never hard, whatever its status says. */
static void delay_warning_is_never_hard(void **state)
{
    static const char *const statuses[] = { "4.4.7", "4.2.2", "5.1.1" };
    for (size_t i = 0; i < 3; i++) {
        char msg[2048];
        snprintf(msg, sizeof(msg),
                 DSN_HEAD "Content-Type: message/delivery-status\n"
                          "\n"
                          "Reporting-MTA: dns; mx.example.net\n"
                          "\n"
                          "Final-Recipient: rfc822; nina@example.org\n"
                          "Action: delayed\n"
                          "Status: %s\n"
                          "Diagnostic-Code: smtp; 450 user unknown, try again later\n"
                          "\n"
                          "--BB--\n",
                 statuses[i]);
        struct inbound_report r;
        parse_str(msg, &r);
        assert_int_equal(r.kind, INBOUND_BOUNCE);
        assert_int_equal(r.nrcpts, 1);
        assert_string_equal(r.rcpts[0].action, "delayed");
        assert_int_not_equal(r.rcpts[0].verdict.cls, REPLY_CLASS_HARD);
        inbound_report_free(&r);
    }
}

/* delivered/relayed/expanded lines are not failures. */
static void delivered_and_relayed_are_never_hard(void **state)
{
    struct inbound_report r;
    parse_str(DSN_HEAD "Content-Type: message/delivery-status\n"
                       "\n"
                       "Reporting-MTA: dns; mx.example.net\n"
                       "\n"
                       "Final-Recipient: rfc822; olga@example.org\n"
                       "Action: delivered\n"
                       "Status: 2.0.0\n"
                       "\n"
                       "Final-Recipient: rfc822; paul@example.org\n"
                       "Action: relayed\n"
                       "Status: 2.0.0\n"
                       "\n"
                       "--BB--\n",
              &r);
    assert_int_equal(r.nrcpts, 2);
    assert_invariants(&r);
    assert_string_equal(rcpt_named(&r, "olga@example.org")->action, "delivered");
    assert_string_equal(rcpt_named(&r, "paul@example.org")->action, "relayed");
    inbound_report_free(&r);
}

static void auto_reply_is_vacation_not_bounce(void **state)
{
    struct inbound_report r;
    parse_str("From: Quinn <quinn@example.org>\n"
              "To: sender@example.com\n"
              "Subject: Re: hello\n"
              "Auto-Submitted: auto-replied (vacation)\n"
              "\n"
              "I am away until Monday and will not read mail.\n",
              &r);
    assert_int_equal(r.kind, INBOUND_AUTOREPLY);
    assert_string_equal(r.format, "rfc3834");
    assert_int_equal(r.nrcpts, 1);
    assert_string_equal(r.rcpts[0].recipient, "quinn@example.org");
    assert_string_equal(r.rcpts[0].verdict.category, "vacation");
    assert_int_not_equal(r.rcpts[0].verdict.cls, REPLY_CLASS_HARD);
    inbound_report_free(&r);
}

static void ordinary_mail_is_not_a_report(void **state)
{
    struct inbound_report r;
    parse_str("From: rita@example.org\nTo: sender@example.com\nSubject: lunch?\n\nSee you at noon, rita@example.org\n",
              &r);
    assert_int_equal(r.kind, INBOUND_UNRECOGNIZED);
    assert_int_equal(r.nrcpts, 0);
    inbound_report_free(&r);
}

/* qmail clones write the sender and the recipient on one line: the
 * recipient after "RCPT:" stays a recipient. */
static void sender_and_rcpt_on_one_line(void **state)
{
    struct inbound_report r;
    parse_str("From: MAILER-DAEMON@mx.example.net\n"
              "To: sender@example.com\n"
              "Subject: failure notice\n"
              "\n"
              "Hi. This is the qmail-send program at mx.example.net.\n"
              "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
              "\n"
              "<xena@example.org>:\n"
              "From: <list@example.com> RCPT: <xena@example.org> 192.0.2.5 does not like recipient.\n"
              "Remote host said: 550 5.1.1 <xena@example.org>: no such user\n"
              "\n"
              "--- Below this line is a copy of the message.\n"
              "\n"
              "Message-ID: <q7@example.com>\n"
              "From: list@example.com\n"
              "\n",
              &r);
    assert_int_equal(r.kind, INBOUND_BOUNCE);
    assert_int_equal(r.nrcpts, 1);
    assert_string_equal(r.rcpts[0].recipient, "xena@example.org");
    assert_string_equal(r.rcpts[0].status, "5.1.1");
    assert_int_equal(r.rcpts[0].verdict.cls, REPLY_CLASS_HARD);
    assert_string_equal(r.original.message_id, "<q7@example.com>");
    inbound_report_free(&r);
}

/* The address on its own line, then a paragraph of the provider's words
 * without a code, then the receiver's reply line naming it again: that
 * reply is the answer. */
static void reply_line_naming_the_recipient_again(void **state)
{
    struct inbound_report r;
    parse_str("From: Mail Delivery Subsystem <mailer-daemon@relay.example.net>\n"
              "To: sender@example.com\n"
              "Subject: Delivery Status Notification (Failure)\n"
              "X-Failed-Recipients: yann@example.org\n"
              "\n"
              "Delivery to the following recipient failed permanently:\n"
              "\n"
              "     yann@example.org\n"
              "\n"
              "We tried to deliver your message, but the server for example.org refused it.\n"
              "\n"
              "The error that the other server returned was:\n"
              "552 5.2.2 <yann@example.org>: mailbox is full\n"
              "\n",
              &r);
    assert_int_equal(r.nrcpts, 1);
    assert_string_equal(r.rcpts[0].status, "5.2.2");
    assert_int_equal(r.rcpts[0].smtp_code, 552);
    assert_string_equal(r.rcpts[0].verdict.category, "mailboxfull");
    assert_int_equal(r.rcpts[0].verdict.cls, REPLY_CLASS_SOFT);
    inbound_report_free(&r);
}

/* "because:" ends its paragraph: the reason is the next one. */
static void label_paragraph_introduces_the_answer(void **state)
{
    struct inbound_report r;
    parse_str("From: Postmaster <postmaster@notes.example.net>\n"
              "To: sender@example.com\n"
              "Subject: DELIVERY FAILURE: mailbox full\n"
              "\n"
              "Your message was not delivered to:\n"
              "  zoe@example.org\n"
              "because:\n"
              "\n"
              "  Mailbox quota exceeded for zoe@example.org\n"
              "\n",
              &r);
    assert_int_equal(r.nrcpts, 1);
    assert_string_equal(r.rcpts[0].recipient, "zoe@example.org");
    assert_non_null(strstr(r.rcpts[0].diagnostic, "quota exceeded"));
    assert_string_equal(r.rcpts[0].verdict.category, "mailboxfull");
    inbound_report_free(&r);
}

/* ---- hostile input: never a crash, bounded --------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void parse_hostile(const char *msg, size_t len)
{
    struct inbound_report r;
    double t0 = now();
    parse_mem(msg, len, &r);
    assert_true(now() - t0 < 10.0);
    assert_invariants(&r);
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(inbound_report_json(&r, NULL, &out), 0);
    buf_free(&out);
    inbound_report_free(&r);
}

static void truncated_samples_never_crash(void **state)
{
    static const char *const files[] = { "lhost-sendmail-02.eml", "lhost-exim-02.eml", "lhost-v5sendmail-05.eml",
                                         "lhost-outlook-04.eml" };
    for (size_t f = 0; f < 4; f++) {
        char path[256];
        size_t len = 0;
        snprintf(path, sizeof(path), CORPUS "%s", files[f]);
        char *msg = read_file(path, &len);
        assert_non_null(msg);
        for (size_t cut = 0; cut < len; cut += len / 97 + 1) {
            char *copy = malloc(cut + 1); /* exactly cut bytes readable (+1: malloc(0)) */
            assert_non_null(copy);
            memcpy(copy, msg, cut);
            parse_hostile(copy, cut);
            free(copy);
        }
        free(msg);
    }
}

static void multipart_without_boundary_parameter(void **state)
{
    static const char msg[] = "From: MAILER-DAEMON@mx.example.net\n"
                              "Subject: Undelivered Mail\n"
                              "Content-Type: multipart/report; report-type=delivery-status\n"
                              "\n"
                              "--\n"
                              "Final-Recipient: rfc822; sam@example.org\n"
                              "Action: failed\n"
                              "Status: 5.1.1\n";
    parse_hostile(msg, sizeof(msg) - 1);
}

static void ten_thousand_nested_parts(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    buf_append(&b, S_HEAD, strlen(S_HEAD));
    char line[128];
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(line, sizeof(line), "--b%d\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n", i, i + 1);
        buf_append(&b, line, (size_t)n);
    }
    for (int i = 10000; i >= 0; i--) {
        int n = snprintf(line, sizeof(line), "--b%d--\n", i);
        buf_append(&b, line, (size_t)n);
    }
    parse_hostile(b.data, b.len);
    buf_free(&b);
}

static void ten_thousand_sibling_parts(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    buf_append(&b, S_HEAD, strlen(S_HEAD));
    static const char part[] = "--b0\nContent-Type: message/delivery-status\n\n"
                               "Final-Recipient: rfc822; tom@example.org\nAction: failed\nStatus: 5.1.1\n\n";
    for (int i = 0; i < 10000; i++)
        buf_append(&b, part, sizeof(part) - 1);
    buf_append(&b, "--b0--\n", 7);
    parse_hostile(b.data, b.len);
    buf_free(&b);
}

static void one_megabyte_header_line(void **state)
{
    size_t big = 1024 * 1024;
    struct buf b;
    buf_init(&b, 0);
    buf_append(&b, "From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered ", 56);
    char *fill = malloc(big);
    assert_non_null(fill);
    memset(fill, 'x', big);
    for (size_t i = 0; i < big; i += 64)
        fill[i] = '@';
    buf_append(&b, fill, big);
    buf_append(&b, "\nX-Failed-Recipients: ", 22);
    buf_append(&b, fill, big);
    buf_append(&b, "\n\numa@example.org: 550 5.1.1 unknown\n", 37);
    parse_hostile(b.data, b.len);
    /* the same line as the body */
    parse_hostile(fill, big);
    free(fill);
    buf_free(&b);
}

static void nul_bytes_and_binary(void **state)
{
    static const char nul[] = "From: MAILER-DAEMON@mx.example.net\nSubject: Undeliver\0ed\n\n"
                              "<vic\0tor@example.org>: 550 5.1.1 \0 unknown\n"
                              "Final-Recipient: rfc822; w\0x@example.org\nStatus: 5.\0.1\n";
    parse_hostile(nul, sizeof(nul) - 1);
    /* a NUL inside a local part must not cut a recipient short of its '@' */
    static const char nul_rcpt[] = "From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail\n\n"
                                   "Your message could not be delivered to:\n\n"
                                   "  <vic\0tor@example.org>: 550 5.1.1 unknown\n"
                                   "  \"wal\0ter\"@example.org: 550 5.1.1 unknown\n";
    parse_hostile(nul_rcpt, sizeof(nul_rcpt) - 1);
    unsigned char *bin = malloc(65536);
    assert_non_null(bin);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < 65536; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        bin[i] = (unsigned char)x;
    }
    parse_hostile((const char *)bin, 65536);
    /* binary after a bounce's header */
    memcpy(bin, DSN_HEAD, strlen(DSN_HEAD));
    parse_hostile((const char *)bin, 65536);
    free(bin);
}

/* Found by fuzz_bounce_parse: two address tokens whose spans overlap made
 * the answer's length negative (a heap over-read). */
static void overlapping_address_tokens(void **state)
{
    size_t len = 0;
    char *msg = read_file("tests/fuzz/seeds/fuzz_bounce_parse/regress-overlapping-addresses", &len);
    assert_non_null(msg);
    parse_hostile(msg, len);
    free(msg);
}

/* Found by fuzz_bounce_parse: a NUL byte inside a local part cut the
 * recipient short of its '@'. */
static void nul_inside_a_local_part(void **state)
{
    size_t len = 0;
    char *msg = read_file("tests/fuzz/seeds/fuzz_bounce_parse/regress-nul-in-local-part", &len);
    assert_non_null(msg);
    parse_hostile(msg, len);
    free(msg);
}

/* Past rcpt_limit, recipients are counted as dropped, never stored. */
static void recipients_are_capped(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    buf_append(&b, DSN_HEAD "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n",
               strlen(DSN_HEAD) + strlen("Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"));
    char block[160];
    for (int i = 0; i < 40; i++) {
        int n = snprintf(block, sizeof(block),
                         "Final-Recipient: rfc822; u%d@example.org\nAction: failed\nStatus: 5.1.1\n\n", i);
        buf_append(&b, block, (size_t)n);
    }
    buf_append(&b, "--BB--\n", 7);
    struct inbound_parse_ctx ctx = { .rules = rules, .limits = &limits };
    struct inbound_report r;
    inbound_report_init(&r);
    r.rcpt_limit = 10;
    assert_int_equal(bounce_parse(b.data, b.len, &ctx, &r), 0);
    assert_int_equal(r.nrcpts, 10);
    assert_true(r.rcpts_dropped >= 1);
    inbound_report_free(&r);
    buf_free(&b);
}

int main(void)
{
    size_t nsamples = sizeof(samples) / sizeof(samples[0]);
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(line_endings_do_not_change_the_reading),
        cmocka_unit_test(minimal_rfc3464_dsn),
        cmocka_unit_test(rfc6533_global_dsn),
        cmocka_unit_test(vague_status_is_refined_from_the_diagnostic),
        cmocka_unit_test(missing_action_is_derived),
        cmocka_unit_test(x_failed_recipients_decides_who_failed),
        cmocka_unit_test(x_failed_recipients_without_text_mention),
        cmocka_unit_test(exim_mail_from_sender_is_not_a_recipient),
        cmocka_unit_test(quoted_local_part_keeps_its_quotes),
        cmocka_unit_test(boundary_never_appears_dsn_fields_in_text),
        cmocka_unit_test(sendmail_transcript_pipelined_rcpt_refusal),
        cmocka_unit_test(sender_and_rcpt_on_one_line),
        cmocka_unit_test(reply_line_naming_the_recipient_again),
        cmocka_unit_test(label_paragraph_introduces_the_answer),
        cmocka_unit_test(transcript_reply_belongs_to_the_command_before_it),
        cmocka_unit_test(returned_original_trace_and_queue_id),
        cmocka_unit_test(delay_warning_is_never_hard),
        cmocka_unit_test(delivered_and_relayed_are_never_hard),
        cmocka_unit_test(auto_reply_is_vacation_not_bounce),
        cmocka_unit_test(ordinary_mail_is_not_a_report),
        cmocka_unit_test(truncated_samples_never_crash),
        cmocka_unit_test(multipart_without_boundary_parameter),
        cmocka_unit_test(ten_thousand_nested_parts),
        cmocka_unit_test(ten_thousand_sibling_parts),
        cmocka_unit_test(one_megabyte_header_line),
        cmocka_unit_test(nul_bytes_and_binary),
        cmocka_unit_test(overlapping_address_tokens),
        cmocka_unit_test(nul_inside_a_local_part),
        cmocka_unit_test(recipients_are_capped),
    };
    size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
    struct CMUnitTest *tests = calloc(nsamples + nfixed, sizeof(*tests));
    if (tests == NULL)
        return 1;
    for (size_t i = 0; i < nsamples; i++) {
        tests[i].name = samples[i].file;
        tests[i].test_func = real_sample;
        tests[i].initial_state = (void *)&samples[i];
    }
    memcpy(tests + nsamples, fixed, sizeof(fixed));
    int rc = _cmocka_run_group_tests("bounce_parse", tests, nsamples + nfixed, setup, teardown);
    free(tests);
    return rc;
}
