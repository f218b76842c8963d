/*
 * limitpop.c -- the "limit" client of the benchmark (tests/bench/bench.sh):
 * the least work a POP3 client can do to receive a whole mailbox, so that
 * every real client can be given as a share of it.
 *
 * It connects over implicit TLS (pop3s), verifies the server's certificate
 * against a CA file and the host name (SSL_set1_host), logs in with
 * USER/PASS, sends UIDL and LIST, then pipelines RETR for every message
 * with a deep window (default 256 outstanding commands), reads with large
 * reads, finds the end of each message (the status line, then the
 * "\r\n.\r\n" terminator, RFC 1939 section 3) and throws the bytes away,
 * then QUIT. Nothing is written to disk, nothing is hashed.
 *
 *   limitpop -h HOST -p PORT -c CAFILE -u USER [-a ADDR] [-w WINDOW]
 *            [-l] [-d] [-v]
 *
 * The password is read from the environment variable LIMITPOP_PASSWORD.
 * -a ADDR   connect to ADDR (default: HOST) but verify the name HOST
 * -w N      at most N RETR (or DELE) commands outstanding (0: all at once)
 * -l        list only: log in, UIDL, LIST, QUIT (a "nothing new" run)
 * -d        after all RETR, pipeline DELE for every message, then QUIT
 *           (the server expunges at QUIT)
 * -v        print a summary line on stderr
 *
 * Exit status 0 only if every message was received in full (one "+OK"
 * status and one terminator per RETR) and QUIT was answered "+OK".
 *
 * This is a test tool, not part of popvault; it is built by "make bench"
 * into build/bench/limitpop.
 */

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define RBUF_SIZE	(256 * 1024)
#define LINE_MAX_LEN	1024

