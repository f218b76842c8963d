/*
 * source_pop3.c -- the POP3 server as a message source (source.h), over
 * the client of pop3.c: the password asked before connecting, login as
 * fetch does it (also probe's), UIDL and LIST, pipelined RETR, DELE,
 * and QUIT as the commit (RFC 1939: DELE takes effect only when QUIT's
 * +OK enters the UPDATE state).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "progress.h"
#include "sasl.h"
#include "secret.h"
#include "source.h"
#include "util.h"

struct source_pop3 {
	struct source		 src;
	struct source_pop3_args	 a;
	struct pop3		*p;
	char			*pass;		/* from connect to login */
	size_t			 marked;	/* DELE answered +OK */
	unsigned		 sessions;	/* connects so far */
};

enum fail_reason
source_pop3_reason(enum pop3_errclass ec)
{
	switch (ec) {
	case POP3_E_TIMEOUT:
		return FAIL_R_TIMEOUT;
	case POP3_E_TEMP:
		return FAIL_R_TEMP;
	case POP3_E_AUTH:
		return FAIL_R_AUTH;
	case POP3_E_TLS:
		return FAIL_R_TLS;
	case POP3_E_PROTO:
		return FAIL_R_PROTO;
	case POP3_E_LOCAL:
		return FAIL_R_IO;
	case POP3_E_INTR:
		return FAIL_R_SIGNAL;
	case POP3_E_USAGE:
		return FAIL_R_USAGE;
	case POP3_E_NET:
	default:
		return FAIL_R_NET;
	}
}

/* The session's failure as the source's. */
static int
sp_fail(struct source_pop3 *sp)
{
	enum pop3_errclass	ec = pop3_errclass(sp->p);

	return source_fail(&sp->src, ec == POP3_E_LOCAL ? FAIL_RUN :
	    FAIL_ACCOUNT, source_pop3_reason(ec), "%s", pop3_error(sp->p));
}

int
source_pop3_login(struct pop3 *p, const char *user, const char *pass,
    const char *sasl, enum pop3_auth auth, char *used, size_t usedlen)
{
	int	m;

	if (sasl == NULL || (strcmp(sasl, "auto") == 0 &&
	    sasl_pick(pop3_caps(p)->sasl, 0) == -1)) {
		if (used != NULL)
			snprintf(used, usedlen, "%s", sasl == NULL &&
			    auth == POP3_AUTH_APOP ? "APOP" : "USER/PASS");
		return pop3_login(p, user, pass, sasl != NULL ?
		    POP3_AUTH_USER : auth);
	}
	m = strcmp(sasl, "auto") == 0 ? sasl_pick(pop3_caps(p)->sasl, 0) :
	    sasl_mech_find(sasl);
	if (used != NULL)
		snprintf(used, usedlen, "AUTH %s",
		    m >= 0 ? sasl_mech_name((enum sasl_mech)m) : sasl);
	return pop3_auth(p, sasl, user, pass);
}

/* RFC 2449 EXPIRE contradicting keep-on-server is worth a warning. */
static void
expire_warning(struct source_pop3 *sp)
{
	const struct pop3_caps	*c = pop3_caps(sp->p);

	if (!(c->flags & POP3_CAP_EXPIRE) || !sp->a.keep)
		return;
	if (c->expire_days == 0)
		log_warnx("%s: the server announces EXPIRE 0: it deletes "
		    "messages once retrieved, whatever popvault asks; mail "
		    "cannot be kept on this server", sp->a.account);
	else if (c->expire_days > 0)
		log_info("%s: the server keeps retrieved messages for %d days "
		    "only (EXPIRE)", sp->a.account, c->expire_days);
}

/*
 * RFC 2449 LOGIN-DELAY: the server refuses logins closer together than
 * this. Said once per run (the first session), so that whoever
 * schedules popvault (cron) can space the runs; the run keeps to it
 * (run.c).
 */
static void
login_delay_note(struct source_pop3 *sp)
{
	const struct pop3_caps	*c = pop3_caps(sp->p);

	if ((c->flags & POP3_CAP_LOGIN_DELAY) && c->login_delay > 0 &&
	    sp->sessions == 1)
		log_info("%s: the server allows one login every %d seconds "
		    "(LOGIN-DELAY); schedule runs no closer together",
		    sp->a.account, c->login_delay);
}

/*
 * The session failed: the source's error. After a [LOGIN-DELAY] refusal
 * the server's words are said here, and the source's error says when to
 * come back (the run says it last, and the report keeps it).
 */
static int
sp_fail_login(struct source_pop3 *sp)
{
	const struct pop3_caps	*c = pop3_caps(sp->p);
	struct source		*s = &sp->src;

	sp_fail(sp);
	if (pop3_rcode(sp->p) != POP3_RC_LOGIN_DELAY)
		return -1;
	log_warnx("%s: %s", sp->a.account, pop3_error(sp->p));
	if (c->flags & POP3_CAP_LOGIN_DELAY)
		return source_fail(s, s->grade, s->reason, "logged in too "
		    "soon: the server allows one login every %d seconds "
		    "(LOGIN-DELAY); try again later", c->login_delay);
	return source_fail(s, s->grade, s->reason, "logged in too soon "
	    "(LOGIN-DELAY); try again later");
}

