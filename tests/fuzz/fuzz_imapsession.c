/*
 * fuzz_imapsession.c -- a whole IMAP session (core/imap*.c over
 * core/conn.c) against a server whose every byte is the fuzz input.
 *
 * The input is what the server says, as a transcript (see
 * corpus/fuzz_imapsession/): the greeting, then the answers to the
 * client's commands in turn. A thread plays the server over a
 * socketpair: it sends the first response (the greeting), then, for
 * each line the client sends (the octets of its literals skipped, and
 * no answer to a line that ends in a non-synchronizing literal "{N+}",
 * since the command goes on after it), the next answer: responses cut from the
 * input with the client's own framing (imap_reader_feed(): lines and
 * literals) up to and including the next tagged response or
 * continuation request. So that the client never waits for an answer
 * the transcript holds but the server keeps back (the client writes
 * pipelined APPENDs without waiting, and waits for a "+" in the middle
 * of a command), the server also sends the next answer whenever the
 * client has been silent for a moment. When the input runs out the
 * server hangs up.
 *
 * The client does what an upload does, with the choices a server can
 * steer: imap_connect_conn() (greeting, CAPABILITY, STARTTLS if
 * offered), imap_auth() ("auto"), imap_select() with create,
 * imap_append() of three messages (one over 4096 octets, for LITERAL-),
 * imap_sizes(), imap_search("ALL"), imap_fetch() of what the search
 * found (at most 8), imap_logout(); a refused step (IMAP_E_REFUSED)
 * lets it go on, as the session does.
 *
 * Checked besides the sanitizers: every body is begun, given exactly
 * its size in data and ended once, never past the size limit, for a
 * UID that was asked for; APPEND results with a UID have a non-zero
 * UID and UIDVALIDITY; a failure has a class a server can cause and an
 * escaped message; the client never times out: with answers sent as
 * above, waiting would mean it misread a complete response.
 *
 * FUZZ_DEBUG set in the environment prints how each session ended
 * (for writing seeds).
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "fuzz.h"
#include "imap.h"
#include "imapparse.h"

#define TIMEOUT_MS	5000
#define MAX_MSG		(64 * 1024)
#define MAX_FETCH	8
/* The client's silence after which the server says the next answer. */
#define NUDGE_MS	5

struct server {
	int		 fd;
	const char	*in;
	size_t		 len, off;
	struct imap_reader rd;
	char		 rbuf[IMAP_LINE_MAX + 64];
	char		 cmd[4096];
	size_t		 clen;
	uint64_t	 skip;		/* literal octets still to come */
};

/* Every literal of the framing reader is taken and dropped. */
static int
drop_lit(void *arg, enum imap_lit_ev ev, const char *p, size_t n,
    uint64_t size)
{
	return 0;
}

/*
 * The length of the next answer at s->off: responses up to and
 * including a tagged one or a "+", or the first response only (the
 * greeting); what the reader cannot frame goes whole.
 */
static size_t
answer_len(struct server *s, int one)
{
	size_t	off = s->off, used;
	int	r;

	while (off < s->len) {
		imap_reader_init(&s->rd, s->rbuf, sizeof s->rbuf, 0, drop_lit,
		    NULL);
		r = imap_reader_feed(&s->rd, s->in + off, s->len - off, &used);
		if (r != 1)
			return s->len - s->off;
		off += used;
		if (one || s->rd.len == 0 || s->rd.buf[0] != '*')
			break;
	}
	return off - s->off;
}

/* Send the next answer; -1 when the input is used up or the peer gone. */
static int
answer(struct server *s, int one)
{
	size_t	n = answer_len(s, one);

	if (fuzz_send_all(s->fd, s->in + s->off, n) == -1)
		return -1;
	s->off += n;
	return s->off < s->len ? 0 : -1;
}

/*
 * The line s->cmd[0..n) (LF excluded) ends in "{N}" (1) or "{N+}" (2),
 * N in *lit; else 0.
 */
