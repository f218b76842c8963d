/*
 * conn.c -- TCP and TLS with deadlines; see conn.h.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conn.h"
#include "log.h"
#include "util.h"

#define CONN_BUFSZ	(256 * 1024)

struct conn {
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	int64_t		 deadline;	/* absolute ms; 0 none */
	int		 idle_ms;
	char		*buf;
	size_t		 off, len;	/* buffered: buf[off .. off+len) */
	enum conn_err	 kind;
	char		 err[512];
	int		 dead;		/* failed in conn_unsolicited() */
	int		(*wait_fn)(void *);	/* conn_set_wait_hook() */
	void		*wait_arg;
};

static volatile sig_atomic_t conn_interrupted;

static int
conn_fail(struct conn *c, enum conn_err kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
conn_fail(struct conn *c, enum conn_err kind, const char *fmt, ...)
{
	va_list	ap;

	c->kind = kind;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	return -1;
}

void
conn_interrupt(void)
{
	conn_interrupted = 1;
}

/*
 * Wait for events on the socket, bounded by the idle timeout and the
 * deadline. Returns 0 when ready, -1 on timeout or error. The wait hook
 * runs first: every read or write that would block comes here.
 */
static int
conn_wait(struct conn *c, short events)
{
	struct pollfd	pfd;
	int64_t		wait, left;
	int		r;

	if (c->wait_fn != NULL && c->wait_fn(c->wait_arg) == -1)
		return conn_fail(c, CONN_E_HOOK, "stopped before waiting for "
		    "the server");
	for (;;) {
		wait = c->idle_ms;
		if (c->deadline != 0) {
			left = c->deadline - now_ms();
			if (left <= 0)
				return conn_fail(c, CONN_E_TIMEOUT,
				    "deadline passed: server too slow");
			if (left < wait)
				wait = left;
		}
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)wait);
		if (r == -1) {
			if (errno == EINTR) {
				if (conn_interrupted)
					return conn_fail(c, CONN_E_INTR,
					    "interrupted");
				continue;
			}
			return conn_fail(c, CONN_E_IO, "poll: %s",
			    strerror(errno));
		}
		if (r == 0) {
			if (c->deadline != 0 && now_ms() >= c->deadline)
				return conn_fail(c, CONN_E_TIMEOUT,
				    "deadline passed: server too slow");
			return conn_fail(c, CONN_E_TIMEOUT,
			    "timed out after %d s without data",
			    c->idle_ms / 1000);
		}
		return 0;
	}
}

/* A connection on the connected, non-blocking socket fd. */
static struct conn *
conn_new(int fd, int idle_ms)
{
	struct conn	*c = xcalloc(1, sizeof *c);

	c->fd = fd;
	c->idle_ms = idle_ms;
	c->buf = xmalloc(CONN_BUFSZ);
	return c;
}

static int
is_ip_literal(const char *host)
{
	unsigned char	a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

struct conn *
conn_connect(const char *host, const char *port, int timeout_ms,
    int idle_ms, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	int		 r, fd = -1, soerr, one = 1;
	socklen_t	 sl;
	int64_t		 end = now_ms() + timeout_ms;
	char		 lasterr[256] = "no address";

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    gai_strerror(r));
		return NULL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd	pfd;
		int64_t		left = end - now_ms();

		if (left <= 0) {
			snprintf(lasterr, sizeof lasterr, "timed out");
			break;
		}
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			snprintf(lasterr, sizeof lasterr, "socket: %s",
			    strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			snprintf(lasterr, sizeof lasterr, "%s",
			    strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do {
			r = poll(&pfd, 1, (int)left);
		} while (r == -1 && errno == EINTR && !conn_interrupted);
		if (r <= 0) {
			snprintf(lasterr, sizeof lasterr, "%s",
			    r == 0 ? "timed out" : strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		sl = sizeof soerr;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1 ||
		    soerr != 0) {
			snprintf(lasterr, sizeof lasterr, "%s",
			    strerror(soerr ? soerr : errno));
			close(fd);
			fd = -1;
			continue;
		}
		break;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "cannot connect to %s port %s: %s",
		    host, port, lasterr);
		return NULL;
	}
	/* Pipelined commands are written in one go; no need to wait. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return conn_new(fd, idle_ms);
}

struct conn *
conn_adopt(int fd, int idle_ms, char *err, size_t errlen)
{
	int	fl;

	/* Every wait goes through conn_wait(): the socket must not block. */
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		snprintf(err, errlen, "adopting descriptor %d: %s", fd,
		    strerror(errno));
		close(fd);
		return NULL;
	}
	return conn_new(fd, idle_ms);
}

