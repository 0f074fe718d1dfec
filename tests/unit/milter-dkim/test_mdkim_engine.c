/*
 * test_mdkim_engine.c - the per-message engine and the snapshot: signing
 * table lookup (exact, *.suffix, *), alignment, key dates, networks,
 * h= with oversigning, header limits, trace field placement.  Signatures
 * themselves are checked by independent verifiers in the integration tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "dkim_key.h"
#include "mdkim_config.h"
#include "mdkim_msg.h"
#include "mdkim_snap.h"
#include "netlist.h"

static char dir[] = "/tmp/mdkim-engineXXXXXX";
static char keypath[128], secretpath[128];

static int setup(void **state)
{
    (void)state;
    struct dkim_key k;
    struct dkim_err err;
    assert_non_null(mkdtemp(dir));
    snprintf(keypath, sizeof keypath, "%s/ed.pem", dir);
    snprintf(secretpath, sizeof secretpath, "%s/secret", dir);
    assert_int_equal(dkim_key_generate(DKIM_ALG_ED25519_SHA256, 0, &k, &err), 0);
    assert_int_equal(dkim_key_write_pem(&k, keypath, &err), 0);
    dkim_key_free(&k);
    FILE *f = fopen(secretpath, "w");
    fputs("a secret for the trace header\n", f);
    fclose(f);
    chmod(secretpath, 0600);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(keypath);
    unlink(secretpath);
    rmdir(dir);
    return 0;
}

struct fixture {
    struct log_conf log;
    struct trace_conf trace;
    struct mdkim_conf conf;
    struct cfg_section sections[MDKIM_NSECTIONS];
    struct mdkim_snap *snap;
};

static void load(struct fixture *f, const char *extra)
{
    char text[4096];
    struct cfg_error cerr;
    char err[512];
    snprintf(text, sizeof text,
             "trace = { secret_file = \"%s\"; };\n"
             "milter_dkim = {\n"
             "  keys = ( { name = \"a\"; domain = \"example.com\"; selector = \"s1\"; key_file = \"%s\"; },\n"
             "           { name = \"sub\"; domain = \"example.org\"; selector = \"s2\"; key_file = \"%s\"; },\n"
             "           { name = \"esp\"; domain = \"esp.example.net\"; selector = \"s3\"; key_file = \"%s\"; },\n"
             "           { name = \"old\"; domain = \"example.com\"; selector = \"s0\"; key_file = \"%s\";"
             " not_after = \"2001-01-01\"; } );\n"
             "  signing_table = ( { from = \"example.com\"; keys = [\"a\", \"old\"]; },\n"
             "                    { from = \"*.example.org\"; keys = [\"sub\"]; },\n"
             "                    { from = \"*.deep.example.org\"; keys = [\"sub\", \"esp\"]; },\n"
             "                    { from = \"*\"; keys = [\"esp\"]; } );\n"
             "  %s\n};\n",
             secretpath, keypath, keypath, keypath, keypath, extra);
    memset(f, 0, sizeof *f); /* cfg_defaults() frees what a field held */
    mdkim_config_sections(f->sections, &f->log, &f->trace, &f->conf);
    assert_int_equal(cfg_defaults(f->sections, MDKIM_NSECTIONS, &cerr), 0);
    if (cfg_load_string(text, "test.conf", f->sections, MDKIM_NSECTIONS, &cerr) != 0)
        fail_msg("config: %s", cerr.text);
    if (mdkim_snap_build(&f->conf, &f->trace, 0, &f->snap, err, sizeof err) != 0)
        fail_msg("snapshot: %s", err);
}

static void unload(struct fixture *f)
{
    mdkim_snap_release(f->snap);
    cfg_free(f->sections, MDKIM_NSECTIONS);
}

