/*
 * probe.c -- "popvault probe URL": what a POP3 server offers, as mpop
 * --serverinfo shows it. Connects as fetch would (same TLS rules, same
 * options), and shows the greeting, CAPA before and after TLS, the TLS
 * session and the certificate with the two fingerprints a pin may name,
 * SASL, EXPIRE, LOGIN-DELAY, PIPELINING, UIDL and UTF8 as announced,
 * whether UTF8 was accepted, and whether the server looks like Gmail
 * (whose listing is a window). With --login it also logs in as fetch
 * would and tries UIDL, LIST and pipelining for real, names the UIDL
 * scheme and counts duplicate UIDLs (probe_infer.c), then QUITs. It
 * never sends a command that changes the mailbox (no DELE, RETR, TOP,
 * RSET): so it cannot tell a Gmail window from the whole mailbox. It
 * ends with a popvault.conf(5) section to paste (probe_print.c).
 *
 * Everything the server sent is escaped before it is printed. A
 * certificate that fails verification is still shown (from the chain
 * the server sent), so the user can decide to pin it; nothing more is
 * sent on such a connection, and the exit status is fetch's (78).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "log.h"
#include "opt.h"
#include "pop3.h"
#include "probe.h"
#include "run.h"
#include "sasl.h"
#include "secret.h"
#include "source.h"
#include "url.h"
#include "util.h"

static void
probe_usage(void)
{
	printf("usage: popvault probe [OPTIONS] URL\n"
	    "\n"
	    "Show what a POP3 server offers, as mpop --serverinfo does: the\n"
	    "greeting, CAPA before and after TLS, the certificate and its\n"
	    "fingerprints, TLS version and cipher, SASL mechanisms, EXPIRE,\n"
	    "LOGIN-DELAY, PIPELINING, UIDL and UTF8; with --login, the\n"
	    "UIDL format and duplicate UIDLs; then a popvault.conf(5)\n"
	    "section to paste. URL is pop3s://[USER@]HOST[:PORT] (TLS from\n"
	    "the start) or pop3://[USER@]HOST[:PORT] (STLS required).\n"
	    "Nothing that changes the mailbox is ever sent.\n"
	    "\n"
	    "Options:\n");
	opt_help(stdout, OPT_CMD_PROBE);
}

/* Keep one CAPA line (escaped) of the clear-text or the TLS session. */
static void
capa_keep(void *arg, int tls, const char *line, size_t len)
{
	struct probe		*pr = arg;
	struct probe_capa	*c = &pr->capa[tls ? 1 : 0];
	char			 esc[256];

	c->seen = 1;
	if (line == NULL) {
		c->refused = 1;
		return;
	}
	if (c->n == PROBE_CAPA_MAX) {
		c->dropped++;
		return;
	}
	c->line[c->n++] = xstrdup(log_escape(line, len, esc, sizeof esc));
}

/*
 * Parse the URL. Without --login the user may be left out
 * (pop3s://HOST): a placeholder stands in for url_parse().
 */
static int
probe_url(struct probe *pr, const char *s)
{
	const char	*rest, *scheme_end;
	char		 err[256], *tmp;
	size_t		 alen, n;

	scheme_end = strstr(s, "://");
	rest = scheme_end != NULL ? scheme_end + 3 : s;
	alen = strcspn(rest, "/?#");
	if (scheme_end != NULL && memchr(rest, '@', alen) == NULL) {
		n = strlen(s) + 3;
		tmp = xmalloc(n);
		snprintf(tmp, n, "%.*sx@%s", (int)(rest - s), s, rest);
		if (url_parse(tmp, &pr->u, err, sizeof err) == -1) {
			log_warnx("%s: %s", s, err);
			free(tmp);
			return -1;
		}
		free(tmp);
		pr->u.user[0] = '\0';
		return 0;
	}
	if (url_parse(s, &pr->u, err, sizeof err) == -1) {
		log_warnx("%s: %s", s, err);
		return -1;
	}
	pr->have_user = 1;
	return 0;
}

/*
 * The command line, merged over the built-in defaults as fetch's is,
 * and the URL. Returns 0, 1 after --help, or -1 (said why).
 */
