/*
 * imap.c -- the IMAP client session; see imap.h for the story.
 *
 * Parsing lives in imapparse.c: every byte the server sends goes through
 * its response reader, every response through imap_parse_resp() and the
 * parsers of its data. This file is the session itself: it reads
 * responses and sends tagged commands (also for the other files of the
 * session, through imap_int.h), connects (TLS, greeting, CAPABILITY,
 * STARTTLS required on imap://, capabilities re-learnt after TLS),
 * selects or creates the mailbox (its name put in modified UTF-7 by
 * imapenc.c), logs out, and holds the public steps of imap.h. The
 * login (LOGIN, AUTHENTICATE) is imap_auth.c's; APPEND is
 * imap_append.c's; the sizes, the bodies streamed to the caller's sink,
 * and SEARCH are imap_fetch.c's.
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
#include "imap_int.h"
#include "log.h"
#include "util.h"

/* Slowest average rate a command may have before its deadline passes. */
#define IMAP_MIN_RATE	(16 * 1024)

/* The session's error: its class, no code, the message; returns -1. */
int
ims_fail(struct imap *s, enum imap_errclass ec, const char *fmt, ...)
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
int
ims_connfail(struct imap *s, const char *during)
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
	return ims_fail(s, ec, "%s: %s", during, conn_error(s->c));
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
	    ims_lit_cb, s);
	return s;
}

/* ---- deadlines ------------------------------------------------------ */

/* The command's deadline: timeout_ms from now, plus octets at the rate. */
void
ims_deadline_start(struct imap *s, uint64_t octets)
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
void
ims_deadline_more(struct imap *s, uint64_t octets)
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

/* Log a response read: its first line, escaped; "+" masked in AUTH. */
static void
log_resp(struct imap *s)
{
	const char	*p = s->rd.buf;
	size_t		 n = s->rd.len;
	const char	*cr;
	char		 esc[256], *eq;

	if (log_level() < LOG_VERBOSE)
		return;
	if (s->mask_cont && n > 0 && p[0] == '+') {
		log_verbose("< + ****");
		return;
	}
	if ((cr = memchr(p, '\r', n)) != NULL)
		n = (size_t)(cr - p);
	log_escape(p, n, esc, sizeof esc);
	/* A streamed literal stands as "{=N}" (imapparse.h): show "{N}". */
	if (cr != NULL && s->rd.nstreamed > 0 &&
	    (eq = strrchr(esc, '{')) != NULL && eq[1] == '=')
		memmove(eq + 1, eq + 2, strlen(eq + 2) + 1);
	log_verbose("< %s%s", esc, cr != NULL ? " ..." : "");
}

