/*
 * pop3.c -- the POP3 client session; see pop3.h for the story.
 *
 * Parsing lives in pop3parse.c; this file only sequences commands,
 * enforces the security rules (no credential before TLS, STLS required
 * unless told otherwise, capabilities re-learnt after TLS) and streams
 * message bodies through the dot-unstuffer to the caller's sink. SASL
 * mechanisms live in sasl.c; pop3_auth() only carries their messages.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "log.h"
#include "pop3.h"
#include "sasl.h"
#include "util.h"

#define POP3_OUTBUF	(256 * 1024)
/* Slowest average rate a RETR may have before its deadline passes. */
#define POP3_MIN_RATE	(16 * 1024)

struct pop3 {
	struct pop3_opts	 o;
	struct conn		*c;
	struct pop3_caps	 caps;
	int			 have_capa;
	int			 utf8;		/* UTF8 accepted */
	int			 ids_by_top;	/* no UIDL: TOP names */
	char			 greeting[POP3_STATUS_MAX + 1];
	char			*out;		/* decoded message bytes */
	enum pop3_errclass	 eclass;
	enum pop3_rcode		 rcode;		/* of the last -ERR */
	char			 err[768];
};

static int
pop3_fail(struct pop3 *p, enum pop3_errclass ec, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
pop3_fail(struct pop3 *p, enum pop3_errclass ec, const char *fmt, ...)
{
	va_list	ap;

	p->eclass = ec;
	p->rcode = POP3_RC_NONE;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof p->err, fmt, ap);
	va_end(ap);
	return -1;
}

/* Turn the connection's failure into ours. */
static int
pop3_connfail(struct pop3 *p, const char *during)
{
	enum pop3_errclass	ec;

	switch (conn_errkind(p->c)) {
	case CONN_E_TIMEOUT:
		ec = POP3_E_TIMEOUT;
		break;
	case CONN_E_TLS:
		ec = POP3_E_TLS;
		break;
	case CONN_E_TOOLONG:
		ec = POP3_E_PROTO;
		break;
	case CONN_E_INTR:
		ec = POP3_E_INTR;
		break;
	case CONN_E_HOOK:
		ec = POP3_E_LOCAL;	/* the caller's own step failed */
		break;
	default:
		ec = POP3_E_NET;
		break;
	}
	return pop3_fail(p, ec, "%s: %s", during, conn_error(p->c));
}

struct pop3 *
pop3_new(const struct pop3_opts *o)
{
	struct pop3	*p = xcalloc(1, sizeof *p);

	p->o = *o;
	if (p->o.window == 0)
		p->o.window = 1;
	if (p->o.max_listing == 0)
		p->o.max_listing = 10000000;
	p->out = xmalloc(POP3_OUTBUF);
	return p;
}

static int
pop3_send(struct pop3 *p, const char *cmd, int secret)
{
	char	line[POP3_STATUS_MAX];
	size_t	n = strlen(cmd);
	int	r;

	if (n + 2 > sizeof line)
		return pop3_fail(p, POP3_E_USAGE, "command too long");
	/*
	 * Commands sent here are lock-step: every earlier reply has been
	 * read, so any byte already there was not asked for (a duplicated
	 * +OK, unsolicited data). Replies would be matched to the wrong
	 * commands from now on: a DELE could be "confirmed" by a stray
	 * line. Stop.
	 */
	if (conn_unsolicited(p->c))
		return pop3_fail(p, POP3_E_PROTO, "server sent data nobody "
		    "asked for before %.*s (out of step); aborting",
		    (int)strcspn(cmd, " "), cmd);
	if (secret)
		log_verbose("> %.*s ****", (int)strcspn(cmd, " "), cmd);
	else
		log_verbose("> %s", cmd);
	memcpy(line, cmd, n);
	memcpy(line + n, "\r\n", 2);
	r = conn_write(p->c, line, n + 2);
	/* It may be a PASS or APOP line: wiped whatever happened. */
	explicit_bzero(line, n + 2);
	if (r == -1)
		return pop3_connfail(p, "sending command");
	return 0;
}

/*
 * Send several commands in one write (RFC 2449 PIPELINING); the caller
 * reads the replies in order. Every earlier reply must have been read.
 */
static int
pop3_send_cmds(struct pop3 *p, const char *const *cmds, size_t n)
{
	char	buf[POP3_PIPELINE_MAX * 66];
	size_t	k, len, off = 0;

	if (n == 0 || n > POP3_PIPELINE_MAX)
		return pop3_fail(p, POP3_E_USAGE, "pipeline of %zu commands",
		    n);
	for (k = 0; k < n; k++) {
		len = strlen(cmds[k]);
		if (len == 0 || len > 64 || strpbrk(cmds[k], "\r\n") != NULL)
			return pop3_fail(p, POP3_E_USAGE, "bad pipelined "
			    "command");
		memcpy(buf + off, cmds[k], len);
		memcpy(buf + off + len, "\r\n", 2);
		off += len + 2;
	}
	/* As pop3_send(): earlier replies must all have been read. */
	if (conn_unsolicited(p->c))
		return pop3_fail(p, POP3_E_PROTO, "server sent data nobody "
		    "asked for before the pipelined commands (out of step)");
	for (k = 0; k < n; k++)
		log_verbose("> %s", cmds[k]);
	if (conn_write(p->c, buf, off) == -1)
		return pop3_connfail(p, "sending pipelined commands");
	return 0;
}

/*
 * Read a status line into *st (text points into the connection's buffer,
 * valid until the next read). Returns 0 for a well-formed line (+OK or
 * -ERR), -1 on I/O failure or garbage.
 */