static void test_lookup_order(void **state)
{
    (void)state;
    struct fixture f;
    load(&f, "");
    assert_string_equal(mdkim_snap_lookup(f.snap, "example.com")->pattern, "example.com");
    assert_string_equal(mdkim_snap_lookup(f.snap, "x.example.org")->pattern, "*.example.org");
    assert_string_equal(mdkim_snap_lookup(f.snap, "a.deep.example.org")->pattern, "*.deep.example.org");
    assert_string_equal(mdkim_snap_lookup(f.snap, "example.org")->pattern, "*"); /* *.x is subdomains only */
    assert_string_equal(mdkim_snap_lookup(f.snap, "sub.example.com")->pattern, "*");
    unload(&f);
}

static void test_alignment(void **state)
{
    (void)state;
    assert_true(mdkim_domain_aligned("example.com", "example.com"));
    assert_true(mdkim_domain_aligned("news.example.com", "example.com"));
    assert_true(mdkim_domain_aligned("example.com", "mail.example.com"));
    assert_false(mdkim_domain_aligned("badexample.com", "example.com"));
    assert_false(mdkim_domain_aligned("example.com", "example.net"));
}

static void test_dates(void **state)
{
    (void)state;
    assert_int_equal(mdkim_parse_date("1970-01-02"), 86400);
    assert_int_equal(mdkim_parse_date("2001-09-09T01:46:40Z"), 1000000000);
    assert_int_equal(mdkim_parse_date("2001-13-01"), -1);
    assert_int_equal(mdkim_parse_date("yesterday"), -1);
}

static int decide(struct fixture *f, const char *const *hdrs, int trusted, struct mdkim_msg *m)
{
    mdkim_msg_init(m, f->snap);
    for (; *hdrs; hdrs++)
        mdkim_msg_header_raw(m, *hdrs, strlen(*hdrs));
    return mdkim_msg_eoh(m, trusted, 1700000000);
}

static void test_key_choice_and_skips(void **state)
{
    (void)state;
    struct fixture f;
    struct mdkim_msg m;
    load(&f, "");
    const char *own[] = { "From: a@example.com", NULL };
    assert_int_equal(decide(&f, own, 1, &m), 1);
    assert_int_equal(m.nsel, 1); /* "old" expired in 2001 */
    assert_string_equal(f.snap->keys[m.sel[0]].name, "a");
    mdkim_msg_free(&m);
    const char *deep[] = { "From: x@a.deep.example.org", NULL };
    assert_int_equal(decide(&f, deep, 1, &m), 1);
    assert_int_equal(m.nsel, 1); /* esp does not align and is not marked unaligned */
    mdkim_msg_free(&m);
    const char *other[] = { "From: x@unknown.example", NULL };
    assert_int_equal(decide(&f, other, 1, &m), 0);
    assert_int_equal(m.skip, MDKIM_SKIP_NO_KEY); /* the catch-all only has an unaligned key */
    mdkim_msg_free(&m);
    assert_int_equal(decide(&f, own, 0, &m), 0);
    assert_int_equal(m.skip, MDKIM_SKIP_UNTRUSTED);
    mdkim_msg_free(&m);
    const char *none[] = { "To: a@example.com", NULL };
    assert_int_equal(decide(&f, none, 1, &m), 0);
    assert_int_equal(m.skip, MDKIM_SKIP_NO_FROM);
    mdkim_msg_free(&m);
    const char *two[] = { "From: a@example.com", "from: b@example.com", NULL };
    assert_int_equal(decide(&f, two, 1, &m), 0);
    assert_int_equal(m.skip, MDKIM_SKIP_MULTI_FROM);
    mdkim_msg_free(&m);
    unload(&f);
}