void
conn_set_wait_hook(struct conn *c, int (*fn)(void *), void *arg)
{
	c->wait_fn = fn;
	c->wait_arg = arg;
}

void
conn_set_deadline(struct conn *c, int64_t deadline_ms)
{
	c->deadline = deadline_ms;
}

void
conn_deadline_in(struct conn *c, int64_t ms)
{
	c->deadline = now_ms() + ms;
}

static int
tls_errstr(struct conn *c, const char *what)
{
	unsigned long	e = ERR_get_error();
	char		buf[256];

	if (e == 0)
		return conn_fail(c, CONN_E_TLS, "%s failed", what);
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return conn_fail(c, CONN_E_TLS, "%s failed: %s", what, buf);
}

/* With a pin, chain errors are ignored here and the pin decides later. */
static int
verify_accept(int ok, X509_STORE_CTX *store)
{
	(void)ok;
	(void)store;
	return 1;
}

/*
 * Parse "sha256:HEX" (hex digits, optionally separated by colons) into
 * 32 bytes. Returns 0 or -1.
 */
static int
parse_pin(const char *s, unsigned char out[32])
{
	size_t	n = 0;
	int	hi = -1, v;

	if (strncasecmp(s, "sha256:", 7) == 0)
		s += 7;
	for (; *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			return -1;
		if (hi == -1)
			hi = v;
		else {
			if (n == 32)
				return -1;
			out[n++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	return n == 32 && hi == -1 ? 0 : -1;
}

/*
 * The SHA-256 of a certificate (DER) and of its SubjectPublicKeyInfo:
 * what a pin may name. Returns 0, or -1 with the OpenSSL error queue
 * saying why (what names the step).
 */
static int
cert_digests(X509 *x, unsigned char cert_md[32], unsigned char key_md[32],
    const char **what)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned char	*der = NULL;
	unsigned int	 n = 0;
	int		 dlen, r;

	*what = "certificate digest";
	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32)
		return -1;
	memcpy(cert_md, md, 32);
	*what = "public key encoding";
	dlen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (dlen <= 0)
		return -1;
	*what = "public key digest";
	n = 0;
	r = EVP_Digest(der, (size_t)dlen, md, &n, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (r != 1 || n != 32)
		return -1;
	memcpy(key_md, md, 32);
	return 0;
}

static int
check_pin(struct conn *c, const char *pin)
{
	unsigned char	 want[32], cert_md[32], key_md[32];
	const char	*what;
	int		 match;
	X509		*x;

	if (parse_pin(pin, want) == -1)
		return conn_fail(c, CONN_E_TLS,
		    "bad fingerprint %s: want sha256:64-hex-digits", pin);
	if ((x = SSL_get0_peer_certificate(c->ssl)) == NULL)
		return conn_fail(c, CONN_E_TLS, "server sent no certificate");
	if (cert_digests(x, cert_md, key_md, &what) == -1)
		return tls_errstr(c, what);
	match = memcmp(cert_md, want, 32) == 0 ||
	    memcmp(key_md, want, 32) == 0;
	if (!match) {
		char	hex[65];

		hex_encode(cert_md, 32, hex);
		return conn_fail(c, CONN_E_TLS,
		    "certificate fingerprint mismatch: server has sha256:%s",
		    hex);
	}
	return 0;
}

int
conn_starttls(struct conn *c, const char *host, const struct conn_tls *t)
{
	X509_VERIFY_PARAM	*param;
	int			 r, e;
	long			 vr;

	if (c->len != 0)
		return conn_fail(c, CONN_E_TLS, "server sent %zu unexpected "
		    "bytes before the TLS handshake (response injection?)",
		    c->len);
	ERR_clear_error();
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return tls_errstr(c, "SSL_CTX_new");
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(c->ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	/*
	 * Read ahead into a 64 KiB buffer: several TLS records per read(2)
	 * instead of two reads (header, body) per record.
	 */
	SSL_CTX_set_read_ahead(c->ctx, 1);
	SSL_CTX_set_default_read_buffer_len(c->ctx, 64 * 1024);
	if (t->ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(c->ctx, t->ca_file,
		    NULL) != 1)
			return tls_errstr(c, "loading CA file");
	} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1)
		return tls_errstr(c, "loading system CAs");
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER,
	    t->fingerprint != NULL ? verify_accept : NULL);
	if ((c->ssl = SSL_new(c->ctx)) == NULL)
		return tls_errstr(c, "SSL_new");
	if (SSL_set_fd(c->ssl, c->fd) != 1)
		return tls_errstr(c, "SSL_set_fd");
	if (t->fingerprint == NULL) {
		param = SSL_get0_param(c->ssl);
		if (is_ip_literal(host)) {
			if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1)
				return tls_errstr(c, "setting peer address");
		} else {
			SSL_set_hostflags(c->ssl,
			    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			if (SSL_set1_host(c->ssl, host) != 1)
				return tls_errstr(c, "setting peer name");
		}
	}
	/*
	 * SNI is for names only (RFC 6066 section 3). The macro takes a
	 * non-const pointer, hence the copy.
	 */
	if (!is_ip_literal(host)) {
		char	sni[256];

		if (xsnprintf(sni, sizeof sni, "%s", host) == -1 ||
		    SSL_set_tlsext_host_name(c->ssl, sni) != 1)
			return tls_errstr(c, "setting SNI");
	}
	for (;;) {
		ERR_clear_error();
		r = SSL_connect(c->ssl);
		if (r == 1)
			break;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ) {
			if (conn_wait(c, POLLIN) == -1)
				return -1;
			continue;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			if (conn_wait(c, POLLOUT) == -1)
				return -1;
			continue;
		}
		vr = SSL_get_verify_result(c->ssl);
		if (vr != X509_V_OK)
			return conn_fail(c, CONN_E_TLS,
			    "certificate of %s not trusted: %s", host,
			    X509_verify_cert_error_string(vr));
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
			return conn_fail(c, CONN_E_TLS,
			    "TLS handshake: connection closed by server");
		return tls_errstr(c, "TLS handshake");
	}
	if (SSL_get0_peer_certificate(c->ssl) == NULL)
		return conn_fail(c, CONN_E_TLS, "server sent no certificate");
	if (t->fingerprint != NULL)
		return check_pin(c, t->fingerprint);
	if ((vr = SSL_get_verify_result(c->ssl)) != X509_V_OK)
		return conn_fail(c, CONN_E_TLS,
		    "certificate of %s not trusted: %s", host,
		    X509_verify_cert_error_string(vr));
	return 0;
}

