/*
 * NAME
 *   dkim-keygen - create a DKIM key pair and its DNS record
 *
 * SYNOPSIS
 *   dkim-keygen -d DOMAIN -s SELECTOR [-a rsa|ed25519] [-b BITS] [-o DIR]
 *
 * DESCRIPTION
 *   Writes DIR/SELECTOR.private (PKCS#8 PEM, mode 0600, never overwriting
 *   an existing file) and DIR/SELECTOR.txt, and prints the TXT record in
 *   zone-file syntax: SELECTOR._domainkey.DOMAIN. IN TXT ( "..." "..." ),
 *   the value split into strings of at most 255 bytes (RFC 1035 section
 *   3.3.14; resolvers join them).  RSA keys default to 2048 bits; under
 *   1024 is refused (RFC 8301).
 *
 * EXIT STATUS
 *   0 success, 64 usage error, 1 failure (file exists, I/O error).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "dkim_key.h"
#include "exitcodes.h"
#include "startup.h"

static const char *prog = "dkim-keygen";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s -d DOMAIN -s SELECTOR [-a rsa|ed25519] [-b BITS] [-o DIR]\n"
            "  writes DIR/SELECTOR.private (mode 0600) and DIR/SELECTOR.txt, prints the TXT record\n",
            prog);
}

static int valid_label_text(const char *s)
{
    if (*s == '\0' || strlen(s) > 253)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
              *s == '.' || *s == '_'))
            return 0;
    return 1;
}

/* The zone-file text of the record: strings of at most 255 bytes. */
static void zone_record(struct buf *out, const char *selector, const char *domain, const char *value,
                        const struct dkim_key *key)
{
    size_t len = strlen(value);
    buf_printf(out, "%s._domainkey.%s.\tIN\tTXT\t( ", selector, domain);
    for (size_t off = 0; off < len; off += 255) {
        size_t n = len - off < 255 ? len - off : 255;
        buf_printf(out, "%s\"%.*s\"", off ? "\n\t" : "", (int)n, value + off);
    }
    buf_printf(out, " )\t; %s %d bits\n", key->alg == DKIM_ALG_ED25519_SHA256 ? "ed25519" : "rsa", key->bits);
}

int main(int argc, char **argv)
{
    const char *domain = NULL, *selector = NULL, *dir = ".", *algname = "rsa";
    int bits = 2048, ch;
    static const struct option longopts[] = {
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    while ((ch = getopt_long(argc, argv, "d:s:a:b:o:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd': domain = optarg; break;
        case 's': selector = optarg; break;
        case 'a': algname = optarg; break;
        case 'b': {
            char *end;
            long v = strtol(optarg, &end, 10);
            bits = end != optarg && *end == '\0' && v > 0 && v <= 16384 ? (int)v : -1; /* -1: refused below */
            break;
        }
        case 'o': dir = optarg; break;
        case 'V': startup_print_version(prog); return PF_EXIT_OK;
        case 'h': usage(stdout); return PF_EXIT_OK;
        default: usage(stderr); return PF_EXIT_USAGE;
        }
    }
    int alg = dkim_alg_from_name(algname);
    if (domain == NULL || selector == NULL || optind != argc || alg < 0 || !valid_label_text(domain) ||
        !valid_label_text(selector)) {
        usage(stderr);
        return PF_EXIT_USAGE;
    }
    struct dkim_key key;
    struct dkim_err err;
    struct buf path, txt, record;
    int rc = PF_EXIT_FAILURE;
    buf_init(&path, 8192);
    buf_init(&txt, 16384);
    buf_init(&record, 16384);
    if (dkim_key_generate((enum dkim_alg)alg, bits, &key, &err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err.text);
        rc = bits < DKIM_RSA_MIN_BITS ? PF_EXIT_USAGE : PF_EXIT_FAILURE;
        goto out;
    }
    buf_printf(&path, "%s/%s.private", dir, selector);
    if (dkim_key_write_pem(&key, path.data, &err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err.text);
        goto out_key;
    }
    if (dkim_key_dns_record(&key, &txt, &err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err.text);
        goto out_key;
    }
    zone_record(&record, selector, domain, txt.data, &key);
    buf_reset(&path);
    buf_printf(&path, "%s/%s.txt", dir, selector);
    FILE *f = fopen(path.data, "wx");
    if (f == NULL || fputs(record.data, f) == EOF || fclose(f) != 0) {
        fprintf(stderr, "%s: %s: cannot write\n", prog, path.data);
        goto out_key;
    }
    fputs(record.data, stdout);
    fflush(stdout);
    /* stdout is the record alone (for scripts); where things went is said on stderr */
    fprintf(stderr,
            "%s: wrote the private key %s/%s.private (mode 0600) and the DNS record %s; publish the record "
            "(above) as TXT %s._domainkey.%s\n",
            prog, dir, selector, path.data, selector, domain);
    rc = PF_EXIT_OK;
out_key:
    dkim_key_free(&key);
out:
    buf_free(&path);
    buf_free(&txt);
    buf_free(&record);
    return rc;
}
