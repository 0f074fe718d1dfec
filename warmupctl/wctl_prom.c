/*
 * NAME
 *   wctl_prom.c - Prometheus text format lines (see wctl_prom.h).
 */
#include "wctl_prom.h"

#include <math.h>
#include <string.h>

static int name_char(char c, int first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':')
        return 1;
    return !first && c >= '0' && c <= '9';
}

int wctl_prom_name_ok(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return 0;
    for (size_t i = 0; name[i] != '\0'; i++)
        if (!name_char(name[i], i == 0))
            return 0;
    return 1;
}

int wctl_prom_sanitize(const char *in, char *out, size_t outsize)
{
    size_t n = strlen(in);

    if (n == 0 || n >= outsize)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        out[i] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') ? c : '_';
    }
    out[n] = '\0';
    return 0;
}

static void escape(struct buf *b, const char *s, int quote)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\')
            buf_append_str(b, "\\\\");
        else if (*s == '\n')
            buf_append_str(b, "\\n");
        else if (quote && *s == '"')
            buf_append_str(b, "\\\"");
        else
            buf_append_char(b, *s);
    }
}

void wctl_prom_family(struct buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s ", name);
    escape(b, help, 0);
    buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void labels_out(struct buf *b, const char *name, const struct wprom_label *labels, size_t n)
{
    buf_append_str(b, name);
    if (n == 0) {
        buf_append_char(b, ' ');
        return;
    }
    buf_append_char(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_append_char(b, ',');
        buf_printf(b, "%s=\"", labels[i].name);
        escape(b, labels[i].value != NULL ? labels[i].value : "", 1);
        buf_append_char(b, '"');
    }
    buf_append_str(b, "} ");
}

void wctl_prom_sample_ll(struct buf *b, const char *name, const struct wprom_label *labels, size_t nlabels,
                         long long value)
{
    labels_out(b, name, labels, nlabels);
    buf_printf(b, "%lld\n", value);
}

void wctl_prom_sample_d(struct buf *b, const char *name, const struct wprom_label *labels, size_t nlabels, double value)
{
    labels_out(b, name, labels, nlabels);
    if (isnan(value))
        buf_append_str(b, "NaN\n");
    else if (isinf(value))
        buf_append_str(b, value > 0 ? "+Inf\n" : "-Inf\n");
    else
        buf_printf(b, "%.17g\n", value);
}