struct lp {
	SSL		*ssl;
	unsigned char	*buf;		/* read buffer */
	size_t		 len;		/* bytes in buf */
	size_t		 off;		/* bytes of buf consumed */
	unsigned long long rx;		/* bytes read from the server */
};

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("limitpop: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* Refill the buffer (all earlier bytes consumed). 0 at EOF, else bytes. */
static size_t
lp_fill(struct lp *c)
{
	size_t n = 0;

	if (SSL_read_ex(c->ssl, c->buf, RBUF_SIZE, &n) != 1) {
		int e = SSL_get_error(c->ssl, 0);
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		die("read failed (SSL error %d)", e);
	}
	c->len = n;
	c->off = 0;
	c->rx += n;
	return n;
}

static void
lp_write(struct lp *c, const char *s, size_t n)
{
	size_t w;

	while (n > 0) {
		if (SSL_write_ex(c->ssl, s, n, &w) != 1)
			die("write failed");
		s += w;
		n -= w;
	}
}

/* Read one CRLF line (without it) into line; die if longer than max. */
static void
lp_line(struct lp *c, char *line, size_t max)
{
	size_t n = 0;

	for (;;) {
		if (c->off == c->len && lp_fill(c) == 0)
			die("connection closed by the server");
		unsigned char *p = c->buf + c->off;
		unsigned char *nl = memchr(p, '\n', c->len - c->off);
		size_t take = nl ? (size_t)(nl - p) + 1 : c->len - c->off;
		if (n + take >= max)
			die("line too long");
		memcpy(line + n, p, take);
		n += take;
		c->off += take;
		if (nl)
			break;
	}
	line[n] = '\0';
	if (n >= 2 && line[n - 2] == '\r')
		line[n - 2] = '\0';
	else
		line[n - 1] = '\0';
}

static void
lp_ok(struct lp *c, const char *what)
{
	char line[LINE_MAX_LEN];

	lp_line(c, line, sizeof(line));
	if (strncmp(line, "+OK", 3) != 0)
		die("%s: %.200s", what, line);
}

/*
 * Skip a multi-line body up to and including the terminator "\r\n.\r\n",
 * where the first CRLF is the end of the status line already read (so an
 * empty body is just ".\r\n"). Lines are found with memchr; the state
 * survives buffer boundaries. Returns the number of lines in the body.
 */
enum { S_LINE, S_BOL, S_DOT, S_DOTCR };

static unsigned long
lp_skip_body(struct lp *c)
{
	int st = S_BOL, prev_cr = 1;	/* the status line ended in CRLF */
	unsigned long lines = 0;

	for (;;) {
		if (c->off == c->len && lp_fill(c) == 0)
			die("connection closed inside a message");
		unsigned char *p = c->buf + c->off;
		unsigned char *end = c->buf + c->len;
		while (p < end) {
			switch (st) {
			case S_LINE: {
				unsigned char *nl = memchr(p, '\n', end - p);
				if (nl == NULL) {
					prev_cr = end[-1] == '\r';
					p = end;
					break;
				}
				/* Only CRLF ends a line (a bare LF does not). */
				if (nl > p ? nl[-1] == '\r' : prev_cr) {
					lines++;
					st = S_BOL;
				}
				prev_cr = 0;
				p = nl + 1;
				break;
			}
			case S_BOL:
				st = *p == '.' ? (p++, S_DOT) : S_LINE;
				prev_cr = 0;
				break;
			case S_DOT:
				st = *p == '\r' ? (p++, S_DOTCR) : S_LINE;
				prev_cr = st == S_DOTCR;
				break;
			case S_DOTCR:
				if (*p == '\n') {
					c->off = (size_t)(p + 1 - c->buf);
					return lines;
				}
				st = S_LINE;
				break;
			}
		}
		c->off = c->len;
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
tcp_connect(const char *addr, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(addr, port, &hints, &res)) != 0)
		die("%s: %s", addr, gai_strerror(e));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		die("cannot connect to %s port %s: %s", addr, port,
		    strerror(errno));
	return fd;
}

/*
 * Pipeline "CMD i" for i = 1..n with at most window outstanding; for each,
 * read the status line and, if body, skip the multi-line body. Commands
 * are sent in groups when half the window is free, so writes stay small
 * and never block while the server is sending (no deadlock).
 */
static void
pipeline(struct lp *c, const char *cmd, unsigned long n, unsigned long window,
    int body)
{
	char *out;
	size_t outsz;
	unsigned long sent = 0, done = 0;

	if (window == 0 || window > n)
		window = n;
	outsz = (window + 1) * 32;
	if ((out = malloc(outsz)) == NULL)
		die("out of memory");
	while (done < n) {
		if (sent < n && sent - done <= window / 2) {
			size_t len = 0;
			while (sent < n && sent - done < window) {
				sent++;
				len += (size_t)snprintf(out + len, outsz - len,
				    "%s %lu\r\n", cmd, sent);
			}
			lp_write(c, out, len);
		}
		lp_ok(c, cmd);
		if (body)
			lp_skip_body(c);
		done++;
	}
	free(out);
}

int
main(int argc, char *argv[])
{
	const char *host = NULL, *addr = NULL, *port = NULL, *ca = NULL;
	const char *user = NULL, *pass;
	unsigned long window = 256, nmsg = 0, nuidl = 0;
	int ch, list_only = 0, dele = 0, verbose = 0, fd;
	char cmd[LINE_MAX_LEN];
	struct lp c;
	SSL_CTX *ctx;
	double t0;

	while ((ch = getopt(argc, argv, "a:c:dh:lp:u:vw:")) != -1) {
		switch (ch) {
		case 'a': addr = optarg; break;
		case 'c': ca = optarg; break;
		case 'd': dele = 1; break;
		case 'h': host = optarg; break;
		case 'l': list_only = 1; break;
		case 'p': port = optarg; break;
		case 'u': user = optarg; break;
		case 'v': verbose = 1; break;
		case 'w': window = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: limitpop -h HOST -p PORT "
			    "-c CAFILE -u USER [-a ADDR] [-w WINDOW] [-l] "
			    "[-d] [-v]\n");
			return 2;
		}
	}
	pass = getenv("LIMITPOP_PASSWORD");
	if (!host || !port || !ca || !user || !pass)
		die("need -h, -p, -c, -u and LIMITPOP_PASSWORD");
	if (addr == NULL)
		addr = host;
	if (strlen(user) > 200 || strlen(pass) > 200)
		die("user or password too long");

	t0 = now();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		die("SSL_CTX_new");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		die("cannot load CA file %s", ca);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_read_ahead(ctx, 1);
	memset(&c, 0, sizeof(c));
	if ((c.buf = malloc(RBUF_SIZE)) == NULL)
		die("out of memory");
	fd = tcp_connect(addr, port);
	if ((c.ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c.ssl, fd) != 1)
		die("SSL_new");
	SSL_set_tlsext_host_name(c.ssl, host);
	if (SSL_set1_host(c.ssl, host) != 1)
		die("SSL_set1_host");
	if (SSL_connect(c.ssl) != 1)
		die("TLS handshake with %s failed", host);

	lp_ok(&c, "greeting");
	snprintf(cmd, sizeof(cmd), "USER %s\r\n", user);
	lp_write(&c, cmd, strlen(cmd));
	lp_ok(&c, "USER");
	snprintf(cmd, sizeof(cmd), "PASS %s\r\n", pass);
	lp_write(&c, cmd, strlen(cmd));
	lp_ok(&c, "PASS");

	/* UIDL and LIST pipelined (RFC 2449 allows it; Dovecot does it). */
	lp_write(&c, "UIDL\r\nLIST\r\n", 12);
	lp_ok(&c, "UIDL");
	nuidl = lp_skip_body(&c);
	lp_ok(&c, "LIST");
	nmsg = lp_skip_body(&c);
	if (nuidl != nmsg)
		die("UIDL lists %lu messages, LIST %lu", nuidl, nmsg);

	if (!list_only && nmsg > 0) {
		pipeline(&c, "RETR", nmsg, window, 1);
		if (dele)
			pipeline(&c, "DELE", nmsg, window, 0);
	}
	lp_write(&c, "QUIT\r\n", 6);
	lp_ok(&c, "QUIT");
	SSL_shutdown(c.ssl);
	SSL_free(c.ssl);
	close(fd);
	SSL_CTX_free(ctx);
	free(c.buf);
	if (verbose) {
		double t = now() - t0;
		fprintf(stderr, "limitpop: %lu messages%s, %llu bytes read in "
		    "%.3f s (%.1f MB/s)\n", nmsg,
		    list_only ? " listed" : dele ? " retrieved and deleted" :
		    " retrieved", c.rx, t, c.rx / 1e6 / (t > 0 ? t : 1));
	}
	printf("%lu\n", nmsg);
	return 0;
}
