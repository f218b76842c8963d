/*
 * test_imap.c -- the IMAP client session (core/imap.c) against a
 * scripted server.
 *
 * Each test runs a server thread over a socketpair (the client side is
 * adopted with conn_adopt()) that plays a script, one step a string:
 *
 *   S:text     send text and CRLF          R:text   send text as it is
 *   C:text     expect the client's next line (CRLF not shown) to be text
 *   c:text     expect a line that starts with text
 *   B:text     expect exactly the octets of text (a literal's body)
 *   P:ms       pause                       X:       end our writing
 *   I:         read and drop whatever the client sends, to its end
 *   D:n:ms     send n octets "x", one every ms (a dripping literal);
 *              stops when the client has gone
 *   A:tag:mode the server side of SCRAM-SHA-256 (scramsrv.h) for the
 *              command "tag AUTHENTICATE SCRAM-SHA-256 <initial>"; mode
 *              ok, early (OK before v=) or badv (a wrong v=, expect "*")
 *
 * After the script the server expects end of file: a client that sends
 * anything more (a command it should not have sent) is a mismatch, as
 * is any difference on the way. The client runs at -v with stderr
 * captured, so tests can also check what the log shows (and what it
 * must not: secrets).
 *
 * The server can also write every octet on its own (drip) or cut its
 * output in two at a given offset with a pause between (split):
 * test_split runs a whole session cut at every offset of the server's
 * output and checks that the outcome never changes.
 */
#include <sys/socket.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "imap.h"
#include "log.h"
#include "sasl.h"
#include "scramsrv.h"
#include "t.h"
#include "util.h"

/* ---- the server (a thread) ----------------------------------------- */

struct srv {
	int		 fd;
	char *const	*script;
	int		 drip;
	long		 split;		/* -1: none */
	size_t		 sent;
	int		 bad;
	char		 msg[4096];
	char		 in[1 << 17];
	size_t		 inlen;
};

static void	srv_note(struct srv *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static char	*xfmt(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

static void
srv_note(struct srv *sv, const char *fmt, ...)
{
	size_t	n = strlen(sv->msg);
	va_list	ap;

	sv->bad++;
	va_start(ap, fmt);
	vsnprintf(sv->msg + n, sizeof sv->msg - n, fmt, ap);
	va_end(ap);
	n = strlen(sv->msg);
	if (n + 1 < sizeof sv->msg) {
		sv->msg[n] = '\n';
		sv->msg[n + 1] = '\0';
	}
}

/* More of the client's bytes: 0, or -1 at end of file or after 5 s. */
static int
srv_fill(struct srv *sv)
{
	struct pollfd	pfd;
	ssize_t		r;

	if (sv->inlen == sizeof sv->in)
		return -1;
	pfd.fd = sv->fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 5000) != 1)
		return -1;
	r = read(sv->fd, sv->in + sv->inlen, sizeof sv->in - sv->inlen);
	if (r <= 0)
		return -1;
	sv->inlen += (size_t)r;
	return 0;
}

/* The client's next line, without CRLF, into out (NUL-terminated). */
static int
srv_line(struct srv *sv, char *out, size_t cap)
{
	char	*e = NULL;
	size_t	 n, i;

	for (i = 0; e == NULL; i++) {
		while (i + 1 >= sv->inlen)
			if (srv_fill(sv) == -1)
				return -1;
		if (sv->in[i] == '\r' && sv->in[i + 1] == '\n')
			e = sv->in + i;
	}
	n = (size_t)(e - sv->in);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, sv->in, n);
	out[n] = '\0';
	n = (size_t)(e - sv->in) + 2;
	memmove(sv->in, sv->in + n, sv->inlen - n);
	sv->inlen -= n;
	return 0;
}

/* Exactly n of the client's octets into out. */
static int
srv_raw(struct srv *sv, char *out, size_t n)
{
	while (sv->inlen < n)
		if (srv_fill(sv) == -1)
			return -1;
	memcpy(out, sv->in, n);
	memmove(sv->in, sv->in + n, sv->inlen - n);
	sv->inlen -= n;
	return 0;
}

static void
srv_send(struct srv *sv, const char *p, size_t n)
{
	size_t	k, cut;

	if (sv->drip) {
		for (k = 0; k < n; k++) {
			(void)send(sv->fd, p + k, 1, MSG_NOSIGNAL);
			usleep(100);
		}
	} else if (sv->split >= 0 && (size_t)sv->split > sv->sent &&
	    (size_t)sv->split < sv->sent + n) {
		cut = (size_t)sv->split - sv->sent;
		(void)send(sv->fd, p, cut, MSG_NOSIGNAL);
		usleep(1000);
		(void)send(sv->fd, p + cut, n - cut, MSG_NOSIGNAL);
	} else
		(void)send(sv->fd, p, n, MSG_NOSIGNAL);
	sv->sent += n;
}

static void
srv_sendline(struct srv *sv, const char *s)
{
	srv_send(sv, s, strlen(s));
	srv_send(sv, "\r\n", 2);
}

static void
srv_scram(struct srv *sv, const char *arg)
{
	struct scram_srv	 ss;
	char			 want[64], line[4096], b64[2048];
	const char		*mode = strchr(arg, ':') + 1;
	size_t			 tl = (size_t)(mode - 1 - arg);

	snprintf(want, sizeof want, "%.*s AUTHENTICATE SCRAM-SHA-256 ",
	    (int)tl, arg);
	if (srv_line(sv, line, sizeof line) == -1 ||
	    strncmp(line, want, strlen(want)) != 0 ||
	    scram_srv_first(&ss, line + strlen(want), b64, sizeof b64) == -1) {
		srv_note(sv, "scram: bad first line \"%.100s\"", line);
		return;
	}
	srv_send(sv, "+ ", 2);
	srv_sendline(sv, b64);
	if (srv_line(sv, line, sizeof line) == -1 ||
	    scram_srv_final(&ss, line, strcmp(mode, "badv") == 0, b64,
	    sizeof b64) == -1) {
		srv_note(sv, "scram: bad final \"%.100s\"", line);
		return;
	}
	if (strcmp(mode, "early") == 0) {
		srv_send(sv, arg, tl);
		srv_sendline(sv, " OK early");
		return;
	}
	srv_send(sv, "+ ", 2);
	srv_sendline(sv, b64);
	if (srv_line(sv, line, sizeof line) == -1 ||
	    strcmp(line, strcmp(mode, "badv") == 0 ? "*" : "") != 0) {
		srv_note(sv, "scram: bad answer to v=: \"%.100s\"", line);
		return;
	}
	srv_send(sv, arg, tl);
	srv_sendline(sv, strcmp(mode, "badv") == 0 ? " BAD cancelled" :
	    " OK logged in");
}

static void *
srv_main(void *arg)
{
	struct srv	*sv = arg;
	char		*line = t_malloc(1 << 17);
	const char	*s;
	size_t		 i, k, n;
	unsigned	 cnt, ms;

	for (i = 0; sv->script[i] != NULL; i++) {
		s = sv->script[i];
		switch (s[0]) {
		case 'S':
			srv_sendline(sv, s + 2);
			break;
		case 'R':
			srv_send(sv, s + 2, strlen(s + 2));
			break;
		case 'C':
		case 'c':
			if (srv_line(sv, line, 1 << 17) == -1) {
				srv_note(sv, "step %zu: no line, expected "
				    "\"%.100s\"", i, s + 2);
				goto out;
			}
			n = s[0] == 'C' ? strlen(line) + 1 : strlen(s + 2);
			if (strncmp(line, s + 2, n) != 0) {
				srv_note(sv, "step %zu: got \"%.200s\", "
				    "expected \"%.200s\"", i, line, s + 2);
				goto out;
			}
			break;
		case 'B':
			n = strlen(s + 2);
			if (n >= 1 << 17 || srv_raw(sv, line, n) == -1 ||
			    memcmp(line, s + 2, n) != 0) {
				srv_note(sv, "step %zu: literal of %zu octets "
				    "differs", i, n);
				goto out;
			}
			break;
		case 'P':
			usleep((useconds_t)atoi(s + 2) * 1000);
			break;
		case 'X':
			shutdown(sv->fd, SHUT_WR);
			break;
		case 'I':
			while (srv_fill(sv) == 0)
				sv->inlen = 0;
			goto out;
		case 'D':
			if (sscanf(s + 2, "%u:%u", &cnt, &ms) != 2)
				abort();
			for (k = 0; k < cnt; k++) {
				if (send(sv->fd, "x", 1, MSG_NOSIGNAL) != 1)
					break;
				usleep(ms * 1000);
			}
			break;
		case 'A':
			srv_scram(sv, s + 2);
			if (sv->bad)
				goto out;
			break;
		default:
			abort();
		}
	}
	/* Nothing more may come: the client closes. */
	sv->inlen = 0;
	if (srv_fill(sv) == 0)
		srv_note(sv, "after the script: \"%.*s\"",
		    (int)(sv->inlen > 200 ? 200 : sv->inlen), sv->in);
out:
	free(line);
	return NULL;
}

/* ---- the client ----------------------------------------------------- */

