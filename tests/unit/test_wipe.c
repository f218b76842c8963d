/*
 * test_wipe.c -- after a login, failed or cut short, no copy of the
 * password, or of what carries it, is left in popvault's memory
 * (issue 13, section 7).
 *
 * This binary replaces malloc (the GNU C library allows it: "Replacing
 * malloc" in its manual) with an arena that never reuses memory: free()
 * does nothing, so whatever a freed block held is still there when the
 * arena is searched. Every allocation of the process goes there:
 * popvault's, OpenSSL's (its TLS record buffers included) and the C
 * library's.
 *
 * Each case logs in to a scripted POP3 server in a child process (its
 * copies of the password are in its own memory), over TLS (a
 * certificate made here, pinned) or in clear text, with USER/PASS, APOP,
 * PLAIN (initial response, and the two-step form a long password
 * needs), LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256, XOAUTH2 and
 * OAUTHBEARER, once refused with -ERR and once with the connection cut
 * right after the line that carries the secret (the error paths). The
 * 256 KiB of stack below the caller are copied as soon as the login
 * function returns (its own frame and those of everything it called lie
 * there), the session is freed, and then that copy and the whole arena
 * (from where it stood before the login) are searched for the password
 * and for what is derived from it: the base64 of the PLAIN, LOGIN and
 * XOAUTH2 responses, the APOP digest, the CRAM-MD5 digest, and SCRAM's
 * SaltedPassword and ClientKey (raw bytes). A password command's
 * output is searched for too, all its lines (only the first is the
 * password).
 *
 * Two controls show that the search can see: a freed block and a
 * returned stack frame that held a canary must be found. Under
 * AddressSanitizer (make asan), which brings its own malloc, only the
 * stack is searched; the output says so.
 */
#define _GNU_SOURCE	/* memmem */

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "hash.h"
#include "pop3.h"
#include "sasl.h"
#include "secret.h"
#include "util.h"
#include "t.h"

#if defined(__SANITIZE_ADDRESS__)
#define WIPE_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WIPE_ASAN	1
#endif
#endif

/*
 * The stack copies must be plain frames: ASan's redzones would move the
 * array away from the frames it is meant to cover.
 */
#ifdef WIPE_ASAN
#define NO_ASAN	__attribute__((no_sanitize_address))
#else
#define NO_ASAN
#endif

/* ---- an allocator that never reuses memory -------------------------- */

#define ARENA_SIZE	(2UL * 1024 * 1024 * 1024)

static size_t		 arena_used;	/* stays 0 under ASan */

#ifndef WIPE_ASAN
static unsigned char	*arena;

struct blk {
	size_t	size;
	size_t	pad;		/* keeps the block 16-byte aligned */
};

static void *
arena_alloc(size_t align, size_t n)
{
	size_t		 off;
	struct blk	*b;

	if (arena == NULL) {
		arena = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (arena == MAP_FAILED)
			abort();
	}
	if (align < 16)
		align = 16;
	if (n > ARENA_SIZE)
		goto full;
	off = arena_used + sizeof *b;
	off = (off + align - 1) & ~(align - 1);
	if (off + n > ARENA_SIZE)
		goto full;
	b = (struct blk *)(void *)(arena + off - sizeof *b);
	b->size = n;
	arena_used = off + n;
	return arena + off;
full:
	errno = ENOMEM;
	return NULL;
}

void *
malloc(size_t n)
{
	return arena_alloc(16, n);
}

void
free(void *p)
{
	(void)p;	/* never reused: what it held stays for the search */
}

void *
calloc(size_t a, size_t b)
{
	if (b != 0 && a > SIZE_MAX / b) {
		errno = ENOMEM;
		return NULL;
	}
	/* Fresh anonymous memory, never reused: zero already. */
	return arena_alloc(16, a * b);
}

size_t
malloc_usable_size(void *p)
{
	if (p == NULL)
		return 0;
	return ((struct blk *)p - 1)->size;
}

