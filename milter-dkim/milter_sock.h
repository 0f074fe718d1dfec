/*
 * NAME
 *   milter_sock.h - socket options libmilter does not set
 *
 * DESCRIPTION
 *   The end-of-message reply is two small writes (the header insertion,
 *   then the verdict).  With Nagle's algorithm the second waits for the
 *   ACK of the first, which the MTA delays (~40 ms on Linux).  libmilter
 *   opens the listening socket itself and does not expose it, so after
 *   smfi_opensocket() we find it among our descriptors and set TCP_NODELAY
 *   on it: on Linux accepted sockets inherit the option from the listener
 *   (checked by tests/unit/milter-dkim/test_milter_sock.c).
 */
#ifndef POSTFLOW_MILTER_SOCK_H
#define POSTFLOW_MILTER_SOCK_H

/* Sets TCP_NODELAY on every listening TCP socket of the process; returns how many. */
int milter_sock_nodelay_listeners(void);

/*
 * Shuts down every listening socket of the process (TCP or unix), which
 * wakes libmilter's listener at once after smfi_stop() instead of after its
 * poll timeout.  Returns how many.
 */
int milter_sock_shutdown_listeners(void);

/* Translates a socket spec (unix:PATH, inet:PORT@HOST, inet:HOST:PORT, HOST:PORT) to libmilter's form. */
int milter_sock_libmilter_spec(const char *spec, char *out, size_t outsize, char *err, size_t errsize);

#endif