int
conn_is_tls(struct conn *c)
{
	return c->ssl != NULL && SSL_is_init_finished(c->ssl);
}

void
conn_tls_info(struct conn *c, char *buf, size_t len)
{
	X509		*x;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 n = 0;
	char		 subj[256] = "?", hex[2 * EVP_MAX_MD_SIZE + 1] = "?";

	if (!conn_is_tls(c)) {
		snprintf(buf, len, "no TLS");
		return;
	}
	if ((x = SSL_get0_peer_certificate(c->ssl)) != NULL) {
		X509_NAME_oneline(X509_get_subject_name(x), subj,
		    sizeof subj);
		if (X509_digest(x, EVP_sha256(), md, &n) == 1)
			hex_encode(md, n, hex);
	}
	snprintf(buf, len, "%s %s, certificate %s, sha256:%s",
	    SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl), subj, hex);
}

/* "YYYY-MM-DD HH:MM:SS UTC", or "?" when the time cannot be read. */
static void
cert_date(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm	tm;

	memset(&tm, 0, sizeof tm);
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "?");
}

/* A name on one line, as "openssl x509 -subject" prints it; cut at len. */
static void
cert_name(const X509_NAME *n, char *buf, size_t len)
{
	BIO	*b;
	int	 r;

	snprintf(buf, len, "?");
	if (n == NULL || len < 4 || (b = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_ONELINE) >= 0 &&
	    (r = BIO_read(b, buf, (int)len - 1)) > 0) {
		buf[r] = '\0';
		if (BIO_pending(b) > 0)
			memcpy(buf + len - 4, "...", 4);
	}
	BIO_free(b);
}

