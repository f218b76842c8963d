/*
 * imap.c -- the IMAP client session; see imap.h for the story.
 *
 * Parsing lives in imapparse.c: every byte the server sends goes through
 * its response reader, every response through imap_parse_resp() and the
 * parsers of its data. This file sequences commands, keeps the security
 * rules of pop3.c (no credential before TLS unless told otherwise,
 * STARTTLS required on imap://, capabilities re-learnt after TLS and
 * after login), pipelines APPENDs with non-synchronizing literals when
 * the server allows them, and streams fetched bodies to the caller's
 * sink. SASL mechanisms live in sasl.c; imap_auth() only carries their
 * messages (RFC 9051 section 6.2.2, RFC 4959 for the initial response).
 *
 * Deadlines: every command gets opts.timeout_ms from the moment it is
 * sent, stretched by the octets it carries (APPEND) or announces (a
 * fetched body's literal) at IMAP_MIN_RATE, so that neither a server
 * that drips nor one that announces an endless literal can hold a run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "log.h"
#include "sasl.h"
#include "util.h"

/* Slowest average rate a command may have before its deadline passes. */
#define IMAP_MIN_RATE	(16 * 1024)
/* The write buffer of APPEND (command lines and message octets). */
#define IMAP_WBUF	(64 * 1024)
/* The longest command line built here (FETCH's uid-set is cut to it). */
#define IMAP_CMD_MAX	8192
/* Non-synchronizing literals under LITERAL- (RFC 7888 section 5). */
#define IMAP_LITMINUS_MAX	4096
/* A literal that is not a fetched body is refused past this. */
#define IMAP_OTHER_LIT_MAX	IMAP_RESP_MAX
/* Octets of a SIZES answer per message, for its deadline. */
#define IMAP_SIZE_LINE	64

struct imap {
	struct imap_opts	 o;
	struct conn		*c;
	struct imap_caps	 caps;
	int			 got_caps;	/* CAPABILITY seen since reset */
	int			 preauth;
	int			 logout;	/* a BYE is expected */
	int			 bye;		/* a BYE was read */
	unsigned		 tagno;
	char			 tag[16];	/* of the command in flight */
	char			 mbox[1024];	/* selected mailbox, as sent */
	int			 selected;
	/* From the untagged responses of the selected mailbox. */
	uint32_t		 exists, uidvalidity, uidnext;
	struct imap_reader	 rd;
	char			*rbuf;
	struct imap_resp	 resp;		/* the last response read */
	int			 mask_cont;	/* "+" lines logged as "****" */
	char			*wbuf;
	size_t			 wlen;
	/* Literal streaming during imap_fetch(). */
	const struct imap_sink	*sink;
	int			 lit_sink;	/* this literal goes to sink */
	int			 resp_body;	/* a body streamed in resp */
	int			 cbfail;	/* a literal callback failed */
	int			 dead;		/* a step lost the session */
	int64_t			 deadline;
	char			 greeting[IMAP_TEXT_MAX];
	enum imap_errclass	 eclass;
	enum imap_code		 code;
	char			 err[768];
};

static int	imap_fail(struct imap *, enum imap_errclass, const char *,
		    ...) __attribute__((format(printf, 3, 4)));
static int	lit_cb(void *, enum imap_lit_ev, const char *, size_t,
		    uint64_t);

static int
imap_fail(struct imap *s, enum imap_errclass ec, const char *fmt, ...)
{
	va_list	ap;

	s->eclass = ec;
	s->code = IMAP_C_NONE;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof s->err, fmt, ap);
	va_end(ap);
	return -1;
}

/* Turn the connection's failure into ours. */
static int
imap_connfail(struct imap *s, const char *during)
{
	enum imap_errclass	ec;

	switch (conn_errkind(s->c)) {
	case CONN_E_TIMEOUT:
		ec = IMAP_E_TIMEOUT;
		break;
	case CONN_E_TLS:
		ec = IMAP_E_TLS;
		break;
	case CONN_E_TOOLONG:
		ec = IMAP_E_PROTO;
		break;
	case CONN_E_INTR:
		ec = IMAP_E_INTR;
		break;
	case CONN_E_HOOK:
		ec = IMAP_E_LOCAL;
		break;
	default:
		ec = IMAP_E_NET;
		break;
	}
	return imap_fail(s, ec, "%s: %s", during, conn_error(s->c));
}

struct imap *
imap_new(const struct imap_opts *o)
{
	struct imap	*s = xcalloc(1, sizeof *s);

	s->o = *o;
	if (s->o.timeout_ms <= 0)
		s->o.timeout_ms = 60000;
	if (s->o.connect_timeout_ms <= 0)
		s->o.connect_timeout_ms = s->o.timeout_ms;
	s->rbuf = xmalloc(IMAP_RESP_MAX);
	s->wbuf = xmalloc(IMAP_WBUF);
	imap_reader_init(&s->rd, s->rbuf, IMAP_RESP_MAX, IMAP_LIT_KEEP,
	    lit_cb, s);
	return s;
}

/* ---- deadlines ------------------------------------------------------ */

/* The command's deadline: timeout_ms from now, plus octets at the rate. */
static void
deadline_start(struct imap *s, uint64_t octets)
{
	uint64_t	extra = octets / IMAP_MIN_RATE * 1000;

	if (extra > INT64_MAX / 4)
		extra = INT64_MAX / 4;
	s->deadline = now_ms() + s->o.timeout_ms + (int64_t)extra;
	conn_set_deadline(s->c, s->deadline);
}

/*
 * Progress (a fetched body begins or ends): the deadline is at least
 * timeout_ms away, and octets more are allowed for. The caller bounds
 * how often this may happen.
 */
static void
deadline_more(struct imap *s, uint64_t octets)
{
	int64_t		floor = now_ms() + s->o.timeout_ms;
	uint64_t	extra = octets / IMAP_MIN_RATE * 1000;

	if (extra > INT64_MAX / 4)
		extra = INT64_MAX / 4;
	if (s->deadline < floor)
		s->deadline = floor;
	s->deadline += (int64_t)extra;
	conn_set_deadline(s->c, s->deadline);
}

/* ---- reading -------------------------------------------------------- */

/* Does the response so far (p/n, ending in "{N}") announce BODY[]? */
static int
is_body_literal(const char *p, size_t n)
{
	static const char	body[] = "BODY[] ";
	size_t			i = n, k;

	/* "* " nz-number " FETCH (" ... "BODY[] {N}" */
	if (n < 2 || p[0] != '*' || p[1] != ' ')
		return 0;
	for (k = 2; k < n && p[k] >= '0' && p[k] <= '9'; k++)
		;
	if (k == 2 || n - k < 8 || strncasecmp(p + k, " FETCH (", 8) != 0)
		return 0;
	while (i > 0 && p[i - 1] != '{')
		i--;
	if (i == 0)
		return 0;
	i--;
	if (i < k + 8 + sizeof body - 1)
		return 0;
	if (strncasecmp(p + i - (sizeof body - 1), body, sizeof body - 1))
		return 0;
	/* Preceded by "(" or " ": the name is a whole item. */
	return p[i - sizeof body] == '(' || p[i - sizeof body] == ' ';
}

/*
 * The reader's callback for literals longer than IMAP_LIT_KEEP: during
 * imap_fetch() the body of a FETCH response goes to the sink; any
 * other literal is read and dropped, up to IMAP_OTHER_LIT_MAX.
 */
static int
lit_cb(void *arg, enum imap_lit_ev ev, const char *p, size_t n,
    uint64_t size)
{
	struct imap	*s = arg;

	switch (ev) {
	case IMAP_LIT_BEGIN:
		s->lit_sink = 0;
		if (s->sink != NULL && is_body_literal(p, n)) {
			if (s->resp_body) {
				imap_fail(s, IMAP_E_PROTO, "FETCH: two bodies "
				    "in one response");
				goto fail;
			}
			if (size > s->o.max_msg_size) {
				imap_fail(s, IMAP_E_PROTO, "FETCH: a body of "
				    "%llu octets, larger than the maximum "
				    "size (%llu)", (unsigned long long)size,
				    (unsigned long long)s->o.max_msg_size);
				goto fail;
			}
			deadline_more(s, size);
			s->resp_body = 1;
			s->lit_sink = 1;
			if (s->sink->begin(s->sink->arg, size) == -1) {
				imap_fail(s, IMAP_E_LOCAL, "FETCH: storing "
				    "a body failed");
				goto fail;
			}
			return 0;
		}
		if (size > IMAP_OTHER_LIT_MAX) {
			imap_fail(s, IMAP_E_PROTO, "a literal of %llu octets "
			    "where none so long was expected",
			    (unsigned long long)size);
			goto fail;
		}
		return 0;
	case IMAP_LIT_DATA:
		if (s->lit_sink && s->sink->data(s->sink->arg, p, n) == -1) {
			imap_fail(s, IMAP_E_LOCAL, "FETCH: storing a body "
			    "failed");
			goto fail;
		}
		return 0;
	case IMAP_LIT_END:
		s->lit_sink = 0;
		return 0;
	}
	return 0;
fail:
	s->cbfail = 1;
	return -1;
}

