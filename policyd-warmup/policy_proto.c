/*
 * NAME
 *   policy_proto.c - bounded, incremental parser of policy requests.
 *
 * DESCRIPTION
 *   Two passes over a request, both linear: while bytes arrive, find_end()
 *   walks complete lines from the resume hint until the empty line (so each
 *   byte is looked at once however slowly the peer writes); once the end is
 *   known, parse_lines() splits name=value pairs and picks the known
 *   attributes.  See policy_proto.h for the contract.
 */
#include "policy_proto.h"

#include <string.h>

#define ATTR(id, text) [id] = { text, sizeof text - 1 }
static const struct {
    const char *name;
    size_t len;
} attr_names[PA_COUNT] = {
    ATTR(PA_REQUEST, "request"),
    ATTR(PA_PROTOCOL_STATE, "protocol_state"),
    ATTR(PA_PROTOCOL_NAME, "protocol_name"),
    ATTR(PA_QUEUE_ID, "queue_id"),
    ATTR(PA_INSTANCE, "instance"),
    ATTR(PA_SENDER, "sender"),
    ATTR(PA_RECIPIENT, "recipient"),
    ATTR(PA_RECIPIENT_COUNT, "recipient_count"),
    ATTR(PA_CLIENT_ADDRESS, "client_address"),
    ATTR(PA_CLIENT_NAME, "client_name"),
    ATTR(PA_SASL_USERNAME, "sasl_username"),
    ATTR(PA_SIZE, "size"),
    ATTR(PA_HELO_NAME, "helo_name"),
    ATTR(PA_MTA, "mta"),
};
#undef ATTR

void policy_limits_default(struct policy_limits *lim)
{
    lim->max_request = 16384;
    lim->max_attrs = 128;
    lim->max_name = 64;
    lim->max_value = 2048;
}

const char *policy_parse_strerror(enum policy_parse_status st)
{
    switch (st) {
    case POLICY_NEED_MORE: return "incomplete request";
    case POLICY_OK: return "ok";
    case POLICY_ERR_SIZE: return "request too long";
    case POLICY_ERR_ATTRS: return "too many attributes";
    case POLICY_ERR_NAME: return "bad attribute name";
    case POLICY_ERR_VALUE: return "attribute value too long";
    case POLICY_ERR_SYNTAX: return "line without '=' or NUL byte";
    case POLICY_ERR_DUP: return "attribute repeated";
    case POLICY_ERR_REQUEST: return "not an smtpd_access_policy request";
    case POLICY_ERR_TRUNCATED: return "connection closed inside a request";
    }
    return "unknown error";
}

/* Length of a line without its LF and an optional CR before it. */
static size_t line_body_len(const char *line, size_t with_lf)
{
    size_t n = with_lf - 1;
    if (n > 0 && line[n - 1] == '\r')
        n--;
    return n;
}

/*
 * Walks complete lines from *resume.  Returns the request size (bytes up to
 * and including the empty line) or 0 when not complete yet; *err set on a
 * limit violation.
 */
static size_t find_end(const char *buf, size_t len, const struct policy_limits *lim, size_t *resume,
                       enum policy_parse_status *err)
{
    size_t pos = *resume;
    size_t max_line = lim->max_name + 1 + lim->max_value + 1; /* + CR */
    *err = POLICY_OK;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        if (nl == NULL) {
            if (len - pos > max_line + 1)
                *err = (len - pos > lim->max_request) ? POLICY_ERR_SIZE : POLICY_ERR_VALUE;
            break;
        }
        size_t with_lf = (size_t)(nl - (buf + pos)) + 1;
        size_t body = line_body_len(buf + pos, with_lf);
        pos += with_lf;
        if (pos > lim->max_request) {
            *err = POLICY_ERR_SIZE;
            return 0;
        }
        if (body == 0) {
            *resume = pos;
            return pos;
        }
        if (body > max_line) {
            *err = POLICY_ERR_VALUE;
            return 0;
        }
    }
    *resume = pos;
    if (*err == POLICY_OK && len > lim->max_request)
        *err = POLICY_ERR_SIZE;
    return 0;
}