static int
pop3_status(struct pop3 *p, struct pop3_status *st, const char *what)
{
	const char	*line;
	size_t		 len;
	char		 esc[256];

	if (conn_getline(p->c, POP3_STATUS_MAX, &line, &len) == -1)
		return pop3_connfail(p, what);
	log_verbose("< %s", log_escape(line, len, esc, sizeof esc));
	if (pop3_parse_status(line, len, st) == -1)
		return pop3_fail(p, POP3_E_PROTO, "%s: not a POP3 reply: %s",
		    what, log_escape(line, len, esc, sizeof esc));
	return 0;
}

/* The class of a -ERR to a command, from its response code. */
static enum pop3_errclass
rcode_class(const struct pop3_status *st, enum pop3_errclass dflt)
{
	switch (st->rcode) {
	case POP3_RC_IN_USE:
	case POP3_RC_SYS_TEMP:
	case POP3_RC_LOGIN_DELAY:
		return POP3_E_TEMP;
	case POP3_RC_AUTH:
		return POP3_E_AUTH;
	case POP3_RC_SYS_PERM:
		return dflt == POP3_E_AUTH ? POP3_E_AUTH : POP3_E_PROTO;
	default:
		return dflt;
	}
}

static int
pop3_err_reply(struct pop3 *p, const struct pop3_status *st,
    enum pop3_errclass dflt, const char *what)
{
	char	esc[256];

	pop3_fail(p, rcode_class(st, dflt), "%s: server said: %s",
	    what, log_escape(st->text, st->textlen, esc, sizeof esc));
	p->rcode = st->rcode;
	return -1;
}

/* Read the lines of a multi-line listing, calling cb for each. */
static int
pop3_lines(struct pop3 *p, size_t cap, const char *what,
    int (*cb)(struct pop3 *, const char *, size_t, void *), void *arg)
{
	const char	*line;
	size_t		 len;

	for (;;) {
		if (conn_getline(p->c, cap, &line, &len) == -1)
			return pop3_connfail(p, what);
		if (pop3_is_terminator(line, len))
			return 0;
		if (len > 0 && line[0] == '.') {
			line++;
			len--;
		}
		if (cb(p, line, len, arg) == -1)
			return -1;
	}
}

static int
capa_line(struct pop3 *p, const char *line, size_t len, void *arg)
{
	char	esc[256];

	(void)arg;
	log_debug("capability: %s", log_escape(line, len, esc, sizeof esc));
	if (p->o.capa_cb != NULL)
		p->o.capa_cb(p->o.capa_arg, conn_is_tls(p->c), line, len);
	return pop3_parse_capa_line(line, len, &p->caps);
}

static int
pop3_capa(struct pop3 *p)
{
	struct pop3_status	st;

	memset(&p->caps, 0, sizeof p->caps);
	p->have_capa = 0;
	conn_deadline_in(p->c, p->o.timeout_ms);
	if (pop3_send(p, "CAPA", 0) == -1 ||
	    pop3_status(p, &st, "CAPA") == -1)
		return -1;
	if (!st.ok) {
		/* RFC 1939 server: no capabilities known. */
		if (p->o.capa_cb != NULL)
			p->o.capa_cb(p->o.capa_arg, conn_is_tls(p->c), NULL, 0);
		return 0;
	}
	p->have_capa = 1;
	return pop3_lines(p, POP3_STATUS_MAX, "CAPA", capa_line, NULL);
}

static int
pop3_stls(struct pop3 *p)
{
	struct pop3_status	st;

	conn_deadline_in(p->c, p->o.timeout_ms);
	if (pop3_send(p, "STLS", 0) == -1 ||
	    pop3_status(p, &st, "STLS") == -1)
		return -1;
	if (!st.ok)
		return pop3_fail(p, POP3_E_TLS, "server refused STLS; "
		    "refusing to continue without TLS");
	/* Anything already buffered was sent in clear: injection. */
	if (conn_pending(p->c) != 0)
		return pop3_fail(p, POP3_E_TLS, "server sent data after its "
		    "STLS reply (response injection); aborting");
	if (conn_starttls(p->c, p->o.host, &p->o.tlsopts) == -1)
		return pop3_connfail(p, "TLS");
	return 0;
}

/*
 * After the clear-text CAPA of pop3://: STLS whenever the server offers
 * it, whatever opts.tls and opts.insecure_plaintext say, so that the
 * insecure option permits clear text only where TLS cannot be had
 * (docs/decisions.md). The handshake is verified as for pop3s://; a
 * failure there, or -ERR to an STLS the server offered, ends the
 * session (no fallback to clear text). Without STLS in CAPA the
 * session goes on in clear only with opts.insecure_plaintext.
 */
static int
pop3_upgrade(struct pop3 *p)
{
	if (p->caps.flags & POP3_CAP_STLS) {
		if (pop3_stls(p) == -1)
			return -1;
		/* RFC 2595 section 4: forget what was learnt in clear. */
		return pop3_capa(p);
	}
	if (!p->o.insecure_plaintext)
		return pop3_fail(p, POP3_E_TLS, "server does not offer STLS; "
		    "refusing to continue without TLS (use pop3s:// or "
		    "--insecure-plaintext)");
	log_verbose("the server does not offer STLS: continuing in clear "
	    "text (--insecure-plaintext)");
	return 0;
}

/*
 * RFC 6856: a server that offers UTF8 may change messages whose headers
 * hold 8-bit bytes for a client that has not asked for UTF-8 (Courier
 * serves a "cannot display Unicode content" notice in their place, other
 * bytes at each RETR): an archive wants the stored bytes, so ask
 * whenever it is offered. A refusal is no failure: the session goes on
 * as before (and batch.c distrusts a download far from LIST's size).
 */