/* Log a response read: its first line, escaped; "+" masked in AUTH. */
static void
log_resp(struct imap *s)
{
	const char	*p = s->rd.buf;
	size_t		 n = s->rd.len;
	const char	*cr;
	char		 esc[256];

	if (log_level() < LOG_VERBOSE)
		return;
	if (s->mask_cont && n > 0 && p[0] == '+') {
		log_verbose("< + ****");
		return;
	}
	if ((cr = memchr(p, '\r', n)) != NULL)
		n = (size_t)(cr - p);
	log_verbose("< %s%s", log_escape(p, n, esc, sizeof esc),
	    cr != NULL ? " ..." : "");
}

/* Read the next response into s->resp. */
static int
imap_read(struct imap *s, const char *what)
{
	const char	*in;
	size_t		 n, used;
	char		 esc[IMAP_TEXT_MAX];
	int		 r;

	s->resp_body = 0;
	for (;;) {
		if (conn_peek(s->c, &in, &n) == -1)
			return imap_connfail(s, what);
		r = imap_reader_feed(&s->rd, in, n, &used);
		conn_consume(s->c, used);
		if (r == 1)
			break;
		if (r == -1) {
			if (s->cbfail)
				return -1;
			return imap_fail(s, IMAP_E_PROTO, "%s: %s", what,
			    s->rd.errmsg != NULL ? s->rd.errmsg :
			    "unreadable response");
		}
	}
	log_resp(s);
	if (imap_parse_resp(s->rd.buf, s->rd.len, &s->resp) == -1)
		return imap_fail(s, IMAP_E_PROTO, "%s: not an IMAP response: "
		    "%s", what, log_escape(s->rd.buf, s->rd.len, esc,
		    sizeof esc));
	return 0;
}

/* Is the response code of r the atom name (for IMAP_C_OTHER)? */
static int
code_is(const struct imap_resp *r, const char *name)
{
	const char	*p;
	size_t		 l = strlen(name);

	if (r->code == IMAP_C_NONE)
		return 0;
	/* The code follows the status word and its SP: "[NAME" */
	p = r->keyword + r->keywordlen;
	if (p[0] != ' ' || p[1] != '[')
		return 0;
	p += 2;
	return strncasecmp(p, name, l) == 0 && (p[l] == ']' || p[l] == ' ');
}

/* A NO or BAD that asks to come back later (imap.h, IMAP_E_TEMP). */
static int
is_temp(const struct imap_resp *r)
{
	return r->code == IMAP_C_LIMIT || r->code == IMAP_C_UNAVAILABLE ||
	    code_is(r, "INUSE") || code_is(r, "OVERQUOTA");
}

/* The text of a status response, escaped, cut to IMAP_TEXT_MAX. */
static const char *
resp_text(const struct imap_resp *r, char *buf)
{
	return log_escape(r->rest, r->restlen, buf, IMAP_TEXT_MAX);
}

/*
 * A NO or BAD (or an untagged BYE) to what: the class from its code,
 * else BAD is IMAP_E_PROTO and NO is dflt.
 */
static int
imap_refused(struct imap *s, const char *what, enum imap_errclass dflt)
{
	const struct imap_resp	*r = &s->resp;
	enum imap_errclass	 ec;
	char			 esc[IMAP_TEXT_MAX];

	if (r->status == IMAP_S_BYE)
		ec = IMAP_E_TEMP;
	else if (is_temp(r))
		ec = IMAP_E_TEMP;
	else if (r->status == IMAP_S_BAD)
		ec = IMAP_E_PROTO;
	else
		ec = dflt;
	imap_fail(s, ec, "%s: server said: %s%s", what,
	    r->status == IMAP_S_BYE ? "BYE " : r->status == IMAP_S_BAD ?
	    "BAD " : "", resp_text(r, esc));
	s->code = r->code;
	return -1;
}

static int
set_caps(struct imap *s, const char *p, size_t n)
{
	char	esc[IMAP_TEXT_MAX];

	if (imap_parse_caps(p, n, &s->caps) == -1)
		return imap_fail(s, IMAP_E_PROTO, "bad capability list: %s",
		    log_escape(p, n, esc, sizeof esc));
	s->got_caps = 1;
	return 0;
}

/*
 * The untagged responses any command may meet: BYE (the session ends:
 * IMAP_E_TEMP, unless LOGOUT was sent), CAPABILITY, EXISTS, and the
 * UIDVALIDITY, UIDNEXT and CAPABILITY codes of an untagged OK. The
 * rest (FLAGS, RECENT, EXPUNGE, FETCH updates, ...) is ignored.
 */
static int
imap_untagged(struct imap *s, const char *what)
{
	const struct imap_resp	*r = &s->resp;

	if (r->status == IMAP_S_BYE) {
		s->bye = 1;
		if (s->logout)
			return 0;
		return imap_refused(s, what, IMAP_E_TEMP);
	}
	if (r->status == IMAP_S_OK) {
		if (r->code == IMAP_C_UIDVALIDITY)
			s->uidvalidity = r->n1;
		else if (r->code == IMAP_C_UIDNEXT)
			s->uidnext = r->n1;
		else if (r->code == IMAP_C_CAPABILITY)
			return set_caps(s, r->set, r->setlen);
		return 0;
	}
	if (r->status != IMAP_S_NONE)
		return 0;		/* NO, BAD: warnings */
	if (r->has_num && r->keywordlen == 6 &&
	    strncasecmp(r->keyword, "EXISTS", 6) == 0)
		s->exists = r->num;
	else if (!r->has_num && r->keywordlen == 10 &&
	    strncasecmp(r->keyword, "CAPABILITY", 10) == 0)
		return set_caps(s, r->rest, r->restlen);
	return 0;
}

static int
tag_is(const struct imap_resp *r, const char *tag)
{
	return r->taglen == strlen(tag) && memcmp(r->tag, tag, r->taglen) == 0;
}

/*
 * Read responses up to the tagged one of the command in flight
 * (s->tag). Untagged ones go to fn first (it returns 1 when it took the
 * response, 0 when not, -1 on failure), then to imap_untagged(). A
 * continuation request or another tag is IMAP_E_PROTO. On 0, s->resp
 * is the tagged response.
 */
static int
imap_wait(struct imap *s, const char *what,
    int (*fn)(struct imap *, void *), void *arg)
{
	char	esc[64];
	int	r;

	for (;;) {
		if (imap_read(s, what) == -1)
			return -1;
		switch (s->resp.kind) {
		case IMAP_K_CONT:
			return imap_fail(s, IMAP_E_PROTO, "%s: continuation "
			    "request nobody asked for", what);
		case IMAP_K_UNTAGGED:
			if (fn != NULL && (r = fn(s, arg)) != 0) {
				if (r == -1)
					return -1;
				continue;
			}
			if (imap_untagged(s, what) == -1)
				return -1;
			continue;
		case IMAP_K_TAGGED:
			if (!tag_is(&s->resp, s->tag))
				return imap_fail(s, IMAP_E_PROTO, "%s: answer "
				    "to a command not sent (tag %s)", what,
				    log_escape(s->resp.tag, s->resp.taglen,
				    esc, sizeof esc));
			return 0;
		}
	}
}

/* ---- writing -------------------------------------------------------- */

static void
next_tag(struct imap *s)
{
	snprintf(s->tag, sizeof s->tag, "P%u", ++s->tagno);
}

/*
 * Send "TAG cmd" CRLF with a new tag. logcmd is what -v shows instead
 * of cmd (NULL: cmd itself). The line is wiped (it may hold a secret).
 */
static int
imap_send(struct imap *s, const char *cmd, const char *logcmd)
{
	size_t	 tl, cl = strlen(cmd);
	char	*buf;
	int	 r = 0;

	next_tag(s);
	tl = strlen(s->tag);
	buf = xmalloc(tl + 1 + cl + 2);
	memcpy(buf, s->tag, tl);
	buf[tl] = ' ';
	memcpy(buf + tl + 1, cmd, cl);
	memcpy(buf + tl + 1 + cl, "\r\n", 2);
	log_verbose("> %s %s", s->tag, logcmd != NULL ? logcmd : cmd);
	if (conn_write(s->c, buf, tl + cl + 3) == -1)
		r = imap_connfail(s, "sending a command");
	explicit_bzero(buf, tl + cl + 3);
	free(buf);
	return r;
}

/* A simple command: sent, its responses read; 0 on OK. */
static int
imap_simple(struct imap *s, const char *cmd, const char *what,
    enum imap_errclass dflt, int (*fn)(struct imap *, void *), void *arg)
{
	deadline_start(s, 0);
	if (imap_send(s, cmd, NULL) == -1 || imap_wait(s, what, fn, arg) == -1)
		return -1;
	if (s->resp.status != IMAP_S_OK)
		return imap_refused(s, what, dflt);
	return 0;
}

