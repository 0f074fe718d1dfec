/*
 * tap_text.c - bounded scanners for log lines: timestamps, reply codes,
 * SMTP commands (see tap_text.h).
 */
#include "tap_text.h"

#include <string.h>
#include <strings.h>
#include <time.h>

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* n digits at p as a number, or -1. */
static int digits(const char *p, size_t avail, size_t n)
{
    int v = 0;
    if (avail < n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

long long tap_time_utc(int year, int mon, int day, int hh, int mm, int ss)
{
    /* days from civil (proleptic Gregorian), H. Hinnant's public algorithm */
    long long y = year - (mon <= 2);
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = era * 146097 + doe - 719468;
    return days * 86400 + hh * 3600 + mm * 60 + ss;
}

static int time_ok(int mon, int day, int hh, int mm, int ss)
{
    return mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && hh >= 0 && hh <= 23 && mm >= 0 && mm <= 59 && ss >= 0 &&
           ss <= 60;
}

/* ":MM:SS" after HH at p; returns bytes used (8 with HH) or 0. */
static size_t clock_at(const char *p, size_t n, int *hh, int *mm, int *ss)
{
    if (n < 8 || p[2] != ':' || p[5] != ':')
        return 0;
    *hh = digits(p, n, 2);
    *mm = digits(p + 3, n - 3, 2);
    *ss = digits(p + 6, n - 6, 2);
    if (*hh < 0 || *mm < 0 || *ss < 0)
        return 0;
    size_t i = 8;
    if (i < n && p[i] == '.') { /* fraction: dropped, seconds resolution */
        size_t j = i + 1;
        while (j < n && j - i <= 9 && is_digit(p[j]))
            j++;
        if (j > i + 1)
            i = j;
    }
    return i;
}

size_t tap_time_bsd(const char *p, size_t n, long long ref, long long *out)
{
    static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    if (n < 15 || p[3] != ' ')
        return 0;
    int mon = 0;
    for (int m = 0; m < 12; m++)
        if (lower(p[0]) == months[m * 3] && lower(p[1]) == months[m * 3 + 1] && lower(p[2]) == months[m * 3 + 2])
            mon = m + 1;
    if (mon == 0)
        return 0;
    int day = p[4] == ' ' ? digits(p + 5, n - 5, 1) : digits(p + 4, n - 4, 2);
    if (day < 0 || p[6] != ' ')
        return 0;
    int hh, mm, ss;
    size_t used = clock_at(p + 7, n - 7, &hh, &mm, &ss);
    if (used == 0 || !time_ok(mon, day, hh, mm, ss))
        return 0;
    time_t r = (time_t)ref;
    struct tm tm;
    if (gmtime_r(&r, &tm) == NULL)
        return 0;
    int year = tm.tm_year + 1900;
    long long t = tap_time_utc(year, mon, day, hh, mm, ss);
    if (t > ref + 2 * 86400) /* "Dec 31" read on Jan 1: last year */
        t = tap_time_utc(year - 1, mon, day, hh, mm, ss);
    *out = t;
    return 7 + used;
}

size_t tap_time_iso(const char *p, size_t n, long long *out)
{
    if (n < 19 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != ' '))
        return 0;
    int year = digits(p, n, 4), mon = digits(p + 5, n - 5, 2), day = digits(p + 8, n - 8, 2);
    int hh, mm, ss;
    size_t used = clock_at(p + 11, n - 11, &hh, &mm, &ss);
    if (year < 1970 || mon < 0 || day < 0 || used == 0 || !time_ok(mon, day, hh, mm, ss))
        return 0;
    size_t i = 11 + used;
    long long off = 0;
    if (i < n && (p[i] == 'Z' || p[i] == 'z')) {
        i++;
    } else if (i < n && (p[i] == '+' || p[i] == '-')) {
        /* RFC 3339 "+01:00" */
        int oh = digits(p + i + 1, n - i - 1, 2);
        int om = (i + 6 <= n && p[i + 3] == ':') ? digits(p + i + 4, n - i - 4, 2) : -1;
        if (oh >= 0 && om >= 0) {
            off = (oh * 3600LL + om * 60LL) * (p[i] == '-' ? -1 : 1);
            i += 6;
        }
    } else if (i + 5 < n && p[i] == ' ' && (p[i + 1] == '+' || p[i + 1] == '-')) {
        /* Exim log_timezone " +0100" */
        int oh = digits(p + i + 2, n - i - 2, 2), om = digits(p + i + 4, n - i - 4, 2);
        if (oh >= 0 && om >= 0 && (i + 6 == n || p[i + 6] == ' ')) {
            off = (oh * 3600LL + om * 60LL) * (p[i + 1] == '-' ? -1 : 1);
            i += 6;
        }
    }
    *out = tap_time_utc(year, mon, day, hh, mm, ss) - off;
    return i;
}

/* A reply line start at p: three digits [2-5]xx then '-' or ' ' (or the end). */
static int code_at(const char *p, size_t avail, char *sep)
{
    if (avail < 3 || p[0] < '2' || p[0] > '5' || !is_digit(p[1]) || !is_digit(p[2]))
        return 0;
    if (avail == 3) {
        *sep = ' ';
        return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    }
    if (p[3] != '-' && p[3] != ' ')
        return 0;
    *sep = p[3];
    return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

/* The enhanced code "c.d.e" at p (class digit 2/4/5, 1-3 and 1-3 digits). */
static size_t enhanced_at(const char *p, size_t avail)
{
    if (avail < 5 || (p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
        return 0;
    size_t i = 2, k = 0;
    while (i < avail && is_digit(p[i]) && k < 3) {
        i++;
        k++;
    }
    if (k == 0 || i >= avail || p[i] != '.')
        return 0;
    i++;
    k = 0;
    while (i < avail && is_digit(p[i]) && k < 3) {
        i++;
        k++;
    }
    if (k == 0 || (i < avail && (is_digit(p[i]) || p[i] == '.')))
        return 0;
    return i;
}

void tap_reply_code(const char *text, size_t n, int *code, struct tap_str *dsn)
{
    char sep = ' ';
    size_t pos = 0;
    *code = 0;
    dsn->p = NULL;
    dsn->n = 0;
    int c = code_at(text, n, &sep);
    if (c == 0)
        return;
    /* Continuation lines follow a '-' line; they start after a space (Postfix
     * joins with spaces) or after Exim's "\n" escape.  The last line (with a
     * space after its code) is the one whose code counts (RFC 5321 §4.2.1;
     * Postfix does the same). */
    for (;;) {
        *code = c;
        size_t e = enhanced_at(text + pos + 4, pos + 4 <= n ? n - pos - 4 : 0);
        if (e) {
            dsn->p = text + pos + 4;
            dsn->n = e;
        } else {
            dsn->p = NULL;
            dsn->n = 0;
        }
        if (sep != '-')
            return;
        size_t next = 0;
        for (size_t i = pos + 4; i + 3 <= n; i++) {
            size_t start;
            if (text[i] == ' ')
                start = i + 1;
            else if (text[i] == '\\' && i + 1 < n && text[i + 1] == 'n')
                start = i + 2;
            else
                continue;
            char s2;
            int c2 = code_at(text + start, n - start, &s2);
            /* a continuation line repeats the class digit of the first */
            if (c2 != 0 && c2 / 100 == c / 100) {
                next = start;
                c = c2;
                sep = s2;
                break;
            }
        }
        if (next == 0)
            return;
        pos = next;
    }
}

const char *tap_find(const char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    if (k == 0 || k > n)
        return NULL;
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(p + i, needle, k) == 0)
            return p + i;
    return NULL;
}

const char *tap_find_last(const char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    if (k == 0 || k > n)
        return NULL;
    for (size_t i = n - k + 1; i-- > 0;)
        if (strncasecmp(p + i, needle, k) == 0)
            return p + i;
    return NULL;
}

static int starts(const char *p, size_t n, const char *w)
{
    size_t k = strlen(w);
    return n >= k && strncasecmp(p, w, k) == 0;
}

const char *tap_command_name(const char *p, size_t n)
{
    while (n > 0 && *p == ' ') {
        p++;
        n--;
    }
    if (starts(p, n, "pipelined ")) {
        p += 10;
        n -= 10;
    }
    if (starts(p, n, "end of data") || starts(p, n, "end of DATA"))
        return "DATA";
    if (starts(p, n, "DATA") || starts(p, n, "BDAT"))
        return "DATA";
    if (starts(p, n, "RCPT"))
        return "RCPT";
    if (starts(p, n, "MAIL"))
        return "MAIL";
    if (starts(p, n, "EHLO") || starts(p, n, "HELO") || starts(p, n, "LHLO"))
        return "EHLO";
    if (starts(p, n, "STARTTLS"))
        return "STARTTLS";
    if (starts(p, n, "AUTH"))
        return "AUTH";
    if (starts(p, n, "RSET"))
        return "RSET";
    if (starts(p, n, "QUIT"))
        return "QUIT";
    if (starts(p, n, "initial connection") || starts(p, n, "initial server greeting") ||
        starts(p, n, "server greeting"))
        return "CONNECT";
    return NULL;
}

int tap_is_ip(const char *s, size_t n)
{
    if (n == 0 || n > 45)
        return 0;
    int colons = 0, dots = 0, hex = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ':')
            colons++;
        else if (c == '.')
            dots++;
        else if (is_digit(c))
            ;
        else if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
            hex++;
        else
            return 0;
    }
    if (colons >= 2)
        return 1;
    if (colons == 0 && hex == 0 && dots == 3) {
        int parts = 0;
        size_t i = 0;
        while (i < n) {
            size_t j = i;
            int v = 0;
            while (j < n && s[j] != '.') {
                v = v * 10 + (s[j] - '0');
                j++;
            }
            if (j == i || j - i > 3 || v > 255)
                return 0;
            parts++;
            i = j + 1;
            if (j == n)
                break;
            if (i == n)
                return 0;
        }
        return parts == 4;
    }
    return 0;
}

size_t tap_reply_unfold(const char *text, size_t n, char *out, size_t outsize)
{
    if (outsize == 0)
        return 0;
    char sep = ' ';
    int first = code_at(text, n, &sep);
    int more = first != 0 && sep == '-'; /* continuation lines follow only a '-' line */
    size_t o = 0, i = 0;
    while (i < n && o + 1 < outsize) {
        size_t start = 0;
        int boundary = 0;
        if (text[i] == '\\' && i + 1 < n && text[i + 1] == 'n') {
            start = i + 2;
            boundary = 1;
        } else if (text[i] == ' ') {
            start = i + 1;
            boundary = 1;
        }
        if (boundary && more) {
            char s2;
            int c2 = code_at(text + start, n - start, &s2);
            if (c2 != 0 && c2 / 100 == first / 100) {
                more = s2 == '-';
                /* a continuation line: drop "DDD-" / "DDD " and its enhanced code */
                size_t j = start + 4 <= n ? start + 4 : n;
                size_t e = enhanced_at(text + j, n - j);
                if (e)
                    j += e;
                while (j < n && text[j] == ' ')
                    j++;
                if (o > 0 && out[o - 1] != ' ')
                    out[o++] = ' ';
                i = j;
                continue;
            }
        }
        if (text[i] == '\\' && i + 1 < n && text[i + 1] == 'n') {
            if (o > 0 && out[o - 1] != ' ')
                out[o++] = ' ';
            i += 2;
            continue;
        }
        out[o++] = text[i++];
    }
    out[o] = '\0';
    return o;
}
