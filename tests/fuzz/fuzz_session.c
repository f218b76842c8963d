/*
 * fuzz_session.c -- a whole POP3 session (core/pop3.c over core/conn.c)
 * against a server whose every byte is the fuzz input.
 *
 * The input is what the server says, as a transcript: greeting, then
 * the reply to each command in turn (see corpus/fuzz_session/). A
 * thread plays the server over a socketpair: it sends the greeting,
 * then for each command line it reads it sends the next reply, cut
 * from the input with POP3's own framing (RFC 1939 section 3): one
 * line; or, after "+OK" to CAPA, UIDL or LIST, lines up to "."; or,
 * after "+OK" to RETR, a body up to CRLF "." CRLF. When the input runs
 * out the server hangs up. Replies are sent only when asked for, since
 * the client rightly refuses bytes nobody asked for.
 *
 * The client does what "popvault fetch" does, with the choices a
 * server can steer: pop3_connect_conn() (greeting, CAPA), then APOP if
 * the greeting has a timestamp, SASL "auto" if CAPA lists SASL, else
 * USER/PASS; UIDL and LIST; RETR of up to 16 messages (pipelined when
 * CAPA says PIPELINING); DELE of those retrieved; QUIT.
 *
 * Checked besides the sanitizers: every message is begun and ended (or
 * failed) once, in order, never past the size limit, and holds exactly
 * what fuzz_dotref() (fuzz.h) makes of the body sent; the listing is
 * sorted with valid UIDs; a failure has a class a server can cause and
 * a message with no raw control bytes (server text is escaped); and
 * the client never times out: with replies framed as above, waiting
 * would mean the client misreads a complete reply.
 *
 * FUZZ_DEBUG set in the environment prints how each session ended
 * (for writing seeds).
 */
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "fuzz.h"
#include "pop3.h"
#include "pop3parse.h"

#define TIMEOUT_MS	5000
#define MAX_MSG		4096
#define MAX_RETR	16

enum reply { R_LINE, R_LINES, R_BODY };

struct server {
	int		 fd;
	const char	*in;
	size_t		 len, off;
	char		 cmd[4096];
	size_t		 clen;
	/* Where the body of each "+OK" to RETR lies in the input. */
	size_t		 body_off[MAX_RETR], body_end[MAX_RETR];
	size_t		 nbody;
};

/* Bytes up to and including the next LF (all of them if none). */
static size_t
line_end(const char *p, size_t n)
{
	const char	*nl = memchr(p, '\n', n);

	return nl != NULL ? (size_t)(nl - p) + 1 : n;
}

/*
 * The reply at p..p+n to a command expecting kind: its length. *body
 * is where the body of a multi-line "+OK" reply starts, else 0.
 */
static size_t
reply_len(const char *p, size_t n, enum reply kind, size_t *body)
{
	struct pop3_status	 st;
	struct dot_state	 ds;
	size_t			 s, l, q, outlen, used;
	char			*out;
	int			 done;

	*body = 0;
	s = line_end(p, n);
	if (kind == R_LINE || s == n)
		return s;
	/* As the client reads a line: without LF and one CR before it. */
	l = s - 1;
	if (l > 0 && p[l - 1] == '\r')
		l--;
	if (pop3_parse_status(p, l, &st) == -1 || !st.ok)
		return s;
	*body = s;
	if (kind == R_LINES) {
		for (q = s; q < n; q += l) {
			l = line_end(p + q, n - q);
			if ((l == 2 && p[q] == '.' && p[q + 1] == '\n') ||
			    (l == 3 && p[q] == '.' && p[q + 1] == '\r' &&
			    p[q + 2] == '\n'))
				return q + l;
		}
		return n;
	}
	if ((out = malloc(n - s)) == NULL)
		abort();
	dot_init(&ds);
	done = dot_feed(&ds, p + s, n - s, out, &outlen, &used);
	free(out);
	return done ? s + used : n;
}

/* Send the next reply; -1 when the input is used up or the peer gone. */
static int
reply(struct server *s, enum reply kind)
{
	size_t	n, body;

	n = reply_len(s->in + s->off, s->len - s->off, kind, &body);
	if (fuzz_send_all(s->fd, s->in + s->off, n) == -1)
		return -1;
	if (kind == R_BODY && body != 0 && s->nbody < MAX_RETR) {
		s->body_off[s->nbody] = s->off + body;
		s->body_end[s->nbody++] = s->off + n;
	}
	s->off += n;
	return s->off < s->len ? 0 : -1;
}