static int
line_literal(const char *p, size_t n, uint64_t *lit)
{
	size_t	i;
	int	plus = 0;

	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n < 3 || p[--n] != '}')
		return 0;
	if (p[n - 1] == '+') {
		plus = 1;
		n--;
	}
	for (i = n; i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9'; i--)
		;
	if (i == n || i == 0 || p[i - 1] != '{' || n - i > 9)
		return 0;
	*lit = strtoull(p + i, NULL, 10);
	return 1 + plus;
}

/*
 * Wait for the client: 1 when a line that wants an answer came
 * (dropped), 0 after NUDGE_MS of silence, -1 when it has gone.
 */
static int
client_line(struct server *s)
{
	struct pollfd	 pfd;
	char		*nl;
	size_t		 n;
	ssize_t		 r;
	int		 lit;

	for (;;) {
		if (s->skip > 0 && s->clen > 0) {
			n = s->skip < s->clen ? (size_t)s->skip : s->clen;
			s->clen -= n;
			memmove(s->cmd, s->cmd + n, s->clen);
			s->skip -= n;
			continue;
		}
		if (s->skip == 0 &&
		    (nl = memchr(s->cmd, '\n', s->clen)) != NULL) {
			n = (size_t)(nl - s->cmd);
			lit = line_literal(s->cmd, n, &s->skip);
			s->clen -= n + 1;
			memmove(s->cmd, nl + 1, s->clen);
			if (lit != 2)
				return 1;
			continue;
		}
		if (s->clen == sizeof s->cmd)
			s->clen = 0;	/* a literal's octets */
		pfd.fd = s->fd;
		pfd.events = POLLIN;
		r = poll(&pfd, 1, NUDGE_MS);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0)
			return 0;
		r = recv(s->fd, s->cmd + s->clen, sizeof s->cmd - s->clen, 0);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		s->clen += (size_t)r;
	}
}

static void *
serve(void *arg)
{
	struct server	*s = arg;

	if (s->len > 0 && answer(s, 1) == 0)
		while (client_line(s) != -1 && answer(s, 0) == 0)
			;
	close(s->fd);
	return NULL;
}

/* What the client delivered to the sink. */
struct sink {
	const uint32_t	*uids;
	size_t		 n;
	int		 in_body;
	uint64_t	 size, got;
	size_t		 nbody;
};

static struct sink	k;

static int
sk_begin(void *arg, uint64_t size)
{
	struct sink	*sk = arg;

	FUZZ_CHECK(!sk->in_body && size <= MAX_MSG);
	FUZZ_CHECK(sk->nbody < sk->n);
	sk->in_body = 1;
	sk->size = size;
	sk->got = 0;
	return 0;
}

static int
sk_data(void *arg, const char *p, size_t n)
{
	struct sink	*sk = arg;

	FUZZ_CHECK(sk->in_body && n > 0 && p != NULL);
	FUZZ_CHECK(n <= sk->size - sk->got);
	sk->got += n;
	return 0;
}

static int
sk_end(void *arg, uint32_t uid)
{
	struct sink	*sk = arg;
	size_t		 i;

	FUZZ_CHECK(sk->in_body && sk->got == sk->size);
	for (i = 0; i < sk->n && sk->uids[i] != uid; i++)
		;
	FUZZ_CHECK(i < sk->n);
	sk->in_body = 0;
	sk->nbody++;
	return 0;
}

static int
sizes_cb(void *arg, uint32_t uid, uint64_t size)
{
	FUZZ_CHECK(uid != 0);
	return 0;
}

static const char	*bodies[3] = {
	"Subject: one\r\n\r\nfirst\r\n",
	NULL,			/* 5000 octets, made once */
	"Subject: three\r\n\r\n\r\n"
};
static char		 big[5001];

static int
msg_body(void *arg, int (*put)(void *, const char *, size_t), void *pa)
{
	const char	*b = arg;
	size_t		 n = strlen(b);

	if (put(pa, b, n / 3) == -1)
		return -1;
	return put(pa, b + n / 3, n - n / 3);
}

/* Go on after a step, unless it lost the session. */
static int
next(struct imap *s, int r)
{
	return r == 0 || imap_errclass(s) == IMAP_E_REFUSED ? 0 : -1;
}