/* The password first: a prompt must not hold a server's session open. */
static int
sp_connect(struct source *s)
{
	struct source_pop3		*sp = (struct source_pop3 *)s;
	const struct source_pop3_args	*a = &sp->a;
	char				 err[600], what[600];

	/* The next session of the run: the same password, asked once. */
	pop3_free(sp->p);
	sp->p = NULL;
	sp->marked = 0;
	s->login_delay = -1;
	sp->sessions++;
	if (sp->pass != NULL)
		;
	else if (a->password != NULL)
		sp->pass = xstrdup(a->password);
	else {
		snprintf(what, sizeof what, "%s@%s", a->user, a->pop3->host);
		if ((sp->pass = secret_get(a->password_command, what, err,
		    sizeof err)) == NULL)
			return source_fail(s, FAIL_ACCOUNT, FAIL_R_USAGE, "%s",
			    err);
	}
	sp->p = pop3_new(a->pop3);
	/* The display shows the connection only once the prompt is done. */
	progress_tick();
	if (pop3_connect(sp->p) == -1)
		return sp_fail_login(sp);
	if (pop3_caps(sp->p)->flags & POP3_CAP_LOGIN_DELAY)
		s->login_delay = pop3_caps(sp->p)->login_delay;
	log_event("connect", "host=%s port=%s tls=%s",
	    log_event_value(a->pop3->host, strlen(a->pop3->host), err, 300),
	    a->pop3->port, conn_is_tls(pop3_conn(sp->p)) ? "yes" : "no");
	return 0;
}

static int
sp_login(struct source *s)
{
	struct source_pop3	*sp = (struct source_pop3 *)s;
	char			 val[600];
	int			 r;

	/* The password stays (wiped at close) for the run's next session. */
	r = source_pop3_login(sp->p, sp->a.user, sp->pass, sp->a.sasl,
	    sp->a.auth, NULL, 0);
	if (r == -1)
		return sp_fail_login(sp);
	log_event("login", "user=%s", log_event_value(sp->a.user,
	    strlen(sp->a.user), val, sizeof val));
	expire_warning(sp);
	login_delay_note(sp);
	return 0;
}

static int
sp_list(struct source *s, struct pop3_listing *l)
{
	struct source_pop3	*sp = (struct source_pop3 *)s;

	if (pop3_listing(sp->p, l) == -1)
		return sp_fail(sp);
	s->weak_ids = pop3_ids_by_top(sp->p);
	return 0;
}

/* struct pop3_sink has the same callbacks; idle is the wait hook. */
static int
sp_retrieve(struct source *s, const struct pop3_listing *l,
    const size_t *which, size_t n, const struct source_sink *sink)
{
	struct source_pop3	*sp = (struct source_pop3 *)s;
	struct pop3_sink	 ps;
	int			 r;

	ps.begin = sink->begin;
	ps.data = sink->data;
	ps.end = sink->end;
	ps.failed = sink->failed;
	ps.arg = sink->arg;
	if (sink->idle != NULL)
		conn_set_wait_hook(pop3_conn(sp->p), sink->idle, sink->arg);
	r = pop3_retrieve(sp->p, l, which, n, &ps);
	conn_set_wait_hook(pop3_conn(sp->p), NULL, NULL);
	return r == -1 ? sp_fail(sp) : 0;
}

static int
sp_head(struct source *s, const struct pop3_listing *l, const size_t *which,
    size_t n, const struct source_sink *sink)
{
	struct source_pop3	*sp = (struct source_pop3 *)s;
	struct pop3_sink	 ps;

	ps.begin = sink->begin;
	ps.data = sink->data;
	ps.end = sink->end;
	ps.failed = sink->failed;
	ps.arg = sink->arg;
	return pop3_top(sp->p, l, which, n, &ps) == -1 ? sp_fail(sp) : 0;
}

static size_t
sp_pending(struct source *s)
{
	struct source_pop3	*sp = (struct source_pop3 *)s;

	return conn_pending(pop3_conn(sp->p));
}

/* DELE, numbered from this session's listing. */
static int
sp_mark_delete(struct source *s, const struct pop3_listing *l, size_t i)
{
	struct source_pop3	*sp = (struct source_pop3 *)s;

	if (pop3_dele(sp->p, l->e[i].num) == 0) {
		sp->marked++;
		return 0;
	}
	/* -ERR: refused, the session goes on (pop3.h). */
	if (pop3_errclass(sp->p) == POP3_E_PROTO)
		return source_fail(s, FAIL_MESSAGE, FAIL_R_REFUSED, "%s",
		    pop3_error(sp->p));
	return sp_fail(sp);
}

/*
 * QUIT. After a DELE, in two steps: a crash after sending it and before
 * its answer is a case of the deletion protocol of its own.
 */
static int
sp_commit(struct source *s)
{
	struct source_pop3	*sp = (struct source_pop3 *)s;

	if (sp->marked == 0)
		return pop3_quit(sp->p) == -1 ? sp_fail(sp) : 0;
	if (pop3_quit_send(sp->p) == -1)
		return sp_fail(sp);
	crash_point("quit-sent");
	if (pop3_quit_reply(sp->p) == -1)
		return sp_fail(sp);
	return 0;
}

static void
sp_close(struct source *s)
{
	struct source_pop3	*sp = (struct source_pop3 *)s;

	secret_free(sp->pass);
	pop3_free(sp->p);
	free(sp);
}

static const struct source_ops source_pop3_ops = {
	.name = "pop3",
	.connect = sp_connect,
	.login = sp_login,
	.list = sp_list,
	.retrieve = sp_retrieve,
	.head = sp_head,
	.pending = sp_pending,
	.mark_delete = sp_mark_delete,
	.commit = sp_commit,
	.close = sp_close,
};

struct source *
source_pop3_new(const struct source_pop3_args *a)
{
	struct source_pop3	*sp;

	sp = xcalloc(1, sizeof *sp);
	sp->src.ops = &source_pop3_ops;
	sp->src.login_delay = -1;
	sp->a = *a;
	return &sp->src;
}