struct run {
	struct srv	 sv;
	pthread_t	 th;
	struct imap	*s;
	struct conn	*c;
	int		 logfd, saved;
	char		 log[1 << 16];
	int64_t		 t0;
	int		 checks;	/* failed checks at the start */
};

/* A run started and not ended: its stderr still goes to the log. */
static int	run_active;

static void
opts_default(struct imap_opts *o)
{
	memset(o, 0, sizeof *o);
	o->host = "127.0.0.1";
	o->port = "143";
	o->tls = IMAP_TLS_STARTTLS;
	o->insecure_plaintext = 1;
	o->connect_timeout_ms = 3000;
	o->timeout_ms = 3000;
	o->max_msg_size = 1 << 20;
}

static void
run_start_x(struct run *R, char *const *script, const struct imap_opts *o,
    int drip, long split)
{
	char	err[256], path[] = "/tmp/pvimaplogXXXXXX";
	int	sp[2];

	if (run_active) {
		fprintf(stderr, "test_imap: a run was not ended\n");
		abort();
	}
	run_active = 1;
	memset(R, 0, sizeof *R);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1) {
		perror("socketpair");
		exit(2);
	}
	R->sv.fd = sp[1];
	R->sv.script = script;
	R->sv.drip = drip;
	R->sv.split = split;
	if (pthread_create(&R->th, NULL, srv_main, &R->sv) != 0)
		exit(2);
	R->s = imap_new(o);
	if ((R->c = conn_adopt(sp[0], o->timeout_ms, err, sizeof err)) ==
	    NULL) {
		fprintf(stderr, "conn_adopt: %s\n", err);
		exit(2);
	}
	fflush(stderr);
	R->logfd = mkstemp(path);
	unlink(path);
	R->saved = dup(2);
	dup2(R->logfd, 2);
	log_init(LOG_VERBOSE);
	R->t0 = now_ms();
	R->checks = t_failed_checks;
}

static void
run_start(struct run *R, char *const *script, const struct imap_opts *o)
{
	run_start_x(R, script, o, 0, -1);
}

static int
run_connect(struct run *R)
{
	return imap_connect_conn(R->s, R->c);
}

/* Free the session, collect the log, join the server. */
static void
run_end(struct run *R)
{
	ssize_t	n;
	size_t	len = 0;

	imap_free(R->s);
	R->s = NULL;
	run_active = 0;
	fflush(stderr);
	log_init(LOG_NORMAL);
	dup2(R->saved, 2);
	close(R->saved);
	lseek(R->logfd, 0, SEEK_SET);
	while (len + 1 < sizeof R->log && (n = read(R->logfd, R->log + len,
	    sizeof R->log - 1 - len)) > 0)
		len += (size_t)n;
	R->log[len] = '\0';
	close(R->logfd);
	pthread_join(R->th, NULL);
	close(R->sv.fd);
	/* Checks that failed meanwhile wrote into the log: show it. */
	if (R->sv.bad || t_failed_checks != R->checks ||
	    getenv("TEST_IMAP_LOG") != NULL)
		fprintf(stderr, "server: %d mismatches\n%s--- log\n%s---\n",
		    R->sv.bad, R->sv.msg, R->log);
	T_CHECK(R->sv.bad == 0);
}

/* A step that must succeed. */
#define OK(R, call) T_CHECKF((call) == 0, "%s", imap_error((R)->s))
/* A step that must fail with class ec. */
#define FAILS(R, call, ec) do {						\
	int	rc_ = (call);						\
	T_CHECKF(rc_ == -1 && imap_errclass((R)->s) == (ec),		\
	    "rc %d class %d: %s", rc_, imap_errclass((R)->s),		\
	    imap_error((R)->s));					\
} while (0)

/* A message for imap_append(): its body given in two pieces. */
static int
msg_body(void *arg, int (*put)(void *, const char *, size_t), void *pa)
{
	const char	*b = arg;
	size_t		 n = strlen(b);

	if (put(pa, b, n / 2) == -1)
		return -1;
	return put(pa, b + n / 2, n - n / 2);
}

static void
msg_set(struct imap_msg *m, const char *body, const char *flags,
    time_t date)
{
	memset(m, 0, sizeof *m);
	m->size = strlen(body);
	m->flags = flags;
	m->date = date;
	m->body = msg_body;
	m->arg = (void *)(uintptr_t)body;
}

/* What a sink got: "begin N|data...|end UID;" for each body. */
struct got {
	char	*p;
	size_t	 len, cap;
	int	 fail_at_begin;
};

static void
got_add(struct got *g, const char *p, size_t n)
{
	if (g->len + n + 1 > g->cap) {
		g->cap = (g->len + n + 1) * 2;
		g->p = realloc(g->p, g->cap);
		if (g->p == NULL)
			exit(2);
	}
	memcpy(g->p + g->len, p, n);
	g->len += n;
	g->p[g->len] = '\0';
}

static int
got_begin(void *arg, uint64_t size)
{
	struct got	*g = arg;
	char		 b[32];

	if (g->fail_at_begin)
		return -1;
	snprintf(b, sizeof b, "begin %llu|", (unsigned long long)size);
	got_add(g, b, strlen(b));
	return 0;
}

static int
got_data(void *arg, const char *p, size_t n)
{
	got_add(arg, p, n);
	return 0;
}

static int
got_end(void *arg, uint32_t uid)
{
	char	b[32];

	snprintf(b, sizeof b, "|end %u;", uid);
	got_add(arg, b, strlen(b));
	return 0;
}

static void
sink_set(struct imap_sink *k, struct got *g)
{
	memset(g, 0, sizeof *g);
	got_add(g, "", 0);
	k->begin = got_begin;
	k->data = got_data;
	k->end = got_end;
	k->arg = g;
}

/* A string of n octets: lines of "abc...", CRLF ended. */
static char *
big_body(size_t n)
{
	char	*b = t_malloc(n + 1);
	size_t	 i;

	for (i = 0; i < n; i++)
		b[i] = (i % 64 == 62) ? '\r' : (i % 64 == 63) ? '\n' :
		    (char)('a' + i % 26);
	b[n] = '\0';
	return b;
}

