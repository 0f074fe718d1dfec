/*
 * config.h - typed configuration tables over one libconfig file.
 *
 * /etc/postflow/postflow.conf holds a section (libconfig group) per program
 * plus `log` and `redis`.  Each program describes the sections it reads as
 * tables of struct cfg_option {name, type, default, min, max, doc} bound to
 * fields of its own config struct (by offsetof).  Loading:
 *   1. cfg_defaults() fills every field from the table (so the programs run
 *      without a file: `milter-dkim -d -s -k`, `bounce-proc --dry-run`);
 *   2. cfg_load_file() parses the file, checks every key of the sections the
 *      program reads against its table (unknown key, wrong type, value out of
 *      range => error "file:line: message"), and rejects unknown top-level
 *      sections (a typo in a section name must not silently disable it).
 *      Sections of other programs are skipped untouched.
 * Nested data (key tables, IP pools, rate rules) use CFG_GROUP (one group ->
 * one struct) and CFG_LIST (a list of groups -> an array of structs), each
 * with its own option table, so every level is checked the same way.
 * cfg_print() writes the effective configuration back in libconfig syntax
 * (for `--print-config`/`-n -v`).  cfg_free() releases what loading allocated.
 */
#ifndef POSTFLOW_CONFIG_H
#define POSTFLOW_CONFIG_H

#include <stddef.h>
#include <stdio.h>

enum cfg_type {
    CFG_BOOL,     /* int field, 0/1; default "true"/"false" */
    CFG_INT,      /* long long field; min/max checked; default "123" */
    CFG_STRING,   /* char * field (owned, freed by cfg_free); max = max length (0: 4096); default NULL allowed */
    CFG_ENUM,     /* int field: index in .choices (NULL-terminated); default is a choice name */
    CFG_STRLIST,  /* struct cfg_strlist field; min/max = element count bounds; default "a,b,c" or NULL */
    CFG_GROUP,    /* struct at offset, described by .sub */
    CFG_LIST,     /* struct cfg_list at offset: array of .elem_size structs, each described by .sub */
    CFG_DURATION, /* long long field, seconds; int or "90s", "5m", "2h", "1d", "1w"; min/max checked */
    CFG_SIZE,     /* long long field, bytes; int or "512", "64K", "10M", "1G"; min/max checked */
};

struct cfg_strlist {
    char **items; /* owned */
    size_t count;
};

struct cfg_list {
    void *items; /* owned array of count * elem_size bytes */
    size_t count;
};

struct cfg_option {
    const char *name;
    enum cfg_type type;
    size_t offset;             /* offsetof(struct ..., field) */
    const char *default_value; /* textual; NULL = zero/empty */
    long long min, max; /* CFG_INT range; CFG_STRING max length; CFG_STRLIST/CFG_LIST count range (max 0: unbounded) */
    const char *doc;    /* one line, printed by cfg_print and used in docs */
    const char *const *choices;   /* CFG_ENUM */
    const struct cfg_option *sub; /* CFG_GROUP, CFG_LIST: table of the inner struct, ended by {NULL} */
    size_t elem_size;             /* CFG_LIST */
    int required;                 /* inside a CFG_LIST element: key must be present */
};

/* A section of the file this program reads, bound to a struct. */
struct cfg_section {
    const char *name;                 /* "log", "redis", "milter_dkim", ... */
    const struct cfg_option *options; /* ended by an entry with name == NULL */
    void *dest;
};

#define CFG_ERROR_MAX 512
struct cfg_error {
    char text[CFG_ERROR_MAX]; /* "file:line: message" */
};

/*
 * Top-level sections any postflow program may find in the shared file.
 * Anything else at top level is an error.
 */
extern const char *const cfg_known_sections[];

/* The default file: POSTFLOW_SYSCONFDIR "/postflow/postflow.conf". */
const char *cfg_default_path(void);

/*
 * Sets every field of every section to its default.  Returns 0, or -1 with err (bad table default).
 * It frees what string/list fields already hold (so it can reset a loaded struct): the structs must
 * be zeroed before the first call (static storage, calloc or memset).
 */
int cfg_defaults(const struct cfg_section *sections, size_t nsections, struct cfg_error *err);

/*
 * Parses `path` and stores the values of `sections` (after cfg_defaults()).
 * Returns 0, or -1 with err->text as "path:line: message".
 */
int cfg_load_file(const char *path, const struct cfg_section *sections, size_t nsections, struct cfg_error *err);

/*
 * What every program does at start and on reload: cfg_defaults(), then the file.  path NULL means
 * cfg_default_path(); unless must_exist, a missing file is not an error (built-in defaults and
 * command-line options apply).  Never prints: returns 0, or -1 with err->text "file:line: message".
 */
int cfg_load_defaults_and_file(const char *path, int must_exist, const struct cfg_section *sections, size_t nsections,
                               struct cfg_error *err);

/* Same as cfg_load_file, from a string (tests; `name` stands for the file name in errors). */
int cfg_load_string(const char *text, const char *name, const struct cfg_section *sections, size_t nsections,
                    struct cfg_error *err);

/* Writes the effective configuration in libconfig syntax, with docs as comments. */
void cfg_print(FILE *out, const struct cfg_section *sections, size_t nsections);

/* Frees strings, lists and arrays allocated by cfg_defaults()/cfg_load_*(). */
void cfg_free(const struct cfg_section *sections, size_t nsections);

/*
 * One row of an option table, in the order of struct cfg_option: the key,
 * its type, the field it fills (struct st's member field), the default
 * text, min, max and the doc line; then, only where the type needs them,
 * the extras as designated initialisers:
 *
 *   CFG_ROW("level", CFG_ENUM, log_conf, level, "info", 0, 0, "error | ... | debug",
 *           .choices = level_names),
 *   CFG_ROW("keys", CFG_LIST, mdkim_conf, keys, NULL, 0, 1000, "signing keys",
 *           .sub = key_options, .elem_size = sizeof(struct mdkim_key_conf)),
 *   CFG_ROW("name", CFG_STRING, rate_rule_conf, name, NULL, 0, 64, "rule name", .required = 1),
 *
 * Every table spells its rows this way, so a row reads the same in every
 * program and  grep 'CFG_ROW("key"'  finds where a key is defined.
 */
#define CFG_ROW(key, type_, st, field, def, lo, hi, doc_, ...) \
    { \
        .name = (key), .type = (type_), .offset = offsetof(struct st, field), .default_value = (def), .min = (lo), \
        .max = (hi), .doc = (doc_), __VA_ARGS__ \
    }
#define CFG_END \
    { \
        NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL, 0, 0 \
    }

/* Parses "30s", "5m", "2h", "1d", "1w" or a plain number of seconds; -1 on error. */
long long cfg_parse_duration(const char *text);
/* Parses "512", "64K", "10M", "1G" (powers of 1024); -1 on error. */
long long cfg_parse_size(const char *text);

#endif