static int
pop3_utf8(struct pop3 *p)
{
	struct pop3_status	st;
	char			esc[160];

	if (pop3_send(p, "UTF8", 0) == -1 ||
	    pop3_status(p, &st, "UTF8") == -1)
		return -1;
	p->utf8 = st.ok;
	if (!st.ok)
		log_verbose("the server refused UTF8: %s", log_escape(st.text,
		    st.textlen, esc, sizeof esc));
	return 0;
}

/* What follows the TCP connection: TLS, greeting, CAPA, STLS, UTF8. */
static int
pop3_start(struct pop3 *p)
{
	struct pop3_status	st;
	char			info[512];

	conn_deadline_in(p->c, p->o.timeout_ms);
	if (p->o.tls == POP3_TLS_IMPLICIT &&
	    conn_starttls(p->c, p->o.host, &p->o.tlsopts) == -1)
		return pop3_connfail(p, "TLS");
	if (pop3_status(p, &st, "greeting") == -1)
		return -1;
	if (!st.ok)
		return pop3_err_reply(p, &st, POP3_E_TEMP, "greeting");
	memcpy(p->greeting, st.text, st.textlen);
	p->greeting[st.textlen] = '\0';
	if (pop3_capa(p) == -1)
		return -1;
	if (p->o.tls != POP3_TLS_IMPLICIT && pop3_upgrade(p) == -1)
		return -1;
	if ((p->caps.flags & POP3_CAP_UTF8) && pop3_utf8(p) == -1)
		return -1;
	if (log_level() >= LOG_DEBUG && conn_is_tls(p->c)) {
		conn_tls_info(p->c, info, sizeof info);
		log_debug("TLS: %s", info);
	}
	return 0;
}

int
pop3_connect(struct pop3 *p)
{
	char	err[512];

	if (p->o.tls == POP3_TLS_NONE && !p->o.insecure_plaintext)
		return pop3_fail(p, POP3_E_USAGE,
		    "plaintext POP3 needs --insecure-plaintext");
	p->c = conn_connect(p->o.host, p->o.port, p->o.connect_timeout_ms,
	    p->o.timeout_ms, err, sizeof err);
	if (p->c == NULL)
		return pop3_fail(p, POP3_E_NET, "%s", err);
	return pop3_start(p);
}

int
pop3_connect_conn(struct pop3 *p, struct conn *c)
{
	p->c = c;
	if (p->o.tls == POP3_TLS_NONE && !p->o.insecure_plaintext)
		return pop3_fail(p, POP3_E_USAGE,
		    "plaintext POP3 needs --insecure-plaintext");
	return pop3_start(p);
}

static int
pop3_cmd_ok(struct pop3 *p, const char *cmd, int secret,
    enum pop3_errclass dflt, const char *what)
{
	struct pop3_status	st;

	conn_deadline_in(p->c, p->o.timeout_ms);
	if (pop3_send(p, cmd, secret) == -1 ||
	    pop3_status(p, &st, what) == -1)
		return -1;
	if (!st.ok)
		return pop3_err_reply(p, &st, dflt, what);
	return 0;
}

/*
 * "a SP b", or "a SP b SP c" when c is not NULL, into buf, with memcpy
 * rather than a printf, which may copy a secret into buffers of its
 * own. -1 when it does not fit; nothing is copied then.
 */
static int
cmd_join(char *buf, size_t sz, const char *a, const char *b, const char *c)
{
	size_t	al = strlen(a), bl = strlen(b), cl = c ? strlen(c) : 0;

	if (al + 1 + bl + (c ? 1 + cl : 0) + 1 > sz)
		return -1;
	memcpy(buf, a, al);
	buf[al] = ' ';
	memcpy(buf + al + 1, b, bl);
	if (c != NULL) {
		buf[al + 1 + bl] = ' ';
		memcpy(buf + al + 2 + bl, c, cl);
	}
	buf[al + 1 + bl + (c ? 1 + cl : 0)] = '\0';
	return 0;
}

/*
 * Every buffer here that holds the password, the APOP digest or a line
 * with either is wiped on every return; pop3_send() wipes its copy.
 */
int
pop3_login(struct pop3 *p, const char *user, const char *pass,
    enum pop3_auth auth)
{
	char		 cmd[POP3_STATUS_MAX], hex[33];
	char		*buf;
	const char	*ts;
	size_t		 tslen, plen = strlen(pass);
	int		 r;

	if (!conn_is_tls(p->c) && !p->o.insecure_plaintext)
		return pop3_fail(p, POP3_E_USAGE,
		    "refusing to send credentials without TLS");
	if (strpbrk(user, "\r\n") != NULL || strpbrk(pass, "\r\n") != NULL)
		return pop3_fail(p, POP3_E_USAGE,
		    "user name or password contains a line break");
	if (auth == POP3_AUTH_APOP) {
		if (pop3_apop_stamp(p->greeting, strlen(p->greeting), &ts,
		    &tslen) == -1)
			return pop3_fail(p, POP3_E_AUTH, "APOP requested but "
			    "the greeting has no valid timestamp");
		buf = xmalloc(tslen + plen);
		memcpy(buf, ts, tslen);
		memcpy(buf + tslen, pass, plen);
		hash_md5_hex(buf, tslen + plen, hex);
		explicit_bzero(buf, tslen + plen);
		free(buf);
		if (cmd_join(cmd, sizeof cmd, "APOP", user, hex) == -1)
			r = pop3_fail(p, POP3_E_USAGE, "user name too long");
		else
			r = pop3_cmd_ok(p, cmd, 1, POP3_E_AUTH, "APOP");
		goto out;
	}
	if (cmd_join(cmd, sizeof cmd, "USER", user, NULL) == -1)
		return pop3_fail(p, POP3_E_USAGE, "user name too long");
	if (pop3_cmd_ok(p, cmd, 0, POP3_E_AUTH, "USER") == -1)
		return -1;
	if (cmd_join(cmd, sizeof cmd, "PASS", pass, NULL) == -1)
		r = pop3_fail(p, POP3_E_USAGE, "password too long");
	else
		r = pop3_cmd_ok(p, cmd, 1, POP3_E_AUTH, "PASS");
out:
	explicit_bzero(cmd, sizeof cmd);
	explicit_bzero(hex, sizeof hex);
	return r;
}