/* The next command line, without CRLF, in s->cmd; its length or -1. */
static ssize_t
read_cmd(struct server *s)
{
	char	*nl;
	size_t	 n;
	ssize_t	 r;

	for (;;) {
		if ((nl = memchr(s->cmd, '\n', s->clen)) != NULL) {
			n = (size_t)(nl - s->cmd);
			/* Shifted out later: the caller looks at it first. */
			return (ssize_t)n;
		}
		if (s->clen == sizeof s->cmd)
			s->clen = 0;	/* longer than we care about */
		r = recv(s->fd, s->cmd + s->clen, sizeof s->cmd - s->clen, 0);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		s->clen += (size_t)r;
	}
}

static void
drop_cmd(struct server *s, size_t n)
{
	memmove(s->cmd, s->cmd + n + 1, s->clen - n - 1);
	s->clen -= n + 1;
}

static enum reply
kind_of(const char *c, size_t n)
{
	if (n > 0 && c[n - 1] == '\r')
		n--;
	if ((n == 4 && memcmp(c, "CAPA", 4) == 0) ||
	    (n == 4 && memcmp(c, "UIDL", 4) == 0) ||
	    (n == 4 && memcmp(c, "LIST", 4) == 0))
		return R_LINES;
	if ((n > 5 && memcmp(c, "RETR ", 5) == 0) ||
	    (n > 4 && memcmp(c, "TOP ", 4) == 0))
		return R_BODY;
	return R_LINE;
}

static void *
serve(void *arg)
{
	struct server	*s = arg;
	ssize_t		 n;

	if (s->len > 0 && reply(s, R_LINE) == 0) {
		while ((n = read_cmd(s)) != -1) {
			if (reply(s, kind_of(s->cmd, (size_t)n)) == -1)
				break;
			drop_cmd(s, (size_t)n);
		}
	}
	close(s->fd);
	return NULL;
}

/*
 * What the client delivered. Messages are counted twice: next over
 * the RETRs (delivered or failed), nmsg over those begun, whose bytes
 * are kept in msg[] to compare with the server's bodies.
 */
struct sink {
	const size_t	*idx;
	size_t		 n, next;
	int		 in_msg;
	int		 got[MAX_RETR];		/* by RETR */
	size_t		 nmsg;
	size_t		 mlen[MAX_RETR];
	int		 ended[MAX_RETR];	/* by message begun */
	unsigned char	 msg[MAX_RETR][MAX_MSG];
};

static struct sink	k;

static int
sk_begin(void *arg, size_t i)
{
	struct sink	*sk = arg;

	FUZZ_CHECK(!sk->in_msg && sk->next < sk->n &&
	    i == sk->idx[sk->next] && sk->nmsg < MAX_RETR);
	sk->in_msg = 1;
	sk->mlen[sk->nmsg++] = 0;
	return 0;
}

static int
sk_data(void *arg, const char *p, size_t n)
{
	struct sink	*sk = arg;
	size_t		*len = &sk->mlen[sk->nmsg - 1];

	FUZZ_CHECK(sk->in_msg && n > 0 && p != NULL);
	FUZZ_CHECK(n <= MAX_MSG - *len);
	memcpy(sk->msg[sk->nmsg - 1] + *len, p, n);
	*len += n;
	return 0;
}

static int
sk_end(void *arg, size_t i)
{
	struct sink	*sk = arg;

	FUZZ_CHECK(sk->in_msg && i == sk->idx[sk->next]);
	sk->in_msg = 0;
	sk->got[sk->next++] = 1;
	sk->ended[sk->nmsg - 1] = 1;
	return 0;
}

static int
sk_failed(void *arg, size_t i, const char *why)
{
	struct sink		*sk = arg;
	const unsigned char	*w;

	FUZZ_CHECK(!sk->in_msg && sk->next < sk->n &&
	    i == sk->idx[sk->next]);
	for (w = (const unsigned char *)why; *w != '\0'; w++)
		FUZZ_CHECK(*w >= 0x20 && *w < 0x7f);
	sk->next++;
	return 0;
}

/*
 * Each message the client ended must be the reference decoding of the
 * body the server sent for it (the bodies and the messages begun pair
 * up in order: a -ERR reply has neither). Returns how many were.
 */
static size_t
check_bodies(const struct server *s)
{
	struct fuzz_dotref	 ref;
	size_t			 b, n, checked = 0;

	for (b = 0; b < k.nmsg && b < s->nbody; b++) {
		if (!k.ended[b])
			continue;
		n = s->body_end[b] - s->body_off[b];
		if ((ref.out = malloc(n + 1)) == NULL)
			abort();
		fuzz_dotref((const unsigned char *)s->in + s->body_off[b], n,
		    &ref);
		FUZZ_CHECK(ref.done && ref.used == n);
		FUZZ_CHECK(ref.olen == k.mlen[b] &&
		    memcmp(ref.out, k.msg[b], ref.olen) == 0);
		free(ref.out);
		checked++;
	}
	return checked;
}

