/*
 * conn.h -- a TCP connection, optionally wrapped in TLS, with deadlines.
 *
 * Every blocking step (connect, handshake, read, write) waits with poll()
 * for at most the idle timeout, and never past the connection's current
 * deadline: the caller sets a deadline per command, so a server that
 * drips one byte a minute cannot hold us forever (fetchmail
 * CVE-2011-1947). Reads go into one fixed buffer owned by the connection;
 * callers look at it (conn_peek) and say how much they used
 * (conn_consume), so message data is not copied on its way to the
 * dot-unstuffer.
 *
 * OpenSSL is used in this file only. TLS: peer verification on, TLS 1.2
 * at least, host name checked by OpenSSL (SSL_set1_host, no partial
 * wildcards), SNI sent for names; or, with a pin, the SHA-256 of the
 * certificate or of its public key must match and nothing else is
 * checked (as mpop's tls_fingerprint).
 */
#ifndef CONN_H
#define CONN_H

#include <stddef.h>
#include <stdint.h>

/* Error kinds; conn_errkind() says which one the last failure was. */
enum conn_err {
	CONN_OK = 0,
	CONN_E_RESOLVE,		/* host name lookup failed */
	CONN_E_CONNECT,		/* TCP connect failed or timed out */
	CONN_E_TIMEOUT,		/* idle timeout or deadline passed */
	CONN_E_EOF,		/* peer closed the connection */
	CONN_E_IO,		/* socket error */
	CONN_E_TLS,		/* handshake or certificate failure */
	CONN_E_TOOLONG,		/* a line exceeded its cap */
	CONN_E_INTR,		/* interrupted by a signal we act on */
	CONN_E_HOOK		/* the wait hook failed (conn_set_wait_hook) */
};

struct conn_tls {
	const char	*ca_file;	/* NULL: the system's CAs */
	const char	*fingerprint;	/* "sha256:HEX" (colons allowed),
					 * cert or public key; NULL: none */
};

struct conn;

/*
 * Connect to host:port within timeout_ms (each address tried in turn,
 * sharing the budget). Returns a connection or NULL with a message in
 * err. The idle timeout for later I/O is idle_ms.
 */
struct conn	*conn_connect(const char *host, const char *port,
		    int timeout_ms, int idle_ms, char *err, size_t errlen);

/*
 * Take over fd, a connected stream socket made by the caller (a
 * socketpair(2) in the session fuzzer, tests/fuzz/fuzz_session.c), as
 * a plain connection; conn_starttls() works on it as on any other. The
 * descriptor is made non-blocking and close-on-exec and belongs to the
 * connection from this call on: conn_close() closes it, and so does a
 * failure here. Returns the connection, or NULL with a message in err.
 */
struct conn	*conn_adopt(int fd, int idle_ms, char *err, size_t errlen);

/*
 * Start TLS on the connection (immediately for implicit TLS, or after a
 * STLS +OK). Fails if bytes are already buffered (response injection).
 * host is what the certificate must name. Returns 0 or -1 (CONN_E_TLS,
 * CONN_E_TIMEOUT, ...) with conn_error() set.
 */
int		 conn_starttls(struct conn *, const char *host,
		    const struct conn_tls *);

/* Absolute deadline (now_ms() scale) for the I/O that follows; 0: none. */
void		 conn_set_deadline(struct conn *, int64_t deadline_ms);
/* Deadline relative to now. */
void		 conn_deadline_in(struct conn *, int64_t ms);

/*
 * Call fn(arg) each time the connection is about to wait for the network
 * (a read or a write that would block: before its poll(2)), and never
 * otherwise. The run commits its open index transaction there, so that
 * the index's write lock is never held while the server takes its time
 * (the sink's idle() of core/source.h, set by core/source_pop3.c for
 * RETR). fn must be cheap when it has nothing to do; if it returns
 * -1, the I/O fails with CONN_E_HOOK (the hook says why, elsewhere). A
 * NULL fn removes the hook.
 */
void		 conn_set_wait_hook(struct conn *, int (*fn)(void *),
		    void *arg);

/*
 * Write all of buf; 0 or -1. No copy is kept here: in clear the bytes go
 * from buf to the kernel, and under TLS OpenSSL builds each record in
 * its write buffer and encrypts it there, so a PASS line leaves only
 * ciphertext behind (tests/unit/test_wipe.c searches OpenSSL's buffers
 * after TLS 1.3 sessions). The caller wipes buf.
 */
int		 conn_write(struct conn *, const void *, size_t);

/*
 * Read one line, at most cap bytes including its end. On success *line
 * points into the connection's buffer (valid until the next call on
 * the connection) and *len excludes the CRLF (or bare LF). Returns 0,
 * or -1 with CONN_E_TOOLONG, CONN_E_EOF, CONN_E_TIMEOUT, ...
 */
int		 conn_getline(struct conn *, size_t cap, const char **line,
		    size_t *len);

/*
 * Buffered bytes: conn_peek() reads more if none are buffered, and
 * points *p at what is buffered. conn_consume() drops n of them.
 * conn_pending() says how many are buffered without reading.
 */
int		 conn_peek(struct conn *, const char **p, size_t *n);
void		 conn_consume(struct conn *, size_t n);
size_t		 conn_pending(struct conn *);
/*
 * Before a lock-step command: has the server sent anything not asked
 * for (a desync: docs/reliability-coverage.md, B28)? 1 if bytes are
 * buffered or arrive without waiting (TLS records without data, such as
 * session tickets, do not count), else 0. Never waits.
 */
int		 conn_unsolicited(struct conn *);

int		 conn_is_tls(struct conn *);
/* TLS details for -vv: version, cipher, subject, SHA-256. */
void		 conn_tls_info(struct conn *, char *buf, size_t len);

/*
 * The server's certificate and the TLS session, for "popvault probe".
 * Names are OpenSSL's one-line form ("CN = host, O = Org"), with bytes
 * outside printable ASCII escaped by OpenSSL; they are server data all
 * the same, so escape them again before printing. Dates are
 * "YYYY-MM-DD HH:MM:SS UTC". Fingerprints are 64 lower-case hex digits:
 * sha256 over the certificate (DER), spki_sha256 over its
 * SubjectPublicKeyInfo. Either, after "sha256:", is a pin that
 * conn_tls.fingerprint accepts (the very digests the pin is checked
 * against).
 */
struct conn_cert {
	char	subject[256];
	char	issuer[256];
	char	not_before[32];
	char	not_after[32];
	char	sha256[65];
	char	spki_sha256[65];
	char	version[16];	/* "TLSv1.3"; "" if the handshake failed */
	char	cipher[64];	/* likewise */
	char	chain_error[128];	/* why the chain (and, without a
					 * pin, the host name) failed to
					 * verify; "" when it verified */
};

/*
 * Fill *ci from the last TLS handshake of the connection: a finished
 * one, or one that failed on the certificate (then from the chain the
 * server sent, so a user can see what a pin would name; nothing was
 * trusted). Returns 0, or -1 when no certificate was received (no TLS
 * tried, or the handshake failed before the server's Certificate).
 */
int		 conn_cert_info(struct conn *, struct conn_cert *ci);

enum conn_err	 conn_errkind(struct conn *);
const char	*conn_error(struct conn *);
/* Set by a signal handler: makes blocked I/O fail with CONN_E_INTR. */
void		 conn_interrupt(void);
void		 conn_close(struct conn *);

#endif