/*
 * Longest AUTH line with an initial response, CRLF included (RFC 5034
 * section 4 defers to RFC 2449 section 4's 255 octets).
 */
#define POP3_AUTH_LINE_MAX	255
/* Longest line read during AUTH: "+ " and a challenge, CRLF. */
#define POP3_AUTH_READ_MAX	(SASL_CHALLENGE_MAX + 4)

/*
 * Send "cmd SP payload", "cmd" (payload NULL) or "payload" (cmd NULL),
 * then CRLF, with no length limit (continuation responses may carry a
 * long OAuth token). The payload is logged as "****" and wiped here.
 */
static int
auth_send(struct pop3 *p, const char *cmd, const char *payload)
{
	size_t	 cl = cmd != NULL ? strlen(cmd) : 0;
	size_t	 pl = payload != NULL ? strlen(payload) : 0;
	size_t	 n = 0, sz = cl + 1 + pl + 2;
	char	*buf = xmalloc(sz);
	int	 r = 0;

	if (cmd != NULL) {
		memcpy(buf, cmd, cl);
		n = cl;
		if (payload != NULL)
			buf[n++] = ' ';
	}
	if (payload != NULL) {
		memcpy(buf + n, payload, pl);
		n += pl;
	}
	memcpy(buf + n, "\r\n", 2);
	n += 2;
	conn_deadline_in(p->c, p->o.timeout_ms);
	if (cmd != NULL && payload != NULL)
		log_verbose("> %s ****", cmd);
	else if (cmd != NULL)
		log_verbose("> %s", cmd);
	else
		log_verbose("> ****");
	if (conn_write(p->c, buf, n) == -1)
		r = pop3_connfail(p, "sending AUTH");
	explicit_bzero(buf, sz);
	free(buf);
	return r;
}

/*
 * Read the server's next AUTH line: a continuation ("+ " base64, or a
 * bare "+" taken as an empty challenge), *chal set and 1 returned; or
 * a status line, *st filled and 0 returned; -1 on I/O failure or
 * garbage. Challenges are masked in the log like responses.
 */
static int
auth_reply(struct pop3 *p, const char *what, struct pop3_status *st,
    const char **chal, size_t *chlen)
{
	const char	*line;
	size_t		 len;
	char		 esc[256];

	conn_deadline_in(p->c, p->o.timeout_ms);
	if (conn_getline(p->c, POP3_AUTH_READ_MAX, &line, &len) == -1)
		return pop3_connfail(p, what);
	if (len >= 1 && line[0] == '+' && (len == 1 || line[1] == ' ')) {
		log_verbose("< + ****");
		*chal = len == 1 ? line + 1 : line + 2;
		*chlen = len == 1 ? 0 : len - 2;
		return 1;
	}
	log_verbose("< %s", log_escape(line, len, esc, sizeof esc));
	if (pop3_parse_status(line, len, st) == -1)
		return pop3_fail(p, POP3_E_PROTO, "%s: not a POP3 reply: %s",
		    what, log_escape(line, len, esc, sizeof esc));
	return 0;
}

/*
 * Cancel the exchange with "*" (RFC 5034 section 4) and read the -ERR
 * that must follow, so a bad challenge is never answered with data
 * (fetchmail CVE-2012-3482). The failure reported is ours (ec, why),
 * whatever the server answers; a +OK to a cancel is a protocol error.
 */
static int
auth_cancel(struct pop3 *p, const char *what, enum pop3_errclass ec,
    const char *why)
{
	struct pop3_status	 st;
	const char		*chal;
	size_t			 chlen;
	char			 msg[512];
	int			 r;

	snprintf(msg, sizeof msg, "%s", why);
	conn_deadline_in(p->c, p->o.timeout_ms);
	if (pop3_send(p, "*", 0) == -1)
		return pop3_fail(p, ec, "%s: %s; cancelled", what, msg);
	r = auth_reply(p, what, &st, &chal, &chlen);
	if (r == 0 && st.ok)
		return pop3_fail(p, POP3_E_PROTO, "%s: %s; server accepted "
		    "the cancelled exchange", what, msg);
	return pop3_fail(p, ec, "%s: %s; cancelled", what, msg);
}

