/*
 * config.c - typed configuration tables over libconfig (see config.h).
 *
 * Every value goes through one of two setters: cfg_set_text() for the
 * textual defaults in the tables, cfg_set_setting() for values read from
 * the file.  Both check the same ranges, so a default outside its own range
 * is caught by the unit tests instead of at a customer's site.
 */
#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <limits.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "xalloc.h"

#define CFG_STRING_DEFAULT_MAX 4096

const char *const cfg_known_sections[] = { "log",       "redis",  "trace", "milter_dkim", "policy",
                                           "warmupctl", "bounce", "fbl",   "maillog_tap", NULL };

const char *cfg_default_path(void)
{
    return POSTFLOW_SYSCONFDIR "/postflow/postflow.conf";
}

static void cfg_errorf(struct cfg_error *err, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void cfg_errorf(struct cfg_error *err, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (err == NULL)
        return;
    if (line > 0)
        n = snprintf(err->text, sizeof(err->text), "%s:%d: ", file, line);
    else
        n = snprintf(err->text, sizeof(err->text), "%s: ", file);
    if (n < 0 || (size_t)n >= sizeof(err->text))
        return;
    va_start(ap, fmt);
    vsnprintf(err->text + n, sizeof(err->text) - (size_t)n, fmt, ap);
    va_end(ap);
}

/* ---- number parsing --------------------------------------------------- */

static long long cfg_parse_scaled(const char *text, const char *suffixes, const long long *factors)
{
    char *end;
    long long value;
    const char *s;

    if (text == NULL || *text == '\0')
        return -1;
    errno = 0;
    value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || value < 0)
        return -1;
    if (*end == '\0')
        return value;
    if (end[1] != '\0' || (s = strchr(suffixes, *end)) == NULL)
        return -1;
    if (value > LLONG_MAX / factors[s - suffixes])
        return -1;
    return value * factors[s - suffixes];
}

long long cfg_parse_duration(const char *text)
{
    static const long long factors[] = { 1, 60, 3600, 86400, 604800 };

    return cfg_parse_scaled(text, "smhdw", factors);
}

long long cfg_parse_size(const char *text)
{
    static const long long factors[] = { 1024, 1048576, 1073741824, 1024, 1048576, 1073741824 };

    return cfg_parse_scaled(text, "KMGkmg", factors);
}

/* ---- field access ------------------------------------------------------ */

#define FIELD(base, opt, type) ((type *)(void *)((char *)(base) + (opt)->offset))

static void cfg_free_table(const struct cfg_option *table, void *base);