static int
wflush(struct imap *s)
{
	size_t	n = s->wlen;

	s->wlen = 0;
	if (n > 0 && conn_write(s->c, s->wbuf, n) == -1)
		return imap_connfail(s, "APPEND");
	return 0;
}

static int
wput(struct imap *s, const char *p, size_t n)
{
	size_t	k;

	if (n >= IMAP_WBUF) {
		if (wflush(s) == -1)
			return -1;
		if (conn_write(s->c, p, n) == -1)
			return imap_connfail(s, "APPEND");
		return 0;
	}
	while (n > 0) {
		k = IMAP_WBUF - s->wlen;
		if (k > n)
			k = n;
		memcpy(s->wbuf + s->wlen, p, k);
		s->wlen += k;
		p += k;
		n -= k;
		if (s->wlen == IMAP_WBUF && wflush(s) == -1)
			return -1;
	}
	return 0;
}

/* ---- connection, greeting, capabilities ----------------------------- */

static int
imap_capability(struct imap *s)
{
	memset(&s->caps, 0, sizeof s->caps);
	s->got_caps = 0;
	if (imap_simple(s, "CAPABILITY", "CAPABILITY", IMAP_E_PROTO, NULL,
	    NULL) == -1)
		return -1;
	if (!s->got_caps)
		return imap_fail(s, IMAP_E_PROTO, "CAPABILITY: no capability "
		    "list in the answer");
	return 0;
}

static int
imap_starttls(struct imap *s)
{
	if (imap_simple(s, "STARTTLS", "STARTTLS", IMAP_E_TLS, NULL,
	    NULL) == -1) {
		if (s->eclass == IMAP_E_PROTO)
			s->eclass = IMAP_E_TLS;
		return -1;
	}
	/* Anything already buffered was sent in clear: injection. */
	if (conn_pending(s->c) != 0)
		return imap_fail(s, IMAP_E_TLS, "server sent data after its "
		    "STARTTLS answer (response injection); aborting");
	if (conn_starttls(s->c, s->o.host, &s->o.tlsopts) == -1)
		return imap_connfail(s, "TLS");
	/* RFC 9051 section 6.2.1: forget what was learnt in clear. */
	return imap_capability(s);
}

/* What follows the TCP connection: TLS, greeting, CAPABILITY, STARTTLS. */
static int
imap_start(struct imap *s)
{
	struct imap_resp	*r = &s->resp;
	char			 info[512];

	deadline_start(s, 0);
	if (s->o.tls == IMAP_TLS_IMPLICIT &&
	    conn_starttls(s->c, s->o.host, &s->o.tlsopts) == -1)
		return imap_connfail(s, "TLS");
	if (imap_read(s, "greeting") == -1)
		return -1;
	if (r->kind != IMAP_K_UNTAGGED || (r->status != IMAP_S_OK &&
	    r->status != IMAP_S_PREAUTH && r->status != IMAP_S_BYE))
		return imap_fail(s, IMAP_E_PROTO, "greeting: not an IMAP "
		    "greeting");
	resp_text(r, s->greeting);
	if (r->status == IMAP_S_BYE)
		return imap_refused(s, "greeting", IMAP_E_TEMP);
	if (r->code == IMAP_C_CAPABILITY && set_caps(s, r->set,
	    r->setlen) == -1)
		return -1;
	if (r->status == IMAP_S_PREAUTH) {
		/*
		 * Authenticated already: STARTTLS is no longer allowed
		 * (RFC 9051 section 6.2.1), so in clear text this is the
		 * downgrade a man in the middle would make.
		 */
		if (!conn_is_tls(s->c) && !s->o.insecure_plaintext)
			return imap_fail(s, IMAP_E_USAGE, "greeting: PREAUTH "
			    "in clear text makes STARTTLS impossible; "
			    "refusing to continue without TLS");
		s->preauth = 1;
	}
	if (!s->got_caps && imap_capability(s) == -1)
		return -1;
	if (!conn_is_tls(s->c) && !s->preauth) {
		if (s->caps.flags & IMAP_CAP_STARTTLS) {
			if (imap_starttls(s) == -1)
				return -1;
		} else if (!s->o.insecure_plaintext)
			return imap_fail(s, IMAP_E_USAGE, "server does not "
			    "offer STARTTLS; refusing to continue without "
			    "TLS (use imaps:// or --insecure-plaintext)");
		else
			log_verbose("the server does not offer STARTTLS: "
			    "continuing in clear text "
			    "(--insecure-plaintext)");
	}
	if (log_level() >= LOG_DEBUG && conn_is_tls(s->c)) {
		conn_tls_info(s->c, info, sizeof info);
		log_debug("TLS: %s", info);
	}
	return 0;
}

static int
connect_do(struct imap *s)
{
	char	err[512];

	s->c = conn_connect(s->o.host, s->o.port, s->o.connect_timeout_ms,
	    s->o.timeout_ms, err, sizeof err);
	if (s->c == NULL)
		return imap_fail(s, IMAP_E_NET, "%s", err);
	return imap_start(s);
}

static int
connect_conn_do(struct imap *s, struct conn *c)
{
	s->c = c;
	return imap_start(s);
}

/* ---- authentication ------------------------------------------------- */

/* The AUTH= capability bit of a mechanism. */
static unsigned
auth_flag(int m)
{
	switch (m) {
	case SASL_PLAIN:
		return IMAP_AUTH_PLAIN;
	case SASL_LOGIN:
		return IMAP_AUTH_LOGIN;
	case SASL_CRAM_MD5:
		return IMAP_AUTH_CRAM_MD5;
	case SASL_SCRAM_SHA_1:
		return IMAP_AUTH_SCRAM_SHA_1;
	case SASL_SCRAM_SHA_256:
		return IMAP_AUTH_SCRAM_SHA_256;
	case SASL_XOAUTH2:
		return IMAP_AUTH_XOAUTH2;
	case SASL_OAUTHBEARER:
		return IMAP_AUTH_OAUTHBEARER;
	}
	return 0;
}

/*
 * After a successful login: the capabilities change (RFC 9051 section
 * 6.2.2); learnt from the tagged OK's code, from an untagged
 * CAPABILITY sent with the answer, or asked for.
 */
static int
after_login(struct imap *s)
{
	if (s->resp.code == IMAP_C_CAPABILITY)
		return set_caps(s, s->resp.set, s->resp.setlen);
	if (s->got_caps)
		return 0;
	return imap_capability(s);
}

/*
 * Send payload (a SASL response, "*" or the rest of a LOGIN) and CRLF,
 * logged as "****", the buffer wiped.
 */
static int
send_secret_line(struct imap *s, const char *payload, size_t pl)
{
	char	*buf = xmalloc(pl + 2);
	int	 r = 0;

	memcpy(buf, payload, pl);
	memcpy(buf + pl, "\r\n", 2);
	log_verbose("> ****");
	if (conn_write(s->c, buf, pl + 2) == -1)
		r = imap_connfail(s, "AUTHENTICATE");
	explicit_bzero(buf, pl + 2);
	free(buf);
	return r;
}

/* Wipe what the reader holds (challenges, and echoes of secrets). */
static void
wipe_reader(struct imap *s)
{
	explicit_bzero(s->rbuf, s->rd.len);
}

/*
 * The AUTHENTICATE exchange for one mechanism object (RFC 9051 section
 * 6.2.2): the initial response on the command line with SASL-IR (RFC
 * 4959; "=" for an empty one), else as the answer to the first, empty
 * challenge. A challenge that is not base64 or that the mechanism
 * refuses is answered "*" (cancel) and the BAD that follows read.
 */