/* The RFC 5034 exchange for one mechanism object. */
static int
auth_exchange(struct pop3 *p, struct sasl *s, const char *mech)
{
	struct pop3_status	 st;
	const char		*chal;
	char			 what[64], esc[256];
	char			*ir = NULL, *resp;
	size_t			 chlen, n;
	int			 rc = SASL_CONTINUE, r, pending;

	snprintf(what, sizeof what, "AUTH %s", mech);
	if (sasl_has_initial(s)) {
		rc = sasl_step(s, NULL, 0, &ir);
		if (rc == SASL_ERROR)
			return pop3_fail(p, POP3_E_USAGE, "%s: %s", what,
			    sasl_error(s));
	}
	/* The IR goes on the AUTH line only when the line fits (RFC 5034
	 * section 4); else it answers the server's empty challenge. */
	if (ir != NULL && strlen(what) + 1 + (*ir ? strlen(ir) : 1) + 2 <=
	    POP3_AUTH_LINE_MAX) {
		/* An empty initial response is sent as "=". */
		r = auth_send(p, what, *ir ? ir : "=");
		sasl_resp_free(ir);
		ir = NULL;
	} else
		r = auth_send(p, what, NULL);
	if (r == -1)
		goto fail;

	for (;;) {
		r = auth_reply(p, what, &st, &chal, &chlen);
		if (r == -1)
			goto fail;
		if (r == 0)
			break;
		if (sasl_b64_decode(chal, chlen, NULL, 0, &n) == -1) {
			sasl_resp_free(ir);
			return auth_cancel(p, what, POP3_E_PROTO,
			    "server challenge is not valid base64");
		}
		if (ir != NULL) {
			/* The prompt for our initial response: empty. */
			if (n != 0) {
				sasl_resp_free(ir);
				return auth_cancel(p, what, POP3_E_PROTO,
				    "non-empty challenge where the client "
				    "speaks first");
			}
			r = auth_send(p, NULL, ir);
			sasl_resp_free(ir);
			ir = NULL;
			if (r == -1)
				return -1;
			continue;
		}
		rc = sasl_step(s, chal, chlen, &resp);
		if (rc == SASL_ERROR)
			return auth_cancel(p, what, POP3_E_AUTH, sasl_error(s));
		r = auth_send(p, NULL, resp);
		sasl_resp_free(resp);
		if (r == -1)
			return -1;
	}
	pending = ir != NULL;
	sasl_resp_free(ir);
	if (!st.ok && rc == SASL_REJECTED)
		return pop3_fail(p, rcode_class(&st, POP3_E_AUTH),
		    "%s: server said: %s (%s)", what,
		    log_escape(st.text, st.textlen, esc, sizeof esc),
		    sasl_error(s));
	if (!st.ok)
		return pop3_err_reply(p, &st, POP3_E_AUTH, what);
	/*
	 * +OK before the mechanism finished: for SCRAM the server has not
	 * proved it knows the password, so we do not accept it either.
	 */
	if (rc != SASL_DONE || pending)
		return pop3_fail(p, POP3_E_AUTH, "%s: server accepted before "
		    "the exchange was complete", what);
	return 0;
fail:
	sasl_resp_free(ir);
	return -1;
}

int
pop3_auth(struct pop3 *p, const char *mechname, const char *user,
    const char *secret)
{
	struct sasl	*s;
	int		 m, r;

	if (!conn_is_tls(p->c) && !p->o.insecure_plaintext)
		return pop3_fail(p, POP3_E_USAGE,
		    "refusing to send credentials without TLS");
	if (strcasecmp(mechname, "auto") == 0) {
		/* Nothing auto would use in CAPA's SASL line: USER/PASS. */
		if ((m = sasl_pick(p->caps.sasl, 0)) == -1)
			return pop3_login(p, user, secret, POP3_AUTH_USER);
	} else if ((m = sasl_mech_find(mechname)) == -1)
		return pop3_fail(p, POP3_E_USAGE, "unknown SASL mechanism");
	if (p->have_capa && !(p->caps.sasl & sasl_mech_flag(m)))
		log_verbose("%s is not in the server's SASL capability; "
		    "trying it anyway", sasl_mech_name(m));
	s = sasl_new(m, user, secret, NULL);
	if (p->o.host != NULL && p->o.port != NULL)
		sasl_set_host(s, p->o.host, p->o.port);
	if (sasl_error(s) != NULL) {
		r = pop3_fail(p, POP3_E_USAGE, "%s: %s", sasl_mech_name(m),
		    sasl_error(s));
		sasl_free(s);
		return r;
	}
	r = auth_exchange(p, s, sasl_mech_name(m));
	sasl_free(s);
	return r;
}

/*
 * A new, zeroed entry for message num at the end of the listing that
 * what (UIDL or LIST) builds: numbers strictly increasing, at most
 * opts.max_listing entries. NULL after pop3_fail().
 */
static struct pop3_entry *
listing_entry(struct pop3 *p, struct pop3_listing *l, uint32_t num,
    const char *what)
{
	struct pop3_entry	*e;

	if (l->n > 0 && num <= l->e[l->n - 1].num) {
		pop3_fail(p, POP3_E_PROTO, "%s listing out of order or "
		    "repeated at message %u", what, num);
		return NULL;
	}
	if (l->n == p->o.max_listing) {
		pop3_fail(p, POP3_E_PROTO, "%s listing longer than %zu "
		    "messages", what, p->o.max_listing);
		return NULL;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->e = xreallocarray(l->e, l->cap, sizeof *l->e);
	}
	e = &l->e[l->n++];
	memset(e, 0, sizeof *e);
	e->num = num;
	return e;
}

static int
uidl_line(struct pop3 *p, const char *line, size_t len, void *arg)
{
	struct pop3_listing	*l = arg;
	struct pop3_entry	*e;
	const char		*uid;
	size_t			 ulen;
	uint32_t		 num;
	char			 esc[256];

	if (pop3_parse_uidl(line, len, &num, &uid, &ulen) == -1)
		return pop3_fail(p, POP3_E_PROTO, "bad UIDL line: %s",
		    log_escape(line, len, esc, sizeof esc));
	if ((e = listing_entry(p, l, num, "UIDL")) == NULL)
		return -1;
	if (l->alen + ulen > l->acap) {
		while (l->alen + ulen > l->acap)
			l->acap = l->acap ? l->acap * 2 : 65536;
		l->arena = xreallocarray(l->arena, l->acap, 1);
	}
	e->uid_off = (uint32_t)l->alen;
	e->uid_len = (uint8_t)ulen;
	memcpy(l->arena + l->alen, uid, ulen);
	l->alen += ulen;
	return 0;
}