static void cfg_strlist_clear(struct cfg_strlist *list)
{
    size_t i;

    for (i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

static void cfg_list_clear(const struct cfg_option *o, struct cfg_list *list)
{
    size_t i;

    for (i = 0; i < list->count; i++)
        cfg_free_table(o->sub, (char *)list->items + i * o->elem_size);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

static int cfg_check_range(const struct cfg_option *o, long long v, const char *file, int line, struct cfg_error *err)
{
    if (v < o->min || (o->max != 0 && v > o->max) || (o->max == 0 && o->min == 0 && v < 0)) {
        if (o->max != 0)
            cfg_errorf(err, file, line, "'%s' = %lld is out of range [%lld, %lld]", o->name, v, o->min, o->max);
        else
            cfg_errorf(err, file, line, "'%s' = %lld must be at least %lld", o->name, v, o->min);
        return -1;
    }
    return 0;
}

static int cfg_check_count(const struct cfg_option *o, size_t n, const char *file, int line, struct cfg_error *err)
{
    if ((long long)n < o->min || (o->max != 0 && (long long)n > o->max)) {
        cfg_errorf(err, file, line, "'%s' has %zu elements; allowed %lld to %lld", o->name, n, o->min,
                   o->max ? o->max : LLONG_MAX);
        return -1;
    }
    return 0;
}

static int cfg_set_string(const struct cfg_option *o, void *base, const char *value, const char *file, int line,
                          struct cfg_error *err)
{
    size_t max = o->max > 0 ? (size_t)o->max : CFG_STRING_DEFAULT_MAX;
    char **field = FIELD(base, o, char *);

    if (value != NULL && strlen(value) > max) {
        cfg_errorf(err, file, line, "'%s' is longer than %zu bytes", o->name, max);
        return -1;
    }
    free(*field);
    *field = value != NULL ? xstrdup(value) : NULL;
    return 0;
}

static int cfg_set_enum(const struct cfg_option *o, void *base, const char *value, const char *file, int line,
                        struct cfg_error *err)
{
    size_t i;
    char choices[256];
    size_t off = 0;

    for (i = 0; o->choices[i] != NULL; i++) {
        if (strcasecmp(o->choices[i], value) == 0) {
            *FIELD(base, o, int) = (int)i;
            return 0;
        }
    }
    choices[0] = '\0';
    for (i = 0; o->choices[i] != NULL && off < sizeof(choices); i++) {
        int n = snprintf(choices + off, sizeof(choices) - off, "%s%s", i ? ", " : "", o->choices[i]);
        if (n > 0)
            off += (size_t)n;
    }
    cfg_errorf(err, file, line, "'%s' = \"%s\" is not one of: %s", o->name, value, choices);
    return -1;
}

/* Applies a textual value (table defaults). */
static int cfg_set_text(const struct cfg_option *o, void *base, const char *text, const char *file,
                        struct cfg_error *err)
{
    long long v;

    switch (o->type) {
    case CFG_BOOL:
        if (text == NULL || strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
            *FIELD(base, o, int) = 0;
        else if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
            *FIELD(base, o, int) = 1;
        else {
            cfg_errorf(err, file, 0, "bad boolean default for '%s'", o->name);
            return -1;
        }
        return 0;
    case CFG_INT:
    case CFG_DURATION:
    case CFG_SIZE:
        v = text == NULL              ? 0
            : o->type == CFG_DURATION ? cfg_parse_duration(text)
            : o->type == CFG_SIZE     ? cfg_parse_size(text)
                                      : strtoll(text, NULL, 10);
        if (text != NULL && v < 0 && o->type != CFG_INT) {
            cfg_errorf(err, file, 0, "bad default \"%s\" for '%s'", text, o->name);
            return -1;
        }
        if (text != NULL && cfg_check_range(o, v, file, 0, err) < 0)
            return -1;
        *FIELD(base, o, long long) = v;
        return 0;
    case CFG_STRING: return cfg_set_string(o, base, text, file, 0, err);
    case CFG_ENUM: return cfg_set_enum(o, base, text != NULL ? text : o->choices[0], file, 0, err);
    case CFG_STRLIST: {
        struct cfg_strlist *list = FIELD(base, o, struct cfg_strlist);
        const char *p = text;

        cfg_strlist_clear(list);
        while (p != NULL && *p != '\0') {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);

            list->items = xrealloc(list->items, (list->count + 1) * sizeof(char *));
            list->items[list->count++] = xstrndup(p, len);
            p = comma ? comma + 1 : NULL;
        }
        return 0;
    }
    case CFG_GROUP: return -1; /* handled by cfg_defaults_table */
    case CFG_LIST: cfg_list_clear(o, FIELD(base, o, struct cfg_list)); return 0;
    }
    return -1;
}

static int cfg_defaults_table(const struct cfg_option *table, void *base, const char *where, struct cfg_error *err)
{
    const struct cfg_option *o;

    for (o = table; o->name != NULL; o++) {
        if (o->type == CFG_GROUP) {
            if (cfg_defaults_table(o->sub, FIELD(base, o, char), where, err) < 0)
                return -1;
        } else if (cfg_set_text(o, base, o->default_value, where, err) < 0) {
            return -1;
        }
    }
    return 0;
}

int cfg_defaults(const struct cfg_section *sections, size_t nsections, struct cfg_error *err)
{
    size_t i;

    for (i = 0; i < nsections; i++)
        if (cfg_defaults_table(sections[i].options, sections[i].dest, "defaults", err) < 0)
            return -1;
    return 0;
}

/* ---- loading from libconfig settings ----------------------------------- */

static const char *cfg_setting_file(const config_setting_t *s, const char *fallback)
{
    const char *f = config_setting_source_file(s);

    return f != NULL ? f : fallback;
}

static const char *cfg_type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a float";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    default: return "an unknown type";
    }
}

static int cfg_load_group(const config_setting_t *group, const struct cfg_option *table, void *base,
                          const char *fallback_file, struct cfg_error *err);

static int cfg_wrong_type(const struct cfg_option *o, const config_setting_t *s, const char *file, const char *expected,
                          struct cfg_error *err)
{
    cfg_errorf(err, file, config_setting_source_line(s), "'%s' must be %s, not %s", o->name, expected,
               cfg_type_name(config_setting_type(s)));
    return -1;
}

static int cfg_set_number(const struct cfg_option *o, void *base, const config_setting_t *s, const char *file,
                          struct cfg_error *err)
{
    int line = config_setting_source_line(s);
    int type = config_setting_type(s);
    long long v;

    if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
        v = config_setting_get_int64(s);
    } else if (type == CONFIG_TYPE_STRING && o->type != CFG_INT) {
        const char *text = config_setting_get_string(s);

        v = o->type == CFG_DURATION ? cfg_parse_duration(text) : cfg_parse_size(text);
        if (v < 0) {
            cfg_errorf(err, file, line, "'%s' = \"%s\" is not a valid %s", o->name, text,
                       o->type == CFG_DURATION ? "duration (e.g. 30s, 5m, 2h, 1d)" : "size (e.g. 512, 64K, 10M)");
            return -1;
        }
    } else {
        return cfg_wrong_type(o, s, file, o->type == CFG_INT ? "an integer" : "an integer or a string", err);
    }
    if (cfg_check_range(o, v, file, line, err) < 0)
        return -1;
    *FIELD(base, o, long long) = v;
    return 0;
}