static int
probe_args(struct probe *pr, int argc, char **argv)
{
	struct opt_values	cli;
	char			err[600];
	int			first, r;

	r = opt_parse_args(argc, argv, OPT_CMD_PROBE, &cli, &first, err,
	    sizeof err);
	if (r == -1)
		log_warnx("%s", err);
	else if (r == -2 || cli.help || argc - first != 1) {
		probe_usage();
		r = cli.help && r == 0 ? 1 : -1;
	} else
		r = probe_url(pr, argv[first]);
	if (r != 0) {
		opt_free(&cli);
		return r;
	}
	opt_defaults(&pr->v);
	opt_merge(&pr->v, &cli);
	opt_set_url(&pr->v, &pr->u);
	pr->login = cli.login;
	pr->quiet = cli.quiet;
	pr->verbose = cli.verbose;
	pr->timeout_s = OPT_ISSET(&cli, OPT_TIMEOUT) ? (int)cli.timeout : 0;
	pr->password_command = pr->v.password_command;
	secret_set_timeout((unsigned)pr->v.password_command_timeout);
	opt_login(&pr->v, &pr->auth, &pr->sasl);
	opt_pop3(&pr->v, &pr->o, pr->port);
	if (pr->login && !pr->have_user) {
		log_warnx("--login needs a user: %s://USER@%s",
		    pr->u.implicit_tls ? "pop3s" : "pop3", pr->u.host);
		r = -1;
	} else if (!pr->login && (OPT_ISSET(&cli, OPT_PASSWORD_COMMAND) ||
	    OPT_ISSET(&cli, OPT_AUTH)))
		log_info("--password-command and --auth are used only with "
		    "--login");
	opt_free(&cli);
	return r;
}

/*
 * Pipelining (RFC 2449 section 6.6), tried only when announced: three
 * commands in one write whose answers are known from the listing
 * (UIDL n, LIST n of the first message, NOOP), or two NOOPs in an
 * empty mailbox; every reply must arrive, in order, and nothing more.
 * Returns 0 (the verdict in pr->pipe_*), or -1 when the session died.
 */
static int
probe_pipelining(struct probe *pr, struct pop3 *p,
    const struct pop3_listing *l)
{
	struct pop3_reply	 r[3];
	const char		*cmds[3];
	char			 c0[32], c1[32], esc[128];
	const char		*uid;
	size_t			 n, k, ulen;
	uint32_t		 num;
	uint64_t		 size;

	if (l->n > 0) {
		snprintf(c0, sizeof c0, "UIDL %u", l->e[0].num);
		snprintf(c1, sizeof c1, "LIST %u", l->e[0].num);
		cmds[0] = c0;
		cmds[1] = c1;
		cmds[2] = "NOOP";
		n = 3;
	} else {
		cmds[0] = cmds[1] = "NOOP";
		n = 2;
	}
	if (pop3_pipeline(p, cmds, n, r) == -1)
		return -1;
	pr->pipe_tried = 1;
	for (k = 0; k < n; k++)
		if (!r[k].ok) {
			snprintf(pr->pipe_why, sizeof pr->pipe_why,
			    "-ERR to pipelined %s: %s", cmds[k],
			    log_escape(r[k].text, r[k].len, esc, sizeof esc));
			return 0;
		}
	if (l->n > 0) {
		if (pop3_parse_uidl(r[0].text, r[0].len, &num, &uid,
		    &ulen) == -1 || num != l->e[0].num ||
		    ulen != l->e[0].uid_len ||
		    memcmp(uid, POP3_UID(l, 0), ulen) != 0) {
			snprintf(pr->pipe_why, sizeof pr->pipe_why,
			    "reply to UIDL %u out of order: %s", l->e[0].num,
			    log_escape(r[0].text, r[0].len, esc, sizeof esc));
			return 0;
		}
		if (pop3_parse_list(r[1].text, r[1].len, &num, &size) == -1 ||
		    num != l->e[0].num ||
		    POP3_SIZE_HINT(size) != l->e[0].size) {
			snprintf(pr->pipe_why, sizeof pr->pipe_why,
			    "reply to LIST %u out of order: %s", l->e[0].num,
			    log_escape(r[1].text, r[1].len, esc, sizeof esc));
			return 0;
		}
	}
	if (conn_unsolicited(pop3_conn(p))) {
		snprintf(pr->pipe_why, sizeof pr->pipe_why,
		    "more replies than commands");
		return 0;
	}
	pr->pipe_ok = 1;
	return 0;
}

/* Logged in: the listing, pipelining, QUIT. Returns an exit code. */
static int
probe_session(struct probe *pr, struct pop3 *p)
{
	struct pop3_listing	l;
	size_t			i;
	int			code = EXIT_OK;

	if (pop3_listing(p, &l) == -1) {
		snprintf(pr->uidl_why, sizeof pr->uidl_why, "%s",
		    pop3_error(p));
		pop3_listing_free(&l);
		return run_exit_of(pop3_errclass(p));
	}
	pr->listed = 1;
	pr->nmsg = l.n;
	probe_uidl_classify(&l, &pr->uidl);
	for (i = 0; i < l.n; i++)
		pr->total += l.e[i].size;
	if ((pop3_caps(p)->flags & POP3_CAP_PIPELINING) &&
	    probe_pipelining(pr, p, &l) == -1) {
		snprintf(pr->pipe_why, sizeof pr->pipe_why, "%s",
		    pop3_error(p));
		pr->pipe_tried = 1;
		pop3_listing_free(&l);
		return run_exit_of(pop3_errclass(p));
	}
	pop3_listing_free(&l);
	if (pr->pipe_tried && !pr->pipe_ok)
		code = EXIT_PROTOCOL;
	/* A broken pipeline leaves the session out of step: no QUIT. */
	if (code == EXIT_OK && pop3_quit(p) == -1) {
		log_warnx("%s: %s", pr->u.host, pop3_error(p));
		code = run_exit_of(pop3_errclass(p));
	}
	return code;
}