int
conn_cert_info(struct conn *c, struct conn_cert *ci)
{
	STACK_OF(X509)	*chain;
	unsigned char	 cert_md[32], key_md[32];
	const char	*what;
	X509		*x = NULL;
	long		 vr;

	memset(ci, 0, sizeof *ci);
	if (c->ssl == NULL)
		return -1;
	/*
	 * After a handshake that failed verification OpenSSL has no peer
	 * certificate, but keeps the chain the server sent; its first
	 * element is the server's own certificate (client side).
	 */
	if ((x = SSL_get0_peer_certificate(c->ssl)) == NULL &&
	    (chain = SSL_get_peer_cert_chain(c->ssl)) != NULL &&
	    sk_X509_num(chain) > 0)
		x = sk_X509_value(chain, 0);
	if (x == NULL)
		return -1;
	cert_name(X509_get_subject_name(x), ci->subject, sizeof ci->subject);
	cert_name(X509_get_issuer_name(x), ci->issuer, sizeof ci->issuer);
	cert_date(X509_get0_notBefore(x), ci->not_before,
	    sizeof ci->not_before);
	cert_date(X509_get0_notAfter(x), ci->not_after, sizeof ci->not_after);
	if (cert_digests(x, cert_md, key_md, &what) == 0) {
		hex_encode(cert_md, 32, ci->sha256);
		hex_encode(key_md, 32, ci->spki_sha256);
	}
	ERR_clear_error();
	if (SSL_is_init_finished(c->ssl)) {
		snprintf(ci->version, sizeof ci->version, "%s",
		    SSL_get_version(c->ssl));
		snprintf(ci->cipher, sizeof ci->cipher, "%s",
		    SSL_get_cipher_name(c->ssl));
	}
	if ((vr = SSL_get_verify_result(c->ssl)) != X509_V_OK)
		snprintf(ci->chain_error, sizeof ci->chain_error, "%s",
		    X509_verify_cert_error_string(vr));
	return 0;
}

int
conn_write(struct conn *c, const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 n;
	int		 r, e;

	if (c->dead)
		return -1;	/* kind and message set by conn_unsolicited() */
	while (len > 0) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			r = SSL_write(c->ssl, p, (int)(len > 1 << 30 ?
			    1 << 30 : len));
			if (r > 0) {
				p += r;
				len -= (size_t)r;
				continue;
			}
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_WRITE) {
				if (conn_wait(c, POLLOUT) == -1)
					return -1;
				continue;
			}
			if (e == SSL_ERROR_WANT_READ) {
				if (conn_wait(c, POLLIN) == -1)
					return -1;
				continue;
			}
			if (e == SSL_ERROR_ZERO_RETURN ||
			    (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))
				return conn_fail(c, CONN_E_EOF,
				    "connection closed by server");
			return tls_errstr(c, "TLS write");
		}
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (conn_wait(c, POLLOUT) == -1)
				return -1;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			return conn_fail(c, CONN_E_EOF,
			    "connection closed by server");
		return conn_fail(c, CONN_E_IO, "write: %s", strerror(errno));
	}
	return 0;
}

/* Read more into the buffer. Returns bytes added (> 0) or -1. */
static int
conn_fill(struct conn *c)
{
	size_t	 room;
	ssize_t	 n;
	int	 r, e;

	if (c->off > 0 && (c->len == 0 || c->off + c->len == CONN_BUFSZ)) {
		memmove(c->buf, c->buf + c->off, c->len);
		c->off = 0;
	}
	if (c->dead)
		return -1;	/* kind and message set by conn_unsolicited() */
	room = CONN_BUFSZ - c->off - c->len;
	if (room == 0)
		return conn_fail(c, CONN_E_TOOLONG, "read buffer full");
	/*
	 * conn_wait() checks the deadline only when there is nothing to
	 * read: a server that never pauses (an endless RETR at full speed)
	 * would otherwise run past it.
	 */
	if (c->deadline != 0 && now_ms() >= c->deadline)
		return conn_fail(c, CONN_E_TIMEOUT,
		    "deadline passed: reply too slow or too long");
	for (;;) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			r = SSL_read(c->ssl, c->buf + c->off + c->len,
			    (int)room);
			if (r > 0) {
				c->len += (size_t)r;
				return r;
			}
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ) {
				if (conn_wait(c, POLLIN) == -1)
					return -1;
				continue;
			}
			if (e == SSL_ERROR_WANT_WRITE) {
				if (conn_wait(c, POLLOUT) == -1)
					return -1;
				continue;
			}
			/*
			 * EOF with or without close_notify: the POP3
			 * terminator, not the TLS shutdown, decides
			 * whether a response was complete.
			 */
			if (e == SSL_ERROR_ZERO_RETURN ||
			    e == SSL_ERROR_SYSCALL ||
			    (e == SSL_ERROR_SSL && ERR_GET_REASON(
			    ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING))
				return conn_fail(c, CONN_E_EOF,
				    "connection closed by server");
			return tls_errstr(c, "TLS read");
		}
		n = recv(c->fd, c->buf + c->off + c->len, room, 0);
		if (n > 0) {
			c->len += (size_t)n;
			return (int)n;
		}
		if (n == 0)
			return conn_fail(c, CONN_E_EOF,
			    "connection closed by server");
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (conn_wait(c, POLLIN) == -1)
				return -1;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET)
			return conn_fail(c, CONN_E_EOF,
			    "connection reset by server");
		return conn_fail(c, CONN_E_IO, "read: %s", strerror(errno));
	}
}

