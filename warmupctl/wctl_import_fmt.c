/*
 * NAME
 *   wctl_import_fmt.c - format detection, row mapping and time parsing for
 *   suppression imports (see wctl_import_fmt.h).
 *
 * DESCRIPTION
 *   Column matching normalises a header name to lowercase letters and
 *   digits only, so "EmailAddress", "email_address" and "Email Address"
 *   are one name.  A record is a header when it names an address column;
 *   a first record whose first field holds an '@' and no known column name
 *   is SES's header-less bulk-import layout.
 */
#include "wctl_import_fmt.h"

#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const REASONS[] = { "hard", "complaint", "manual", "unsubscribe", "import", NULL };

const char *wctl_import_fmt_name(enum wimp_format fmt)
{
    switch (fmt) {
    case WIMP_POSTFLOW: return "postflow";
    case WIMP_SES: return "ses";
    case WIMP_SES_IMPORT: return "ses-import";
    case WIMP_SENDGRID: return "sendgrid";
    }
    return "?";
}

const char *wctl_import_fmt_reason_canonical(const char *s, size_t n)
{
    for (size_t i = 0; REASONS[i] != NULL; i++)
        if (strlen(REASONS[i]) == n && strncasecmp(REASONS[i], s, n) == 0)
            return REASONS[i];
    return NULL;
}