static void
probe_free(struct probe *pr)
{
	size_t	i, k;

	for (k = 0; k < 2; k++)
		for (i = 0; i < pr->capa[k].n; i++)
			free(pr->capa[k].line[i]);
	opt_free(&pr->v);
}

static int
probe_main(int argc, char **argv)
{
	struct probe	 pr;
	struct pop3	*p = NULL;
	char		 err[600], what[600], *pass = NULL;
	int		 code = EXIT_OK, r;

	memset(&pr, 0, sizeof pr);
	if ((r = probe_args(&pr, argc, argv)) != 0) {
		probe_free(&pr);
		return r == 1 ? EXIT_OK : EXIT_USAGE;
	}
	/* The same connection as fetch with the same URL and options. */
	pr.o.window = 1;
	/* probe never sends TOP or RETR: no naming by TOP here. */
	pr.o.uidl_by_top = 0;
	pr.o.capa_cb = capa_keep;
	pr.o.capa_arg = &pr;
	log_init(pr.quiet ? LOG_QUIET : LOG_NORMAL + pr.verbose);
	if (pr.login) {
		/* Before connecting, as fetch: a prompt must not stall a
		 * session that the server times out. */
		snprintf(what, sizeof what, "%s@%s", pr.u.user, pr.u.host);
		if ((pass = secret_get(pr.password_command, what, err,
		    sizeof err)) == NULL) {
			log_warnx("%s", err);
			probe_free(&pr);
			return EXIT_USAGE;
		}
	}
	p = pop3_new(&pr.o);
	if (pop3_connect(p) == -1) {
		code = run_exit_of(pop3_errclass(p));
		snprintf(pr.connect_why, sizeof pr.connect_why, "%s",
		    pop3_error(p));
		pr.tls_failed = pop3_errclass(p) == POP3_E_TLS;
		pr.no_stls = pop3_errclass(p) == POP3_E_TLS &&
		    pr.o.tls == POP3_TLS_STARTTLS && pr.capa[0].seen &&
		    pop3_conn(p) != NULL && !conn_is_tls(pop3_conn(p)) &&
		    !(pop3_caps(p)->flags & POP3_CAP_STLS);
	} else
		pr.connected = 1;
	if (pop3_conn(p) != NULL &&
	    conn_cert_info(pop3_conn(p), &pr.cert) == 0)
		pr.have_cert = 1;
	if (pr.tls_failed && pop3_conn(p) != NULL)
		snprintf(pr.tls_why, sizeof pr.tls_why, "%s",
		    conn_error(pop3_conn(p)));
	snprintf(pr.greeting, sizeof pr.greeting, "%s", pop3_greeting(p));
	pr.caps = *pop3_caps(p);
	pr.utf8_on = pop3_utf8_on(p);
	pr.gmail = probe_gmail_like(pr.greeting,
	    (const char *const *)pr.capa[0].line, pr.capa[0].n) ||
	    probe_gmail_like(NULL, (const char *const *)pr.capa[1].line,
	    pr.capa[1].n);
	if (pr.connected && pr.login) {
		if (source_pop3_login(p, pr.u.user, pass, pr.sasl, pr.auth,
		    pr.auth_used, sizeof pr.auth_used) == -1) {
			snprintf(pr.login_why, sizeof pr.login_why, "%s",
			    pop3_error(p));
			code = run_exit_of(pop3_errclass(p));
		} else {
			pr.logged_in = 1;
			code = probe_session(&pr, p);
		}
	}
	secret_free(pass);
	if (!pr.quiet)
		probe_report(&pr, stdout);
	if (pr.connected || pr.no_stls)
		probe_suggest(&pr, stdout);
	/* Errors after the report, in this order, when both are a pipe. */
	fflush(stdout);
	if (pr.connect_why[0] != '\0')
		log_warnx("%s: %s", pr.u.host, pr.connect_why);
	if (pr.have_cert && pr.tls_failed && pr.cert.spki_sha256[0] != '\0')
		log_warnx("if you trust this certificate (compare its "
		    "fingerprint with one obtained another way), pin it: "
		    "--tls-fingerprint sha256:%s", pr.cert.spki_sha256);
	if (pr.login_why[0] != '\0')
		log_warnx("%s: %s", pr.u.host, pr.login_why);
	if (pr.uidl_why[0] != '\0')
		log_warnx("%s: %s", pr.u.host, pr.uidl_why);
	else if (pr.pipe_tried && !pr.pipe_ok)
		log_warnx("%s: PIPELINING is announced but does not work: %s",
		    pr.u.host, pr.pipe_why);
	pop3_free(p);
	probe_free(&pr);
	return code;
}

const struct cmd cmd_probe = {
	.name = "probe",
	.summary = "show what a server offers; suggest a configuration",
	.usage = probe_usage,
	.run = probe_main,
};