static int cfg_set_strlist(const struct cfg_option *o, void *base, const config_setting_t *s, const char *file,
                           struct cfg_error *err)
{
    struct cfg_strlist *list = FIELD(base, o, struct cfg_strlist);
    int type = config_setting_type(s);
    int i, n;

    if (type == CONFIG_TYPE_STRING) { /* a single string stands for a one-element list */
        cfg_strlist_clear(list);
        list->items = xmalloc(sizeof(char *));
        list->items[0] = xstrdup(config_setting_get_string(s));
        list->count = 1;
        return cfg_check_count(o, 1, file, config_setting_source_line(s), err);
    }
    if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
        return cfg_wrong_type(o, s, file, "an array of strings", err);
    n = config_setting_length(s);
    if (cfg_check_count(o, (size_t)n, file, config_setting_source_line(s), err) < 0)
        return -1;
    cfg_strlist_clear(list);
    list->items = xcalloc((size_t)n ? (size_t)n : 1, sizeof(char *));
    for (i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *text = config_setting_get_string(e);

        if (text == NULL) {
            list->count = (size_t)i;
            return cfg_wrong_type(o, e, file, "an array of strings", err);
        }
        if (o->max > 0 && o->type == CFG_STRLIST && strlen(text) > CFG_STRING_DEFAULT_MAX) {
            list->count = (size_t)i;
            cfg_errorf(err, file, config_setting_source_line(e), "an element of '%s' is too long", o->name);
            return -1;
        }
        list->items[i] = xstrdup(text);
    }
    list->count = (size_t)n;
    return 0;
}

static int cfg_set_list(const struct cfg_option *o, void *base, const config_setting_t *s, const char *file,
                        struct cfg_error *err)
{
    struct cfg_list *list = FIELD(base, o, struct cfg_list);
    int type = config_setting_type(s);
    int i, n;

    if (type != CONFIG_TYPE_LIST)
        return cfg_wrong_type(o, s, file, "a list of groups ( {...}, {...} )", err);
    n = config_setting_length(s);
    if (cfg_check_count(o, (size_t)n, file, config_setting_source_line(s), err) < 0)
        return -1;
    cfg_list_clear(o, list);
    list->items = xcalloc((size_t)n ? (size_t)n : 1, o->elem_size);
    for (i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        void *elem = (char *)list->items + (size_t)i * o->elem_size;

        list->count = (size_t)i + 1; /* so that a failure frees what was set */
        if (config_setting_type(e) != CONFIG_TYPE_GROUP)
            return cfg_wrong_type(o, e, file, "a list of groups", err);
        if (cfg_defaults_table(o->sub, elem, file, err) < 0)
            return -1;
        if (cfg_load_group(e, o->sub, elem, file, err) < 0)
            return -1;
    }
    return 0;
}

static int cfg_set_setting(const struct cfg_option *o, void *base, const config_setting_t *s, const char *fallback_file,
                           struct cfg_error *err)
{
    const char *file = cfg_setting_file(s, fallback_file);
    int line = config_setting_source_line(s);
    int type = config_setting_type(s);