static int
auth_exchange(struct imap *s, struct sasl *sa, const char *mech)
{
	const struct imap_resp	*r = &s->resp;
	char			 what[64], cmd[64], esc[IMAP_TEXT_MAX];
	char			*ir = NULL, *resp, *line;
	size_t			 n, ml;
	int			 rc = SASL_CONTINUE, ret = -1, pending, w;
	int			 cancelled = 0;
	enum imap_errclass	 cancel_ec = IMAP_E_AUTH;
	char			 cancel_why[256] = "";

	snprintf(what, sizeof what, "AUTHENTICATE %s", mech);
	if (sasl_has_initial(sa)) {
		rc = sasl_step(sa, NULL, 0, &ir);
		if (rc == SASL_ERROR)
			return imap_fail(s, IMAP_E_USAGE, "%s: %s", what,
			    sasl_error(sa));
	}
	deadline_start(s, 0);
	s->got_caps = 0;
	if (ir != NULL && (s->caps.flags & (IMAP_CAP_SASL_IR |
	    IMAP_CAP_IMAP4REV2))) {
		ml = strlen(what);
		n = strlen(ir);
		line = xmalloc(ml + 1 + (n ? n : 1) + 1);
		memcpy(line, what, ml);
		line[ml] = ' ';
		memcpy(line + ml + 1, n ? ir : "=", n ? n : 1);
		line[ml + 1 + (n ? n : 1)] = '\0';
		snprintf(cmd, sizeof cmd, "%s ****", what);
		w = imap_send(s, line, cmd);
		explicit_bzero(line, ml + 1 + (n ? n : 1));
		free(line);
		sasl_resp_free(ir);
		ir = NULL;
		if (w == -1)
			return -1;
	} else if (imap_send(s, what, NULL) == -1)
		goto out;
	s->mask_cont = 1;
	for (;;) {
		deadline_start(s, 0);
		if (imap_read(s, what) == -1)
			goto out;
		if (r->kind == IMAP_K_UNTAGGED) {
			if (imap_untagged(s, what) == -1)
				goto out;
			continue;
		}
		if (r->kind == IMAP_K_TAGGED) {
			if (!tag_is(r, s->tag)) {
				imap_fail(s, IMAP_E_PROTO, "%s: answer to a "
				    "command not sent", what);
				goto out;
			}
			break;
		}
		/* A challenge. */
		if (cancelled) {
			imap_fail(s, IMAP_E_PROTO, "%s: challenge after the "
			    "cancel", what);
			goto out;
		}
		if (sasl_b64_decode(r->rest, r->restlen, NULL, 0, &n) == -1) {
			cancel_ec = IMAP_E_PROTO;
			snprintf(cancel_why, sizeof cancel_why, "server "
			    "challenge is not valid base64");
		} else if (ir != NULL) {
			/* The prompt for our initial response: empty. */
			if (n != 0) {
				cancel_ec = IMAP_E_PROTO;
				snprintf(cancel_why, sizeof cancel_why,
				    "non-empty challenge where the client "
				    "speaks first");
			} else {
				w = send_secret_line(s, ir, strlen(ir));
				sasl_resp_free(ir);
				ir = NULL;
				if (w == -1)
					goto out;
				continue;
			}
		} else {
			rc = sasl_step(sa, r->rest, r->restlen, &resp);
			if (rc == SASL_ERROR) {
				cancel_ec = IMAP_E_AUTH;
				snprintf(cancel_why, sizeof cancel_why, "%s",
				    sasl_error(sa));
			} else {
				w = send_secret_line(s, resp, strlen(resp));
				sasl_resp_free(resp);
				if (w == -1)
					goto out;
				continue;
			}
		}
		/* Cancel (RFC 9051 section 6.2.2: a line of "*"). */
		cancelled = 1;
		if (send_secret_line(s, "*", 1) == -1)
			goto out;
	}
	pending = ir != NULL;
	if (cancelled) {
		if (r->status == IMAP_S_OK)
			imap_fail(s, IMAP_E_PROTO, "%s: %s; server accepted the "
			    "cancelled exchange", what, cancel_why);
		else
			imap_fail(s, cancel_ec, "%s: %s; cancelled", what,
			    cancel_why);
		goto out;
	}
	if (r->status != IMAP_S_OK) {
		if (rc == SASL_REJECTED && !is_temp(r) &&
		    r->status == IMAP_S_NO) {
			imap_fail(s, IMAP_E_AUTH, "%s: server said: %s (%s)",
			    what, resp_text(r, esc), sasl_error(sa));
			s->code = r->code;
		} else
			imap_refused(s, what, IMAP_E_AUTH);
		goto out;
	}
	/*
	 * OK before the mechanism finished: for SCRAM the server has not
	 * proved it knows the password, so we do not accept it either.
	 */
	if (rc != SASL_DONE || pending) {
		imap_fail(s, IMAP_E_AUTH, "%s: server accepted before the "
		    "exchange was complete", what);
		goto out;
	}
	s->mask_cont = 0;
	ret = after_login(s);
out:
	s->mask_cont = 0;
	sasl_resp_free(ir);
	wipe_reader(s);
	return ret;
}

/*
 * An astring for LOGIN into out (at most outsize): as an atom, quoted,
 * or, for 8-bit text, a literal "{N+}" / "{N}" header with *lit set
 * and the octets left for the caller. -1 for CR, LF or NUL.
 */
static int
login_arg(struct imap *s, const char *v, char *out, size_t outsize,
    size_t *outlen, int *lit)
{
	size_t	n = strlen(v);
	int	plus;

	*lit = 0;
	if (strpbrk(v, "\r\n") != NULL)
		return -1;
	if (imap_astring_kind(v, n) != IMAP_AS_LITERAL)
		return imap_quote(v, n, out, outsize, outlen);
	plus = (s->caps.flags & IMAP_CAP_LITERALPLUS) ||
	    ((s->caps.flags & IMAP_CAP_LITERALMINUS) &&
	    n <= IMAP_LITMINUS_MAX);
	*lit = plus ? 2 : 1;
	*outlen = (size_t)snprintf(out, outsize, "{%zu%s}", n,
	    plus ? "+" : "");
	return *outlen < outsize ? 0 : -1;
}

/*
 * Wait for the "+" of a synchronizing literal of the command in flight.
 * 1 when it came, 0 when the command was answered instead (s->resp is
 * the tagged answer), -1 on failure.
 */
static int
wait_cont(struct imap *s, const char *what)
{
	char	esc[64];

	for (;;) {
		if (imap_read(s, what) == -1)
			return -1;
		if (s->resp.kind == IMAP_K_CONT)
			return 1;
		if (s->resp.kind == IMAP_K_TAGGED) {
			if (!tag_is(&s->resp, s->tag))
				return imap_fail(s, IMAP_E_PROTO, "%s: answer "
				    "to a command not sent (tag %s)", what,
				    log_escape(s->resp.tag, s->resp.taglen,
				    esc, sizeof esc));
			return 0;
		}
		if (imap_untagged(s, what) == -1)
			return -1;
	}
}

/* The LOGIN command (RFC 9051 section 6.2.3), never in clear text. */
static int
imap_login(struct imap *s, const char *user, const char *pass)
{
	char	 ua[2100], pa[2100], logl[2200], *line = NULL;
	size_t	 ul, pl, n, cap;
	int	 ulit, plit, r = -1, c;

	if (s->caps.flags & IMAP_CAP_LOGINDISABLED)
		return imap_fail(s, IMAP_E_USAGE, "LOGIN: the server does "
		    "not allow LOGIN (LOGINDISABLED)");
	if (strlen(user) > 1000 || strlen(pass) > 1000)
		return imap_fail(s, IMAP_E_USAGE, "LOGIN: user name or "
		    "password too long");
	if (login_arg(s, user, ua, sizeof ua, &ul, &ulit) == -1 ||
	    login_arg(s, pass, pa, sizeof pa, &pl, &plit) == -1) {
		r = imap_fail(s, IMAP_E_USAGE, "LOGIN: user name or password "
		    "contains a line break");
		goto out;
	}
	snprintf(logl, sizeof logl, "LOGIN %s ****", ulit ? "{...}" : ua);
	cap = 6 + ul + 1 + strlen(user) + 2 + pl + strlen(pass) + 3;
	line = xmalloc(cap);
	/* "LOGIN user", up to the first synchronizing literal. */
	n = (size_t)snprintf(line, cap, "LOGIN %s", ua);
	if (ulit == 2) {
		memcpy(line + n, "\r\n", 2);
		memcpy(line + n + 2, user, strlen(user));
		n += 2 + strlen(user);
	}
	deadline_start(s, 0);
	s->got_caps = 0;
	if (ulit == 1) {
		line[n] = '\0';
		if (imap_send(s, line, logl) == -1)
			goto out;
		if ((c = wait_cont(s, "LOGIN")) != 1) {
			if (c == 0)
				imap_refused(s, "LOGIN", IMAP_E_AUTH);
			goto out;
		}
		n = (size_t)snprintf(line, cap, "%s", user);
	}
	/* Then " pass" (maybe a literal header) and its octets. */
	line[n++] = ' ';
	memcpy(line + n, pa, pl);
	n += pl;
	if (plit == 1) {
		line[n] = '\0';
		if (ulit == 1) {
			if (send_secret_line(s, line, n) == -1)
				goto out;
		} else if (imap_send(s, line, logl) == -1)
			goto out;
		if ((c = wait_cont(s, "LOGIN")) != 1) {
			if (c == 0)
				imap_refused(s, "LOGIN", IMAP_E_AUTH);
			goto out;
		}
		n = (size_t)snprintf(line, cap, "%s", pass);
	} else if (plit == 2) {
		memcpy(line + n, "\r\n", 2);
		memcpy(line + n + 2, pass, strlen(pass));
		n += 2 + strlen(pass);
	}
	line[n] = '\0';
	if (ulit == 1 || plit == 1) {
		if (send_secret_line(s, line, n) == -1)
			goto out;
	} else if (imap_send(s, line, logl) == -1)
		goto out;
	if (imap_wait(s, "LOGIN", NULL, NULL) == -1)
		goto out;
	if (s->resp.status != IMAP_S_OK) {
		imap_refused(s, "LOGIN", IMAP_E_AUTH);
		goto out;
	}
	r = after_login(s);
	wipe_reader(s);
out:
	explicit_bzero(pa, sizeof pa);
	if (line != NULL) {
		explicit_bzero(line, cap);
		free(line);
	}
	return r;
}

