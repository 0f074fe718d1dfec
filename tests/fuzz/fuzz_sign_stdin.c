/*
 * NAME
 *   fuzz_sign_stdin.c - libFuzzer target for `milter-dkim --sign`'s stream parser
 *
 * DESCRIPTION
 *   The input (after one control byte) is the message on stdin, given to
 *   sign_stream() through fmemopen(); the output goes to open_memstream().
 *   The first control bit picks one of two snapshots built once at start
 *   from a generated Ed25519 key: "plain" (relaxed/simple, a `*` rule so
 *   any From is signed, small header limits) or "trace" (simple/simple,
 *   the HMAC trace header on, so forged trace fields are dropped).
 *   Invariants, besides ASan/UBSan: the exit code is PF_EXIT_OK (on_error
 *   is accept and memory streams do not fail); with "plain" nothing read
 *   is lost or reordered (the input is a subsequence of the output: only
 *   the signature and line ends are added) and a message changed beyond
 *   final line ends starts with the DKIM-Signature field; with "trace" it
 *   starts with one of the two fields milter-dkim adds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "dkim_key.h"
#include "exitcodes.h"
#include "log.h"
#include "mdkim_config.h"
#include "mdkim_snap.h"
#include "sign_stdin.h"
#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct loaded {
    struct log_conf log;
    struct trace_conf trace;
    struct mdkim_conf conf;
    struct cfg_section sections[MDKIM_NSECTIONS];
};

/* Builds a snapshot from configuration text; aborts on failure (the target is then useless). */
static struct mdkim_snap *snap_from(const char *text)
{
    struct loaded l; /* the snapshot keeps its own copies: l is freed once it is built */
    struct cfg_error cerr;
    struct mdkim_snap *snap;
    char err[512];
    memset(&l, 0, sizeof l);
    mdkim_config_sections(l.sections, &l.log, &l.trace, &l.conf);
    if (cfg_defaults(l.sections, MDKIM_NSECTIONS, &cerr) != 0 ||
        cfg_load_string(text, "fuzz.conf", l.sections, MDKIM_NSECTIONS, &cerr) != 0) {
        fprintf(stderr, "fuzz_sign_stdin: config: %s\n", cerr.text);
        abort();
    }
    if (mdkim_snap_build(&l.conf, &l.trace, 0, &snap, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_sign_stdin: snapshot: %s\n", err);
        abort();
    }
    cfg_free(l.sections, MDKIM_NSECTIONS);
    return snap;
}

/* Key and secret in a private directory, read once into the snapshots, then removed. */
static void setup(struct mdkim_snap **plain, struct mdkim_snap **traced)
{
    char dir[] = "/tmp/fuzz-sign-XXXXXX", key[64], secret[64], text[2048];
    struct dkim_key k;
    struct dkim_err err;
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(key, sizeof key, "%s/ed.pem", dir);
    snprintf(secret, sizeof secret, "%s/secret", dir);
    if (dkim_key_generate(DKIM_ALG_ED25519_SHA256, 0, &k, &err) != 0 || dkim_key_write_pem(&k, key, &err) != 0)
        abort();
    dkim_key_free(&k);
    FILE *f = fopen(secret, "w");
    if (f == NULL)
        abort();
    fputs("0123456789abcdef0123456789abcdef\n", f);
    fclose(f);
    chmod(secret, 0600);
    snprintf(text, sizeof text,
             "milter_dkim = { max_header_bytes = 4096; max_headers = 16;\n"
             "  keys = ( { name = \"k\"; domain = \"example.com\"; selector = \"s\"; key_file = \"%s\";\n"
             "             canonicalization = \"relaxed/simple\"; unaligned = true; } );\n"
             "  signing_table = ( { from = \"*\"; keys = [\"k\"]; } ); };\n",
             key);
    *plain = snap_from(text);
    snprintf(text, sizeof text,
             "trace = { secret_file = \"%s\"; key_id = \"k1\"; };\n"
             "milter_dkim = { trace_header = true;\n"
             "  keys = ( { name = \"k\"; domain = \"example.com\"; selector = \"s\"; key_file = \"%s\";\n"
             "             canonicalization = \"simple/simple\"; } );\n"
             "  signing_table = ( { from = \"example.com\"; keys = [\"k\"]; },\n"
             "                    { from = \"*.example.com\"; keys = [\"k\"]; } ); };\n",
             secret, key);
    *traced = snap_from(text);
    unlink(key);
    unlink(secret);
    rmdir(dir);
}

/* 1 if a[0..na) is a subsequence of b[0..nb). */
static int is_subsequence(const uint8_t *a, size_t na, const char *b, size_t nb)
{
    size_t i = 0;
    for (size_t j = 0; j < nb && i < na; j++)
        if ((uint8_t)b[j] == a[i])
            i++;
    return i == na;
}

static int starts_with(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mdkim_snap *plain, *traced;
    if (plain == NULL) {
        log_open("fuzz_sign_stdin", 1);
        log_set_level(LOG_LVL_ERROR);
        setup(&plain, &traced);
    }
    if (size < 2)
        return 0;
    int use_trace = data[0] & 1;
    const uint8_t *msg = data + 1;
    size_t len = size - 1;

    FILE *in = fmemopen((void *)msg, len, "r");
    char *outbuf = NULL;
    size_t outlen = 0;
    FILE *out = open_memstream(&outbuf, &outlen);
    if (in == NULL || out == NULL)
        abort();
    int rc = sign_stream(use_trace ? traced : plain, in, out, "FUZZQID", 1764324000);
    fclose(in);
    fclose(out);
    if (rc != PF_EXIT_OK)
        abort();
    /* Unsigned mail comes back as read, plus the line end SMTP would add to a last line without one. */
    int changed = outlen < len || memcmp(outbuf, msg, len) != 0 || strspn(outbuf + len, "\r\n") != outlen - len ||
                  outlen - len > 4;
    if (!use_trace) {
        if (!is_subsequence(msg, len, outbuf, outlen))
            abort(); /* a byte read was lost or reordered */
        if (changed && !starts_with(outbuf, outlen, "DKIM-Signature:"))
            abort();
    } else if (changed && !starts_with(outbuf, outlen, "DKIM-Signature:") &&
               !starts_with(outbuf, outlen, "X-Postflow-Trace:")) {
        abort();
    }
    free(outbuf);
    return 0;
}