struct list_ctx {
	struct pop3_listing	*l;
	size_t			 next;
};

static int
list_line(struct pop3 *p, const char *line, size_t len, void *arg)
{
	struct list_ctx	*lc = arg;
	uint32_t	 num;
	uint64_t	 size;
	char		 esc[256];

	if (pop3_parse_list(line, len, &num, &size) == -1)
		return pop3_fail(p, POP3_E_PROTO, "bad LIST line: %s",
		    log_escape(line, len, esc, sizeof esc));
	/* Both listings are sorted by number; they must match one to one. */
	if (lc->next >= lc->l->n || lc->l->e[lc->next].num != num)
		return pop3_fail(p, POP3_E_PROTO, "LIST and UIDL disagree at "
		    "message %u", num);
	lc->l->e[lc->next++].size = POP3_SIZE_HINT(size);
	return 0;
}

/* A LIST line when there is no UIDL: a new entry, named later. */
static int
list_only_line(struct pop3 *p, const char *line, size_t len, void *arg)
{
	struct pop3_listing	*l = arg;
	struct pop3_entry	*e;
	uint32_t		 num;
	uint64_t		 size;
	char			 esc[256];

	if (pop3_parse_list(line, len, &num, &size) == -1)
		return pop3_fail(p, POP3_E_PROTO, "bad LIST line: %s",
		    log_escape(line, len, esc, sizeof esc));
	if ((e = listing_entry(p, l, num, "LIST")) == NULL)
		return -1;
	e->size = POP3_SIZE_HINT(size);
	return 0;
}

/* A line of a reply that is read only to stay in step. */
static int
skip_line(struct pop3 *p, const char *line, size_t len, void *arg)
{
	return 0;
}

static int	pop3_listing_top(struct pop3 *, struct pop3_listing *, int);
static int	pop3_fetch(struct pop3 *, const struct pop3_listing *,
		    const size_t *, size_t, const struct pop3_sink *, int);

int
pop3_listing(struct pop3 *p, struct pop3_listing *l)
{
	static const char *const both[] = { "UIDL", "LIST" };
	struct pop3_status	st;
	struct list_ctx		lc;
	int			piped = (p->caps.flags &
				    POP3_CAP_PIPELINING) != 0;

	memset(l, 0, sizeof *l);
	/* Listings may be long: allow ten times the usual deadline. */
	conn_deadline_in(p->c, (int64_t)p->o.timeout_ms * 10);
	/*
	 * With PIPELINING, LIST goes out with UIDL: the server starts on it
	 * as soon as UIDL is sent, not after our turn-around.
	 */
	if ((piped ? pop3_send_cmds(p, both, 2) : pop3_send(p, "UIDL", 0))
	    == -1 || pop3_status(p, &st, "UIDL") == -1)
		return -1;
	if (!st.ok) {
		if (p->o.uidl_by_top)
			return pop3_listing_top(p, l, piped);
		/* Read LIST's reply too, so that QUIT is answered in step. */
		if (piped && pop3_status(p, &st, "LIST") == 0 && st.ok)
			(void)pop3_lines(p, POP3_LISTING_MAX, "LIST",
			    skip_line, NULL);
		return pop3_fail(p, POP3_E_PROTO, "server does not support "
		    "UIDL, which keeping mail on the server needs (the "
		    "without_uidl = top fallback identifies messages by "
		    "their headers and size)");
	}
	if (pop3_lines(p, POP3_LISTING_MAX, "UIDL", uidl_line, l) == -1)
		return -1;
	/* Held for the whole run: give back what doubling left over. */
	if (l->n > 0 && l->n < l->cap) {
		l->e = xreallocarray(l->e, l->n, sizeof *l->e);
		l->cap = l->n;
	}
	if (l->alen > 0 && l->alen < l->acap) {
		l->arena = xreallocarray(l->arena, l->alen, 1);
		l->acap = l->alen;
	}
	conn_deadline_in(p->c, (int64_t)p->o.timeout_ms * 10);
	if ((!piped && pop3_send(p, "LIST", 0) == -1) ||
	    pop3_status(p, &st, "LIST") == -1)
		return -1;
	if (!st.ok)
		return pop3_err_reply(p, &st, POP3_E_PROTO, "LIST");
	lc.l = l;
	lc.next = 0;
	if (pop3_lines(p, POP3_LISTING_MAX, "LIST", list_line, &lc) == -1)
		return -1;
	if (lc.next != l->n)
		return pop3_fail(p, POP3_E_PROTO, "LIST has %zu messages, "
		    "UIDL %zu", lc.next, l->n);
	return 0;
}

#define POP3_TOP_MAX	(64ULL << 20)

/* Stream one multi-line RETR body to the sink, at most max bytes. */
static int
pop3_body(struct pop3 *p, const struct pop3_sink *s, uint32_t num,
    uint64_t max)
{
	struct dot_state	 ds;
	const char		*in;
	size_t			 inlen, outlen, used;
	uint64_t		 total = 0;
	int			 done = 0;

	dot_init(&ds);
	while (!done) {
		if (conn_peek(p->c, &in, &inlen) == -1)
			return pop3_connfail(p, "RETR");
		if (inlen > POP3_OUTBUF)
			inlen = POP3_OUTBUF;
		done = dot_feed(&ds, in, inlen, p->out, &outlen, &used);
		conn_consume(p->c, used);
		total += outlen;
		if (total > max)
			return pop3_fail(p, POP3_E_PROTO, "message %u is larger "
			    "than the maximum size (%llu bytes); aborting", num,
			    (unsigned long long)max);
		if (outlen > 0 && s->data(s->arg, p->out, outlen) == -1)
			return pop3_fail(p, POP3_E_LOCAL, "storing message %u",
			    num);
	}
	return 0;
}