/* Lowercase alphanumerics of f into out (size 64); longer names never match. */
static void colname(const struct csv_field *f, char out[64])
{
    size_t w = 0;

    for (size_t i = 0; i < f->len && w < 63; i++) {
        char c = f->ptr[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            out[w++] = c;
    }
    out[w] = '\0';
}

static int find_col(const struct csv_record *r, const char *const *names)
{
    for (size_t i = 0; i < r->nfields; i++) {
        char n[64];
        colname(&r->f[i], n);
        for (size_t j = 0; names[j] != NULL; j++)
            if (strcmp(n, names[j]) == 0)
                return (int)i;
    }
    return -1;
}

static const char *const N_ADDRESS[] = { "address", NULL };
static const char *const N_SES_ADDR[] = { "emailaddress", NULL };
static const char *const N_SG_ADDR[] = { "email", NULL };
static const char *const N_REASON[] = { "reason", NULL };
static const char *const N_TIME[] = { "time", NULL };
static const char *const N_SES_TIME[] = { "lastupdatetime", "lastupdatedtime", NULL };
static const char *const N_SG_TIME[] = { "created", "createdat", NULL };
static const char *const N_DETAIL[] = { "detail", NULL };
static const char *const N_STATUS[] = { "status", NULL };
static const char *const N_IP[] = { "ip", NULL };

int wctl_import_fmt_detect(const struct csv_record *first, struct wimp_layout *lay, const char **why)
{
    int c;

    memset(lay, 0, sizeof(*lay));
    lay->col_addr = lay->col_reason = lay->col_time = -1;
    lay->col_detail = lay->col_status = lay->col_ip = -1;
    lay->has_header = 1;
    if ((c = find_col(first, N_ADDRESS)) >= 0) {
        lay->fmt = WIMP_POSTFLOW;
        lay->col_addr = c;
        lay->col_reason = find_col(first, N_REASON);
        lay->col_time = find_col(first, N_TIME);
        lay->col_detail = find_col(first, N_DETAIL);
        return 0;
    }
    if ((c = find_col(first, N_SES_ADDR)) >= 0) {
        lay->fmt = WIMP_SES;
        lay->col_addr = c;
        lay->col_reason = find_col(first, N_REASON);
        lay->col_time = find_col(first, N_SES_TIME);
        if (lay->col_reason < 0) {
            *why = "SES header without a Reason column";
            return -1;
        }
        return 0;
    }
    if ((c = find_col(first, N_SG_ADDR)) >= 0) {
        lay->fmt = WIMP_SENDGRID;
        lay->col_addr = c;
        lay->col_reason = find_col(first, N_REASON);
        lay->col_time = find_col(first, N_SG_TIME);
        lay->col_status = find_col(first, N_STATUS);
        lay->col_ip = find_col(first, N_IP);
        return 0;
    }
    if (first->nfields >= 1 && memchr(first->f[0].ptr, '@', first->f[0].len) != NULL) {
        lay->fmt = WIMP_SES_IMPORT;
        lay->has_header = 0;
        lay->col_addr = 0;
        lay->col_reason = first->nfields >= 2 ? 1 : -1;
        return 0;
    }
    *why = "unrecognised header: expected address,reason,time,detail (postflow), "
           "EmailAddress,Reason,LastUpdateTime (SES), email,created,... (SendGrid), "
           "or header-less address,BOUNCE|COMPLAINT (SES import)";
    return -1;
}

void wctl_import_fmt_detail_copy(char *out, const char *s, size_t n)
{
    size_t w = 0;
    int cut = n > WIMP_DETAIL_MAX;
    size_t keep = cut ? WIMP_DETAIL_MAX - 3 : n;

    for (size_t i = 0; i < keep; i++) {
        unsigned char c = (unsigned char)s[i];
        out[w++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (cut) {
        memcpy(out + w, "...", 3);
        w += 3;
    }
    out[w] = '\0';
}

static const struct csv_field EMPTY = { "", 0 };

static const struct csv_field *col(const struct csv_record *r, int c)
{
    return (c >= 0 && (size_t)c < r->nfields) ? &r->f[c] : &EMPTY;
}

static int field_is(const struct csv_field *f, const char *s)
{
    return f->len == strlen(s) && strncasecmp(f->ptr, s, f->len) == 0;
}

/* The reason a row of layout `lay` carries, or NULL (bad row, *why set). */
static const char *row_reason(const struct wimp_layout *lay, const struct csv_record *rec, const char **why)
{
    const struct csv_field *reason = col(rec, lay->col_reason);
    const struct csv_field *status = col(rec, lay->col_status);
    const char *r;

    switch (lay->fmt) {
    case WIMP_POSTFLOW:
        if (reason->len == 0)
            return "import";
        if ((r = wctl_import_fmt_reason_canonical(reason->ptr, reason->len)) == NULL)
            *why = "unknown reason (want hard, complaint, manual, unsubscribe or import)";
        return r;
    case WIMP_SES:
    case WIMP_SES_IMPORT:
        if (field_is(reason, "BOUNCE"))
            return "hard";
        if (field_is(reason, "COMPLAINT"))
            return "complaint";
        *why = "SES reason must be BOUNCE or COMPLAINT";
        return NULL;
    case WIMP_SENDGRID:
        if (lay->col_ip >= 0)
            return "complaint"; /* spam reports */
        if (lay->col_status >= 0)
            return (status->len > 0 && status->ptr[0] == '5') ? "hard" : "import";
        if (lay->col_reason >= 0)
            return "hard";    /* invalid emails */
        return "unsubscribe"; /* global unsubscribes */
    }
    *why = "unknown format";
    return NULL;
}

static void row_detail(const struct wimp_layout *lay, const struct csv_record *rec, char *out)
{
    char tmp[3 * WIMP_DETAIL_MAX];
    size_t w = 0;
    const struct csv_field *parts[3];
    size_t np = 0;
    const char *prefix;

    switch (lay->fmt) {
    case WIMP_POSTFLOW:
        wctl_import_fmt_detail_copy(out, col(rec, lay->col_detail)->ptr, col(rec, lay->col_detail)->len);
        return;
    case WIMP_SES:
    case WIMP_SES_IMPORT:
        prefix = "ses";
        parts[np++] = col(rec, lay->col_reason);
        break;
    default:
        prefix = "sendgrid";
        parts[np++] = col(rec, lay->col_status);
        parts[np++] = col(rec, lay->col_reason);
        break;
    }
    /* "ses BOUNCE", "sendgrid 5.1.1 550 no such user": the source's own words. */
    w = strlen(prefix);
    memcpy(tmp, prefix, w);
    for (size_t i = 0; i < np; i++) {
        size_t n = parts[i]->len;
        if (n == 0)
            continue;
        if (w + 2 >= sizeof(tmp)) /* full: the rest would not fit (and the room below would underflow) */
            break;
        if (n > sizeof(tmp) - w - 2)
            n = sizeof(tmp) - w - 2;
        tmp[w++] = ' ';
        memcpy(tmp + w, parts[i]->ptr, n);
        w += n;
    }
    wctl_import_fmt_detail_copy(out, tmp, w);
}

int wctl_import_fmt_map(const struct wimp_layout *lay, const struct csv_record *rec, const char *forced_reason,
                        struct wimp_entry *e, const char **why)
{
    const struct csv_field *addr = col(rec, lay->col_addr);
    const struct csv_field *t = col(rec, lay->col_time);
    const char *reason;
    size_t i;

    for (i = 0; i < rec->nfields; i++)
        if (rec->f[i].len > 0)
            break;
    if (i == rec->nfields)
        return 0;
    if (wctl_addr_normalize(addr->ptr, addr->len, e->address, why) < 0)
        return -1;
    reason = row_reason(lay, rec, why);
    if (reason == NULL)
        return -1;
    e->reason = forced_reason != NULL ? forced_reason : reason;
    if (wctl_import_fmt_parse_time(t->ptr, t->len, &e->time) < 0) {
        *why = "unparseable time (want Unix seconds or ISO 8601)";
        return -1;
    }
    row_detail(lay, rec, e->detail);
    return 1;
}

/* Reads exactly n digits at s[*i]; -1 if not digits. */
static long digits(const char *s, size_t len, size_t *i, int n)
{
    long v = 0;

    for (int k = 0; k < n; k++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9')
            return -1;
        v = v * 10 + (s[(*i)++] - '0');
    }
    return v;
}

static int expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i < len && s[*i] == c) {
        (*i)++;
        return 1;
    }
    return 0;
}

/* Zone at s[*i]: Z, UTC, +hh:mm, +hhmm, -hh... -> offset seconds east. */
static int parse_zone(const char *s, size_t len, size_t *i, long *off)
{
    *off = 0;
    while (*i < len && s[*i] == ' ')
        (*i)++;
    if (*i == len)
        return 0;
    if (s[*i] == 'Z' || s[*i] == 'z') {
        (*i)++;
        return 0;
    }
    if (len - *i == 3 && strncasecmp(s + *i, "UTC", 3) == 0) {
        *i += 3;
        return 0;
    }
    if (s[*i] == '+' || s[*i] == '-') {
        int sign = s[*i] == '-' ? -1 : 1;
        long hh, mm = 0;
        (*i)++;
        if ((hh = digits(s, len, i, 2)) < 0 || hh > 23)
            return -1;
        expect(s, len, i, ':');
        if (*i < len && (mm = digits(s, len, i, 2)) < 0)
            return -1;
        if (mm > 59)
            return -1;
        *off = sign * (hh * 3600 + mm * 60);
        return 0;
    }
    return -1;
}

int wctl_import_fmt_parse_time(const char *s, size_t len, long long *out)
{
    size_t i = 0;
    struct tm tm;
    long y, mo, d, h = 0, mi = 0, se = 0, off = 0;
    time_t t;

    *out = 0;
    if (len == 0)
        return 0;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == len) {
        long long v = 0;
        if (len > 12)
            return -1;
        for (i = 0; i < len; i++)
            v = v * 10 + (s[i] - '0');
        *out = v;
        return 0;
    }
    i = 0;
    if ((y = digits(s, len, &i, 4)) < 1970 || !expect(s, len, &i, '-') || (mo = digits(s, len, &i, 2)) < 1 || mo > 12 ||
        !expect(s, len, &i, '-') || (d = digits(s, len, &i, 2)) < 1 || d > 31)
        return -1;
    if (i < len && (s[i] == 'T' || s[i] == 't' || s[i] == ' ') && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9') {
        i++;
        if ((h = digits(s, len, &i, 2)) < 0 || h > 23 || !expect(s, len, &i, ':') || (mi = digits(s, len, &i, 2)) < 0 ||
            mi > 59)
            return -1;
        if (expect(s, len, &i, ':') && ((se = digits(s, len, &i, 2)) < 0 || se > 60))
            return -1;
        if (expect(s, len, &i, '.') || expect(s, len, &i, ','))
            while (i < len && s[i] >= '0' && s[i] <= '9')
                i++;
    }
    if (parse_zone(s, len, &i, &off) < 0 || i != len)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = (int)(y - 1900);
    tm.tm_mon = (int)(mo - 1);
    tm.tm_mday = (int)d;
    tm.tm_hour = (int)h;
    tm.tm_min = (int)mi;
    tm.tm_sec = (int)se;
    t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != (int)d) /* 2024-02-31 normalised to March */
        return -1;
    *out = (long long)t - off;
    return 0;
}