static void
check_listing(const struct pop3_listing *l)
{
	const unsigned char	*u;
	size_t			 i, j;

	FUZZ_CHECK(l->n <= 64);
	for (i = 0; i < l->n; i++) {
		FUZZ_CHECK(l->e[i].num >= 1 && l->e[i].num <= POP3_MSGNUM_MAX);
		if (i > 0)
			FUZZ_CHECK(l->e[i - 1].num < l->e[i].num);
		FUZZ_CHECK(l->e[i].uid_len >= 1 &&
		    l->e[i].uid_len <= POP3_UIDL_MAX &&
		    l->e[i].uid_off + l->e[i].uid_len <= l->alen);
		u = (const unsigned char *)POP3_UID(l, i);
		for (j = 0; j < l->e[i].uid_len; j++)
			FUZZ_CHECK(u[j] >= 0x21 && u[j] <= 0x7e);
	}
}

/* The conversation; 0 when it ran to QUIT +OK. */
static int
session(struct pop3 *p, struct conn *c)
{
	struct pop3_listing	 l;
	struct pop3_sink	 sk = { sk_begin, sk_data, sk_end, sk_failed,
				    NULL };
	const char		*g, *ts;
	size_t			 idx[MAX_RETR], tslen, i;
	int			 r = -1;

	if (pop3_connect_conn(p, c) == -1)
		return -1;
	g = pop3_greeting(p);
	if (pop3_apop_stamp(g, strlen(g), &ts, &tslen) == 0)
		r = pop3_login(p, "user", "secret", POP3_AUTH_APOP);
	else if (pop3_caps(p)->flags & POP3_CAP_SASL)
		r = pop3_auth(p, "auto", "user", "secret");
	else
		r = pop3_login(p, "user", "secret", POP3_AUTH_USER);
	if (r == -1)
		return -1;
	if (pop3_listing(p, &l) == -1) {
		pop3_listing_free(&l);
		return -1;
	}
	check_listing(&l);
	for (i = 0; i < l.n && i < MAX_RETR; i++)
		idx[i] = i;
	k.idx = idx;
	k.n = i;
	sk.arg = &k;
	r = pop3_retrieve(p, &l, idx, k.n, &sk);
	if (r == 0)
		FUZZ_CHECK(k.next == k.n && !k.in_msg);
	for (i = 0; r == 0 && i < k.next; i++)
		if (k.got[i])
			r = pop3_dele(p, l.e[idx[i]].num);
	pop3_listing_free(&l);
	if (r == -1)
		return -1;
	return pop3_quit(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pop3_opts	 o;
	struct server		 s;
	struct pop3		*p;
	struct conn		*c;
	pthread_t		 t;
	const unsigned char	*e;
	char			 err[256];
	int			 sv[2], r;
	size_t			 n;
	enum pop3_errclass	 ec;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		perror("socketpair");
		abort();
	}
	memset(&s, 0, sizeof s);
	s.fd = sv[1];
	s.in = (const char *)data;
	s.len = size;
	memset(&k, 0, sizeof k);
	if (pthread_create(&t, NULL, serve, &s) != 0)
		abort();

	memset(&o, 0, sizeof o);
	o.host = "pop.fuzz.invalid";
	o.port = "110";
	o.tls = POP3_TLS_NONE;
	o.insecure_plaintext = 1;
	o.connect_timeout_ms = TIMEOUT_MS;
	o.timeout_ms = TIMEOUT_MS;
	o.max_msg_size = MAX_MSG;
	o.window = 4;
	o.max_listing = 64;
	if ((c = conn_adopt(sv[0], TIMEOUT_MS, err, sizeof err)) == NULL) {
		fprintf(stderr, "conn_adopt: %s\n", err);
		abort();
	}
	p = pop3_new(&o);
	r = session(p, c);
	if (r == -1) {
		ec = pop3_errclass(p);
		FUZZ_CHECK(ec == POP3_E_NET || ec == POP3_E_PROTO ||
		    ec == POP3_E_AUTH || ec == POP3_E_TEMP);
		for (e = (const unsigned char *)pop3_error(p); *e != '\0'; e++)
			FUZZ_CHECK(*e >= 0x20 && *e < 0x7f);
	}
	/* For writing seeds: how far did this transcript get? */
	if (getenv("FUZZ_DEBUG") != NULL)
		fprintf(stderr, "session: %s\n", r == 0 ? "QUIT +OK" :
		    pop3_error(p));
	pop3_free(p);
	pthread_join(t, NULL);
	n = check_bodies(&s);
	if (getenv("FUZZ_DEBUG") != NULL)
		fprintf(stderr, "session: %zu messages as sent\n", n);
	return 0;
}