/* The conversation; 0 when it ran to the LOGOUT's OK. */
static int
session(struct imap *s, struct conn *c)
{
	struct imap_mailbox	mb;
	struct imap_msg		m[3];
	struct imap_appended	r[3];
	struct imap_sink	sk = { sk_begin, sk_data, sk_end, &k };
	uint32_t		uids[MAX_FETCH];
	size_t			i, n = 0;

	if (imap_connect_conn(s, c) == -1 ||
	    imap_auth(s, "auto", "user", "secret") == -1 ||
	    imap_select(s, "Archive/Fuzz", 1, 0, &mb) == -1)
		return -1;
	FUZZ_CHECK(mb.uidvalidity != 0);
	for (i = 0; i < 3; i++) {
		memset(&m[i], 0, sizeof m[i]);
		m[i].size = strlen(bodies[i]);
		m[i].flags = i == 1 ? "\\Seen $Label1" : "";
		m[i].date = i == 0 ? 1100000000 : 0;
		m[i].body = msg_body;
		m[i].arg = (void *)(uintptr_t)bodies[i];
	}
	if (next(s, imap_append(s, m, 3, r)) == -1)
		return -1;
	for (i = 0; i < 3; i++)
		FUZZ_CHECK(!r[i].has_uid || (r[i].ok && r[i].uid != 0 &&
		    r[i].uidvalidity != 0));
	if (next(s, imap_sizes(s, sizes_cb, NULL)) == -1 ||
	    next(s, imap_search(s, "ALL", uids, MAX_FETCH, &n)) == -1)
		return -1;
	if (n > MAX_FETCH)
		n = MAX_FETCH;
	for (i = 0; i < n; i++)
		FUZZ_CHECK(uids[i] != 0);
	k.uids = uids;
	k.n = n;
	if (next(s, imap_fetch(s, uids, n, &sk)) == -1)
		return -1;
	return imap_logout(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_opts	 o;
	struct server		*srv;
	struct imap		*s;
	struct conn		*c;
	pthread_t		 t;
	const unsigned char	*e;
	char			 err[256];
	int			 sv[2], r;
	enum imap_errclass	 ec;

	if (big[0] == '\0') {
		for (r = 0; r < 5000; r++)
			big[r] = r % 50 == 48 ? '\r' : r % 50 == 49 ? '\n' :
			    (char)('a' + r % 26);
		bodies[1] = big;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		perror("socketpair");
		abort();
	}
	if ((srv = calloc(1, sizeof *srv)) == NULL)
		abort();
	srv->fd = sv[1];
	srv->in = (const char *)data;
	srv->len = size;
	memset(&k, 0, sizeof k);
	if (pthread_create(&t, NULL, serve, srv) != 0)
		abort();

	memset(&o, 0, sizeof o);
	o.host = "imap.fuzz.invalid";
	o.port = "143";
	o.tls = IMAP_TLS_STARTTLS;
	o.insecure_plaintext = 1;
	o.connect_timeout_ms = TIMEOUT_MS;
	o.timeout_ms = TIMEOUT_MS;
	o.max_msg_size = MAX_MSG;
	if ((c = conn_adopt(sv[0], TIMEOUT_MS, err, sizeof err)) == NULL) {
		fprintf(stderr, "conn_adopt: %s\n", err);
		abort();
	}
	s = imap_new(&o);
	r = session(s, c);
	if (r == -1) {
		ec = imap_errclass(s);
		FUZZ_CHECK(ec == IMAP_E_NET || ec == IMAP_E_PROTO ||
		    ec == IMAP_E_AUTH || ec == IMAP_E_TEMP ||
		    ec == IMAP_E_TLS || ec == IMAP_E_USAGE ||
		    ec == IMAP_E_REFUSED);
		for (e = (const unsigned char *)imap_error(s); *e != '\0'; e++)
			FUZZ_CHECK(*e >= 0x20 && *e < 0x7f);
	}
	if (getenv("FUZZ_DEBUG") != NULL)
		fprintf(stderr, "session: %s (%zu bodies)\n", r == 0 ?
		    "LOGOUT OK" : imap_error(s), k.nbody);
	imap_free(s);
	pthread_join(t, NULL);
	free(srv);
	return 0;
}