static char *
xfmt(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	p = t_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

#define CAPS_PLAIN	"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready"

/* ---- greeting and capabilities -------------------------------------- */

static void
test_greeting(void)
{
	struct imap_opts	 o;
	struct run		 R;
	char			*s1[] = { "S:* OK hello there", "C:P1 CAPABILITY",
	    "S:* CAPABILITY IMAP4rev1 AUTH=PLAIN LITERAL+",
	    "S:P1 OK done", NULL };
	char			*s2[] = { "S:" CAPS_PLAIN, NULL };
	char			*s3[] = { "S:* OK [CAPABILITY IMAP4rev1] hi",
	    NULL };
	char			*s4[] = { "S:* BYE [UNAVAILABLE] too busy",
	    NULL };
	char			*s5[] = { "S:HELLO", NULL };
	char			*s6[] = { "S:* OK hi", "C:P1 CAPABILITY",
	    "S:P1 OK no list", NULL };

	opts_default(&o);
	run_start(&R, s1, &o);
	OK(&R, run_connect(&R));
	T_CHECK(strcmp(imap_greeting(R.s), "hello there") == 0);
	T_CHECK(imap_caps(R.s)->auth == IMAP_AUTH_PLAIN &&
	    (imap_caps(R.s)->flags & IMAP_CAP_LITERALPLUS));
	run_end(&R);
	T_CHECK(strstr(R.log, "continuing in clear text") != NULL);

	/* [CAPABILITY] in the greeting: not asked again. */
	run_start(&R, s2, &o);
	OK(&R, run_connect(&R));
	T_CHECK(imap_caps(R.s)->auth == IMAP_AUTH_PLAIN);
	run_end(&R);

	/* imap:// without STARTTLS and without insecure_plaintext. */
	o.insecure_plaintext = 0;
	run_start(&R, s3, &o);
	FAILS(&R, run_connect(&R), IMAP_E_TLS);
	run_end(&R);
	o.insecure_plaintext = 1;

	run_start(&R, s4, &o);
	FAILS(&R, run_connect(&R), IMAP_E_TEMP);
	T_CHECK(strstr(imap_error(R.s), "too busy") != NULL);
	T_CHECK(imap_code(R.s) == IMAP_C_UNAVAILABLE);
	run_end(&R);

	run_start(&R, s5, &o);
	FAILS(&R, run_connect(&R), IMAP_E_PROTO);
	run_end(&R);

	run_start(&R, s6, &o);
	FAILS(&R, run_connect(&R), IMAP_E_PROTO);
	run_end(&R);
}

static void
test_starttls(void)
{
	struct imap_opts	 o;
	struct run		 R;
	char			*s1[] = { "S:* OK [CAPABILITY IMAP4rev1 "
	    "STARTTLS LOGINDISABLED] hi", "C:P1 STARTTLS", "S:P1 NO not now",
	    NULL };
	char			*s2[] = { "S:* OK [CAPABILITY IMAP4rev1 "
	    "STARTTLS] hi", "C:P1 STARTTLS", "R:P1 OK go\r\n* OK injected\r\n",
	    NULL };

	opts_default(&o);
	/* STARTTLS is used when offered, even with insecure_plaintext. */
	run_start(&R, s1, &o);
	FAILS(&R, run_connect(&R), IMAP_E_TLS);
	/* The session is lost: no login in clear after it, nothing sent. */
	FAILS(&R, imap_auth(R.s, "login", "alice", "pw"), IMAP_E_TLS);
	T_CHECK(strstr(imap_error(R.s), "not now") != NULL);
	run_end(&R);

	o.insecure_plaintext = 0;
	run_start(&R, s2, &o);
	FAILS(&R, run_connect(&R), IMAP_E_TLS);
	T_CHECK(strstr(imap_error(R.s), "injection") != NULL);
	run_end(&R);
}

static void
test_preauth(void)
{
	struct imap_opts	 o;
	struct run		 R;
	char			*s1[] = { "S:* PREAUTH [CAPABILITY IMAP4rev1 "
	    "STARTTLS] welcome", NULL };
	char			*s2[] = { "S:* PREAUTH welcome",
	    "C:P1 CAPABILITY", "S:* CAPABILITY IMAP4rev1", "S:P1 OK", NULL };

	opts_default(&o);
	o.insecure_plaintext = 0;
	run_start(&R, s1, &o);
	FAILS(&R, run_connect(&R), IMAP_E_TLS);
	T_CHECK(strstr(imap_error(R.s), "PREAUTH") != NULL);
	run_end(&R);

	/* Allowed in clear with insecure_plaintext; no login then. */
	o.insecure_plaintext = 1;
	run_start(&R, s2, &o);
	OK(&R, run_connect(&R));
	OK(&R, imap_auth(R.s, "auto", "alice", "secret"));
	run_end(&R);
}

/* ---- authentication ------------------------------------------------- */

/* The secret must not reach the log, nor PLAIN's base64 of it. */
static void
check_log_clean(struct run *R, const char *secret)
{
	char	raw[256], *e;
	size_t	n;

	T_CHECKF(strstr(R->log, secret) == NULL, "secret in the log");
	n = (size_t)snprintf(raw, sizeof raw, "%c%s%c%s", 0, "alice", 0,
	    secret);
	e = t_malloc(sasl_b64_enclen(n));
	sasl_b64_encode(raw, n, e);
	T_CHECK(strstr(R->log, e) == NULL);
	free(e);
}

static void
test_login(void)
{
	struct imap_opts	 o;
	struct run		 R;
	char			*s1[] = { "S:* OK [CAPABILITY IMAP4rev1 "
	    "LOGINDISABLED] hi", NULL };
	char			*s2[] = { "S:* OK [CAPABILITY IMAP4rev1] hi",
	    "C:P1 LOGIN alice \"p\\\"w\\\\x\"",
	    "S:P1 OK [CAPABILITY IMAP4rev1 UIDPLUS] in", NULL };
	char			*s3[] = { "S:* OK [CAPABILITY IMAP4rev1] hi",
	    "C:P1 LOGIN alice pw", "S:P1 NO [AUTHENTICATIONFAILED] bad",
	    NULL };
	char			*s4[] = { "S:* OK [CAPABILITY IMAP4rev1] hi",
	    "C:P1 LOGIN alice {7}", "S:+ go", "C:p\xc3\xa4sswd",
	    "S:* CAPABILITY IMAP4rev1 MULTIAPPEND", "S:P1 OK in", NULL };
	char			*s5[] = { "S:* OK [CAPABILITY IMAP4rev1 "
	    "LITERAL+] hi", "C:P1 LOGIN alice {7+}", "C:p\xc3\xa4sswd",
	    "S:P1 OK in", "C:P2 CAPABILITY", "S:* CAPABILITY IMAP4rev2",
	    "S:P2 OK", NULL };
	char			*s6[] = { "S:* OK [CAPABILITY IMAP4rev1] hi",
	    "C:P1 LOGIN alice pw", "S:P1 NO [UNAVAILABLE] later", NULL };
	char			*s7[] = { "S:* OK [CAPABILITY IMAP4rev1] hi",
	    "C:P1 LOGIN {5}", "S:+ ok", "C:j\xc3\xb6rg {7}", "S:+ ok",
	    "C:p\xc3\xa4sswd", "S:P1 NO [AUTHENTICATIONFAILED] no", NULL };

	opts_default(&o);
	run_start(&R, s1, &o);
	OK(&R, run_connect(&R));
	FAILS(&R, imap_auth(R.s, "login", "alice", "pw"), IMAP_E_USAGE);
	/* auto: no AUTH= to use and LOGIN disabled. */
	FAILS(&R, imap_auth(R.s, "auto", "alice", "pw"), IMAP_E_USAGE);
	FAILS(&R, imap_auth(R.s, "PLAIN", "alice", "pw"), IMAP_E_USAGE);
	FAILS(&R, imap_auth(R.s, "NO-SUCH", "alice", "pw"), IMAP_E_USAGE);
	run_end(&R);

	/* Quoted; the OK's [CAPABILITY] spares a CAPABILITY. */
	run_start(&R, s2, &o);
	OK(&R, run_connect(&R));
	OK(&R, imap_auth(R.s, "auto", "alice", "p\"w\\x"));
	T_CHECK(imap_caps(R.s)->flags & IMAP_CAP_UIDPLUS);
	run_end(&R);
	T_CHECK(strstr(R.log, "> P1 LOGIN alice ****") != NULL);
	check_log_clean(&R, "p\"w\\x");

	run_start(&R, s3, &o);
	OK(&R, run_connect(&R));
	FAILS(&R, imap_auth(R.s, "login", "alice", "pw"), IMAP_E_AUTH);
	T_CHECK(strstr(imap_error(R.s), "bad") != NULL);
	run_end(&R);

	/* 8-bit: a synchronizing literal; an untagged CAPABILITY. */
	run_start(&R, s4, &o);
	OK(&R, run_connect(&R));
	OK(&R, imap_auth(R.s, "login", "alice", "p\xc3\xa4sswd"));
	T_CHECK(imap_caps(R.s)->flags & IMAP_CAP_MULTIAPPEND);
	run_end(&R);
	check_log_clean(&R, "p\xc3\xa4sswd");

	/* LITERAL+: no wait; no capability in the answer: asked. */
	run_start(&R, s5, &o);
	OK(&R, run_connect(&R));
	OK(&R, imap_auth(R.s, "login", "alice", "p\xc3\xa4sswd"));
	T_CHECK(imap_caps(R.s)->flags == IMAP_CAP_IMAP4REV2);
	run_end(&R);

	run_start(&R, s6, &o);
	OK(&R, run_connect(&R));
	FAILS(&R, imap_auth(R.s, "login", "alice", "pw"), IMAP_E_TEMP);
	T_CHECK(imap_code(R.s) == IMAP_C_UNAVAILABLE);
	run_end(&R);

	/* Two synchronizing literals: the second after the first "+". */
	run_start(&R, s7, &o);
	OK(&R, run_connect(&R));
	FAILS(&R, imap_auth(R.s, "login", "j\xc3\xb6rg", "p\xc3\xa4sswd"),
	    IMAP_E_AUTH);
	run_end(&R);
	check_log_clean(&R, "p\xc3\xa4sswd");
}

static void
test_auth_plain(void)
{
	struct imap_opts	 o;
	struct run		 R;
	/* base64("\0alice\0s3cret") */
	char			*s1[] = { "S:* OK [CAPABILITY IMAP4rev1 "
	    "SASL-IR AUTH=PLAIN AUTH=LOGIN] hi",
	    "C:P1 AUTHENTICATE PLAIN AGFsaWNlAHMzY3JldA==", "S:P1 OK in",
	    "C:P2 CAPABILITY", "S:* CAPABILITY IMAP4rev1 UIDPLUS",
	    "S:P2 OK", NULL };
	char			*s2[] = { "S:* OK [CAPABILITY IMAP4rev1 "
	    "AUTH=PLAIN] hi", "C:P1 AUTHENTICATE PLAIN", "S:+ ",
	    "C:AGFsaWNlAHMzY3JldA==", "S:P1 OK [CAPABILITY IMAP4rev1] in",
	    NULL };
	char			*s3[] = { "S:" CAPS_PLAIN,
	    "C:P1 AUTHENTICATE PLAIN", "S:+ ",
	    "C:AGFsaWNlAHMzY3JldA==",
	    "S:P1 NO [AUTHENTICATIONFAILED] Authentication failed.", NULL };
	char			*s4[] = { "S:* OK [CAPABILITY IMAP4rev1 "
	    "AUTH=PLAIN] hi", "C:P1 AUTHENTICATE PLAIN", "S:+ bm90IGVtcHR5",
	    "C:*", "S:P1 BAD cancelled", NULL };
	char			*s5[] = { "S:* OK [CAPABILITY IMAP4rev1 "
	    "AUTH=PLAIN] hi", "C:P1 AUTHENTICATE PLAIN", "S:+ ",
	    "C:AGFsaWNlAHMzY3JldA==", "S:* BYE shutting down", NULL };

	opts_default(&o);
	run_start(&R, s1, &o);
	OK(&R, run_connect(&R));
	OK(&R, imap_auth(R.s, "auto", "alice", "s3cret"));
	T_CHECK(imap_caps(R.s)->flags & IMAP_CAP_UIDPLUS);
	run_end(&R);
	T_CHECK(strstr(R.log, "> P1 AUTHENTICATE PLAIN ****") != NULL);
	check_log_clean(&R, "s3cret");

	/* Without SASL-IR: the response answers the empty challenge. */
	run_start(&R, s2, &o);
	OK(&R, run_connect(&R));
	OK(&R, imap_auth(R.s, "plain", "alice", "s3cret"));
	run_end(&R);
	check_log_clean(&R, "s3cret");

	run_start(&R, s3, &o);
	OK(&R, run_connect(&R));
	FAILS(&R, imap_auth(R.s, "auto", "alice", "s3cret"), IMAP_E_AUTH);
	T_CHECK(imap_code(R.s) == IMAP_C_OTHER);
	T_CHECK(strstr(imap_error(R.s), "Authentication failed") != NULL);
	run_end(&R);

	/* A non-empty prompt where the client speaks first: cancelled. */
	run_start(&R, s4, &o);
	OK(&R, run_connect(&R));
	FAILS(&R, imap_auth(R.s, "auto", "alice", "s3cret"), IMAP_E_PROTO);
	T_CHECK(strstr(imap_error(R.s), "cancelled") != NULL);
	run_end(&R);

	run_start(&R, s5, &o);
	OK(&R, run_connect(&R));
	FAILS(&R, imap_auth(R.s, "auto", "alice", "s3cret"), IMAP_E_TEMP);
	T_CHECK(strstr(imap_error(R.s), "shutting down") != NULL);
	run_end(&R);
}

/* XOAUTH2 (Google's form): a refusal comes as a JSON challenge. */
static void
test_auth_xoauth2(void)
{
	struct imap_opts	 o;
	struct run		 R;
	char			*s1[] = { "S:* OK [CAPABILITY IMAP4rev1 "
	    "SASL-IR AUTH=XOAUTH2] hi", "C:P1 AUTHENTICATE XOAUTH2 "
	    "dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2sBAQ==",
	    "S:+ eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJo"
	    "dHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==", "C:",
	    "S:P1 NO [AUTHENTICATIONFAILED] Invalid credentials", NULL };
	char			*s2[] = { "S:* OK [CAPABILITY IMAP4rev1 "
	    "AUTH=XOAUTH2] hi", "C:P1 AUTHENTICATE XOAUTH2", "S:+",
	    "C:dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2sBAQ==",
	    "S:P1 OK [CAPABILITY IMAP4rev1] in", NULL };

	opts_default(&o);
	run_start(&R, s1, &o);
	OK(&R, run_connect(&R));
	FAILS(&R, imap_auth(R.s, "xoauth2", "alice", "tok"), IMAP_E_AUTH);
	T_CHECK(strstr(imap_error(R.s), "Invalid credentials") != NULL &&
	    strstr(imap_error(R.s), "401") != NULL);
	run_end(&R);
	T_CHECK(strstr(R.log, "Bearer") == NULL);

	/* Without SASL-IR: the token answers the empty "+". */
	run_start(&R, s2, &o);
	OK(&R, run_connect(&R));
	OK(&R, imap_auth(R.s, "XOAUTH2", "alice", "tok"));
	run_end(&R);
}

static void
test_auth_scram(void)
{
	struct imap_opts	 o;
	struct run		 R;
	char			 caps[] = "S:* OK [CAPABILITY IMAP4rev1 "
	    "SASL-IR AUTH=PLAIN AUTH=SCRAM-SHA-256] hi";
	char			*s1[] = { caps, "A:P1:ok",
	    "C:P2 CAPABILITY", "S:* CAPABILITY IMAP4rev1", "S:P2 OK", NULL };
	char			*s2[] = { caps, "A:P1:early", NULL };
	char			*s3[] = { caps, "A:P1:badv", NULL };

	opts_default(&o);
	run_start(&R, s1, &o);
	OK(&R, run_connect(&R));
	OK(&R, imap_auth(R.s, "auto", "user", "pencil"));
	run_end(&R);
	T_CHECK(strstr(R.log, "AUTHENTICATE SCRAM-SHA-256 ****") != NULL);
	T_CHECK(strstr(R.log, "pencil") == NULL);

	/* OK before the server proved it knows the password. */
	run_start(&R, s2, &o);
	OK(&R, run_connect(&R));
	FAILS(&R, imap_auth(R.s, "scram-sha-256", "user", "pencil"),
	    IMAP_E_AUTH);
	T_CHECK(strstr(imap_error(R.s), "before") != NULL);
	run_end(&R);

	run_start(&R, s3, &o);
	OK(&R, run_connect(&R));
	FAILS(&R, imap_auth(R.s, "auto", "user", "pencil"), IMAP_E_AUTH);
	T_CHECK(strstr(imap_error(R.s), "cancelled") != NULL);
	run_end(&R);
}

/* ---- SELECT --------------------------------------------------------- */

#define LOGGED	"S:* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS] in"

static void
test_select(void)
{
	struct imap_opts	 o;
	struct imap_mailbox	 mb;
	struct run		 R;
	char			*s1[] = { LOGGED,
	    "C:P1 SELECT \"Entw&APw-rfe &- Co\"",
	    "S:P1 NO [TRYCREATE] Mailbox doesn't exist",
	    "C:P2 CREATE \"Entw&APw-rfe &- Co\"", "S:P2 OK created",
	    "C:P3 SELECT \"Entw&APw-rfe &- Co\"", "S:* 0 EXISTS",
	    "S:* 0 RECENT", "S:* FLAGS (\\Seen)",
	    "S:* OK [UIDVALIDITY 1234] UIDs valid",
	    "S:* OK [UIDNEXT 1] Predicted next UID",
	    "S:P3 OK [READ-WRITE] done", NULL };
	char			*s2[] = { LOGGED, "C:P1 SELECT Archive",
	    "S:P1 NO no such thing", "C:P2 LIST \"\" Archive",
	    "S:P2 OK listed", "C:P3 CREATE Archive", "S:P3 OK",
	    "C:P4 SELECT Archive", "S:* 7 EXISTS",
	    "S:* OK [ALERT] maintenance at noon\x01",
	    "S:* OK [UIDVALIDITY 99] x", "S:P4 OK done", NULL };
	char			*s3[] = { LOGGED, "C:P1 SELECT Archive",
	    "S:P1 NO permission denied", "C:P2 LIST \"\" Archive",
	    "S:* LIST (\\HasNoChildren) \"/\" Archive", "S:P2 OK listed",
	    /* The session goes on. */
	    "C:P3 EXAMINE INBOX", "S:* 3 EXISTS", "S:* OK [UIDVALIDITY 5] x",
	    "S:P3 OK [READ-ONLY] done", NULL };
	char			*s4[] = { LOGGED, "C:P1 SELECT INBOX",
	    "S:* 3 EXISTS", "S:P1 OK done", NULL };
	char			*s5[] = { LOGGED, "C:P1 SELECT INBOX",
	    "S:P1 NO [INUSE] locked", NULL };
	char			*s6[] = { LOGGED, "C:P1 SELECT INBOX",
	    "S:P1 NO [NONEXISTENT] no", NULL };
	char			*s7[] = { LOGGED, "C:P1 SELECT INBOX",
	    "S:* BYE server going down", NULL };

	opts_default(&o);
	run_start(&R, s1, &o);
	OK(&R, run_connect(&R));
	OK(&R, imap_auth(R.s, "auto", "x", "y"));
	OK(&R, imap_select(R.s, "Entw\xc3\xbcrfe & Co", 1, 0, &mb));
	T_CHECK(mb.created == 1 && mb.uidvalidity == 1234 &&
	    mb.uidnext == 1 && mb.exists == 0 && !mb.read_only);
	run_end(&R);

	run_start(&R, s2, &o);
	OK(&R, run_connect(&R));
	OK(&R, imap_select(R.s, "Archive", 1, 0, &mb));
	T_CHECK(mb.created == 1 && mb.uidvalidity == 99 && mb.exists == 7);
	run_end(&R);
	/* An alert is shown, escaped. */
	T_CHECK(strstr(R.log, "says: maintenance at noon\\x01") != NULL);

	run_start(&R, s3, &o);
	OK(&R, run_connect(&R));
	FAILS(&R, imap_select(R.s, "Archive", 1, 0, &mb), IMAP_E_REFUSED);
	T_CHECK(strstr(imap_error(R.s), "permission denied") != NULL);
	OK(&R, imap_select(R.s, "INBOX", 1, 1, &mb));
	T_CHECK(mb.read_only && mb.exists == 3 && mb.uidvalidity == 5 &&
	    !mb.created);
	run_end(&R);

	/* No UIDVALIDITY: no UID can be trusted. */
	run_start(&R, s4, &o);
	OK(&R, run_connect(&R));
	FAILS(&R, imap_select(R.s, "INBOX", 0, 0, &mb), IMAP_E_PROTO);
	run_end(&R);

	run_start(&R, s5, &o);
	OK(&R, run_connect(&R));
	FAILS(&R, imap_select(R.s, "INBOX", 1, 0, &mb), IMAP_E_TEMP);
	run_end(&R);

	/* Without create: refused, nothing else sent. */
	run_start(&R, s6, &o);
	OK(&R, run_connect(&R));
	FAILS(&R, imap_select(R.s, "INBOX", 0, 0, &mb), IMAP_E_REFUSED);
	run_end(&R);

	run_start(&R, s7, &o);
	OK(&R, run_connect(&R));
	FAILS(&R, imap_select(R.s, "INBOX", 0, 0, &mb), IMAP_E_TEMP);
	T_CHECK(strstr(imap_error(R.s), "going down") != NULL);
	run_end(&R);
}

/* ---- APPEND --------------------------------------------------------- */

#define SELECTED_PLUS(caps) "S:* PREAUTH [CAPABILITY IMAP4rev1 " caps "] in", \
	"C:P1 SELECT INBOX", "S:* OK [UIDVALIDITY 7] x", "S:P1 OK done"

static void
select_inbox(struct run *R)
{
	struct imap_mailbox	mb;

	OK(R, run_connect(R));
	OK(R, imap_select(R->s, "INBOX", 0, 0, &mb));
}

static void
test_append_literalplus(void)
{
	struct imap_opts	 o;
	struct imap_msg		 m[3];
	struct imap_appended	 r[3];
	struct run		 R;
	/*
	 * The server reads all three commands before it answers: a client
	 * that waited for an answer would time out here.
	 */
	char			*s1[] = { SELECTED_PLUS("LITERAL+ UIDPLUS"),
	    "C:P2 APPEND INBOX \"09-Nov-2004 11:33:20 +0000\" {12+}",
	    "B:Subject: a\r\n", "C:",
	    "C:P3 APPEND INBOX (\\Seen $Forwarded) {5+}", "B:b\r\nb\r", "C:",
	    "C:P4 APPEND INBOX (\\Seen) \"01-Jan-1970 00:00:01 +0000\" {0+}",
	    "C:",
	    "S:* 1 EXISTS", "S:P2 OK [APPENDUID 7 10] done",
	    "S:* 2 EXISTS", "S:* 1 RECENT", "S:P3 OK [APPENDUID 7 11] done",
	    "S:P4 OK [APPENDUID 7 12] done", NULL };
	/* One refused in the middle of the batch: the others go on. */
	char			*s2[] = { SELECTED_PLUS("LITERAL+ UIDPLUS"),
	    "C:P2 APPEND INBOX {1+}", "B:a", "C:",
	    "C:P3 APPEND INBOX {1+}", "B:b", "C:",
	    "C:P4 APPEND INBOX {1+}", "B:c", "C:",
	    "S:P2 OK [APPENDUID 7 1] a", "S:P3 NO [CANNOT] no, \"b\"",
	    "S:P4 OK [APPENDUID 7 2] c", NULL };

	opts_default(&o);
	run_start(&R, s1, &o);
	select_inbox(&R);
	msg_set(&m[0], "Subject: a\r\n", "", 1100000000);
	msg_set(&m[1], "b\r\nb\r", "\\Seen $Forwarded", 0);
	msg_set(&m[2], "", "\\Seen", 1);
	OK(&R, imap_append(R.s, m, 3, r));
	T_CHECK(r[0].ok && r[0].has_uid && r[0].uidvalidity == 7 &&
	    r[0].uid == 10);
	T_CHECK(r[1].ok && r[1].has_uid && r[1].uid == 11);
	T_CHECK(r[2].ok && r[2].has_uid && r[2].uid == 12);
	T_CHECK(strcmp(r[2].text, "done") == 0);
	run_end(&R);

	run_start(&R, s2, &o);
	select_inbox(&R);
	msg_set(&m[0], "a", NULL, 0);
	msg_set(&m[1], "b", NULL, 0);
	msg_set(&m[2], "c", NULL, 0);
	OK(&R, imap_append(R.s, m, 3, r));
	T_CHECK(r[0].ok && r[0].uid == 1 && r[2].ok && r[2].uid == 2);
	T_CHECK(!r[1].ok && !r[1].has_uid && r[1].code == IMAP_C_OTHER &&
	    strcmp(r[1].text, "no, \"b\"") == 0);
	run_end(&R);
}

static void
test_append_literalminus(void)
{
	struct imap_opts	 o;
	struct imap_msg		 m[3];
	struct imap_appended	 r[3];
	struct run		 R;
	char			*big = big_body(5000), *big2 = big_body(4096);
	char			*bl = xfmt("B:%s", big), *bl2 = xfmt("B:%s", big2);
	/* 4096 octets go unsynchronized, 5000 wait for "+". */
	char			*s1[] = { SELECTED_PLUS("LITERAL- UIDPLUS"),
	    "C:P2 APPEND INBOX {4096+}", bl2, "C:",
	    "C:P3 APPEND INBOX {5000}",
	    /* The first answer comes before the "+". */
	    "S:P2 OK [APPENDUID 7 1] done", "S:+ go on", bl, "C:",
	    "C:P4 APPEND INBOX {3+}", "B:xyz", "C:",
	    "S:P3 OK [APPENDUID 7 2] done", "S:P4 NO [OVERQUOTA] full",
	    NULL };

	opts_default(&o);
	run_start(&R, s1, &o);
	select_inbox(&R);
	msg_set(&m[0], big2, NULL, 0);
	msg_set(&m[1], big, NULL, 0);
	msg_set(&m[2], "xyz", NULL, 0);
	/* OVERQUOTA: come back later, after every answer was read. */
	FAILS(&R, imap_append(R.s, m, 3, r), IMAP_E_TEMP);
	T_CHECK(r[0].ok && r[0].uid == 1 && r[1].ok && r[1].uid == 2);
	T_CHECK(!r[2].ok && strcmp(r[2].text, "full") == 0 &&
	    r[2].code == IMAP_C_OTHER);
	run_end(&R);
	free(big);
	free(big2);
	free(bl);
	free(bl2);
}

static void
test_append_sync(void)
{
	struct imap_opts	 o;
	struct imap_msg		 m[3];
	struct imap_appended	 r[3];
	struct run		 R;
	/* No LITERAL+, no UIDPLUS: each literal waits; no UIDs. */
	char			*s1[] = { SELECTED_PLUS("IMAP4rev1"),
	    "C:P2 APPEND INBOX {3}", "S:+ Ready", "B:one", "C:",
	    "S:* 1 EXISTS", "S:P2 OK done",
	    "C:P3 APPEND INBOX (\\Flagged) {7}",
	    "S:P3 NO [TOOBIG] too big for us",
	    "C:P4 APPEND INBOX {5}", "S:+", "B:three", "C:",
	    "S:P4 NO message refused", NULL };

	opts_default(&o);
	run_start(&R, s1, &o);
	select_inbox(&R);
	msg_set(&m[0], "one", NULL, 0);
	msg_set(&m[1], "two-two", "\\Flagged", 0);
	msg_set(&m[2], "three", "", 0);
	OK(&R, imap_append(R.s, m, 3, r));
	T_CHECK(r[0].ok && !r[0].has_uid && r[0].uid == 0);
	T_CHECK(!r[1].ok && strcmp(r[1].text, "too big for us") == 0);
	T_CHECK(!r[2].ok && strcmp(r[2].text, "message refused") == 0 &&
	    r[2].code == IMAP_C_NONE);
	run_end(&R);
}

static void
test_multiappend(void)
{
	struct imap_opts	 o;
	struct imap_msg		 m[3];
	struct imap_appended	 r[3];
	struct run		 R;
	char			*s1[] = { SELECTED_PLUS(
	    "MULTIAPPEND LITERAL+ UIDPLUS"),
	    "C:P2 APPEND INBOX {3+}", "B:one",
	    "C: (\\Seen) {3+}", "B:two", "C: {5+}", "B:three", "C:",
	    "S:P2 OK [APPENDUID 7 20:21,9] done", NULL };
	char			*s2[] = { SELECTED_PLUS("MULTIAPPEND UIDPLUS"),
	    "C:P2 APPEND INBOX {1}", "S:+ go", "B:a", "C: {1}",
	    "S:+ go", "B:b", "C:", "S:P2 OK [APPENDUID 7 5:7] wrong count",
	    "C:P3 APPEND INBOX {1}", "S:+ go", "B:a", "C: {1}",
	    "S:+ go", "B:b", "C:", "S:P3 OK [APPENDUID 7 5:5] too few",
	    "C:P4 APPEND INBOX {1}", "S:P4 NO [TRYCREATE] gone", NULL };
	char			*s3[] = { SELECTED_PLUS(
	    "MULTIAPPEND LITERAL+ UIDPLUS APPENDLIMIT=4"),
	    "C:P2 APPEND INBOX {1+}", "B:a", "C:",
	    "C:P4 APPEND INBOX {1+}", "B:c", "C:",
	    "S:P2 OK [APPENDUID 7 1] a", "S:P4 OK [APPENDUID 7 2] c", NULL };

	opts_default(&o);
	run_start(&R, s1, &o);
	select_inbox(&R);
	msg_set(&m[0], "one", NULL, 0);
	msg_set(&m[1], "two", "\\Seen", 0);
	msg_set(&m[2], "three", NULL, 0);
	OK(&R, imap_append(R.s, m, 3, r));
	/* The uid-set maps in order: 20, 21, 9. */
	T_CHECK(r[0].ok && r[0].has_uid && r[0].uid == 20);
	T_CHECK(r[1].ok && r[1].has_uid && r[1].uid == 21);
	T_CHECK(r[2].ok && r[2].has_uid && r[2].uid == 9 &&
	    r[2].uidvalidity == 7);
	run_end(&R);

	/* Synchronizing literals; a uid-set of 3 for 2 messages: no UID. */
	run_start(&R, s2, &o);
	select_inbox(&R);
	msg_set(&m[0], "a", NULL, 0);
	msg_set(&m[1], "b", NULL, 0);
	OK(&R, imap_append(R.s, m, 2, r));
	T_CHECK(r[0].ok && !r[0].has_uid && r[1].ok && !r[1].has_uid);
	OK(&R, imap_append(R.s, m, 2, r));
	T_CHECK(r[0].ok && !r[0].has_uid && r[1].ok && !r[1].has_uid);
	/* Refused before the first literal: all refused alike. */
	OK(&R, imap_append(R.s, m, 2, r));
	T_CHECK(!r[0].ok && !r[1].ok && r[1].code == IMAP_C_TRYCREATE &&
	    strcmp(r[0].text, "gone") == 0 && strcmp(r[1].text, "gone") == 0);
	run_end(&R);

	/* Over APPENDLIMIT: not sent, and no MULTIAPPEND for the rest. */
	run_start(&R, s3, &o);
	select_inbox(&R);
	msg_set(&m[0], "a", NULL, 0);
	msg_set(&m[1], "bbbbb", NULL, 0);
	msg_set(&m[2], "c", NULL, 0);
	OK(&R, imap_append(R.s, m, 3, r));
	T_CHECK(r[0].ok && r[0].uid == 1 && r[2].ok && r[2].uid == 2);
	T_CHECK(!r[1].ok && strstr(r[1].text, "APPENDLIMIT") != NULL);
	run_end(&R);
}

static void
test_append_temp(void)
{
	struct imap_opts	 o;
	struct imap_msg		 m[3];
	struct imap_appended	 r[3];
	struct run		 R;
	char			*s1[] = { SELECTED_PLUS("LITERAL+ UIDPLUS"),
	    "C:P2 APPEND INBOX {1+}", "B:a", "C:",
	    "C:P3 APPEND INBOX {1+}", "B:b", "C:",
	    "C:P4 APPEND INBOX {1+}", "B:c", "C:",
	    "S:P2 OK [APPENDUID 7 1] done", "S:P3 NO [LIMIT] slow down",
	    "S:P4 OK [APPENDUID 7 2] done", NULL };
	char			*s2[] = { SELECTED_PLUS("LITERAL+"),
	    "C:P2 APPEND INBOX {1+}", "B:a", "C:",
	    "C:P3 APPEND INBOX {1+}", "B:b", "C:",
	    "C:P4 APPEND INBOX {1+}", "B:c", "C:",
	    "S:P2 OK done", "S:* BYE [UNAVAILABLE] restarting", "X:", NULL };
	char			*s3[] = { SELECTED_PLUS("LITERAL+"),
	    "C:P2 APPEND INBOX {1+}", "B:a", "C:",
	    "S:P2 BAD what", NULL };

	opts_default(&o);
	msg_set(&m[0], "a", NULL, 0);
	msg_set(&m[1], "b", NULL, 0);
	msg_set(&m[2], "c", NULL, 0);
	run_start(&R, s1, &o);
	select_inbox(&R);
	FAILS(&R, imap_append(R.s, m, 3, r), IMAP_E_TEMP);
	T_CHECK(imap_code(R.s) == IMAP_C_LIMIT);
	T_CHECK(r[0].ok && r[0].uid == 1 && !r[1].ok &&
	    r[1].code == IMAP_C_LIMIT && r[2].ok && r[2].uid == 2);
	run_end(&R);

	run_start(&R, s2, &o);
	select_inbox(&R);
	FAILS(&R, imap_append(R.s, m, 3, r), IMAP_E_TEMP);
	T_CHECK(strstr(imap_error(R.s), "restarting") != NULL);
	T_CHECK(r[0].ok && !r[0].has_uid && !r[1].ok && !r[2].ok);
	run_end(&R);

	run_start(&R, s3, &o);
	select_inbox(&R);
	FAILS(&R, imap_append(R.s, m, 1, r), IMAP_E_PROTO);
	run_end(&R);
}

static int
lying_body(void *arg, int (*put)(void *, const char *, size_t), void *pa)
{
	return put(pa, "12345", 5);
}

static void
test_append_usage(void)
{
	struct imap_opts	 o;
	struct imap_msg		 m[2];
	struct imap_appended	 r[2];
	struct run		 R;
	/* What reaches the server of a failed literal does not matter. */
	char			*s1[] = { SELECTED_PLUS("LITERAL+"), "I:",
	    NULL };

	opts_default(&o);
	run_start(&R, s1, &o);
	select_inbox(&R);
	msg_set(&m[0], "abc", "\\Seen (x)", 0);
	FAILS(&R, imap_append(R.s, m, 1, r), IMAP_E_USAGE);
	msg_set(&m[0], "abc", " \\Seen", 0);
	FAILS(&R, imap_append(R.s, m, 1, r), IMAP_E_USAGE);
	msg_set(&m[0], "abc", "a\"b", 0);
	FAILS(&R, imap_append(R.s, m, 1, r), IMAP_E_USAGE);
	FAILS(&R, imap_append(R.s, m, IMAP_APPEND_MAX + 1, r), IMAP_E_USAGE);
	/* A body longer than its size. */
	msg_set(&m[0], "abc", NULL, 0);
	m[0].body = lying_body;
	FAILS(&R, imap_append(R.s, m, 1, r), IMAP_E_LOCAL);
	run_end(&R);

	/* Shorter. */
	run_start(&R, s1, &o);
	select_inbox(&R);
	msg_set(&m[0], "123456789", NULL, 0);
	m[0].body = lying_body;
	FAILS(&R, imap_append(R.s, m, 1, r), IMAP_E_LOCAL);
	run_end(&R);
}

/* ---- FETCH, sizes, SEARCH ------------------------------------------- */

static void
test_fetch(void)
{
	struct imap_opts	 o;
	struct imap_sink	 k;
	struct got		 g;
	struct run		 R;
	uint32_t		 uids[] = { 6, 3, 5, 3, 8 };
	char			*big = big_body(IMAP_LIT_KEEP * 3 + 7);
	char			*bigr = xfmt("R:* 4 FETCH (FLAGS (\\Seen) "
	    "BODY[] {%zu}\r\n%s UID 6)\r\n", strlen(big), big);
	char			*want = xfmt("begin 5|hello|end 3;"
	    "begin 4|ab c|end 5;begin %zu|%s|end 6;", strlen(big), big);
	char			*s1[] = { SELECTED_PLUS("IMAP4rev1"),
	    "C:P2 UID FETCH 3,5:6,8 (UID BODY.PEEK[])",
	    "R:* 1 FETCH (UID 3 BODY[] {5}\r\nhello)\r\n",
	    "S:* 9 FETCH (FLAGS (\\Seen))",
	    /* UID after the body; a quoted body. */
	    "S:* 2 FETCH (BODY[] \"ab c\" UID 5)",
	    bigr, "S:* 5 FETCH (UID 8 BODY[] NIL)",
	    "S:* 3 EXPUNGE", "S:P2 OK done", NULL };

	opts_default(&o);
	run_start(&R, s1, &o);
	select_inbox(&R);
	sink_set(&k, &g);
	OK(&R, imap_fetch(R.s, uids, 5, &k));
	T_CHECKF(strcmp(g.p, want) == 0, "got %.300s", g.p);
	run_end(&R);
	free(g.p);
	free(big);
	free(bigr);
	free(want);
}

static void
test_fetch_bad(void)
{
	struct imap_opts	 o;
	struct imap_sink	 k;
	struct got		 g;
	struct run		 R;
	uint32_t		 uid = 3, two[] = { 5, 3 };
	char			*s1[] = { SELECTED_PLUS("IMAP4rev1"),
	    "C:P2 UID FETCH 3 (UID BODY.PEEK[])",
	    "R:* 1 FETCH (UID 3 BODY[] {9000}\r\n", NULL };
	char			*b2 = big_body(2000);
	char			*r2 = xfmt("R:* 1 FETCH (UID 3 BODY[] {2000}\r\n"
	    "%s)\r\n", b2);
	char			*s2[] = { SELECTED_PLUS("IMAP4rev1"),
	    "C:P2 UID FETCH 3 (UID BODY.PEEK[])", r2, NULL };
	char			*s3[] = { SELECTED_PLUS("IMAP4rev1"),
	    "C:P2 UID FETCH 3 (UID BODY.PEEK[])",
	    "S:* 1 FETCH (UID 4 BODY[] \"x\")", NULL };
	char			*s3b[] = { SELECTED_PLUS("IMAP4rev1"),
	    "C:P2 UID FETCH 3,5 (UID BODY.PEEK[])",
	    "S:* 1 FETCH (UID 4 BODY[] \"x\")", NULL };
	char			*s4[] = { SELECTED_PLUS("IMAP4rev1"),
	    "C:P2 UID FETCH 3 (UID BODY.PEEK[])",
	    "S:* 1 FETCH (BODY[] \"x\")", NULL };
	char			*s5[] = { SELECTED_PLUS("IMAP4rev1"),
	    "C:P2 UID FETCH 3 (UID BODY.PEEK[])",
	    "S:* 1 FETCH (UID 3 BODY[] \"x\")",
	    "S:* 1 FETCH (UID 3 BODY[] \"x\")", NULL };
	char			*s6[] = { SELECTED_PLUS("IMAP4rev1"),
	    "C:P2 UID FETCH 3 (UID BODY.PEEK[])",
	    "R:* 1 FETCH (UID 3 BODY[] {9000}\r\n", NULL };

	/* Over max_msg_size: refused before the octets are read. */
	opts_default(&o);
	o.max_msg_size = 8999;
	run_start(&R, s1, &o);
	select_inbox(&R);
	sink_set(&k, &g);
	FAILS(&R, imap_fetch(R.s, &uid, 1, &k), IMAP_E_PROTO);
	T_CHECK(now_ms() - R.t0 < 1500);
	T_CHECK(g.len == 0);
	run_end(&R);
	free(g.p);

	/* A kept literal over max_msg_size. */
	o.max_msg_size = 1999;
	run_start(&R, s2, &o);
	select_inbox(&R);
	sink_set(&k, &g);
	FAILS(&R, imap_fetch(R.s, &uid, 1, &k), IMAP_E_PROTO);
	T_CHECK(g.len == 0);
	run_end(&R);
	free(g.p);
	free(b2);
	free(r2);
	o.max_msg_size = 1 << 20;

	/* A UID not asked for; no UID; a UID twice. */
	run_start(&R, s3, &o);
	select_inbox(&R);
	sink_set(&k, &g);
	FAILS(&R, imap_fetch(R.s, &uid, 1, &k), IMAP_E_PROTO);
	T_CHECK(g.len == 0);
	run_end(&R);
	free(g.p);
	run_start(&R, s3b, &o);
	select_inbox(&R);
	sink_set(&k, &g);
	FAILS(&R, imap_fetch(R.s, two, 2, &k), IMAP_E_PROTO);
	T_CHECK(g.len == 0);
	run_end(&R);
	free(g.p);
	run_start(&R, s4, &o);
	select_inbox(&R);
	sink_set(&k, &g);
	FAILS(&R, imap_fetch(R.s, &uid, 1, &k), IMAP_E_PROTO);
	run_end(&R);
	free(g.p);
	run_start(&R, s5, &o);
	select_inbox(&R);
	sink_set(&k, &g);
	FAILS(&R, imap_fetch(R.s, &uid, 1, &k), IMAP_E_PROTO);
	T_CHECK(strcmp(g.p, "begin 1|x|end 3;") == 0);
	run_end(&R);
	free(g.p);

	/* The sink refuses: the session is lost (IMAP_E_LOCAL). */
	run_start(&R, s6, &o);
	select_inbox(&R);
	sink_set(&k, &g);
	g.fail_at_begin = 1;
	FAILS(&R, imap_fetch(R.s, &uid, 1, &k), IMAP_E_LOCAL);
	run_end(&R);
	free(g.p);
}

/*
 * A response past IMAP_RESP_MAX (kept literals of 4000 octets); a
 * literal that is not a body and longer than that.
 */
static void
test_fetch_limits(void)
{
	struct imap_opts	 o;
	struct imap_sink	 k;
	struct got		 g;
	struct run		 R;
	uint32_t		 uid = 3;
	char			*lit4k = big_body(4000), *resp, *p;
	size_t			 i, n = IMAP_RESP_MAX / 4000 + 2;
	char			*s1[] = { SELECTED_PLUS("IMAP4rev1"),
	    "C:P2 UID FETCH 3 (UID BODY.PEEK[])", NULL, NULL };
	char			*s2[] = { SELECTED_PLUS("IMAP4rev1"),
	    "C:P2 UID FETCH 3 (UID BODY.PEEK[])",
	    "R:* 1 FETCH (UID 3 X-NOTE {300000}\r\n", NULL };

	opts_default(&o);
	resp = t_malloc(n * 4020 + 64);
	p = resp + sprintf(resp, "R:* 1 FETCH (UID 3");
	for (i = 0; i < n; i++)
		p += sprintf(p, " X-%zu {4000}\r\n%s", i, lit4k);
	sprintf(p, ")\r\n");
	s1[5] = resp;
	run_start(&R, s1, &o);
	select_inbox(&R);
	sink_set(&k, &g);
	FAILS(&R, imap_fetch(R.s, &uid, 1, &k), IMAP_E_PROTO);
	T_CHECK(strstr(imap_error(R.s), "too long") != NULL);
	run_end(&R);
	free(g.p);

	run_start(&R, s2, &o);
	select_inbox(&R);
	sink_set(&k, &g);
	FAILS(&R, imap_fetch(R.s, &uid, 1, &k), IMAP_E_PROTO);
	T_CHECK(now_ms() - R.t0 < 1500);
	run_end(&R);
	free(g.p);
	free(resp);
	free(lit4k);
}

static void
test_endless(void)
{
	struct imap_opts	 o;
	struct imap_sink	 k;
	struct got		 g;
	struct run		 R;
	uint32_t		 uid = 3;
	int64_t			 t;
	/* A literal that drips forever: one octet every 20 ms. */
	char			*s1[] = { SELECTED_PLUS("IMAP4rev1"),
	    "C:P2 UID FETCH 3 (UID BODY.PEEK[])",
	    "R:* 1 FETCH (UID 3 BODY[] {8000}\r\n", "D:200:20", NULL };
	/* A response line that never ends. */
	char			*s2[] = { SELECTED_PLUS("IMAP4rev1"),
	    "C:P2 UID FETCH 3 (UID BODY.PEEK[])", "R:* 1 FETCH (UID 3",
	    "D:200:20", NULL };

	opts_default(&o);
	o.timeout_ms = 400;
	run_start(&R, s1, &o);
	select_inbox(&R);
	sink_set(&k, &g);
	t = now_ms();
	FAILS(&R, imap_fetch(R.s, &uid, 1, &k), IMAP_E_TIMEOUT);
	t = now_ms() - t;
	T_CHECKF(t >= 350 && t < 1500, "%lld ms", (long long)t);
	run_end(&R);
	free(g.p);

	run_start(&R, s2, &o);
	select_inbox(&R);
	sink_set(&k, &g);
	t = now_ms();
	FAILS(&R, imap_fetch(R.s, &uid, 1, &k), IMAP_E_TIMEOUT);
	t = now_ms() - t;
	T_CHECKF(t >= 350 && t < 1500, "%lld ms", (long long)t);
	run_end(&R);
	free(g.p);
}

struct sizes {
	char	buf[256];
	int	fail;
};

static int
size_cb(void *arg, uint32_t uid, uint64_t size)
{
	struct sizes	*z = arg;
	size_t		 n = strlen(z->buf);

	snprintf(z->buf + n, sizeof z->buf - n, "%u=%llu ", uid,
	    (unsigned long long)size);
	return z->fail ? -1 : 0;
}

static void
test_sizes_search(void)
{
	struct imap_opts	 o;
	struct imap_mailbox	 mb;
	struct sizes		 z;
	struct run		 R;
	uint32_t		 u[3];
	size_t			 n;
	char			*s1[] = {
	    "S:* PREAUTH [CAPABILITY IMAP4rev1] in",
	    "C:P1 SELECT INBOX", "S:* OK [UIDVALIDITY 7] x", "S:* 0 EXISTS",
	    "S:P1 OK done",
	    /* Empty: nothing is sent for the sizes. */
	    "C:P2 UID SEARCH UNSEEN", "S:* SEARCH 2 3 9 11", "S:P2 OK",
	    "C:P3 UID SEARCH HEADER Message-ID \"<a@b>\"", "S:* SEARCH",
	    "S:P3 OK", "C:P4 UID SEARCH CHARSET X-BAD ALL",
	    "S:P4 NO [BADCHARSET] no", NULL };
	char			*s2[] = {
	    "S:* PREAUTH [CAPABILITY IMAP4rev1 ESEARCH] in",
	    "C:P1 SELECT INBOX", "S:* OK [UIDVALIDITY 7] x", "S:* 3 EXISTS",
	    "S:P1 OK done", "C:P2 UID FETCH 1:* (UID RFC822.SIZE)",
	    "S:* 1 FETCH (UID 4 RFC822.SIZE 100)",
	    "S:* 2 FETCH (RFC822.SIZE 0 UID 9)",
	    "S:* 2 FETCH (FLAGS ())",
	    "S:* 3 FETCH (UID 12 RFC822.SIZE 9999999999)", "S:P2 OK",
	    "C:P3 UID SEARCH RETURN (ALL) ALL",
	    "S:* ESEARCH (TAG \"P3\") UID ALL 4:6,9", "S:P3 OK",
	    "C:P4 UID SEARCH RETURN (ALL) DELETED",
	    "S:* ESEARCH (TAG \"P4\") UID", "S:P4 OK",
	    "C:P5 UID FETCH 1:* (UID RFC822.SIZE)",
	    "S:* 1 FETCH (UID 4 RFC822.SIZE 100)", NULL };
	/* No EXISTS at all: asked anyway; a size without its UID. */
	char			*s3[] = {
	    "S:* PREAUTH [CAPABILITY IMAP4rev1] in",
	    "C:P1 SELECT INBOX", "S:* OK [UIDVALIDITY 7] x",
	    "S:P1 OK done", "C:P2 UID FETCH 1:* (UID RFC822.SIZE)",
	    "S:* 1 FETCH (RFC822.SIZE 10)", NULL };

	opts_default(&o);
	run_start(&R, s1, &o);
	OK(&R, run_connect(&R));
	OK(&R, imap_select(R.s, "INBOX", 0, 0, &mb));
	memset(&z, 0, sizeof z);
	OK(&R, imap_sizes(R.s, size_cb, &z));
	T_CHECK(z.buf[0] == '\0');
	OK(&R, imap_search(R.s, "UNSEEN", u, 3, &n));
	T_CHECK(n == 4 && u[0] == 2 && u[1] == 3 && u[2] == 9);
	OK(&R, imap_search(R.s, "HEADER Message-ID \"<a@b>\"", u, 3, &n));
	T_CHECK(n == 0);
	FAILS(&R, imap_search(R.s, "CHARSET X-BAD ALL", u, 3, &n),
	    IMAP_E_REFUSED);
	FAILS(&R, imap_search(R.s, "ALL\r\nP9 LOGOUT", u, 3, &n),
	    IMAP_E_USAGE);
	run_end(&R);

	run_start(&R, s2, &o);
	OK(&R, run_connect(&R));
	OK(&R, imap_select(R.s, "INBOX", 0, 0, &mb));
	memset(&z, 0, sizeof z);
	OK(&R, imap_sizes(R.s, size_cb, &z));
	T_CHECKF(strcmp(z.buf, "4=100 9=0 12=9999999999 ") == 0, "%s",
	    z.buf);
	OK(&R, imap_search(R.s, "ALL", u, 3, &n));
	T_CHECK(n == 4 && u[0] == 4 && u[1] == 5 && u[2] == 6);
	OK(&R, imap_search(R.s, "DELETED", u, 3, &n));
	T_CHECK(n == 0);
	memset(&z, 0, sizeof z);
	z.fail = 1;
	FAILS(&R, imap_sizes(R.s, size_cb, &z), IMAP_E_LOCAL);
	T_CHECK(strcmp(z.buf, "4=100 ") == 0);
	run_end(&R);

	/* A size without its UID. */
	run_start(&R, s3, &o);
	OK(&R, run_connect(&R));
	OK(&R, imap_select(R.s, "INBOX", 0, 0, &mb));
	FAILS(&R, imap_sizes(R.s, size_cb, &z), IMAP_E_PROTO);
	run_end(&R);
}

static void
test_logout(void)
{
	struct imap_opts	 o;
	struct run		 R;
	char			*s1[] = { "S:* PREAUTH [CAPABILITY IMAP4rev1] in",
	    "C:P1 LOGOUT", "S:* BYE bye", "S:P1 OK done", NULL };
	char			*s2[] = { "S:* PREAUTH [CAPABILITY IMAP4rev1] in",
	    "C:P1 LOGOUT", "S:* BYE bye", "X:", NULL };

	opts_default(&o);
	run_start(&R, s1, &o);
	OK(&R, run_connect(&R));
	OK(&R, imap_logout(R.s));
	run_end(&R);
	run_start(&R, s2, &o);
	OK(&R, run_connect(&R));
	OK(&R, imap_logout(R.s));
	run_end(&R);
}

/* ---- split at every octet ------------------------------------------- */

/*
 * A whole session; its outcome as one string (every result, class,
 * answer and fetched body), so that runs can be compared.
 */
static void
split_session(struct run *R, char *out, size_t outsize)
{
	struct imap_mailbox	 mb;
	struct imap_msg		 m[2];
	struct imap_appended	 r[2];
	struct imap_sink	 k;
	struct got		 g;
	uint32_t		 u[4], uids[] = { 1, 2 };
	size_t			 n = 0;
	int			 a, b, c, d, e, f;

	sink_set(&k, &g);
	msg_set(&m[0], "one\r\n", "\\Seen", 1100000000);
	msg_set(&m[1], "two\r\n", NULL, 0);
	a = run_connect(R);
	b = a ? -1 : imap_auth(R->s, "auto", "alice", "s3cret");
	c = b ? -1 : imap_select(R->s, "Archive", 1, 0, &mb);
	d = c ? -1 : imap_append(R->s, m, 2, r);
	e = d ? -1 : imap_fetch(R->s, uids, 2, &k);
	f = e ? -1 : imap_search(R->s, "ALL", u, 4, &n);
	if (f == 0)
		f = imap_logout(R->s);
	snprintf(out, outsize, "%d%d%d%d%d%d class %d uv %u c %d "
	    "r %d/%u %d/%u n %zu %u %u fetched %s", a, b, c, d, e, f,
	    imap_errclass(R->s), mb.uidvalidity, mb.created, r[0].ok,
	    r[0].uid, r[1].ok, r[1].uid, n, u[0], u[1], g.p);
	free(g.p);
}

static void
test_split(void)
{
	struct imap_opts	 o;
	struct run		 R;
	char			*big = big_body(IMAP_LIT_KEEP + 100);
	char			*bigr = xfmt("R:* 2 FETCH (UID 2 BODY[] "
	    "{%zu}\r\n%s)\r\n", strlen(big), big);
	char			*script[] = {
	    "S:* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready",
	    "C:P1 AUTHENTICATE PLAIN AGFsaWNlAHMzY3JldA==",
	    "S:P1 OK [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS ESEARCH] in",
	    "C:P2 SELECT Archive", "S:P2 NO [TRYCREATE] no",
	    "C:P3 CREATE Archive", "S:P3 OK",
	    "C:P4 SELECT Archive", "S:* 0 EXISTS",
	    "S:* OK [UIDVALIDITY 42] x", "S:P4 OK [READ-WRITE] done",
	    "C:P5 APPEND Archive (\\Seen) \"09-Nov-2004 11:33:20 +0000\" "
	    "{5+}", "B:one\r\n", "C:", "C:P6 APPEND Archive {5+}",
	    "B:two\r\n", "C:", "S:* 1 EXISTS", "S:P5 OK [APPENDUID 42 1] a",
	    "S:* 2 EXISTS", "S:P6 OK [APPENDUID 42 2] b",
	    "C:P7 UID FETCH 1:2 (UID BODY.PEEK[])",
	    "R:* 1 FETCH (BODY[] {5}\r\none\r\n UID 1)\r\n", bigr,
	    "S:P7 OK done", "C:P8 UID SEARCH RETURN (ALL) ALL",
	    "S:* ESEARCH (TAG \"P8\") UID ALL 1:2", "S:P8 OK",
	    "C:P9 LOGOUT", "S:* BYE", "S:P9 OK", NULL };
	char			 ref[16384], out[16384];
	size_t			 total, at;
	int			 same = 1;

	opts_default(&o);
	run_start(&R, script, &o);
	split_session(&R, ref, sizeof ref);
	total = R.sv.sent;
	run_end(&R);
	T_CHECKF(strncmp(ref, "000000 class 0 uv 42 c 1 r 1/1 1/2 n 2 1 2 "
	    "fetched begin 5|one\r\n|end 1;begin 4196|", 60) == 0, "%.200s",
	    ref);
	T_CHECK(total > 4196);

	for (at = 1; at < total && same; at++) {
		run_start_x(&R, script, &o, 0, (long)at);
		split_session(&R, out, sizeof out);
		run_end(&R);
		if (strcmp(out, ref) != 0) {
			fprintf(stderr, "split at %zu: %.200s\n", at, out);
			same = 0;
		}
		/* Past the big body, every octet; inside it, some. */
		if (at > 300 && at < total - 300)
			at += 97;
	}
	T_CHECK(same);
	run_start_x(&R, script, &o, 1, -1);
	split_session(&R, out, sizeof out);
	run_end(&R);
	T_CHECKF(strcmp(out, ref) == 0, "drip: %.200s", out);
	free(big);
	free(bigr);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	T_RUN(test_greeting);
	T_RUN(test_starttls);
	T_RUN(test_preauth);
	T_RUN(test_login);
	T_RUN(test_auth_plain);
	T_RUN(test_auth_xoauth2);
	T_RUN(test_auth_scram);
	T_RUN(test_select);
	T_RUN(test_append_literalplus);
	T_RUN(test_append_literalminus);
	T_RUN(test_append_sync);
	T_RUN(test_multiappend);
	T_RUN(test_append_temp);
	T_RUN(test_append_usage);
	T_RUN(test_fetch);
	T_RUN(test_fetch_bad);
	T_RUN(test_fetch_limits);
	T_RUN(test_endless);
	T_RUN(test_sizes_search);
	T_RUN(test_logout);
	T_RUN(test_split);
	if (run_active)
		abort();
	return T_END();
}