/*
 * Queue RETR commands for idx[from..to) in one write. With a window of
 * at most 64 commands of at most 16 bytes each, the bytes in flight
 * stay far below any socket send buffer, so the write cannot block on a
 * server that writes before it reads (RFC 2449 section 6.6).
 */
static int
pop3_queue(struct pop3 *p, const struct pop3_listing *l, const size_t *idx,
    size_t from, size_t to, int top)
{
	char	buf[64 * 24];
	size_t	k, n = 0;
	int	w;

	for (k = from; k < to; k++) {
		w = snprintf(buf + n, sizeof buf - n, top ? "TOP %u 0\r\n" :
		    "RETR %u\r\n", l->e[idx[k]].num);
		if (w < 0 || (size_t)w >= sizeof buf - n)
			return pop3_fail(p, POP3_E_USAGE, "RETR queue");
		n += (size_t)w;
		log_verbose("> %s %u%s", top ? "TOP" : "RETR",
		    l->e[idx[k]].num, top ? " 0" : "");
	}
	if (n > 0 && conn_write(p->c, buf, n) == -1)
		return pop3_connfail(p, "sending RETR");
	return 0;
}

/* RETR, or TOP n 0 with top: each message (header) to the sink. */
static int
pop3_fetch(struct pop3 *p, const struct pop3_listing *l,
    const size_t *idx, size_t n, const struct pop3_sink *s, int top)
{
	struct pop3_status	 st;
	size_t			 sent = 0, done = 0, to;
	unsigned		 window = 1;
	uint64_t		 size;
	char			 esc[256], what[32];

	if (p->caps.flags & POP3_CAP_PIPELINING)
		window = p->o.window > 64 ? 64 : p->o.window;
	while (done < n) {
		/* Refill when half the window has been answered. */
		if (sent - done <= window / 2 && sent < n) {
			to = done + window < n ? done + window : n;
			if (pop3_queue(p, l, idx, sent, to, top) == -1)
				return -1;
			sent = to;
		}
		size = l->e[idx[done]].size;
		if (size > p->o.max_msg_size)
			size = p->o.max_msg_size;
		conn_deadline_in(p->c, p->o.timeout_ms +
		    (int64_t)(size / POP3_MIN_RATE) * 1000);
		snprintf(what, sizeof what, "%s %u", top ? "TOP" : "RETR",
		    l->e[idx[done]].num);
		if (pop3_status(p, &st, what) == -1)
			return -1;
		if (!st.ok) {
			log_escape(st.text, st.textlen, esc, sizeof esc);
			if (s->failed(s->arg, idx[done], esc) == -1)
				return pop3_fail(p, POP3_E_LOCAL,
				    "message %u", l->e[idx[done]].num);
			done++;
			continue;
		}
		if (s->begin(s->arg, idx[done]) == -1)
			return pop3_fail(p, POP3_E_LOCAL, "message %u",
			    l->e[idx[done]].num);
		/*
		 * A header section is part of a message, but one archived
		 * before the size limit was lowered is checked too: TOP
		 * gets room (what never ends is stopped by the deadline).
		 */
		if (pop3_body(p, s, l->e[idx[done]].num, top &&
		    p->o.max_msg_size < POP3_TOP_MAX ? POP3_TOP_MAX :
		    p->o.max_msg_size) == -1)
			return -1;
		if (s->end(s->arg, idx[done]) == -1)
			return pop3_fail(p, POP3_E_LOCAL, "message %u",
			    l->e[idx[done]].num);
		done++;
	}
	return 0;
}

int
pop3_retrieve(struct pop3 *p, const struct pop3_listing *l,
    const size_t *idx, size_t n, const struct pop3_sink *s)
{
	return pop3_fetch(p, l, idx, n, s, 0);
}

int
pop3_top(struct pop3 *p, const struct pop3_listing *l, const size_t *idx,
    size_t n, const struct pop3_sink *s)
{
	return pop3_fetch(p, l, idx, n, s, 1);
}

/*
 * Without UIDL (without_uidl = top): each message is named by the
 * SHA-256 of its header block (TOP n 0, unstuffed) and its LIST size,
 * "top-" and 40 hex digits. Such a name does not change while the
 * message does not, but two messages may share it, and a message whose
 * body changes keeps it: so the run deletes such a message only on a
 * download in the same session (core/delete.c), never on the index.
 */
struct top_ctx {
	struct pop3_listing	*l;
	struct hash		*h;
	unsigned char		*ok;		/* per entry: named */
};

static int
top_begin(void *arg, size_t i)
{
	struct top_ctx	*t = arg;

	hash_free(t->h);
	t->h = hash_new();
	return 0;
}

static int
top_data(void *arg, const char *b, size_t n)
{
	struct top_ctx	*t = arg;

	hash_update(t->h, b, n);
	return 0;
}

