/*
 * test_reply_rules.c - unit tests of common/reply_rules.c: the rule-file
 * format, "FILE:LINE: what" errors for broken files, overriding the defaults
 * from configuration (same name, drop, replace, configured rules first), and
 * that the compiled-in default is conf/bounce-rules.conf byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "reply_class.h"
#include "reply_rules.h"

#define S(lit) lit, sizeof(lit) - 1

/* Writes text to a fresh temporary file; the caller unlinks it. */
static void temp_file(char *path, size_t size, const char *text)
{
    snprintf(path, size, "/tmp/test_reply_rules.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static struct reply_verdict classify(const struct reply_rules *rules, const char *status, const char *text)
{
    struct reply_input in = { .status = status, .text = text, .text_len = strlen(text) };
    struct reply_verdict v;
    reply_classify(rules, &in, &v);
    return v;
}

static void the_compiled_in_default_is_the_shipped_conf_file(void **state)
{
    FILE *fp = fopen("conf/bounce-rules.conf", "rb");
    assert_non_null(fp);
    static char conf[REPLY_RULES_FILE_MAX];
    size_t n = fread(conf, 1, sizeof(conf), fp);
    fclose(fp);
    if (n != strlen(reply_rules_default_text) || memcmp(conf, reply_rules_default_text, n) != 0)
        fail_msg(
            "common/reply_rules_default.c is stale: run sh scripts/gen-reply-rules.sh > common/reply_rules_default.c");
    char err[256] = "";
    struct reply_rules *r = reply_rules_default(err, sizeof(err));
    assert_non_null(r);
    assert_true(r->n > 40);
    reply_rules_free(r);
}

static void a_rule_line_sets_every_field(void **state)
{
    struct reply_rules *r = reply_rules_new();
    char err[256] = "";
    assert_int_equal(
        reply_rules_load_text(
            r, "t.conf",
            S("# comment\n\n  x-1  gmail  4.7.28  ratelimited  soft  our_fault,limited=dkim_domain,weak  /dkim (domain)/  \n"
              "x-2 * 550 userunknown auto - /^/\r\n"),
            err, sizeof(err)),
        0);
    assert_int_equal(r->n, 2);
    assert_string_equal(r->v[0].name, "x-1");
    assert_string_equal(r->v[0].provider, "gmail");
    assert_string_equal(r->v[0].status, "4.7.28");
    assert_string_equal(r->v[0].category, "ratelimited");
    assert_int_equal(r->v[0].cls, REPLY_CLASS_SOFT);
    assert_true(r->v[0].our_fault && r->v[0].weak);
    assert_string_equal(r->v[0].limited, "dkim_domain");
    assert_string_equal(r->v[0].pattern, "dkim (domain)");
    assert_int_equal(r->v[1].basic, 550);
    assert_int_equal(r->v[1].cls, REPLY_RULE_CLASS_AUTO);
    reply_rules_free(r);
}

static void error_is(const char *text, const char *want)
{
    struct reply_rules *r = reply_rules_new();
    char err[256] = "";
    assert_int_equal(reply_rules_load_text(r, "my.conf", text, strlen(text), err, sizeof(err)), -1);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("got \"%s\", want \"%s...\"", err, want);
    assert_int_equal(r->n, 0); /* nothing of a broken file is kept */
    reply_rules_free(r);
}

static void broken_rule_files_say_file_and_line(void **state)
{
    error_is("ok * * blocked soft - /x/\n# c\nbad * * blocked soft - /(unclosed/\n",
             "my.conf:3: bad pattern at offset");
    error_is("r * * nosuchcategory soft - /x/\n", "my.conf:1: unknown category \"nosuchcategory\"");
    error_is("\nr * * blocked sometimes - /x/\n", "my.conf:2: bad class \"sometimes\"");
    error_is("r * * blocked soft limited=planet /x/\n", "my.conf:1: bad flag \"limited=planet\"");
    error_is("r * 6.1.1 blocked soft - /x/\n", "my.conf:1: bad status \"6.1.1\"");
    error_is("r * 5.1.1.1 blocked soft - /x/\n", "my.conf:1: bad status");
    error_is("r * * blocked soft -\n", "my.conf:1: the pattern must be written /like this/");
    error_is("r * * blocked\n", "my.conf:1: missing class");
    error_is("r * * blocked soft - //\n", "my.conf:1: empty pattern");
    error_is("r * * blocked soft - /a\x01/\n", "my.conf:1: control or non-ASCII byte");
    error_is("r!x * * blocked soft - /x/\n", "my.conf:1: bad rule name");
    error_is("replace now\n", "my.conf:1: \"replace\" takes no argument");
    error_is("a * * blocked soft - /x/\na * * spamdetected soft - /y/\n", "my.conf: rule name \"a\" used twice");
}

static void a_missing_file_is_an_error_with_its_name(void **state)
{
    struct reply_rules *r = reply_rules_new();
    char err[256] = "";
    assert_int_equal(reply_rules_load_file(r, "/nonexistent/rules.conf", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/rules.conf:0: cannot open"));
    reply_rules_free(r);
}

static void configured_rules_extend_and_override_the_defaults(void **state)
{
    char err[256] = "", path[64];
    struct reply_rules *r = reply_rules_default(err, sizeof(err));
    assert_non_null(r);
    size_t n = r->n;
    struct reply_verdict v = classify(r, "5.2.2", "552 5.2.2 mailbox full");
    assert_string_equal(v.rule, "mailbox-full");
    /* same name replaces in place; a new rule is tried before the defaults; drop removes */
    temp_file(path, sizeof(path),
              "# site rules\n"
              "mailbox-full * * mailboxfull hard - /mailbox full/\n"
              "site-acme * * blocked soft - /acme-reject/\n"
              "drop spam\n");
    assert_int_equal(reply_rules_load_file(r, path, err, sizeof(err)), 0);
    unlink(path);
    assert_int_equal(r->n, n); /* +1 new, -1 dropped */
    assert_string_equal(r->v[0].name, "site-acme");
    v = classify(r, "5.2.2", "552 5.2.2 mailbox full");
    assert_int_equal(v.cls, REPLY_CLASS_HARD);
    v = classify(r, "5.1.1", "550 5.1.1 acme-reject: user unknown");
    assert_string_equal(v.rule, "site-acme");
    v = classify(r, "5.7.1", "550 5.7.1 looks like spam");
    assert_string_not_equal(v.rule, "spam");
    /* a broken file changes nothing */
    temp_file(path, sizeof(path), "replace\nz * * blocked soft - /[/\n");
    assert_int_equal(reply_rules_load_file(r, path, err, sizeof(err)), -1);
    unlink(path);
    assert_int_equal(r->n, n);
    reply_rules_free(r);
}

static void replace_drops_the_defaults(void **state)
{
    char err[256] = "", path[64];
    struct reply_rules *r = reply_rules_default(err, sizeof(err));
    temp_file(path, sizeof(path), "replace\nonly * * spamdetected soft - /zzz/\n");
    assert_int_equal(reply_rules_load_file(r, path, err, sizeof(err)), 0);
    unlink(path);
    assert_int_equal(r->n, 1);
    struct reply_verdict v = classify(r, "5.2.2", "552 5.2.2 mailbox full");
    assert_string_equal(v.why, "status:5.2.2"); /* no text rules left; the status table stays */
    v = classify(r, "5.2.2", "zzz");
    assert_string_equal(v.rule, "only");
    reply_rules_free(r);
}

static void provider_rules_are_tried_first_and_only_for_their_provider(void **state)
{
    struct reply_rules *r = reply_rules_new();
    char err[256] = "";
    assert_int_equal(reply_rules_load_text(r, "t",
                                           S("any * * blocked soft - /limit/\n"
                                             "gm gmail * ratelimited soft - /limit/\n"),
                                           err, sizeof(err)),
                     0);
    struct reply_input in = { .status = "4.7.0", .text = "limit", .text_len = 5, .provider = "gmail" };
    struct reply_verdict v;
    reply_classify(r, &in, &v);
    assert_string_equal(v.rule, "gm");
    in.provider = "yahoo";
    reply_classify(r, &in, &v);
    assert_string_equal(v.rule, "any");
    reply_rules_free(r);
}

static void status_scopes_match_whole_components(void **state)
{
    struct reply_rules *r = reply_rules_new();
    char err[256] = "";
    assert_int_equal(reply_rules_load_text(r, "t",
                                           S("five * 5.7.5 blocked soft - /x/\n"
                                             "class4 * 4 ratelimited soft - /x/\n"),
                                           err, sizeof(err)),
                     0);
    assert_string_equal(classify(r, "5.7.5", "x").rule, "five");
    assert_string_equal(classify(r, "5.7.515", "x").rule, "status");
    assert_string_equal(classify(r, "4.2.2", "x").rule, "class4");
    reply_rules_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_compiled_in_default_is_the_shipped_conf_file),
        cmocka_unit_test(a_rule_line_sets_every_field),
        cmocka_unit_test(broken_rule_files_say_file_and_line),
        cmocka_unit_test(a_missing_file_is_an_error_with_its_name),
        cmocka_unit_test(configured_rules_extend_and_override_the_defaults),
        cmocka_unit_test(replace_drops_the_defaults),
        cmocka_unit_test(provider_rules_are_tried_first_and_only_for_their_provider),
        cmocka_unit_test(status_scopes_match_whole_components),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