static int
auth_do(struct imap *s, const char *mechname, const char *user,
    const char *secret)
{
	struct sasl	*sa;
	unsigned	 offered = 0;
	int		 m, r;

	if (s->preauth)
		return 0;
	if (!conn_is_tls(s->c) && !s->o.insecure_plaintext)
		return imap_fail(s, IMAP_E_USAGE, "refusing to send "
		    "credentials without TLS");
	if (strcasecmp(mechname, "login") == 0)
		return imap_login(s, user, secret);
	if (strcasecmp(mechname, "auto") == 0) {
		/* sasl_pick() speaks in sasl_mech_flag() bits. */
		for (m = 0; m < SASL_NMECH; m++)
			if ((s->caps.auth & auth_flag(m)) &&
			    (m == SASL_SCRAM_SHA_256 ||
			    m == SASL_SCRAM_SHA_1 || m == SASL_PLAIN))
				offered |= sasl_mech_flag(m);
		if ((m = sasl_pick(offered, 0)) == -1)
			return imap_login(s, user, secret);
	} else if ((m = sasl_mech_find(mechname)) == -1)
		return imap_fail(s, IMAP_E_USAGE, "unknown SASL mechanism");
	else if (!(s->caps.auth & auth_flag(m)))
		return imap_fail(s, IMAP_E_USAGE, "the server does not offer "
		    "AUTH=%s", sasl_mech_name(m));
	sa = sasl_new(m, user, secret, NULL);
	if (s->o.host != NULL && s->o.port != NULL)
		sasl_set_host(sa, s->o.host, s->o.port);
	if (sasl_error(sa) != NULL) {
		r = imap_fail(s, IMAP_E_USAGE, "%s: %s", sasl_mech_name(m),
		    sasl_error(sa));
		sasl_free(sa);
		return r;
	}
	r = auth_exchange(s, sa, sasl_mech_name(m));
	sasl_free(sa);
	return r;
}

/* ---- mailboxes ------------------------------------------------------ */