static int
top_end(void *arg, size_t i)
{
	static const char	 hex[] = "0123456789abcdef";
	struct top_ctx		*t = arg;
	struct pop3_entry	*e = &t->l->e[i];
	unsigned char		 d[HASH_LEN];
	char			 sz[24], *u;
	size_t			 k;

	snprintf(sz, sizeof sz, "\n%u", e->size);
	hash_update(t->h, sz, strlen(sz));
	hash_final(t->h, d);
	hash_free(t->h);
	t->h = NULL;
	/* The arena was sized for every entry's 44 characters. */
	u = t->l->arena + e->uid_off;
	memcpy(u, "top-", 4);
	for (k = 0; k < 20; k++) {
		u[4 + 2 * k] = hex[d[k] >> 4];
		u[5 + 2 * k] = hex[d[k] & 15];
	}
	e->uid_len = 44;
	t->ok[i] = 1;
	return 0;
}

static int
top_failed(void *arg, size_t i, const char *why)
{
	struct top_ctx	*t = arg;

	log_warnx("TOP %u 0: %s: the message cannot be named, so it is "
	    "neither archived nor deleted in this session",
	    t->l->e[i].num, why);
	return 0;
}

static int
pop3_listing_top(struct pop3 *p, struct pop3_listing *l, int piped)
{
	struct pop3_status	 st;
	struct top_ctx		 t;
	struct pop3_sink	 sk;
	size_t			*idx, i, k;
	int			 r;

	log_warnx("the server does not support UIDL: naming messages by "
	    "their headers and size (without_uidl = top); a message is "
	    "deleted only after its download in the same session");
	conn_deadline_in(p->c, (int64_t)p->o.timeout_ms * 10);
	if ((!piped && pop3_send(p, "LIST", 0) == -1) ||
	    pop3_status(p, &st, "LIST") == -1)
		return -1;
	if (!st.ok)
		return pop3_err_reply(p, &st, POP3_E_PROTO, "LIST");
	if (pop3_lines(p, POP3_LISTING_MAX, "LIST", list_only_line, l) == -1)
		return -1;
	/* Every name has 44 characters. */
	if (l->n > 0) {
		l->acap = l->n * 44;
		l->arena = xreallocarray(NULL, l->n, 44);
	}
	for (i = 0; i < l->n; i++) {
		l->e[i].uid_off = (uint32_t)(i * 44);
		l->e[i].uid_len = 0;
	}
	l->alen = l->n * 44;
	idx = xreallocarray(NULL, l->n ? l->n : 1, sizeof *idx);
	for (i = 0; i < l->n; i++)
		idx[i] = i;
	memset(&t, 0, sizeof t);
	t.l = l;
	t.ok = xcalloc(l->n ? l->n : 1, 1);
	sk.begin = top_begin;
	sk.data = top_data;
	sk.end = top_end;
	sk.failed = top_failed;
	sk.arg = &t;
	r = pop3_fetch(p, l, idx, l->n, &sk, 1);
	hash_free(t.h);
	free(idx);
	if (r == 0) {
		/* Those TOP refused leave the listing. */
		for (i = k = 0; i < l->n; i++)
			if (t.ok[i])
				l->e[k++] = l->e[i];
		l->n = k;
		p->ids_by_top = 1;
	}
	free(t.ok);
	return r;
}

int
pop3_ids_by_top(struct pop3 *p)
{
	return p->ids_by_top;
}

int
pop3_quit(struct pop3 *p)
{
	return pop3_cmd_ok(p, "QUIT", 0, POP3_E_PROTO, "QUIT");
}

int
pop3_dele(struct pop3 *p, uint32_t num)
{
	char	cmd[32];

	snprintf(cmd, sizeof cmd, "DELE %u", num);
	return pop3_cmd_ok(p, cmd, 0, POP3_E_PROTO, cmd);
}

int
pop3_pipeline(struct pop3 *p, const char *const *cmds, size_t n,
    struct pop3_reply *r)
{
	struct pop3_status	 st;
	char			 what[80];
	size_t			 k;

	conn_deadline_in(p->c, p->o.timeout_ms);
	if (pop3_send_cmds(p, cmds, n) == -1)
		return -1;
	for (k = 0; k < n; k++) {
		snprintf(what, sizeof what, "%s (pipelined)", cmds[k]);
		if (pop3_status(p, &st, what) == -1)
			return -1;
		r[k].ok = st.ok;
		r[k].len = st.textlen;
		memcpy(r[k].text, st.text, st.textlen);
		r[k].text[st.textlen] = '\0';
	}
	return 0;
}

int
pop3_quit_send(struct pop3 *p)
{
	conn_deadline_in(p->c, p->o.timeout_ms);
	return pop3_send(p, "QUIT", 0);
}

int
pop3_quit_reply(struct pop3 *p)
{
	struct pop3_status	st;

	if (pop3_status(p, &st, "QUIT") == -1)
		return -1;
	if (!st.ok)
		return pop3_err_reply(p, &st, POP3_E_PROTO, "QUIT");
	return 0;
}

void
pop3_free(struct pop3 *p)
{
	if (p == NULL)
		return;
	conn_close(p->c);
	free(p->out);
	free(p);
}

const struct pop3_caps *
pop3_caps(struct pop3 *p)
{
	return &p->caps;
}

const char *
pop3_greeting(struct pop3 *p)
{
	return p->greeting;
}

int
pop3_utf8_on(struct pop3 *p)
{
	return p->utf8;
}

const char *
pop3_error(struct pop3 *p)
{
	return p->err;
}

enum pop3_errclass
pop3_errclass(struct pop3 *p)
{
	return p->eclass;
}

enum pop3_rcode
pop3_rcode(struct pop3 *p)
{
	return p->rcode;
}

struct conn *
pop3_conn(struct pop3 *p)
{
	return p->c;
}

void
pop3_listing_free(struct pop3_listing *l)
{
	free(l->e);
	free(l->arena);
	memset(l, 0, sizeof *l);
}
