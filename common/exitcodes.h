/*
 * exitcodes.h - the only exit statuses postflow programs use.
 *
 * Pipe commands (bounce-proc, fbl-proc) exit PF_EXIT_OK or PF_EXIT_TEMPFAIL
 * and nothing else once running: Postfix bounces on any other code and 73
 * means different things to Postfix and Exim (shared/docs/mta-lab-notes.md).
 * PF_EXIT_USAGE and PF_EXIT_CONFIG are for errors found at start, before a
 * message is read.  Values are those of <sysexits.h>.
 */
#ifndef POSTFLOW_EXITCODES_H
#define POSTFLOW_EXITCODES_H

#define PF_EXIT_OK       0  /* done (or quarantined: never bounce a bounce) */
#define PF_EXIT_FAILURE  1  /* daemons and tools only: generic failure */
#define PF_EXIT_USAGE    64 /* EX_USAGE: bad command line */
#define PF_EXIT_TEMPFAIL 75 /* EX_TEMPFAIL: Redis down, disk full, OOM: retry */
#define PF_EXIT_CONFIG   78 /* EX_CONFIG: configuration error */

#endif