/* Read the next response into s->resp. */
int
ims_read(struct imap *s, const char *what)
{
	const char	*in;
	size_t		 n, used;
	char		 esc[IMAP_TEXT_MAX];
	int		 r;

	s->resp_body = 0;
	for (;;) {
		if (conn_peek(s->c, &in, &n) == -1)
			return ims_connfail(s, what);
		r = imap_reader_feed(&s->rd, in, n, &used);
		conn_consume(s->c, used);
		if (r == 1)
			break;
		if (r == -1) {
			if (s->cbfail)
				return -1;
			return ims_fail(s, IMAP_E_PROTO, "%s: %s", what,
			    s->rd.errmsg != NULL ? s->rd.errmsg :
			    "unreadable response");
		}
	}
	log_resp(s);
	if (imap_parse_resp(s->rd.buf, s->rd.len, &s->resp) == -1)
		return ims_fail(s, IMAP_E_PROTO, "%s: not an IMAP response: "
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
int
ims_is_temp(const struct imap_resp *r)
{
	return r->code == IMAP_C_LIMIT || r->code == IMAP_C_UNAVAILABLE ||
	    code_is(r, "INUSE") || code_is(r, "OVERQUOTA");
}

/* The text of a status response, escaped, cut to IMAP_TEXT_MAX. */
const char *
ims_resp_text(const struct imap_resp *r, char *buf)
{
	return log_escape(r->rest, r->restlen, buf, IMAP_TEXT_MAX);
}

/*
 * A NO or BAD (or an untagged BYE) to what: the class from its code,
 * else BAD is IMAP_E_PROTO and NO is dflt.
 */
int
ims_refused(struct imap *s, const char *what, enum imap_errclass dflt)
{
	const struct imap_resp	*r = &s->resp;
	enum imap_errclass	 ec;
	char			 esc[IMAP_TEXT_MAX];

	if (r->status == IMAP_S_BYE)
		ec = IMAP_E_TEMP;
	else if (ims_is_temp(r))
		ec = IMAP_E_TEMP;
	else if (r->status == IMAP_S_BAD)
		ec = IMAP_E_PROTO;
	else
		ec = dflt;
	ims_fail(s, ec, "%s: server said: %s%s", what,
	    r->status == IMAP_S_BYE ? "BYE " : r->status == IMAP_S_BAD ?
	    "BAD " : "", ims_resp_text(r, esc));
	s->code = r->code;
	return -1;
}

int
ims_set_caps(struct imap *s, const char *p, size_t n)
{
	char	esc[IMAP_TEXT_MAX];

	if (imap_parse_caps(p, n, &s->caps) == -1)
		return ims_fail(s, IMAP_E_PROTO, "bad capability list: %s",
		    log_escape(p, n, esc, sizeof esc));
	s->got_caps = 1;
	return 0;
}

/*
 * The untagged responses any command may meet: BYE (the session ends:
 * IMAP_E_TEMP, unless LOGOUT was sent), CAPABILITY, EXISTS, the
 * UIDVALIDITY, UIDNEXT and CAPABILITY codes of an untagged OK, and
 * [ALERT] (a warning). The rest (FLAGS, RECENT, EXPUNGE, FETCH
 * updates, ...) is ignored.
 */
int
ims_untagged(struct imap *s, const char *what)
{
	const struct imap_resp	*r = &s->resp;
	char			 esc[IMAP_TEXT_MAX];

	if (r->status == IMAP_S_BYE) {
		s->bye = 1;
		if (s->logout)
			return 0;
		return ims_refused(s, what, IMAP_E_TEMP);
	}
	if (r->code == IMAP_C_ALERT) {
		/* RFC 9051 section 7.1: shown to the user. */
		log_warnx("the IMAP server says: %s", ims_resp_text(r, esc));
		return 0;
	}
	if (r->status == IMAP_S_OK) {
		if (r->code == IMAP_C_UIDVALIDITY)
			s->uidvalidity = r->n1;
		else if (r->code == IMAP_C_UIDNEXT)
			s->uidnext = r->n1;
		else if (r->code == IMAP_C_CAPABILITY)
			return ims_set_caps(s, r->set, r->setlen);
		return 0;
	}
	if (r->status != IMAP_S_NONE)
		return 0;		/* NO, BAD: warnings */
	if (r->has_num && r->keywordlen == 6 &&
	    strncasecmp(r->keyword, "EXISTS", 6) == 0) {
		s->exists = r->num;
		s->have_exists = 1;
	} else if (!r->has_num && r->keywordlen == 10 &&
	    strncasecmp(r->keyword, "CAPABILITY", 10) == 0)
		return ims_set_caps(s, r->rest, r->restlen);
	return 0;
}

int
ims_tag_is(const struct imap_resp *r, const char *tag)
{
	return r->taglen == strlen(tag) && memcmp(r->tag, tag, r->taglen) == 0;
}

/*
 * Read responses up to the tagged one of the command in flight
 * (s->tag). Untagged ones go to fn first (it returns 1 when it took the
 * response, 0 when not, -1 on failure), then to ims_untagged(). A
 * continuation request or another tag is IMAP_E_PROTO. On 0, s->resp
 * is the tagged response.
 */
int
ims_wait(struct imap *s, const char *what,
    int (*fn)(struct imap *, void *), void *arg)
{
	char	esc[64];
	int	r;

	for (;;) {
		if (ims_read(s, what) == -1)
			return -1;
		switch (s->resp.kind) {
		case IMAP_K_CONT:
			return ims_fail(s, IMAP_E_PROTO, "%s: continuation "
			    "request nobody asked for", what);
		case IMAP_K_UNTAGGED:
			if (fn != NULL && (r = fn(s, arg)) != 0) {
				if (r == -1)
					return -1;
				continue;
			}
			if (ims_untagged(s, what) == -1)
				return -1;
			continue;
		case IMAP_K_TAGGED:
			if (!ims_tag_is(&s->resp, s->tag))
				return ims_fail(s, IMAP_E_PROTO, "%s: answer "
				    "to a command not sent (tag %s)", what,
				    log_escape(s->resp.tag, s->resp.taglen,
				    esc, sizeof esc));
			return 0;
		}
	}
}

/*
 * Wait for the "+" of a synchronizing literal of the command in flight.
 * 1 when it came, 0 when the command was answered instead (s->resp is
 * the tagged answer), -1 on failure.
 */
int
ims_wait_cont(struct imap *s, const char *what)
{
	char	esc[64];

	for (;;) {
		if (ims_read(s, what) == -1)
			return -1;
		if (s->resp.kind == IMAP_K_CONT)
			return 1;
		if (s->resp.kind == IMAP_K_TAGGED) {
			if (!ims_tag_is(&s->resp, s->tag))
				return ims_fail(s, IMAP_E_PROTO, "%s: answer "
				    "to a command not sent (tag %s)", what,
				    log_escape(s->resp.tag, s->resp.taglen,
				    esc, sizeof esc));
			return 0;
		}
		if (ims_untagged(s, what) == -1)
			return -1;
	}
}

/* ---- writing -------------------------------------------------------- */

void
ims_next_tag(struct imap *s)
{
	snprintf(s->tag, sizeof s->tag, "P%u", ++s->tagno);
}

/*
 * Send "TAG cmd" CRLF with a new tag. logcmd is what -v shows instead
 * of cmd (NULL: cmd itself). The line is wiped (it may hold a secret).
 */
int
ims_send(struct imap *s, const char *cmd, const char *logcmd)
{
	size_t	 tl, cl = strlen(cmd);
	char	*buf;
	int	 r = 0;

	ims_next_tag(s);
	tl = strlen(s->tag);
	buf = xmalloc(tl + 1 + cl + 2);
	memcpy(buf, s->tag, tl);
	buf[tl] = ' ';
	memcpy(buf + tl + 1, cmd, cl);
	memcpy(buf + tl + 1 + cl, "\r\n", 2);
	log_verbose("> %s %s", s->tag, logcmd != NULL ? logcmd : cmd);
	if (conn_write(s->c, buf, tl + cl + 3) == -1)
		r = ims_connfail(s, "sending a command");
	explicit_bzero(buf, tl + cl + 3);
	free(buf);
	return r;
}

/* A simple command: sent, its responses read; 0 on OK. */
int
ims_simple(struct imap *s, const char *cmd, const char *what,
    enum imap_errclass dflt, int (*fn)(struct imap *, void *), void *arg)
{
	ims_deadline_start(s, 0);
	if (ims_send(s, cmd, NULL) == -1 || ims_wait(s, what, fn, arg) == -1)
		return -1;
	if (s->resp.status != IMAP_S_OK)
		return ims_refused(s, what, dflt);
	return 0;
}

/* ---- connection, greeting, capabilities ----------------------------- */

int
ims_capability(struct imap *s)
{
	memset(&s->caps, 0, sizeof s->caps);
	s->got_caps = 0;
	if (ims_simple(s, "CAPABILITY", "CAPABILITY", IMAP_E_PROTO, NULL,
	    NULL) == -1)
		return -1;
	if (!s->got_caps)
		return ims_fail(s, IMAP_E_PROTO, "CAPABILITY: no capability "
		    "list in the answer");
	return 0;
}

static int
imap_starttls(struct imap *s)
{
	if (ims_simple(s, "STARTTLS", "STARTTLS", IMAP_E_TLS, NULL,
	    NULL) == -1) {
		if (s->eclass == IMAP_E_PROTO)
			s->eclass = IMAP_E_TLS;
		return -1;
	}
	/* Anything already buffered was sent in clear: injection. */
	if (conn_pending(s->c) != 0)
		return ims_fail(s, IMAP_E_TLS, "server sent data after its "
		    "STARTTLS answer (response injection); aborting");
	if (conn_starttls(s->c, s->o.host, &s->o.tlsopts) == -1)
		return ims_connfail(s, "TLS");
	/* RFC 9051 section 6.2.1: forget what was learnt in clear. */
	return ims_capability(s);
}

/* What follows the TCP connection: TLS, greeting, CAPABILITY, STARTTLS. */
static int
imap_start(struct imap *s)
{
	struct imap_resp	*r = &s->resp;
	char			 info[512];

	ims_deadline_start(s, 0);
	if (s->o.tls == IMAP_TLS_IMPLICIT &&
	    conn_starttls(s->c, s->o.host, &s->o.tlsopts) == -1)
		return ims_connfail(s, "TLS");
	if (ims_read(s, "greeting") == -1)
		return -1;
	if (r->kind != IMAP_K_UNTAGGED || (r->status != IMAP_S_OK &&
	    r->status != IMAP_S_PREAUTH && r->status != IMAP_S_BYE))
		return ims_fail(s, IMAP_E_PROTO, "greeting: not an IMAP "
		    "greeting");
	ims_resp_text(r, s->greeting);
	if (r->status == IMAP_S_BYE)
		return ims_refused(s, "greeting", IMAP_E_TEMP);
	if (r->code == IMAP_C_CAPABILITY && ims_set_caps(s, r->set,
	    r->setlen) == -1)
		return -1;
	if (r->status == IMAP_S_PREAUTH) {
		/*
		 * Authenticated already: STARTTLS is no longer allowed
		 * (RFC 9051 section 6.2.1), so in clear text this is the
		 * downgrade a man in the middle would make.
		 */
		if (!conn_is_tls(s->c) && !s->o.insecure_plaintext)
			return ims_fail(s, IMAP_E_TLS, "greeting: PREAUTH "
			    "in clear text makes STARTTLS impossible; "
			    "refusing to continue without TLS");
		s->preauth = 1;
	}
	if (!s->got_caps && ims_capability(s) == -1)
		return -1;
	if (!conn_is_tls(s->c) && !s->preauth) {
		if (s->caps.flags & IMAP_CAP_STARTTLS) {
			if (imap_starttls(s) == -1)
				return -1;
		} else if (!s->o.insecure_plaintext)
			return ims_fail(s, IMAP_E_TLS, "server does not "
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
		return ims_fail(s, IMAP_E_NET, "%s", err);
	return imap_start(s);
}

static int
connect_conn_do(struct imap *s, struct conn *c)
{
	s->c = c;
	return imap_start(s);
}

/* ---- mailboxes ------------------------------------------------------ */

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
	s->have_exists = 0;
	s->selected = 0;
	snprintf(cmd, sizeof cmd, "%s %s", read_only ? "EXAMINE" : "SELECT",
	    s->mbox);
	ims_deadline_start(s, 0);
	if (ims_send(s, cmd, NULL) == -1 ||
	    ims_wait(s, read_only ? "EXAMINE" : "SELECT", NULL, NULL) == -1)
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
		return ims_fail(s, IMAP_E_USAGE, "%s: mailbox name is not "
		    "valid UTF-8 or too long: %s", what, log_escape(folder,
		    strlen(folder), esc, sizeof esc));
	if ((x = select_once(s, read_only, mb)) == 0)
		goto selected;
	if (x == -1)
		return -1;
	if (read_only || !create || s->resp.status != IMAP_S_NO ||
	    ims_is_temp(&s->resp))
		return ims_refused(s, what, IMAP_E_REFUSED);
	ims_refused(s, what, IMAP_E_REFUSED);
	snprintf(saved, sizeof saved, "%s", s->err);
	scode = s->code;
	if (s->resp.code != IMAP_C_TRYCREATE &&
	    !code_is(&s->resp, "NONEXISTENT")) {
		/* No word that it is missing: LIST says whether it is. */
		snprintf(cmd, sizeof cmd, "LIST \"\" %s", s->mbox);
		if (ims_simple(s, cmd, "LIST", IMAP_E_REFUSED, list_resp,
		    &found) == -1)
			return -1;
		if (found) {
			ims_fail(s, IMAP_E_REFUSED, "%s", saved);
			s->code = scode;
			return -1;
		}
	}
	log_verbose("creating the mailbox");
	snprintf(cmd, sizeof cmd, "CREATE %s", s->mbox);
	if (ims_simple(s, cmd, "CREATE", IMAP_E_REFUSED, NULL, NULL) == -1)
		return -1;
	if ((x = select_once(s, 0, mb)) != 0)
		return x == 1 ? ims_refused(s, what, IMAP_E_REFUSED) : -1;
	mb->created = 1;
	s->eclass = IMAP_E_NONE;
	s->code = IMAP_C_NONE;
	s->err[0] = '\0';
selected:
	if (mb->uidvalidity == 0) {
		s->selected = 0;
		return ims_fail(s, IMAP_E_PROTO, "%s: the server sent no "
		    "UIDVALIDITY", what);
	}
	return 0;
}

/* ---- the end -------------------------------------------------------- */

static int
logout_do(struct imap *s)
{
	s->logout = 1;
	ims_deadline_start(s, 0);
	if (ims_send(s, "LOGOUT", NULL) == -1)
		return -1;
	if (ims_wait(s, "LOGOUT", NULL, NULL) == -1) {
		/* A server that hangs up after its BYE has done its part. */
		if (s->bye && s->eclass == IMAP_E_NET)
			return 0;
		return -1;
	}
	if (s->resp.status != IMAP_S_OK)
		return ims_refused(s, "LOGOUT", IMAP_E_PROTO);
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
		return ims_fail(s, IMAP_E_USAGE, "not connected");
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
	return api_end(s, ims_auth(s, mechname, user, secret));
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
	return api_end(s, ims_sizes(s, cb, arg));
}

int
imap_fetch(struct imap *s, const uint32_t *uids, size_t n,
    const struct imap_sink *k)
{
	if (api_begin(s, 1) == -1)
		return -1;
	return api_end(s, ims_fetch(s, uids, n, k));
}

int
imap_search(struct imap *s, const char *criteria, uint32_t *out,
    size_t max, size_t *count)
{
	if (api_begin(s, 1) == -1)
		return -1;
	return api_end(s, ims_search(s, criteria, out, max, count));
}

int
imap_append(struct imap *s, const struct imap_msg *m, size_t n,
    struct imap_appended *r)
{
	if (api_begin(s, 1) == -1)
		return -1;
	return api_end(s, ims_append(s, m, n, r));
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

void
imap_set_max_msg_size(struct imap *s, uint64_t n)
{
	s->o.max_msg_size = n;
}

struct conn *
imap_conn(struct imap *s)
{
	return s->c;
}
