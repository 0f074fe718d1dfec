/*
 * mail_limits.c - default limits, error texts and view helpers shared by the
 * mail parsers (see mail_limits.h).
 */
#include <stdio.h>
#include <string.h>

#include "mail_limits.h"

const struct mail_limits MAIL_LIMITS_DEFAULT = MAIL_LIMITS_INIT;

static const char *const mail_error_texts[MAIL_ERR__COUNT] = {
    [MAIL_OK] = "no error",
    [MAIL_ERR_LINE_TOO_LONG] = "header line too long",
    [MAIL_ERR_TOO_MANY_FIELDS] = "too many header fields",
    [MAIL_ERR_FIELD_TOO_LARGE] = "header field too large",
    [MAIL_ERR_HEADER_TOO_LARGE] = "header section too large",
    [MAIL_ERR_FIELD_NAME] = "invalid header field name",
    [MAIL_ERR_MISSING_COLON] = "header line without colon",
    [MAIL_ERR_NUL_BYTE] = "NUL byte in header",
    [MAIL_ERR_CONTINUATION_FIRST] = "header section starts with a continuation line",
    [MAIL_ERR_STATE] = "parser used after end or error",
    [MAIL_ERR_MIME_DEPTH] = "MIME nesting too deep",
    [MAIL_ERR_MIME_PARTS] = "too many MIME parts",
    [MAIL_ERR_BOUNDARY_TOO_LONG] = "MIME boundary too long",
    [MAIL_ERR_TOO_MANY_ADDRESSES] = "too many addresses",
    [MAIL_ERR_ADDRESS_SYNTAX] = "address syntax error",
};

const char *mail_error_str(enum mail_error code)
{
    if ((unsigned)code >= MAIL_ERR__COUNT || mail_error_texts[code] == NULL)
        return "unknown mail parsing error";
    return mail_error_texts[code];
}

/* The limit behind a limit error, for the message; NULL if none. */
static const char *mail_error_limit(enum mail_error code, const struct mail_limits *l, size_t *value)
{
    switch (code) {
    case MAIL_ERR_LINE_TOO_LONG: *value = l->max_line; return "max_line";
    case MAIL_ERR_TOO_MANY_FIELDS: *value = l->max_fields; return "max_fields";
    case MAIL_ERR_FIELD_TOO_LARGE: *value = l->max_field_size; return "max_field_size";
    case MAIL_ERR_HEADER_TOO_LARGE: *value = l->max_header_size; return "max_header_size";
    case MAIL_ERR_MIME_DEPTH: *value = l->max_mime_depth; return "max_mime_depth";
    case MAIL_ERR_MIME_PARTS: *value = l->max_mime_parts; return "max_mime_parts";
    case MAIL_ERR_BOUNDARY_TOO_LONG: *value = l->max_boundary_len; return "max_boundary_len";
    case MAIL_ERR_TOO_MANY_ADDRESSES: *value = l->max_addresses; return "max_addresses";
    default: return NULL;
    }
}

char *mail_error_format(const struct mail_error_info *err, const struct mail_limits *limits, char *out, size_t outsz)
{
    const char *lname;
    size_t lval = 0;
    char lim[64] = "";

    if (outsz == 0)
        return out;
    if (limits == NULL)
        limits = &MAIL_LIMITS_DEFAULT;
    lname = mail_error_limit(err->code, limits, &lval);
    if (lname != NULL)
        snprintf(lim, sizeof(lim), " (%s %zu)", lname, lval);
    if (err->line > 0)
        snprintf(out, outsz, "%s%s at line %zu, offset %zu", mail_error_str(err->code), lim, err->line, err->offset);
    else
        snprintf(out, outsz, "%s%s at offset %zu", mail_error_str(err->code), lim, err->offset);
    return out;
}

bool mail_view_eq_ci(struct mail_view v, const char *s)
{
    size_t n = strlen(s);

    if (v.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)v.ptr[i], b = (unsigned char)s[i];
        if (a >= 'A' && a <= 'Z')
            a = (unsigned char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (unsigned char)(b - 'A' + 'a');
        if (a != b)
            return false;
    }
    return true;
}