int
conn_getline(struct conn *c, size_t cap, const char **line, size_t *len)
{
	const char	*nl;
	size_t		 scanned = 0, n;

	if (cap > CONN_BUFSZ)
		cap = CONN_BUFSZ;
	for (;;) {
		nl = memchr(c->buf + c->off + scanned, '\n',
		    c->len - scanned);
		if (nl != NULL) {
			n = (size_t)(nl - (c->buf + c->off));
			if (n + 1 > cap)
				break;
			*line = c->buf + c->off;
			c->off += n + 1;
			c->len -= n + 1;
			if (n > 0 && (*line)[n - 1] == '\r')
				n--;
			*len = n;
			return 0;
		}
		scanned = c->len;
		if (c->len >= cap)
			break;
		if (conn_fill(c) == -1)
			return -1;
	}
	return conn_fail(c, CONN_E_TOOLONG,
	    "server sent a line longer than %zu bytes", cap);
}

int
conn_peek(struct conn *c, const char **p, size_t *n)
{
	if (c->len == 0 && conn_fill(c) == -1)
		return -1;
	*p = c->buf + c->off;
	*n = c->len;
	return 0;
}

void
conn_consume(struct conn *c, size_t n)
{
	if (n > c->len)
		n = c->len;
	c->off += n;
	c->len -= n;
	if (c->len == 0)
		c->off = 0;
}

size_t
conn_pending(struct conn *c)
{
	return c->len;
}

int
conn_unsolicited(struct conn *c)
{
	struct pollfd	pfd;
	ssize_t		n;
	int		r, e;

	if (c->dead)
		return 0;
	if (c->len > 0 || (c->ssl != NULL && SSL_pending(c->ssl) > 0))
		return 1;
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	/* Read-ahead may hold raw records that the socket no longer has. */
	if ((poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN)) &&
	    (c->ssl == NULL || !SSL_has_pending(c->ssl)))
		return 0;
	if (c->ssl == NULL) {
		n = recv(c->fd, c->buf, 1, MSG_PEEK | MSG_DONTWAIT);
		return n > 0;
	}
	/*
	 * A TLS record may carry no data (a TLS 1.3 session ticket): read
	 * once without waiting (the socket is non-blocking) and count only
	 * data, which then stays buffered. An EOF or error found here is
	 * kept and reported by the next read or write.
	 */
	c->off = 0;
	ERR_clear_error();
	r = SSL_read(c->ssl, c->buf, CONN_BUFSZ);
	if (r > 0) {
		c->len = (size_t)r;
		return 1;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		return 0;
	}
	if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL ||
	    (e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) ==
	    SSL_R_UNEXPECTED_EOF_WHILE_READING))
		conn_fail(c, CONN_E_EOF, "connection closed by server");
	else
		tls_errstr(c, "TLS read");
	ERR_clear_error();
	c->dead = 1;
	return 0;
}

enum conn_err
conn_errkind(struct conn *c)
{
	return c->kind;
}

const char *
conn_error(struct conn *c)
{
	return c->err;
}

void
conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		/* Best effort, never waits: the socket is non-blocking. */
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	if (c->fd != -1)
		close(c->fd);
	free(c->buf);
	free(c);
}
