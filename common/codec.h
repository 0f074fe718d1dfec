/*
 * codec.h - base64, quoted-printable and RFC 2047 encoded-word decoding.
 *
 * NAME
 *	codec - content-transfer-encoding decoders for untrusted mail
 *
 * DESCRIPTION
 *	Decoders take a view of encoded bytes and append the decoded bytes
 *	either to a struct buf (whose limit bounds the output) or to a caller
 *	array of explicit size.  Both forms never write past their bound:
 *	running out of room is CODEC_ERR_SPACE, not a truncation.
 *
 *	base64 (RFC 2045 §6.8): whitespace and line breaks anywhere are
 *	skipped.  Any other byte outside the alphabet, data after the '='
 *	padding, or a lone final sextet is CODEC_ERR_INVALID; a missing
 *	padding at the very end is accepted (common in the wild).
 *
 *	quoted-printable (RFC 2045 §6.7): "=XX" (either hex case) decodes to
 *	a byte; "=" at the end of a line (optionally followed by whitespace
 *	that a gateway added) is a soft line break and disappears; any other
 *	"=" sequence is kept literally as §6.7 note (1) suggests; whitespace
 *	at the end of a line is removed (rule 3).  Line endings (CRLF or LF)
 *	are kept as they are.  QP decoding never fails on content, only on
 *	space.
 *
 *	RFC 2047 encoded words (=?charset?B|Q?text?=) in unstructured header
 *	text: decoded and converted to UTF-8 for UTF-8/US-ASCII (copied) and
 *	ISO-8859-1/Latin-1 and Windows-1252 (mapped); words in other
 *	charsets, and malformed words, are left as they are.  Whitespace
 *	between two adjacent encoded words is dropped (§6.2).  Folding line
 *	breaks are removed.
 *
 *	On CODEC_ERR_INVALID the output holds what decoded cleanly before the
 *	bad input and *err_offset (when not NULL) is the offset of the bad
 *	byte.
 */
#ifndef POSTFLOW_CODEC_H
#define POSTFLOW_CODEC_H

#include <stddef.h>

struct buf;

enum codec_status {
    CODEC_OK = 0,
    CODEC_ERR_INVALID = -1, /* input is not valid for this encoding */
    CODEC_ERR_SPACE = -2    /* output bound (buf limit or outsz) reached */
};

/* Upper bound of decoded size for len encoded bytes (both codecs). */
size_t codec_decoded_max(size_t len);

int codec_base64_decode(const char *in, size_t len, struct buf *out, size_t *err_offset);
int codec_base64_decode_mem(const char *in, size_t len, unsigned char *out, size_t outsz, size_t *outlen,
                            size_t *err_offset);

int codec_qp_decode(const char *in, size_t len, struct buf *out);
int codec_qp_decode_mem(const char *in, size_t len, unsigned char *out, size_t outsz, size_t *outlen);

/* Appends text with its encoded words decoded (see above) to out.
 * Returns CODEC_OK or CODEC_ERR_SPACE. */
int codec_rfc2047_decode(const char *in, size_t len, struct buf *out);

/* Appends base64 of in (no line breaks) to out: used for DKIM b= / bh=.
 * Returns CODEC_OK or CODEC_ERR_SPACE. */
int codec_base64_encode(const void *in, size_t len, struct buf *out);

const char *codec_status_str(int status);

#endif
