/*
 * log.c - syslog or stderr logging with levels filtered here (see log.h).
 *
 * A line is formatted into a stack buffer first and written with a single
 * write(2) (stderr) or syslog(3) call, so lines from milter threads never
 * interleave.  Overlong lines are cut with a visible "..." marker: logging
 * must not allocate or fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "text_safe.h"

#define LOG_LINE_MAX 2048

static const char *log_ident = "postflow";
static int log_to_stderr = 1;
/* Read by every thread, written by a reload: atomic, so a reload racing with logging is defined. */
static _Atomic int log_level = LOG_LVL_INFO;
static int log_facility = LOG_MAIL;
static int log_syslog_open;
static size_t log_untrusted_cap = LOG_PRINTABLE_MAX;

static const char *const level_choices[] = { "error", "warning", "notice", "info", "debug", NULL };
const char *const log_facility_names[] = { "mail",   "daemon", "user",   "local0", "local1", "local2",
                                           "local3", "local4", "local5", "local6", "local7", NULL };

const struct cfg_option log_conf_options[] = {
    CFG_ROW("level", CFG_ENUM, log_conf, level, "info", 0, 0, "error | warning | notice | info | debug",
            .choices = level_choices),
    CFG_ROW("facility", CFG_ENUM, log_conf, facility, "mail", 0, 0,
            "syslog facility: mail, daemon, user, local0..local7", .choices = log_facility_names),
    CFG_ROW("max_untrusted", CFG_INT, log_conf, max_untrusted, "256", 16, LOG_PRINTABLE_MAX,
            "bytes of untrusted text (addresses, headers, diagnostics) shown in one log field"),
    CFG_END
};

static const char *const level_names[] = { "error", "warning", "notice", "info", "debug" };
static const int level_priorities[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };

/* Same order as log_facility_names. */
static const int facility_values[] = {
    LOG_MAIL,   LOG_DAEMON, LOG_USER,   LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2,
    LOG_LOCAL3, LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7,
};

void log_open(const char *ident, int to_stderr)
{
    log_ident = ident;
    log_to_stderr = to_stderr;
    if (!to_stderr && !log_syslog_open) {
        openlog(ident, LOG_PID | LOG_NDELAY, log_facility);
        log_syslog_open = 1;
    }
}

int log_level_from_name(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return (int)i;
    return -1;
}

int log_configure(const struct log_conf *conf)
{
    const int nfacilities = (int)(sizeof(facility_values) / sizeof(facility_values[0]));

    if (conf->level < LOG_LVL_ERROR || conf->level > LOG_LVL_DEBUG || conf->facility < 0 ||
        conf->facility >= nfacilities)
        return -1;
    if (conf->max_untrusted > 0)
        log_untrusted_cap = (size_t)conf->max_untrusted + 4;
    log_level = conf->level;
    if (facility_values[conf->facility] != log_facility) {
        log_facility = facility_values[conf->facility];
        if (log_syslog_open) {
            closelog();
            openlog(log_ident, LOG_PID | LOG_NDELAY, log_facility);
        }
    }
    return 0;
}

void log_set_level(enum log_level level)
{
    log_level = level;
}

enum log_level log_get_level(void)
{
    return (enum log_level)log_level;
}

int log_enabled(enum log_level level)
{
    return (int)level <= log_level;
}

static void log_emit(enum log_level level, const char *qid, int with_qid, const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX];
    size_t off = 0;
    int n;

    if (!log_enabled(level))
        return;
    if (log_to_stderr) {
        struct timespec ts;
        struct tm tm;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        off = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
        n = snprintf(line + off, sizeof(line) - off, ".%03ldZ %s[%ld]: %s: ", ts.tv_nsec / 1000000L, log_ident,
                     (long)getpid(), level_names[level]);
        off += n > 0 ? (size_t)n : 0;
    }
    if (with_qid) {
        n = snprintf(line + off, sizeof(line) - off, "%s: ", qid != NULL && *qid ? qid : "NOQUEUE");
        if (n > 0)
            off += (size_t)n;
    }
    if (off < sizeof(line)) {
        n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
        if (n > 0)
            off += (size_t)n;
    }
    if (off >= sizeof(line) - 1) { /* cut, visibly */
        off = sizeof(line) - 5;
        memcpy(line + off, "...", 3);
        off += 3;
    }
    if (log_to_stderr) {
        line[off++] = '\n';
        if (write(STDERR_FILENO, line, off) < 0) {
            /* stderr gone: nowhere left to report it */
        }
    } else {
        line[off] = '\0';
        syslog(level_priorities[level], "%s", line);
    }
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_emit(level, NULL, 0, fmt, ap);
    va_end(ap);
}

void log_qid(enum log_level level, const char *qid, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_emit(level, qid, 1, fmt, ap);
    va_end(ap);
}

char *log_printable(char *out, size_t outsize, const char *in, size_t inlen)
{
    if (outsize > log_untrusted_cap)
        outsize = log_untrusted_cap;
    return text_safe(out, outsize, in, inlen);
}

void log_startup_error(const char *prog, const char *fmt, ...)
{
    char msg[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", prog, msg);
    if (!log_to_stderr)
        log_msg(LOG_LVL_ERROR, "%s", msg);
}