/* One code point from UTF-8 at *p (advanced); -1 if not valid. */
static int32_t
utf8_next(const unsigned char **p)
{
	const unsigned char	*s = *p;
	int32_t			 cp;
	int			 n, i;

	if (s[0] < 0x80) {
		*p = s + 1;
		return s[0];
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		cp = s[0] & 0x1f;
		n = 1;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		cp = s[0] & 0x0f;
		n = 2;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		cp = s[0] & 0x07;
		n = 3;
	} else
		return -1;
	for (i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*p = s + n + 1;
	return cp;
}

int
imap_utf7_encode(const char *folder, char *out, size_t outsize)
{
	static const char	 b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+,";
	const unsigned char	*p = (const unsigned char *)folder;
	size_t			 o = 0;
	uint32_t		 bits = 0;
	int			 nbits = 0, in64 = 0, k, nu;
	int32_t			 cp;
	uint16_t		 u[2];

#define PUT(ch) do {							\
	if (o + 1 >= outsize)						\
		return -1;						\
	out[o++] = (ch);						\
} while (0)
	if (outsize == 0)
		return -1;
	while (*p != '\0') {
		if ((cp = utf8_next(&p)) == -1)
			return -1;
		if (cp >= 0x20 && cp <= 0x7e) {
			if (in64) {
				if (nbits > 0)
					PUT(b64[(bits << (6 - nbits)) & 0x3f]);
				PUT('-');
				in64 = 0;
				bits = 0;
				nbits = 0;
			}
			PUT((char)cp);
			if (cp == '&')
				PUT('-');
			continue;
		}
		if (!in64) {
			PUT('&');
			in64 = 1;
		}
		if (cp >= 0x10000) {
			u[0] = (uint16_t)(0xd800 + ((cp - 0x10000) >> 10));
			u[1] = (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
			nu = 2;
		} else {
			u[0] = (uint16_t)cp;
			nu = 1;
		}
		for (k = 0; k < nu; k++) {
			bits = (bits << 16) | u[k];
			nbits += 16;
			while (nbits >= 6) {
				nbits -= 6;
				PUT(b64[(bits >> nbits) & 0x3f]);
			}
			bits &= (1u << nbits) - 1;
		}
	}
	if (in64) {
		if (nbits > 0)
			PUT(b64[(bits << (6 - nbits)) & 0x3f]);
		PUT('-');
	}
#undef PUT
	out[o] = '\0';
	return 0;
}

/* Any untagged LIST response (the mailbox asked for exists). */
static int
list_resp(struct imap *s, void *arg)
{
	const struct imap_resp	*r = &s->resp;
	int			*found = arg;

	if (r->status == IMAP_S_NONE && !r->has_num && r->keywordlen == 4 &&
	    strncasecmp(r->keyword, "LIST", 4) == 0) {
		*found = 1;
		return 1;
	}
	return 0;
}

/*
 * SELECT or EXAMINE of s->mbox: 0 on OK (mb filled), 1 when refused
 * (s->resp the tagged NO or BAD), -1 on failure.
 */
static int
select_once(struct imap *s, int read_only, struct imap_mailbox *mb)
{
	char	cmd[sizeof s->mbox + 16];

	s->exists = s->uidvalidity = s->uidnext = 0;
	s->selected = 0;
	snprintf(cmd, sizeof cmd, "%s %s", read_only ? "EXAMINE" : "SELECT",
	    s->mbox);
	deadline_start(s, 0);
	if (imap_send(s, cmd, NULL) == -1 ||
	    imap_wait(s, read_only ? "EXAMINE" : "SELECT", NULL, NULL) == -1)
		return -1;
	if (s->resp.status != IMAP_S_OK)
		return 1;
	mb->uidvalidity = s->uidvalidity;
	mb->uidnext = s->uidnext;
	mb->exists = s->exists;
	mb->read_only = read_only || code_is(&s->resp, "READ-ONLY");
	s->selected = 1;
	return 0;
}

static int
select_do(struct imap *s, const char *folder, int create, int read_only,
    struct imap_mailbox *mb)
{
	char		 utf7[sizeof s->mbox], cmd[sizeof s->mbox + 16];
	char		 esc[IMAP_TEXT_MAX], saved[768];
	const char	*what = read_only ? "EXAMINE" : "SELECT";
	size_t		 n;
	int		 found = 0, x;
	enum imap_code	 scode;

	memset(mb, 0, sizeof *mb);
	s->selected = 0;
	if (imap_utf7_encode(folder, utf7, sizeof utf7 - 2) == -1 ||
	    imap_quote(utf7, strlen(utf7), s->mbox, sizeof s->mbox,
	    &n) == -1)
		return imap_fail(s, IMAP_E_USAGE, "%s: mailbox name is not "
		    "valid UTF-8 or too long: %s", what, log_escape(folder,
		    strlen(folder), esc, sizeof esc));
	if ((x = select_once(s, read_only, mb)) == 0)
		goto selected;
	if (x == -1)
		return -1;
	if (read_only || !create || s->resp.status != IMAP_S_NO ||
	    is_temp(&s->resp))
		return imap_refused(s, what, IMAP_E_REFUSED);
	imap_refused(s, what, IMAP_E_REFUSED);
	snprintf(saved, sizeof saved, "%s", s->err);
	scode = s->code;
	if (s->resp.code != IMAP_C_TRYCREATE &&
	    !code_is(&s->resp, "NONEXISTENT")) {
		/* No word that it is missing: LIST says whether it is. */
		snprintf(cmd, sizeof cmd, "LIST \"\" %s", s->mbox);
		if (imap_simple(s, cmd, "LIST", IMAP_E_REFUSED, list_resp,
		    &found) == -1)
			return -1;
		if (found) {
			imap_fail(s, IMAP_E_REFUSED, "%s", saved);
			s->code = scode;
			return -1;
		}
	}
	log_verbose("creating the mailbox");
	snprintf(cmd, sizeof cmd, "CREATE %s", s->mbox);
	if (imap_simple(s, cmd, "CREATE", IMAP_E_REFUSED, NULL, NULL) == -1)
		return -1;
	if ((x = select_once(s, 0, mb)) != 0)
		return x == 1 ? imap_refused(s, what, IMAP_E_REFUSED) : -1;
	mb->created = 1;
	s->eclass = IMAP_E_NONE;
	s->code = IMAP_C_NONE;
	s->err[0] = '\0';
selected:
	if (mb->uidvalidity == 0) {
		s->selected = 0;
		return imap_fail(s, IMAP_E_PROTO, "%s: the server sent no "
		    "UIDVALIDITY", what);
	}
	return 0;
}

/* ---- UID FETCH, sizes ----------------------------------------------- */

struct sizes_ctx {
	int	(*cb)(void *, uint32_t, uint64_t);
	void	 *arg;
};

/* s->resp as a FETCH response: 1 with *f, 0 if it is none, or -1. */
static int
get_fetch(struct imap *s, struct imap_fetch *f)
{
	const struct imap_resp	*r = &s->resp;
	char			 esc[IMAP_TEXT_MAX];

	if (!r->has_num || r->keywordlen != 5 ||
	    strncasecmp(r->keyword, "FETCH", 5) != 0)
		return 0;
	if (imap_parse_fetch(r->rest, r->restlen, s->rd.nstreamed, f) == -1)
		return imap_fail(s, IMAP_E_PROTO, "UID FETCH: bad FETCH "
		    "response: %s", log_escape(r->rest, r->restlen, esc,
		    sizeof esc));
	return 1;
}

static int
sizes_resp(struct imap *s, void *arg)
{
	struct sizes_ctx	*sc = arg;
	struct imap_fetch	 f;
	int			 x;

	if ((x = get_fetch(s, &f)) != 1)
		return x;
	if (!f.has_size)
		return 1;		/* a flag update */
	if (!f.has_uid)
		return imap_fail(s, IMAP_E_PROTO, "UID FETCH: a size without "
		    "a UID");
	if (sc->cb(sc->arg, f.uid, f.size) == -1)
		return imap_fail(s, IMAP_E_LOCAL, "UID FETCH: message %u",
		    f.uid);
	return 1;
}

static int
sizes_do(struct imap *s, int (*cb)(void *, uint32_t, uint64_t),
    void *arg)
{
	struct sizes_ctx	sc;

	if (!s->selected)
		return imap_fail(s, IMAP_E_USAGE, "UID FETCH: no mailbox "
		    "selected");
	if (s->exists == 0)
		return 0;
	sc.cb = cb;
	sc.arg = arg;
	deadline_start(s, (uint64_t)s->exists * IMAP_SIZE_LINE);
	if (imap_send(s, "UID FETCH 1:* (UID RFC822.SIZE)", NULL) == -1 ||
	    imap_wait(s, "UID FETCH", sizes_resp, &sc) == -1)
		return -1;
	if (s->resp.status != IMAP_S_OK)
		return imap_refused(s, "UID FETCH", IMAP_E_REFUSED);
	return 0;
}

struct fetch_ctx {
	const struct imap_sink	*k;
	const uint32_t		*uids;		/* sorted, unique */
	unsigned char		*seen;
	size_t			 n;
};

static int
fetch_resp(struct imap *s, void *arg)
{
	struct fetch_ctx	*fc = arg;
	struct imap_fetch	 f;
	size_t			 lo, hi, mid;
	int			 x;

	if ((x = get_fetch(s, &f)) != 1)
		return x;
	if (!f.has_body || (f.body == NULL && !f.body_streamed))
		return 1;		/* a flag update, or NIL */
	if (!f.has_uid)
		return imap_fail(s, IMAP_E_PROTO, "UID FETCH: a body without "
		    "a UID");
	lo = 0;
	hi = fc->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (fc->uids[mid] < f.uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == fc->n || fc->uids[lo] != f.uid)
		return imap_fail(s, IMAP_E_PROTO, "UID FETCH: a body for UID "
		    "%u, which was not asked for", f.uid);
	if (fc->seen[lo])
		return imap_fail(s, IMAP_E_PROTO, "UID FETCH: UID %u sent "
		    "twice", f.uid);
	fc->seen[lo] = 1;
	if (!f.body_streamed) {
		if (f.bodylen > s->o.max_msg_size)
			return imap_fail(s, IMAP_E_PROTO, "UID FETCH: UID %u "
			    "is larger than the maximum size (%llu)", f.uid,
			    (unsigned long long)s->o.max_msg_size);
		if (fc->k->begin(fc->k->arg, f.bodylen) == -1 ||
		    (f.bodylen > 0 && fc->k->data(fc->k->arg, f.body,
		    f.bodylen) == -1))
			return imap_fail(s, IMAP_E_LOCAL, "UID FETCH: storing "
			    "UID %u", f.uid);
	}
	if (fc->k->end(fc->k->arg, f.uid) == -1)
		return imap_fail(s, IMAP_E_LOCAL, "UID FETCH: storing UID %u",
		    f.uid);
	deadline_more(s, 0);
	return 1;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
fetch_do(struct imap *s, const uint32_t *uids, size_t n,
    const struct imap_sink *k)
{
	struct fetch_ctx	 fc;
	uint32_t		*u;
	char			*cmd;
	size_t			 i, j, m, from, len;
	int			 r = -1;

	if (!s->selected)
		return imap_fail(s, IMAP_E_USAGE, "UID FETCH: no mailbox "
		    "selected");
	if (n == 0)
		return 0;
	u = xreallocarray(NULL, n, sizeof *u);
	memcpy(u, uids, n * sizeof *u);
	qsort(u, n, sizeof *u, cmp_u32);
	for (i = m = 0; i < n; i++) {
		if (u[i] == 0) {
			free(u);
			return imap_fail(s, IMAP_E_USAGE, "UID FETCH: UID 0");
		}
		if (m == 0 || u[m - 1] != u[i])
			u[m++] = u[i];
	}
	memset(&fc, 0, sizeof fc);
	fc.k = k;
	fc.uids = u;
	fc.n = m;
	fc.seen = xcalloc(m, 1);
	cmd = xmalloc(IMAP_CMD_MAX + 64);
	s->sink = k;
	/* The uid-set in ranges, cut into commands of IMAP_CMD_MAX. */
	for (from = 0; from < m; ) {
		len = (size_t)snprintf(cmd, IMAP_CMD_MAX, "UID FETCH ");
		for (i = from; i < m && len < IMAP_CMD_MAX - 64; i = j) {
			for (j = i + 1; j < m && u[j] == u[j - 1] + 1; j++)
				;
			len += (size_t)snprintf(cmd + len, IMAP_CMD_MAX - len,
			    j - i > 1 ? "%s%u:%u" : "%s%u",
			    i > from ? "," : "", u[i], u[j - 1]);
		}
		snprintf(cmd + len, IMAP_CMD_MAX + 64 - len,
		    " (UID BODY.PEEK[])");
		from = i;
		deadline_start(s, 0);
		if (imap_send(s, cmd, NULL) == -1 ||
		    imap_wait(s, "UID FETCH", fetch_resp, &fc) == -1)
			goto out;
		if (s->resp.status != IMAP_S_OK) {
			imap_refused(s, "UID FETCH", IMAP_E_REFUSED);
			goto out;
		}
	}
	r = 0;
out:
	s->sink = NULL;
	free(cmd);
	free(fc.seen);
	free(u);
	return r;
}

/* ---- SEARCH --------------------------------------------------------- */

struct search_ctx {
	uint32_t	*out;
	size_t		 max;
	size_t		 stored;	/* min(count, max) */
	uint64_t	 count;
};

static int
search_resp(struct imap *s, void *arg)
{
	struct search_ctx	*sc = arg;
	const struct imap_resp	*r = &s->resp;
	struct imap_esearch	 e;
	const char		*p, *end;
	uint32_t		 lo, hi;
	uint64_t		 v;
	size_t			 got;
	int			 x;

	if (r->status != IMAP_S_NONE || r->has_num)
		return 0;
	if (r->keywordlen == 6 && strncasecmp(r->keyword, "SEARCH", 6) == 0) {
		if (imap_parse_search(r->rest, r->restlen,
		    sc->out + sc->stored, sc->max - sc->stored, &got) == -1)
			return imap_fail(s, IMAP_E_PROTO, "UID SEARCH: bad "
			    "SEARCH response");
		sc->count += got;
		sc->stored += got < sc->max - sc->stored ? got :
		    sc->max - sc->stored;
		return 1;
	}
	if (r->keywordlen != 7 || strncasecmp(r->keyword, "ESEARCH", 7) != 0)
		return 0;
	if (imap_parse_esearch(r->rest, r->restlen, &e) == -1)
		return imap_fail(s, IMAP_E_PROTO, "UID SEARCH: bad ESEARCH "
		    "response");
	if (e.tag != NULL && (e.taglen != strlen(s->tag) ||
	    memcmp(e.tag, s->tag, e.taglen) != 0))
		return 1;		/* another command's */
	if (e.all == NULL)
		return 1;
	p = e.all;
	end = e.all + e.alllen;
	while ((x = imap_seqset_next(&p, end, &lo, &hi)) == 1) {
		for (v = lo; v <= hi && sc->stored < sc->max; v++)
			sc->out[sc->stored++] = (uint32_t)v;
		sc->count += (uint64_t)hi - lo + 1;
	}
	return x == -1 ? imap_fail(s, IMAP_E_PROTO, "UID SEARCH: bad "
	    "ESEARCH set") : 1;
}

static int
search_do(struct imap *s, const char *criteria, uint32_t *out,
    size_t max, size_t *count)
{
	struct search_ctx	 sc;
	char			*cmd;
	size_t			 n = strlen(criteria);
	int			 r;

	*count = 0;
	if (!s->selected)
		return imap_fail(s, IMAP_E_USAGE, "UID SEARCH: no mailbox "
		    "selected");
	if (strpbrk(criteria, "\r\n") != NULL || n == 0 ||
	    n > IMAP_CMD_MAX)
		return imap_fail(s, IMAP_E_USAGE, "UID SEARCH: bad criteria");
	memset(&sc, 0, sizeof sc);
	sc.out = out;
	sc.max = max;
	cmd = xmalloc(n + 32);
	/* ESEARCH: the answer is a compact set however many match. */
	snprintf(cmd, n + 32, "UID SEARCH %s%s",
	    (s->caps.flags & IMAP_CAP_ESEARCH) ? "RETURN (ALL) " : "",
	    criteria);
	r = imap_simple(s, cmd, "UID SEARCH", IMAP_E_REFUSED, search_resp,
	    &sc);
	free(cmd);
	if (r == -1)
		return -1;
	*count = sc.count > SIZE_MAX ? SIZE_MAX : (size_t)sc.count;
	return 0;
}

/* ---- APPEND --------------------------------------------------------- */

/* A flag list: atoms or "\" atoms, separated by single spaces. */
static int
flags_ok(const char *f)
{
	const char	*p = f;
	int		 start = 1;

	for (; *p != '\0'; p++) {
		if (*p == ' ') {
			if (start || p[1] == '\0')
				return 0;
			start = 1;
			continue;
		}
		if (*p == '\\' && start) {
			start = 0;
			if (p[1] == ' ' || p[1] == '\0')
				return 0;
			continue;
		}
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("(){%*\"\\]", *p) != NULL)
			return 0;
		start = 0;
	}
	return 1;
}

struct put_ctx {
	struct imap	*s;
	uint64_t	 left;
	int		 over, failed;
};

static int
body_put(void *arg, const char *p, size_t n)
{
	struct put_ctx	*pc = arg;

	if (n > pc->left) {
		pc->over = 1;
		return -1;
	}
	pc->left -= n;
	if (wput(pc->s, p, n) == -1) {
		pc->failed = 1;
		return -1;
	}
	return 0;
}

/*
 * Write " (flags) "date" {N+}" CRLF, or "{N}", for message m (k in the
 * batch); *sync says which. prefix (may be NULL) goes before, and in
 * the -v line.
 */
static int
msg_head(struct imap *s, const char *prefix, const struct imap_msg *m,
    size_t k, int *sync)
{
	char	date[IMAP_DATETIME_LEN + 2] = "", lit[32];
	int	plus;

	plus = (s->caps.flags & IMAP_CAP_LITERALPLUS) ||
	    ((s->caps.flags & IMAP_CAP_LITERALMINUS) &&
	    m->size <= IMAP_LITMINUS_MAX);
	*sync = !plus;
	if (m->date > 0 && imap_format_datetime(m->date, 0, date + 1) == 0)
		date[0] = ' ';
	snprintf(lit, sizeof lit, " {%llu%s}", (unsigned long long)m->size,
	    plus ? "+" : "");
	log_verbose("> %s%s%s%s%s%s (message %zu)", prefix ? prefix : "",
	    m->flags && *m->flags ? " (" : "", m->flags ? m->flags : "",
	    m->flags && *m->flags ? ")" : "", date, lit, k);
	if ((prefix != NULL && wput(s, prefix, strlen(prefix)) == -1) ||
	    (m->flags != NULL && *m->flags != '\0' && (wput(s, " (", 2) ==
	    -1 || wput(s, m->flags, strlen(m->flags)) == -1 ||
	    wput(s, ")", 1) == -1)) ||
	    wput(s, date, strlen(date)) == -1 ||
	    wput(s, lit, strlen(lit)) == -1 || wput(s, "\r\n", 2) == -1)
		return -1;
	return 0;
}

/* Write the octets of m (then checked against its size). */
static int
msg_body(struct imap *s, const struct imap_msg *m, size_t k)
{
	struct put_ctx	pc;

	pc.s = s;
	pc.left = m->size;
	pc.over = pc.failed = 0;
	if (m->body(m->arg, body_put, &pc) == -1) {
		if (pc.failed)
			return -1;	/* the connection's failure */
		return imap_fail(s, IMAP_E_LOCAL, "APPEND: message %zu %s", k,
		    pc.over ? "gave more octets than its size" :
		    "could not be read");
	}
	if (pc.left != 0)
		return imap_fail(s, IMAP_E_LOCAL, "APPEND: message %zu gave "
		    "fewer octets than its size", k);
	return 0;
}

/* The tagged answer s->resp for message k into r[k]. */
static void
append_answer(struct imap *s, struct imap_appended *r)
{
	const struct imap_resp	*a = &s->resp;
	char			 esc[IMAP_TEXT_MAX];

	r->ok = a->status == IMAP_S_OK;
	r->code = a->code;
	snprintf(r->text, sizeof r->text, "%s", resp_text(a, esc));
	if (r->ok && a->code == IMAP_C_APPENDUID && a->set == NULL) {
		r->has_uid = 1;
		r->uidvalidity = a->n1;
		r->uid = a->n2;
	}
}

/*
 * Which message of the batch a tagged answer is for: tags are "P" and
 * the numbers first..first+n-1. -1 if none (or already answered).
 */
static int
batch_index(const struct imap_resp *r, unsigned first, size_t n,
    const unsigned char *answered)
{
	unsigned long	v = 0;
	size_t		i;

	if (r->taglen < 2 || r->taglen > 11 || r->tag[0] != 'P')
		return -1;
	for (i = 1; i < r->taglen; i++) {
		if (r->tag[i] < '0' || r->tag[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(r->tag[i] - '0');
	}
	if (v < first || v - first >= n || answered[v - first])
		return -1;
	return (int)(v - first);
}

struct batch {
	const struct imap_msg	*m;
	size_t			 n;
	struct imap_appended	*r;
	unsigned		 first;		/* tag number of m[0] */
	unsigned char		 answered[IMAP_APPEND_MAX];
	size_t			 nanswered;
	int			 temp;		/* a temp NO was met */
	char			 temperr[768];
	enum imap_code		 tempcode;
};

/*
 * Read one response during a batch. Returns 2 for a "+", 1 after a
 * tagged answer was recorded (its index in *idx), 0 for an untagged
 * response dealt with, -1 on failure.
 */
static int
batch_read(struct imap *s, struct batch *b, int *idx)
{
	const struct imap_resp	*r = &s->resp;
	char			 esc[64], what[32];
	int			 k;

	if (imap_read(s, "APPEND") == -1)
		return -1;
	if (r->kind == IMAP_K_CONT)
		return 2;
	if (r->kind == IMAP_K_UNTAGGED)
		return imap_untagged(s, "APPEND") == -1 ? -1 : 0;
	if ((k = batch_index(r, b->first, b->n, b->answered)) == -1)
		return imap_fail(s, IMAP_E_PROTO, "APPEND: answer to a "
		    "command not sent (tag %s)", log_escape(r->tag, r->taglen,
		    esc, sizeof esc));
	b->answered[k] = 1;
	b->nanswered++;
	*idx = k;
	append_answer(s, &b->r[k]);
	if (r->status == IMAP_S_BAD || (r->status == IMAP_S_NO &&
	    is_temp(r))) {
		snprintf(what, sizeof what, "APPEND of message %d", k);
		imap_refused(s, what, IMAP_E_REFUSED);
		if (r->status == IMAP_S_BAD)
			return -1;
		if (!b->temp) {
			b->temp = 1;
			snprintf(b->temperr, sizeof b->temperr, "%s", s->err);
			b->tempcode = s->code;
		}
	}
	return 1;
}

/* One APPEND command per message, pipelined where literals allow. */
static int
append_each(struct imap *s, struct batch *b)
{
	char		 pre[sizeof s->mbox + 32];
	size_t		 k;
	int		 sync, x, idx;

	b->first = s->tagno + 1;
	for (k = 0; k < b->n; k++) {
		if (b->temp)
			break;		/* come back later: send no more */
		next_tag(s);
		snprintf(pre, sizeof pre, "%s APPEND %s", s->tag, s->mbox);
		if (msg_head(s, pre, &b->m[k], k, &sync) == -1)
			return -1;
		if (sync) {
			if (wflush(s) == -1)
				return -1;
			/* Earlier answers may come before the "+". */
			for (;;) {
				if ((x = batch_read(s, b, &idx)) == -1)
					return -1;
				if (x == 2 || (x == 1 && idx == (int)k))
					break;
			}
			if (x == 1)
				continue;	/* refused before the octets */
		}
		if (msg_body(s, &b->m[k], k) == -1 || wput(s, "\r\n", 2) == -1)
			return -1;
	}
	if (wflush(s) == -1)
		return -1;
	/* The messages not sent after a temporary refusal. */
	while (b->nanswered < k) {
		if ((x = batch_read(s, b, &idx)) == -1)
			return -1;
		if (x == 2)
			return imap_fail(s, IMAP_E_PROTO, "APPEND: "
			    "continuation request nobody asked for");
	}
	return 0;
}

/* Map APPENDUID's uid-set to the messages in order (RFC 4315 sec. 3). */
static void
multi_uids(struct imap *s, struct batch *b)
{
	const struct imap_resp	*a = &s->resp;
	const char		*p = a->set, *end = a->set + a->setlen;
	uint32_t		 lo, hi, v;
	size_t			 k = 0;

	if (a->code != IMAP_C_APPENDUID || a->set == NULL)
		return;
	/* Count first: a set that does not name n UIDs is not used. */
	while (imap_seqset_next(&p, end, &lo, &hi) == 1) {
		if ((uint64_t)hi - lo + 1 > b->n - k)
			return;
		k += hi - lo + 1;
	}
	if (k != b->n)
		return;
	p = a->set;
	k = 0;
	while (imap_seqset_next(&p, end, &lo, &hi) == 1)
		for (v = lo; ; v++) {
			b->r[k].has_uid = 1;
			b->r[k].uidvalidity = a->n1;
			b->r[k++].uid = v;
			if (v == hi)
				break;
		}
}

/* One MULTIAPPEND command for the whole batch (RFC 3502). */
static int
append_multi(struct imap *s, struct batch *b)
{
	char	pre[sizeof s->mbox + 32];
	size_t	k;
	int	sync, x;

	next_tag(s);
	snprintf(pre, sizeof pre, "%s APPEND %s", s->tag, s->mbox);
	for (k = 0; k < b->n; k++) {
		/* After a literal the line goes on with the next. */
		if (msg_head(s, k == 0 ? pre : NULL, &b->m[k], k,
		    &sync) == -1)
			return -1;
		if (sync) {
			if (wflush(s) == -1 ||
			    (x = wait_cont(s, "APPEND")) == -1)
				return -1;
			if (x == 0)
				goto answered;
		}
		if (msg_body(s, &b->m[k], k) == -1)
			return -1;
	}
	if (wput(s, "\r\n", 2) == -1 || wflush(s) == -1 ||
	    imap_wait(s, "APPEND", NULL, NULL) == -1)
		return -1;
answered:
	if (s->resp.status == IMAP_S_OK && k < b->n)
		return imap_fail(s, IMAP_E_PROTO, "APPEND: OK before every "
		    "message was sent");
	if (s->resp.status == IMAP_S_BAD)
		return imap_refused(s, "APPEND", IMAP_E_PROTO);
	for (k = 0; k < b->n; k++)
		append_answer(s, &b->r[k]);
	for (k = 0; k < b->n; k++)
		b->r[k].has_uid = 0;
	if (s->resp.status == IMAP_S_OK)
		multi_uids(s, b);
	else if (is_temp(&s->resp))
		return imap_refused(s, "APPEND", IMAP_E_REFUSED);
	return 0;
}

static int
append_do(struct imap *s, const struct imap_msg *m, size_t n,
    struct imap_appended *r)
{
	struct batch	b;
	uint64_t	total = 0;
	size_t		k;
	int		multi, ret;

	if (n == 0)
		return 0;
	if (n > IMAP_APPEND_MAX)
		return imap_fail(s, IMAP_E_USAGE, "APPEND: %zu messages in "
		    "one batch (at most %d)", n, IMAP_APPEND_MAX);
	if (!s->selected)
		return imap_fail(s, IMAP_E_USAGE, "APPEND: no mailbox "
		    "selected");
	for (k = 0; k < n; k++) {
		if (m[k].flags != NULL && !flags_ok(m[k].flags))
			return imap_fail(s, IMAP_E_USAGE, "APPEND: bad flag "
			    "list for message %zu", k);
		total += m[k].size + 128;
	}
	memset(r, 0, n * sizeof *r);
	memset(&b, 0, sizeof b);
	b.m = m;
	b.n = n;
	b.r = r;
	multi = n > 1 && (s->caps.flags & IMAP_CAP_MULTIAPPEND);
	s->wlen = 0;
	deadline_start(s, total);
	ret = multi ? append_multi(s, &b) : append_each(s, &b);
	s->wlen = 0;
	if (ret == 0 && b.temp) {
		imap_fail(s, IMAP_E_TEMP, "%s", b.temperr);
		s->code = b.tempcode;
		return -1;
	}
	return ret;
}

/* ---- the end -------------------------------------------------------- */

static int
logout_do(struct imap *s)
{
	s->logout = 1;
	deadline_start(s, 0);
	if (imap_send(s, "LOGOUT", NULL) == -1)
		return -1;
	if (imap_wait(s, "LOGOUT", NULL, NULL) == -1) {
		/* A server that hangs up after its BYE has done its part. */
		if (s->bye && s->eclass == IMAP_E_NET)
			return 0;
		return -1;
	}
	if (s->resp.status != IMAP_S_OK)
		return imap_refused(s, "LOGOUT", IMAP_E_PROTO);
	return 0;
}

/* ---- the public steps ----------------------------------------------- */

/*
 * Every public step starts here: nothing after a failure that lost the
 * session (imap.h); else the last error is forgotten.
 */
static int
api_begin(struct imap *s, int need_conn)
{
	if (s->dead)
		return -1;
	if (need_conn && s->c == NULL)
		return imap_fail(s, IMAP_E_USAGE, "not connected");
	s->eclass = IMAP_E_NONE;
	s->code = IMAP_C_NONE;
	s->err[0] = '\0';
	return 0;
}

/* A refusal, or a request nothing was sent for, leaves it usable. */
static int
api_end(struct imap *s, int r)
{
	if (r == -1 && s->eclass != IMAP_E_REFUSED &&
	    s->eclass != IMAP_E_USAGE)
		s->dead = 1;
	return r;
}

int
imap_connect(struct imap *s)
{
	if (api_begin(s, 0) == -1)
		return -1;
	if (connect_do(s) == -1) {
		s->dead = 1;
		return -1;
	}
	return 0;
}

int
imap_connect_conn(struct imap *s, struct conn *c)
{
	if (api_begin(s, 0) == -1)
		return -1;
	if (connect_conn_do(s, c) == -1) {
		s->dead = 1;
		return -1;
	}
	return 0;
}

int
imap_auth(struct imap *s, const char *mechname, const char *user,
    const char *secret)
{
	if (api_begin(s, 1) == -1)
		return -1;
	return api_end(s, auth_do(s, mechname, user, secret));
}

int
imap_select(struct imap *s, const char *folder, int create, int read_only,
    struct imap_mailbox *mb)
{
	if (api_begin(s, 1) == -1)
		return -1;
	return api_end(s, select_do(s, folder, create, read_only, mb));
}

int
imap_sizes(struct imap *s, int (*cb)(void *, uint32_t, uint64_t),
    void *arg)
{
	if (api_begin(s, 1) == -1)
		return -1;
	return api_end(s, sizes_do(s, cb, arg));
}

int
imap_fetch(struct imap *s, const uint32_t *uids, size_t n,
    const struct imap_sink *k)
{
	if (api_begin(s, 1) == -1)
		return -1;
	return api_end(s, fetch_do(s, uids, n, k));
}

int
imap_search(struct imap *s, const char *criteria, uint32_t *out,
    size_t max, size_t *count)
{
	if (api_begin(s, 1) == -1)
		return -1;
	return api_end(s, search_do(s, criteria, out, max, count));
}

int
imap_append(struct imap *s, const struct imap_msg *m, size_t n,
    struct imap_appended *r)
{
	if (api_begin(s, 1) == -1)
		return -1;
	return api_end(s, append_do(s, m, n, r));
}

int
imap_logout(struct imap *s)
{
	if (api_begin(s, 1) == -1)
		return -1;
	return api_end(s, logout_do(s));
}

void
imap_free(struct imap *s)
{
	if (s == NULL)
		return;
	conn_close(s->c);
	explicit_bzero(s->rbuf, IMAP_RESP_MAX);
	free(s->rbuf);
	free(s->wbuf);
	free(s);
}

const struct imap_caps *
imap_caps(const struct imap *s)
{
	return &s->caps;
}

const char *
imap_greeting(const struct imap *s)
{
	return s->greeting;
}

const char *
imap_error(const struct imap *s)
{
	return s->err;
}

enum imap_errclass
imap_errclass(const struct imap *s)
{
	return s->eclass;
}

enum imap_code
imap_code(const struct imap *s)
{
	return s->code;
}

struct conn *
imap_conn(struct imap *s)
{
	return s->c;
}