static int name_byte_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
}

static enum policy_parse_status parse_line(const char *line, size_t n, const struct policy_limits *lim,
                                           struct policy_request *req)
{
    /* The name, checked byte by byte up to '=' (one pass: NUL is not a name byte). */
    size_t nlen = 0;
    while (nlen < n && line[nlen] != '=') {
        if (!name_byte_ok((unsigned char)line[nlen])) /* rare: say what is wrong first */
            return memchr(line, '\0', n) != NULL || memchr(line, '=', n) == NULL ? POLICY_ERR_SYNTAX : POLICY_ERR_NAME;
        nlen++;
    }
    if (nlen == n)
        return POLICY_ERR_SYNTAX;
    const char *eq = line + nlen;
    size_t vlen = n - nlen - 1;
    if (memchr(eq + 1, '\0', vlen) != NULL)
        return POLICY_ERR_SYNTAX;
    if (nlen == 0 || nlen > lim->max_name)
        return POLICY_ERR_NAME;
    if (vlen > lim->max_value)
        return POLICY_ERR_VALUE;
    for (int a = 0; a < PA_COUNT; a++) {
        if (attr_names[a].len == nlen && memcmp(attr_names[a].name, line, nlen) == 0) {
            if (req->attr[a].ptr != NULL)
                return POLICY_ERR_DUP;
            req->attr[a].ptr = eq + 1;
            req->attr[a].len = vlen;
            break;
        }
    }
    return POLICY_OK;
}

/* Splits buf[0..end) (which holds only complete lines) into attributes. */
static enum policy_parse_status parse_lines(const char *buf, size_t end, const struct policy_limits *lim,
                                            struct policy_request *req)
{
    size_t pos = 0;
    memset(req, 0, sizeof *req);
    while (pos < end) {
        const char *nl = memchr(buf + pos, '\n', end - pos);
        size_t with_lf = (size_t)(nl - (buf + pos)) + 1; /* nl != NULL: complete lines only */
        size_t body = line_body_len(buf + pos, with_lf);
        if (body == 0)
            break;
        if (++req->nattrs > lim->max_attrs)
            return POLICY_ERR_ATTRS;
        enum policy_parse_status st = parse_line(buf + pos, body, lim, req);
        if (st != POLICY_OK)
            return st;
        pos += with_lf;
    }
    if (!policy_view_eq(&req->attr[PA_REQUEST], "smtpd_access_policy"))
        return POLICY_ERR_REQUEST;
    req->size = end;
    return POLICY_OK;
}

enum policy_parse_status policy_parse(const char *buf, size_t len, int eof, const struct policy_limits *lim,
                                      size_t *resume, struct policy_request *req)
{
    enum policy_parse_status err;
    if (*resume > len)
        *resume = 0;
    size_t end = find_end(buf, len, lim, resume, &err);
    if (err != POLICY_OK)
        return err;
    if (end == 0) {
        if (!eof || len == 0)
            return POLICY_NEED_MORE;
        /* Half-closed: accept complete lines without the final empty line. */
        if (*resume != len || len > lim->max_request)
            return POLICY_ERR_TRUNCATED;
        end = len;
    }
    return parse_lines(buf, end, lim, req);
}

int policy_view_eq(const struct mail_view *v, const char *s)
{
    size_t n = strlen(s);
    return v->ptr != NULL && v->len == n && memcmp(v->ptr, s, n) == 0;
}

int policy_view_ieq(const struct mail_view *v, const char *s)
{
    return v->ptr != NULL && mail_view_eq_ci(*v, s);
}

int policy_view_ulong(const struct mail_view *v, unsigned long long max, unsigned long long *out)
{
    unsigned long long n = 0;
    if (v->ptr == NULL || v->len == 0 || v->len > 20)
        return -1;
    for (size_t i = 0; i < v->len; i++) {
        unsigned char c = (unsigned char)v->ptr[i];
        if (c < '0' || c > '9')
            return -1;
        unsigned d = (unsigned)(c - '0');
        if (d > max || n > (max - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    *out = n;
    return 0;
}