    switch (o->type) {
    case CFG_BOOL:
        if (type != CONFIG_TYPE_BOOL)
            return cfg_wrong_type(o, s, file, "true or false", err);
        *FIELD(base, o, int) = config_setting_get_bool(s) ? 1 : 0;
        return 0;
    case CFG_INT:
    case CFG_DURATION:
    case CFG_SIZE: return cfg_set_number(o, base, s, file, err);
    case CFG_STRING:
        if (type != CONFIG_TYPE_STRING)
            return cfg_wrong_type(o, s, file, "a string", err);
        return cfg_set_string(o, base, config_setting_get_string(s), file, line, err);
    case CFG_ENUM:
        if (type != CONFIG_TYPE_STRING)
            return cfg_wrong_type(o, s, file, "a string", err);
        return cfg_set_enum(o, base, config_setting_get_string(s), file, line, err);
    case CFG_STRLIST: return cfg_set_strlist(o, base, s, file, err);
    case CFG_GROUP:
        if (type != CONFIG_TYPE_GROUP)
            return cfg_wrong_type(o, s, file, "a group { ... }", err);
        return cfg_load_group(s, o->sub, FIELD(base, o, char), file, err);
    case CFG_LIST: return cfg_set_list(o, base, s, file, err);
    }
    return -1;
}

static const struct cfg_option *cfg_find(const struct cfg_option *table, const char *name)
{
    for (; table->name != NULL; table++)
        if (strcmp(table->name, name) == 0)
            return table;
    return NULL;
}

static int cfg_load_group(const config_setting_t *group, const struct cfg_option *table, void *base,
                          const char *fallback_file, struct cfg_error *err)
{
    const struct cfg_option *o;
    int i, n = config_setting_length(group);
    const char *gname = config_setting_name(group);

    for (i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);

        if ((o = cfg_find(table, name)) == NULL) {
            cfg_errorf(err, cfg_setting_file(s, fallback_file), config_setting_source_line(s), "unknown key '%s'%s%s",
                       name, gname ? " in " : "", gname ? gname : "");
            return -1;
        }
        if (cfg_set_setting(o, base, s, fallback_file, err) < 0)
            return -1;
    }
    for (o = table; o->name != NULL; o++) {
        if (o->required && config_setting_get_member(group, o->name) == NULL) {
            cfg_errorf(err, cfg_setting_file(group, fallback_file), config_setting_source_line(group),
                       "missing required key '%s'%s%s", o->name, gname ? " in " : "", gname ? gname : "");
            return -1;
        }
    }
    return 0;
}

static int cfg_load(config_t *cf, const char *name, const struct cfg_section *sections, size_t nsections,
                    struct cfg_error *err)
{
    const config_setting_t *root = config_root_setting(cf);
    int i, n = config_setting_length(root);
    size_t k;

    for (i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *sname = config_setting_name(s);
        const struct cfg_section *sec = NULL;
        const char *const *known;

        for (known = cfg_known_sections; *known != NULL; known++)
            if (strcmp(*known, sname) == 0)
                break;
        if (*known == NULL) {
            cfg_errorf(
                err, cfg_setting_file(s, name), config_setting_source_line(s),
                "unknown section '%s' (known: log, redis, trace, milter_dkim, policy, warmupctl, bounce, fbl, maillog_tap)",
                sname);
            return -1;
        }
        if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
            cfg_errorf(err, cfg_setting_file(s, name), config_setting_source_line(s),
                       "section '%s' must be a group: %s = { ... };", sname, sname);
            return -1;
        }
        for (k = 0; k < nsections; k++)
            if (strcmp(sections[k].name, sname) == 0)
                sec = &sections[k];
        if (sec == NULL)
            continue; /* another program's section */
        if (cfg_load_group(s, sec->options, sec->dest, name, err) < 0)
            return -1;
    }
    return 0;
}

static int cfg_parse_error(config_t *cf, const char *name, struct cfg_error *err)
{
    const char *file = config_error_file(cf);

    if (config_error_type(cf) == CONFIG_ERR_FILE_IO)
        cfg_errorf(err, file ? file : name, 0, "cannot read: %s", strerror(errno));
    else
        cfg_errorf(err, file ? file : name, config_error_line(cf), "%s", config_error_text(cf));
    return -1;
}

int cfg_load_file(const char *path, const struct cfg_section *sections, size_t nsections, struct cfg_error *err)
{
    config_t cf;
    int rc;

    config_init(&cf);
    if (config_read_file(&cf, path) != CONFIG_TRUE)
        rc = cfg_parse_error(&cf, path, err);
    else
        rc = cfg_load(&cf, path, sections, nsections, err);
    config_destroy(&cf);
    return rc;
}

int cfg_load_defaults_and_file(const char *path, int must_exist, const struct cfg_section *sections, size_t nsections,
                               struct cfg_error *err)
{
    const char *file = path != NULL ? path : cfg_default_path();

