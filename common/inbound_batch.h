/*
 * inbound_batch.h - the messages of a batch run: files, directories
 * (maildir cur/ and new/ included, walked recursively, in name order) and
 * mbox files (split at "From " lines), one message at a time.
 *
 * DESCRIPTION
 *	Archives and re-runs (`bounce-proc --dry-run --json DIR`) read many
 *	messages; each file is mapped privately (copy-on-write: the parser may
 *	rewrite bare CRs in place without touching the file), and an mbox is
 *	split at lines starting with "From " that follow an empty line (or
 *	start the file).  mboxrd quoting (">From ") is left as is: it sits in
 *	bodies, which no parser reads for structure.  Sizes are known up front,
 *	so the progress bar can show an ETA by bytes.
 *
 * USERS
 *	inbound_driver.c.
 *
 * OWNERSHIP
 *	A message view (data, len, name) is valid until the next call to
 *	inbound_batch_next() or inbound_batch_close().
 */
#ifndef POSTFLOW_INBOUND_BATCH_H
#define POSTFLOW_INBOUND_BATCH_H

#include <stddef.h>

struct inbound_batch;

struct inbound_message {
    char *data; /* writable (private mapping) */
    size_t len;
    const char *name; /* "path" or "path:N" (N-th message of an mbox) */
    size_t offset;    /* bytes of the batch before this message (for progress) */
};

/* Expands paths (files and directories).  Returns NULL with err set when a
 * path cannot be read or holds no message file. */
struct inbound_batch *inbound_batch_open(char *const *paths, size_t n, char *err, size_t errsize);
void inbound_batch_close(struct inbound_batch *b);

size_t inbound_batch_files(const struct inbound_batch *b);
size_t inbound_batch_bytes(const struct inbound_batch *b);

/* 1: *m is the next message; 0: no more; -1: a file could not be read
 * (err set; the caller may go on with the next one by calling again). */
int inbound_batch_next(struct inbound_batch *b, struct inbound_message *m, char *err, size_t errsize);

/* Offsets of the messages of an mbox in data[0..len): the starts of lines
 * "From " at the file start or after an empty line.  Writes up to max
 * offsets; returns how many there are (0 when data is not an mbox). */
size_t inbound_mbox_split(const char *data, size_t len, size_t *starts, size_t max);

#endif