static void test_oversigned_names_and_trace(void **state)
{
    (void)state;
    struct fixture f;
    struct mdkim_msg m;
    struct mdkim_out out;
    load(&f, "trace_header = true; headers = [\"From\", \"Subject\", \"To\"]; oversign = [\"From\", \"Reply-To\"];");
    const char *h[] = { "From: a@example.com", "Subject: one", "Subject: two", "X-Postflow-Trace: forged", NULL };
    assert_int_equal(decide(&f, h, 1, &m), 1);
    mdkim_msg_body(&m, "hello\r\n", 7);
    mdkim_out_init(&out);
    assert_int_equal(mdkim_msg_eom(&m, 1700000000, "QID1", &out), 0);
    assert_int_equal(out.nfields, 2);
    assert_int_equal(out.drop_existing_trace, 1);
    const char *sig = out.fields[0].data;
    assert_int_equal(strncmp(sig, "DKIM-Signature:", 15), 0);
    assert_int_equal(strncmp(out.fields[1].data, "X-Postflow-Trace: v=1; k=1; q=QID1;", 35), 0);
    char *flat = strdup(sig), *w = flat;
    for (const char *r = sig; *r; r++)
        if (*r != '\r' && *r != '\n' && *r != '\t')
            *w++ = *r;
    *w = '\0';
    assert_non_null(strstr(flat, "h=From:From:Subject:Subject:Reply-To:X-Postflow-Trace:X-Postflow-Trace;"));
    free(flat);
    mdkim_out_free(&out);
    mdkim_msg_free(&m);
    unload(&f);
}

static void test_header_limits(void **state)
{
    (void)state;
    struct fixture f;
    struct mdkim_msg m;
    load(&f, "max_headers = 16;");
    mdkim_msg_init(&m, f.snap);
    mdkim_msg_header_raw(&m, "From: a@example.com", 19);
    for (int i = 0; i < 20; i++)
        mdkim_msg_header(&m, "X-Many", " x");
    assert_int_equal(mdkim_msg_eoh(&m, 1, 1700000000), 0);
    assert_int_equal(m.skip, MDKIM_SKIP_HEADER_LIMIT);
    mdkim_msg_free(&m);
    unload(&f);
}

static void test_lf_folds_become_crlf(void **state)
{
    (void)state;
    struct fixture f;
    struct mdkim_msg m;
    load(&f, "");
    mdkim_msg_init(&m, f.snap);
    mdkim_msg_header(&m, "Subject", " a\n\tb");
    assert_int_equal(m.hlen[0], strlen("Subject: a\r\n\tb"));
    assert_memory_equal(m.hbuf.data, "Subject: a\r\n\tb", m.hlen[0]);
    mdkim_msg_free(&m);
    unload(&f);
}

static void test_bad_configs_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "milter_dkim = { keys = ( { name = \"a\"; domain = \"example.com\"; selector = \"s\"; key_file = \"/nonexistent\"; } ); };",
        "milter_dkim = { signing_table = ( { from = \"example.com\"; keys = [\"missing\"]; } ); };",
        "milter_dkim = { headers = [\"To\"]; };",
        "milter_dkim = { trusted_networks = [\"300.1.1.1/8\"]; };",
        "milter_dkim = { trace_header = true; };",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct log_conf log;
        struct trace_conf trace;
        struct mdkim_conf conf;
        struct cfg_section s[MDKIM_NSECTIONS];
        struct cfg_error cerr;
        struct mdkim_snap *snap = NULL;
        char err[512] = "";
        memset(&log, 0, sizeof log);
        memset(&trace, 0, sizeof trace);
        memset(&conf, 0, sizeof conf);
        mdkim_config_sections(s, &log, &trace, &conf);
        assert_int_equal(cfg_defaults(s, MDKIM_NSECTIONS, &cerr), 0);
        assert_int_equal(cfg_load_string(bad[i], "bad.conf", s, MDKIM_NSECTIONS, &cerr), 0);
        assert_int_equal(mdkim_snap_build(&conf, &trace, 0, &snap, err, sizeof err), -1);
        assert_null(snap);
        assert_true(strlen(err) > 0);
        cfg_free(s, MDKIM_NSECTIONS);
    }
}