    if (cfg_defaults(sections, nsections, err) < 0)
        return -1;
    if (!must_exist && access(file, F_OK) < 0 && errno == ENOENT)
        return 0;
    return cfg_load_file(file, sections, nsections, err);
}

int cfg_load_string(const char *text, const char *name, const struct cfg_section *sections, size_t nsections,
                    struct cfg_error *err)
{
    config_t cf;
    int rc;

    config_init(&cf);
    if (config_read_string(&cf, text) != CONFIG_TRUE)
        rc = cfg_parse_error(&cf, name, err);
    else
        rc = cfg_load(&cf, name, sections, nsections, err);
    config_destroy(&cf);
    return rc;
}

/* ---- printing ---------------------------------------------------------- */

static void cfg_print_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(out, "\\x%02x", (unsigned char)*s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

static void cfg_print_table(FILE *out, const struct cfg_option *table, const void *base, int indent);

static void cfg_print_value(FILE *out, const struct cfg_option *o, const void *base, int indent)
{
    const void *field = (const char *)base + o->offset;
    size_t i;

    switch (o->type) {
    case CFG_BOOL: fputs(*(const int *)field ? "true" : "false", out); break;
    case CFG_INT:
    case CFG_DURATION:
    case CFG_SIZE: {
        long long v = *(const long long *)field;

        /* libconfig reads integers beyond 32 bits only with the L suffix */
        fprintf(out, v > INT32_MAX || v < INT32_MIN ? "%lldL" : "%lld", v);
        break;
    }
    case CFG_STRING:
        if (*(char *const *)field != NULL)
            cfg_print_string(out, *(char *const *)field);
        else
            fputs("\"\"", out);
        break;
    case CFG_ENUM: cfg_print_string(out, o->choices[*(const int *)field]); break;
    case CFG_STRLIST: {
        const struct cfg_strlist *l = field;

        fputc('[', out);
        for (i = 0; i < l->count; i++) {
            fputs(i ? ", " : " ", out);
            cfg_print_string(out, l->items[i]);
        }
        fputs(l->count ? " ]" : "]", out);
        break;
    }
    case CFG_GROUP:
        fputs("{\n", out);
        cfg_print_table(out, o->sub, field, indent + 2);
        fprintf(out, "%*s}", indent, "");
        break;
    case CFG_LIST: {
        const struct cfg_list *l = field;

        fputs("(", out);
        for (i = 0; i < l->count; i++) {
            fprintf(out, "%s\n%*s{\n", i ? "," : "", indent + 2, "");
            cfg_print_table(out, o->sub, (const char *)l->items + i * o->elem_size, indent + 4);
            fprintf(out, "%*s}", indent + 2, "");
        }
        fprintf(out, l->count ? "\n%*s)" : ")", indent, "");
        break;
    }
    }
}

static void cfg_print_table(FILE *out, const struct cfg_option *table, const void *base, int indent)
{
    const struct cfg_option *o;

    for (o = table; o->name != NULL; o++) {
        if (o->doc != NULL)
            fprintf(out, "%*s# %s\n", indent, "", o->doc);
        fprintf(out, "%*s%s = ", indent, "", o->name);
        cfg_print_value(out, o, base, indent);
        fputs(";\n", out);
    }
}

void cfg_print(FILE *out, const struct cfg_section *sections, size_t nsections)
{
    size_t i;

    for (i = 0; i < nsections; i++) {
        fprintf(out, "%s = {\n", sections[i].name);
        cfg_print_table(out, sections[i].options, sections[i].dest, 2);
        fputs("};\n", out);
    }
}

/* ---- freeing ------------------------------------------------------------ */

static void cfg_free_table(const struct cfg_option *table, void *base)
{
    const struct cfg_option *o;

    for (o = table; o->name != NULL; o++) {
        switch (o->type) {
        case CFG_STRING:
            free(*FIELD(base, o, char *));
            *FIELD(base, o, char *) = NULL;
            break;
        case CFG_STRLIST: cfg_strlist_clear(FIELD(base, o, struct cfg_strlist)); break;
        case CFG_GROUP: cfg_free_table(o->sub, FIELD(base, o, char)); break;
        case CFG_LIST: cfg_list_clear(o, FIELD(base, o, struct cfg_list)); break;
        default: break;
        }
    }
}

void cfg_free(const struct cfg_section *sections, size_t nsections)
{
    size_t i;

    for (i = 0; i < nsections; i++)
        cfg_free_table(sections[i].options, sections[i].dest);
}
