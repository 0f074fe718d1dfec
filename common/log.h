/*
 * log.h - the one logging module of postflow.
 *
 * Destination: syslog (facility mail by default) or stderr when running in
 * the foreground (-f).  Level filtering happens here, never at call sites.
 * Message-related lines put the queue id first ("4F2A1C: signed d=...").
 * Untrusted text (addresses, headers, DSN fields) must go through
 * log_printable() so it is made printable and capped: a hostile peer cannot
 * forge log lines or flood the log.  Thread-safe (milter-dkim is threaded).
 */
#ifndef POSTFLOW_LOG_H
#define POSTFLOW_LOG_H

#include <stddef.h>

#include "config.h"

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARNING, LOG_LVL_NOTICE, LOG_LVL_INFO, LOG_LVL_DEBUG };

struct log_conf {
    int level;               /* enum log_level (config: "error" | "warning" | "notice" | "info" | "debug") */
    int facility;            /* index in log_facility_names (config: "mail", "daemon", "local0".."local7", ...) */
    long long max_untrusted; /* cap of log_printable() output, bytes (0: LOG_PRINTABLE_MAX) */
};

/* Option table of the `log` section (bind to a struct log_conf). */
extern const struct cfg_option log_conf_options[];

/* ident is kept by pointer: pass a string literal or argv[0]-lifetime text. */
void log_open(const char *ident, int to_stderr);
extern const char *const log_facility_names[];
/* Applies level, facility and cap; returns -1 for an out-of-range value. */
int log_configure(const struct log_conf *conf);
int log_level_from_name(const char *name); /* -1 when unknown */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * A start-up error, said once: "prog: message" on stderr, and the same as an
 * error in the log only when the log is not stderr (syslog), so a person at a
 * terminal reads it once and syslog still has it.
 */
void log_startup_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with "QUEUEID: " first; qid may be NULL ("NOQUEUE"). */
void log_qid(enum log_level level, const char *qid, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(...)   log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_notice(...)  log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/*
 * Writes a printable, capped rendering of untrusted bytes into out (always
 * NUL-terminated), by text_safe()'s rule (text_safe.h: printable ASCII
 * kept, backslash \\, every other byte \xNN, "..." when cut), within
 * the smaller of outsize and the configured max_untrusted.  Returns out.
 * Use a buffer of LOG_PRINTABLE_MAX bytes.
 */
#define LOG_PRINTABLE_MAX 1024
char *log_printable(char *out, size_t outsize, const char *in, size_t inlen);

#endif