/* A key file that cannot be used: tolerated at start, then each message gets on_error. */
static void test_broken_key_gives_on_error(void **state)
{
    (void)state;
    for (int tempfail = 0; tempfail <= 1; tempfail++) {
        char text[2048];
        struct log_conf log;
        struct trace_conf trace;
        struct mdkim_conf conf;
        struct cfg_section s[MDKIM_NSECTIONS];
        struct cfg_error cerr;
        struct mdkim_snap *snap = NULL;
        struct mdkim_msg m;
        char err[512];
        memset(&log, 0, sizeof log);
        memset(&trace, 0, sizeof trace);
        memset(&conf, 0, sizeof conf);
        snprintf(
            text, sizeof text,
            "milter_dkim = { on_error = \"%s\";\n"
            "  keys = ( { name = \"good\"; domain = \"example.com\"; selector = \"a\"; key_file = \"%s\"; },\n"
            "           { name = \"gone\"; domain = \"example.com\"; selector = \"b\"; key_file = \"/nonexistent/b.pem\"; } );\n"
            "  signing_table = ( { from = \"example.com\"; keys = [\"good\", \"gone\"]; },\n"
            "                    { from = \"*.example.com\"; keys = [\"gone\"]; } ); };\n",
            tempfail ? "tempfail" : "accept", keypath);
        mdkim_config_sections(s, &log, &trace, &conf);
        assert_int_equal(cfg_defaults(s, MDKIM_NSECTIONS, &cerr), 0);
        assert_int_equal(cfg_load_string(text, "t.conf", s, MDKIM_NSECTIONS, &cerr), 0);
        assert_int_equal(mdkim_snap_build(&conf, &trace, 0, &snap, err, sizeof err), -1); /* -n, reload */
        if (mdkim_snap_build(&conf, &trace, MDKIM_SNAP_TOLERATE_KEY_ERRORS, &snap, err, sizeof err) != 0)
            fail_msg("tolerant build: %s", err);
        assert_non_null(snap->keys[1].error);

        const char *both[] = { "From: a@example.com", NULL };
        mdkim_msg_init(&m, snap);
        mdkim_msg_header_raw(&m, both[0], strlen(both[0]));
        int r = mdkim_msg_eoh(&m, 1, 1700000000);
        if (tempfail) {
            assert_int_equal(r, -1); /* every signature or none */
            assert_non_null(strstr(m.err.text, "nonexistent"));
        } else {
            assert_int_equal(r, 1); /* signed with the good key, the missing one noted */
            assert_int_equal(m.nsel, 1);
            assert_non_null(strstr(m.note, "gone"));
        }
        mdkim_msg_free(&m);
        const char *only[] = { "From: a@sub.example.com", NULL };
        mdkim_msg_init(&m, snap);
        mdkim_msg_header_raw(&m, only[0], strlen(only[0]));
        assert_int_equal(mdkim_msg_eoh(&m, 1, 1700000000), -1);
        mdkim_msg_free(&m);
        mdkim_snap_release(snap);
        cfg_free(s, MDKIM_NSECTIONS);
    }
}

static void test_netlist(void **state)
{
    (void)state;
    char *items[] = { "192.0.2.0/24", "2001:db8::/32", "10.1.2.3" };
    struct netlist nl;
    char err[128];
    assert_int_equal(netlist_parse(&nl, items, 3, err, sizeof err), 0);
    assert_true(netlist_match_text(&nl, "192.0.2.200"));
    assert_false(netlist_match_text(&nl, "192.0.3.1"));
    assert_true(netlist_match_text(&nl, "::ffff:192.0.2.1"));
    assert_true(netlist_match_text(&nl, "2001:db8:1::5"));
    assert_true(netlist_match_text(&nl, "10.1.2.3"));
    assert_false(netlist_match_text(&nl, "10.1.2.4"));
    assert_false(netlist_match_text(&nl, "not an address"));
    netlist_free(&nl);
    char *bad[] = { "192.0.2.0/33" };
    assert_int_equal(netlist_parse(&nl, bad, 1, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_order),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_key_choice_and_skips),
        cmocka_unit_test(test_oversigned_names_and_trace),
        cmocka_unit_test(test_header_limits),
        cmocka_unit_test(test_lf_folds_become_crlf),
        cmocka_unit_test(test_bad_configs_are_refused),
        cmocka_unit_test(test_broken_key_gives_on_error),
        cmocka_unit_test(test_netlist),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
