/*
 * imap_auth.c -- the login of the IMAP session (imap_auth() of imap.h):
 * LOGIN, each argument an atom, a quoted string or a literal (RFC 9051
 * section 6.2.3), or AUTHENTICATE with a SASL mechanism, its initial
 * response on the command line under SASL-IR (RFC 9051 section 6.2.2,
 * RFC 4959). It keeps the security rules of pop3.c: no credential
 * before TLS unless told otherwise, no LOGIN under LOGINDISABLED,
 * capabilities re-learnt after login. Every buffer that held a secret
 * is wiped, and -v shows "****" for it. SASL mechanisms live in sasl.c;
 * this file only carries their messages. Reading, sending and waiting
 * are imap.c's (imap_int.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "imap_int.h"
#include "log.h"
#include "sasl.h"
#include "util.h"

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
		return ims_set_caps(s, s->resp.set, s->resp.setlen);
	if (s->got_caps)
		return 0;
	return ims_capability(s);
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
		r = ims_connfail(s, "AUTHENTICATE");
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
	char			 what[64], cmd[72], esc[IMAP_TEXT_MAX];
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
			return ims_fail(s, IMAP_E_USAGE, "%s: %s", what,
			    sasl_error(sa));
	}
	ims_deadline_start(s, 0);
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
		w = ims_send(s, line, cmd);
		explicit_bzero(line, ml + 1 + (n ? n : 1));
		free(line);
		sasl_resp_free(ir);
		ir = NULL;
		if (w == -1)
			return -1;
	} else if (ims_send(s, what, NULL) == -1)
		goto out;
	s->mask_cont = 1;
	for (;;) {
		ims_deadline_start(s, 0);
		if (ims_read(s, what) == -1)
			goto out;
		if (r->kind == IMAP_K_UNTAGGED) {
			if (ims_untagged(s, what) == -1)
				goto out;
			continue;
		}
		if (r->kind == IMAP_K_TAGGED) {
			if (!ims_tag_is(r, s->tag)) {
				ims_fail(s, IMAP_E_PROTO, "%s: answer to a "
				    "command not sent", what);
				goto out;
			}
			break;
		}
		/* A challenge. */
		if (cancelled) {
			ims_fail(s, IMAP_E_PROTO, "%s: challenge after the "
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
			ims_fail(s, IMAP_E_PROTO, "%s: %s; server accepted the "
			    "cancelled exchange", what, cancel_why);
		else
			ims_fail(s, cancel_ec, "%s: %s; cancelled", what,
			    cancel_why);
		goto out;
	}
	if (r->status != IMAP_S_OK) {
		if (rc == SASL_REJECTED && !ims_is_temp(r) &&
		    r->status == IMAP_S_NO) {
			ims_fail(s, IMAP_E_AUTH, "%s: server said: %s (%s)",
			    what, ims_resp_text(r, esc), sasl_error(sa));
			s->code = r->code;
		} else
			ims_refused(s, what, IMAP_E_AUTH);
		goto out;
	}
	/*
	 * OK before the mechanism finished: for SCRAM the server has not
	 * proved it knows the password, so we do not accept it either.
	 */
	if (rc != SASL_DONE || pending) {
		ims_fail(s, IMAP_E_AUTH, "%s: server accepted before the "
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
 * The LOGIN command (RFC 9051 section 6.2.3), never in clear text. Each
 * argument goes as an atom or a quoted string, or, with 8-bit bytes,
 * as a literal: "{N+}" under LITERAL+ (or LITERAL- up to 4096 octets),
 * else "{N}" and the "+" awaited before its octets. Every buffer that
 * held the password is wiped; -v shows "****" for it.
 */
static int
imap_login(struct imap *s, const char *user, const char *pass)
{
	const char	*arg[2] = { user, pass };
	char		 logl[1100], *line;
	size_t		 n = 0, len[2], cap, q;
	int		 k, plus, r = -1, sent = 0, c;

	if (s->caps.flags & IMAP_CAP_LOGINDISABLED)
		return ims_fail(s, IMAP_E_USAGE, "LOGIN: the server does "
		    "not allow LOGIN (LOGINDISABLED)");
	for (k = 0; k < 2; k++) {
		len[k] = strlen(arg[k]);
		if (len[k] > 1000 || strpbrk(arg[k], "\r\n") != NULL)
			return ims_fail(s, IMAP_E_USAGE, "LOGIN: user name or "
			    "password too long or with a line break");
	}
	snprintf(logl, sizeof logl, "LOGIN %s ****",
	    imap_astring_kind(user, len[0]) == IMAP_AS_ATOM ? user : "...");
	/* "LOGIN", then per argument " " and at most 2n+2 or n+24. */
	cap = 6 + 2 * (1 + 2 * 1000 + 26);
	line = xmalloc(cap);
	memcpy(line, "LOGIN", 5);
	n = 5;
	ims_deadline_start(s, 0);
	s->got_caps = 0;
	for (k = 0; k < 2; k++) {
		line[n++] = ' ';
		if (imap_astring_kind(arg[k], len[k]) != IMAP_AS_LITERAL) {
			if (imap_quote(arg[k], len[k], line + n, cap - n,
			    &q) == -1) {
				ims_fail(s, IMAP_E_USAGE, "LOGIN: cannot "
				    "quote the arguments");
				goto out;
			}
			n += q;
			continue;
		}
		plus = (s->caps.flags & IMAP_CAP_LITERALPLUS) ||
		    ((s->caps.flags & IMAP_CAP_LITERALMINUS) &&
		    len[k] <= IMAP_LITMINUS_MAX);
		n += (size_t)snprintf(line + n, cap - n, "{%zu%s}", len[k],
		    plus ? "+" : "");
		if (!plus) {
			/* Up to here now; the octets after the "+". */
			line[n] = '\0';
			if ((sent ? send_secret_line(s, line, n) :
			    ims_send(s, line, logl)) == -1)
				goto out;
			sent = 1;
			if ((c = ims_wait_cont(s, "LOGIN")) != 1) {
				if (c == 0)
					ims_refused(s, "LOGIN", IMAP_E_AUTH);
				goto out;
			}
			n = 0;
		} else {
			memcpy(line + n, "\r\n", 2);
			n += 2;
		}
		memcpy(line + n, arg[k], len[k]);
		n += len[k];
	}
	line[n] = '\0';
	if ((sent ? send_secret_line(s, line, n) : ims_send(s, line,
	    logl)) == -1 || ims_wait(s, "LOGIN", NULL, NULL) == -1)
		goto out;
	if (s->resp.status != IMAP_S_OK) {
		ims_refused(s, "LOGIN", IMAP_E_AUTH);
		goto out;
	}
	r = after_login(s);
	wipe_reader(s);
out:
	explicit_bzero(line, cap);
	free(line);
	return r;
}

int
ims_auth(struct imap *s, const char *mechname, const char *user,
    const char *secret)
{
	struct sasl	*sa;
	unsigned	 offered = 0;
	int		 m, r;

	if (s->preauth)
		return 0;
	if (!conn_is_tls(s->c) && !s->o.insecure_plaintext)
		return ims_fail(s, IMAP_E_USAGE, "refusing to send "
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
		return ims_fail(s, IMAP_E_USAGE, "unknown SASL mechanism");
	else if (!(s->caps.auth & auth_flag(m)))
		return ims_fail(s, IMAP_E_USAGE, "the server does not offer "
		    "AUTH=%s", sasl_mech_name(m));
	sa = sasl_new(m, user, secret, NULL);
	if (s->o.host != NULL && s->o.port != NULL)
		sasl_set_host(sa, s->o.host, s->o.port);
	if (sasl_error(sa) != NULL) {
		r = ims_fail(s, IMAP_E_USAGE, "%s: %s", sasl_mech_name(m),
		    sasl_error(sa));
		sasl_free(sa);
		return r;
	}
	r = auth_exchange(s, sa, sasl_mech_name(m));
	sasl_free(sa);
	return r;
}