void *
realloc(void *p, size_t n)
{
	void	*q;
	size_t	 old;

	if (p == NULL)
		return malloc(n);
	if ((q = malloc(n == 0 ? 1 : n)) == NULL)
		return NULL;
	old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	return q;
}

void *
memalign(size_t align, size_t n)
{
	return arena_alloc(align, n);
}

void *
aligned_alloc(size_t align, size_t n)
{
	return arena_alloc(align, n);
}

int
posix_memalign(void **out, size_t align, size_t n)
{
	void	*p = arena_alloc(align, n);

	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

void *
valloc(size_t n)
{
	return arena_alloc(4096, n);
}

void *
pvalloc(size_t n)
{
	return arena_alloc(4096, (n + 4095) & ~(size_t)4095);
}
#endif /* !WIPE_ASAN */

/* ---- the search ------------------------------------------------------- */

#define STACK_SCAN	(256 * 1024)
#define NEEDLES_MAX	4

struct needle {
	const char		*what;
	unsigned char		 b[512];
	size_t			 n;
};

struct needles {
	struct needle	v[NEEDLES_MAX];
	size_t		n;
};

static unsigned char	snap[STACK_SCAN];	/* not on the stack, not
						 * in the arena */

static void
needle_add(struct needles *ns, const char *what, const void *p, size_t n)
{
	struct needle	*nd = &ns->v[ns->n++];

	if (ns->n > NEEDLES_MAX || n > sizeof nd->b)
		abort();
	nd->what = what;
	memcpy(nd->b, p, n);
	nd->n = n;
}

static void
needle_b64(struct needles *ns, const char *what, const void *p, size_t n)
{
	static char	enc[sizeof ns->v[0].b];

	if (sasl_b64_enclen(n) > sizeof enc)
		abort();
	sasl_b64_encode(p, n, enc);
	needle_add(ns, what, enc, strlen(enc));
	explicit_bzero(enc, sizeof enc);
}

/*
 * The stack below the caller's frame: what the calls the caller made
 * before this one left there. Copied out byte by byte (volatile: the
 * compiler may not skip the reads). Called straight after the call to
 * look at, from the same function, so that it covers its frames.
 */
static void __attribute__((noinline)) NO_ASAN
stack_snapshot(void)
{
	volatile unsigned char	buf[STACK_SCAN];
	size_t			i;

	/* For the compiler, anything may have written buf: no warning. */
	__asm__ volatile("" : : "r"(buf) : "memory");
	for (i = 0; i < sizeof buf; i++)
		snap[i] = buf[i];
}

/* Zero that much stack, so that only what follows can leave things. */
static void __attribute__((noinline)) NO_ASAN
stack_scrub(void)
{
	volatile unsigned char	buf[STACK_SCAN];
	size_t			i;

	for (i = 0; i < sizeof buf; i++)
		buf[i] = 0;
}

/*
 * Where a needle is: "heap" (the arena from offset from), "stack" (the
 * last snapshot), or NULL; *which names the needle.
 */
static const char *
search(const struct needles *ns, size_t from, const char **which)
{
	size_t	i;

	for (i = 0; i < ns->n; i++) {
		*which = ns->v[i].what;
#ifndef WIPE_ASAN
		if (memmem(arena + from, arena_used - from, ns->v[i].b,
		    ns->v[i].n) != NULL)
			return "heap";
#else
		(void)from;
#endif
		if (memmem(snap, sizeof snap, ns->v[i].b, ns->v[i].n) != NULL)
			return "stack";
	}
	return NULL;
}

/* ---- a TLS certificate, pinned by the client ----------------------- */

static SSL_CTX	*srv_ctx;
static char	 pin[80];

static void
make_cert(void)
{
	EVP_PKEY	*k;
	X509		*x;
	X509_NAME	*nm;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 len = 0;

	if ((k = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, nm);
	if (X509_sign(x, k, EVP_sha256()) == 0 ||
	    X509_digest(x, EVP_sha256(), md, &len) != 1 || len != 32)
		abort();
	memcpy(pin, "sha256:", 7);
	hex_encode(md, 32, pin + 7);
	if ((srv_ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate(srv_ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(srv_ctx, k) != 1)
		abort();
}

/* ---- the scripted server (child) ----------------------------------- */

#define GREETING_TS	"<1896.697170952@dbc.mtview.ca.us>"
#define CRAM_CHAL	"<1896.697170952@postoffice.reston.mci.net>"
#define SCRAM_SALT	"wipe-test-salt"

struct srv {
	int	 fd;
	SSL	*ssl;
	char	 in[16384];
	size_t	 len;
};

static int
srv_write(struct srv *s, const char *line)
{
	char	buf[2048];
	int	n = snprintf(buf, sizeof buf, "%s\r\n", line);

	if (s->ssl != NULL)
		return SSL_write(s->ssl, buf, n) == n ? 0 : -1;
	return write(s->fd, buf, (size_t)n) == n ? 0 : -1;
}

/* The next line, without CRLF, or NULL at EOF. */
static char *
srv_line(struct srv *s)
{
	static char	 line[sizeof s->in];
	char		*nl;
	ssize_t		 n;
	size_t		 k;

	while ((nl = memchr(s->in, '\n', s->len)) == NULL) {
		if (s->len == sizeof s->in)
			return NULL;
		n = s->ssl != NULL ? SSL_read(s->ssl, s->in + s->len,
		    (int)(sizeof s->in - s->len)) :
		    read(s->fd, s->in + s->len, sizeof s->in - s->len);
		if (n <= 0)
			return NULL;
		s->len += (size_t)n;
	}
	k = (size_t)(nl - s->in);
	memcpy(line, s->in, k);
	line[k] = '\0';
	if (k > 0 && line[k - 1] == '\r')
		line[k - 1] = '\0';
	memmove(s->in, nl + 1, s->len - k - 1);
	s->len -= k + 1;
	return line;
}

/* The last word of the exchange: -ERR, or a cut (cut: exit now). */
static int
srv_end(struct srv *s, int cut)
{
	if (cut)
		_exit(0);
	return srv_write(s, "-ERR [AUTH] wrong password");
}

/* Answer SCRAM's client-first (after "AUTH MECH ") with a server-first. */
static int
srv_scram(struct srv *s, const char *b64)
{
	char	cf[1024], sf[1200], enc[1700], line[1710], salt[64];
	size_t	n;
	char	*r;

	if (sasl_b64_decode(b64, strlen(b64), cf, sizeof cf - 1, &n) == -1)
		return -1;
	cf[n] = '\0';
	if ((r = strstr(cf, ",r=")) == NULL)
		return -1;
	sasl_b64_encode(SCRAM_SALT, sizeof SCRAM_SALT - 1, salt);
	snprintf(sf, sizeof sf, "r=%sSRV,s=%s,i=4096", r + 3, salt);
	sasl_b64_encode(sf, strlen(sf), enc);
	snprintf(line, sizeof line, "+ %s", enc);
	return srv_write(s, line);
}

static int
srv_run(struct srv *s, int cut)
{
	char	*l;

	if (srv_write(s, "+OK ready " GREETING_TS) == -1)
		return 1;
	while ((l = srv_line(s)) != NULL) {
		if (strcmp(l, "CAPA") == 0) {
			srv_write(s, "+OK");
			srv_write(s, "USER");
			srv_write(s, "SASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 "
			    "SCRAM-SHA-256 XOAUTH2 OAUTHBEARER");
			srv_write(s, ".");
		} else if (strncmp(l, "USER ", 5) == 0)
			srv_write(s, "+OK");
		else if (strncmp(l, "PASS ", 5) == 0 ||
		    strncmp(l, "APOP ", 5) == 0)
			srv_end(s, cut);
		else if (strcmp(l, "AUTH PLAIN") == 0 ||
		    strcmp(l, "AUTH XOAUTH2") == 0 ||
		    strcmp(l, "AUTH OAUTHBEARER") == 0) {
			srv_write(s, "+ ");
			if (srv_line(s) == NULL)
				return 0;
			srv_end(s, cut);
		} else if (strncmp(l, "AUTH PLAIN ", 11) == 0 ||
		    strncmp(l, "AUTH XOAUTH2 ", 13) == 0 ||
		    strncmp(l, "AUTH OAUTHBEARER ", 17) == 0)
			srv_end(s, cut);
		else if (strcmp(l, "AUTH LOGIN") == 0) {
			srv_write(s, "+ VXNlcm5hbWU6");
			if (srv_line(s) == NULL)
				return 0;
			srv_write(s, "+ UGFzc3dvcmQ6");
			if (srv_line(s) == NULL)
				return 0;
			srv_end(s, cut);
		} else if (strcmp(l, "AUTH CRAM-MD5") == 0) {
			srv_write(s, "+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2Uu"
			    "cmVzdG9uLm1jaS5uZXQ+");
			if (srv_line(s) == NULL)
				return 0;
			srv_end(s, cut);
		} else if (strncmp(l, "AUTH SCRAM-SHA-256 ", 19) == 0 ||
		    strncmp(l, "AUTH SCRAM-SHA-1 ", 17) == 0) {
			if (srv_scram(s, strchr(l + 5, ' ') + 1) == -1)
				return 1;
			if (srv_line(s) == NULL)
				return 0;
			srv_end(s, cut);
		} else if (strcmp(l, "*") == 0)
			srv_write(s, "-ERR cancelled");
		else if (strcmp(l, "QUIT") == 0) {
			srv_write(s, "+OK bye");
			return 0;
		} else
			srv_write(s, "-ERR unknown command");
	}
	return 0;
}

static void __attribute__((noreturn))
srv_child(int lfd, int tls, int cut)
{
	struct srv	s;
	int		fd;

	memset(&s, 0, sizeof s);
	if ((fd = accept(lfd, NULL, NULL)) == -1)
		_exit(99);
	close(lfd);
	s.fd = fd;
	if (tls) {
		if ((s.ssl = SSL_new(srv_ctx)) == NULL ||
		    SSL_set_fd(s.ssl, fd) != 1 || SSL_accept(s.ssl) != 1)
			_exit(98);
	}
	_exit(srv_run(&s, cut));
}

/* ---- the cases -------------------------------------------------------- */

struct wcase {
	const char	*mech;	/* "user", "apop", or a SASL name */
	const char	*pw;		/* unique to the case */
};

static const struct wcase cases[] = {
	{ "user", "pw-user-Q7d1" },
	{ "apop", "pw-apop-K2w8" },
	{ "plain", "pw-plain-Z5m3" },
	{ "plain", "pw-plainlong-" /* 240 more: the two-step form */
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" },
	{ "login", "pw-login-R4n6" },
	{ "cram-md5", "pw-cram-H8v2" },
	{ "scram-sha-1", "pw-scram1-B3j9" },
	{ "scram-sha-256", "pw-scram256-T6c4" },
	{ "xoauth2", "tok-xoauth2-M1f5" },
	{ "oauthbearer", "tok-bearer-W9p7" },
};

#define USER	"wipe.user"

#define NCASES	(sizeof cases / sizeof cases[0])

static struct needles	case_needles[NCASES];

/*
 * What carries each case's secret, worked out before any login (what
 * this leaves in the arena lies below the marks the searches start at).
 */
static void
make_needles(void)
{
	static unsigned char	 raw[512], md[64], md2[64];
	static char		 hex[40];
	const struct wcase	*c;
	struct needles		*ns;
	size_t			 i, n, hl;
	enum hash_md		 alg;

	for (i = 0; i < NCASES; i++) {
		c = &cases[i];
		ns = &case_needles[i];
		/* A distinctive prefix: a cut copy is a copy. */
		needle_add(ns, "password", c->pw, 12);
		if (strcmp(c->mech, "plain") == 0) {
			n = (size_t)snprintf((char *)raw, sizeof raw,
			    "%c%s%c%s", 0, USER, 0, c->pw);
			needle_b64(ns, "PLAIN response", raw, n);
		} else if (strcmp(c->mech, "login") == 0)
			needle_b64(ns, "LOGIN response", c->pw,
			    strlen(c->pw));
		else if (strcmp(c->mech, "xoauth2") == 0) {
			n = (size_t)snprintf((char *)raw, sizeof raw,
			    "user=%s\001auth=Bearer %s\001\001", USER,
			    c->pw);
			needle_b64(ns, "XOAUTH2 response", raw, n);
		} else if (strcmp(c->mech, "apop") == 0) {
			n = (size_t)snprintf((char *)raw, sizeof raw, "%s%s",
			    GREETING_TS, c->pw);
			hash_md5_hex(raw, n, hex);
			needle_add(ns, "APOP digest", hex, 32);
		} else if (strcmp(c->mech, "cram-md5") == 0) {
			hash_hmac(HASH_MD5, c->pw, strlen(c->pw), CRAM_CHAL,
			    sizeof CRAM_CHAL - 1, md);
			hex_encode(md, 16, hex);
			needle_add(ns, "CRAM-MD5 digest", hex, 32);
		} else if (strncmp(c->mech, "scram-", 6) == 0) {
			alg = strcmp(c->mech, "scram-sha-1") == 0 ?
			    HASH_SHA1 : HASH_SHA256;
			hl = hash_md_len(alg);
			hash_pbkdf2(alg, c->pw, strlen(c->pw), SCRAM_SALT,
			    sizeof SCRAM_SALT - 1, 4096, md, hl);
			needle_add(ns, "SCRAM SaltedPassword", md, hl);
			hash_hmac(alg, md, hl, "Client Key", 10, md2);
			needle_add(ns, "SCRAM ClientKey", md2, hl);
		}
	}
	explicit_bzero(raw, sizeof raw);
	explicit_bzero(md, sizeof md);
	explicit_bzero(md2, sizeof md2);
	explicit_bzero(hex, sizeof hex);
}

/* One login; returns what the client said, in err. */
static int __attribute__((noinline))
login_case(const struct wcase *c, int tls, int cut, char *err, size_t len)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof sin;
	struct pop3_opts	 o;
	struct pop3		*p;
	char			 port[16];
	int			 lfd, st, rc;
	pid_t			 pid;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(lfd, 1) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl) == -1)
		abort();
	snprintf(port, sizeof port, "%u", ntohs(sin.sin_port));
	fflush(NULL);
	if ((pid = fork()) == -1)
		abort();
	if (pid == 0)
		srv_child(lfd, tls, cut);
	close(lfd);

	memset(&o, 0, sizeof o);
	o.host = "127.0.0.1";
	o.port = port;
	o.tls = tls ? POP3_TLS_IMPLICIT : POP3_TLS_NONE;
	o.tlsopts.fingerprint = pin;
	o.insecure_plaintext = !tls;
	o.connect_timeout_ms = 5000;
	o.timeout_ms = 5000;
	o.max_msg_size = 1 << 20;
	p = pop3_new(&o);
	if (pop3_connect(p) == -1)
		rc = -2;
	else if (strcmp(c->mech, "user") == 0)
		rc = pop3_login(p, USER, c->pw, POP3_AUTH_USER);
	else if (strcmp(c->mech, "apop") == 0)
		rc = pop3_login(p, USER, c->pw, POP3_AUTH_APOP);
	else
		rc = pop3_auth(p, c->mech, USER, c->pw);
	/*
	 * At once: the frames of the login, its own included, lie below
	 * this one; what they held must be gone when it returns.
	 */
	stack_snapshot();
	snprintf(err, len, "%s", pop3_error(p));
	pop3_free(p);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(err, len, "server exit status %d", WIFEXITED(st) ?
		    WEXITSTATUS(st) : -WTERMSIG(st));
		return -2;
	}
	return rc;
}

static void
test_logins(void)
{
	const char	*where, *which;
	char		 err[800];
	size_t		 i, mark;
	int		 tls, cut, rc;

	for (i = 0; i < NCASES; i++)
		for (tls = 0; tls <= 1; tls++)
			for (cut = 0; cut <= 1; cut++) {
				stack_scrub();
				mark = arena_used;
				rc = login_case(&cases[i], tls, cut, err,
				    sizeof err);
				/* Refused or cut: the error paths, always. */
				T_CHECKF(rc == -1, "%s %s %s: rc %d: %s",
				    cases[i].mech, tls ? "tls" : "plain",
				    cut ? "cut" : "refused", rc, err);
				where = search(&case_needles[i], mark,
				    &which);
				T_CHECKF(where == NULL, "%s %s %s: %s left "
				    "on the %s", cases[i].mech, tls ? "tls" :
				    "plain", cut ? "cut" : "refused", which,
				    where);
			}
}

/* All lines of a password command's output are wiped, not the first. */
static void __attribute__((noinline))
run_command(char *err, size_t len)
{
	char	*pw;

	pw = secret_get("printf 'cmd-pw-F3x8\\nnext-line-S1k4\\n'", "test",
	    err, len);
	if (pw == NULL || strcmp(pw, "cmd-pw-F3x8") != 0)
		snprintf(err, len, "secret_get gave %s", pw ? pw : "NULL");
	else
		err[0] = '\0';
	secret_free(pw);
}

static void
test_password_command(void)
{
	struct needles	 ns = { .n = 0 };
	const char	*where, *which;
	char		 err[600];
	size_t		 mark = arena_used;

	stack_scrub();
	run_command(err, sizeof err);
	stack_snapshot();
	T_CHECKF(err[0] == '\0', "%s", err);
	needle_add(&ns, "password", "cmd-pw-F3x8", 11);
	needle_add(&ns, "second line", "next-line-S1k4", 14);
	where = search(&ns, mark, &which);
	T_CHECKF(where == NULL, "password command: %s left on the %s", which,
	    where);
}

/* The controls: a canary left in a freed block and on the stack. */
static void __attribute__((noinline))
leave_canary(void)
{
	volatile char	frame[64];
	char		*p;
	size_t		 i;

	for (i = 0; i < sizeof frame; i++)
		frame[i] = "canary-on-stack-D4q8"[i % 20];
	p = malloc(64);
	memcpy(p, "canary-in-heap-V2y6", 20);
	free(p);
}

static void
test_controls(void)
{
	struct needles	 ns = { .n = 0 };
	const char	*where, *which;
	size_t		 mark = arena_used;

	stack_scrub();
	leave_canary();
	stack_snapshot();
	needle_add(&ns, "stack canary", "canary-on-stack-D4q8", 20);
	where = search(&ns, mark, &which);
	T_CHECKF(where != NULL && strcmp(where, "stack") == 0,
	    "the stack search is blind");
#ifndef WIPE_ASAN
	ns.n = 0;
	needle_add(&ns, "heap canary", "canary-in-heap-V2y6", 19);
	where = search(&ns, mark, &which);
	T_CHECKF(where != NULL && strcmp(where, "heap") == 0,
	    "the heap search is blind");
#else
	printf("test_wipe: AddressSanitizer build: heap not searched, stack "
	    "only\n");
#endif
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	make_cert();
	make_needles();
	T_RUN(test_controls);
	T_RUN(test_logins);
	T_RUN(test_password_command);
	return T_END();
}
