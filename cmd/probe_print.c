/*
 * probe_print.c -- what "popvault probe" prints: the report, one
 * "Name: value" line per fact (server text escaped when it was kept,
 * see probe.c), and a popvault.conf(5) section to paste, built with
 * the key names of core/opt.c. The section never turns on
 * anything insecure: clear-text logins and pins stay commented out
 * unless the command line asked for them and they worked.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"
#include "pop3parse.h"
#include "probe.h"
#include "sasl.h"

/* The CAPA that counts: the one under TLS when there was TLS. */
static const struct probe_capa *
final_capa(const struct probe *pr)
{
	return pr->capa[1].seen ? &pr->capa[1] : &pr->capa[0];
}

static void
print_capa(FILE *out, const char *title, const struct probe_capa *c)
{
	size_t	i;

	fprintf(out, "%s:\n", title);
	if (!c->seen)
		fprintf(out, "  (not asked)\n");
	else if (c->refused)
		fprintf(out, "  -ERR: no CAPA (an RFC 1939 server: no "
		    "extensions known)\n");
	else if (c->n == 0)
		fprintf(out, "  (empty)\n");
	for (i = 0; i < c->n; i++)
		fprintf(out, "  %s\n", c->line[i]);
	if (c->dropped > 0)
		fprintf(out, "  (%zu more lines not shown)\n", c->dropped);
}

static void
print_cert(const struct probe *pr, FILE *out)
{
	const struct conn_cert	*ci = &pr->cert;
	char			 esc[sizeof ci->subject + 16];

	if (!pr->have_cert)
		return;
	if (ci->version[0] != '\0')
		fprintf(out, "TLS: %s, cipher %s\n", ci->version, ci->cipher);
	if (pr->tls_failed)
		fprintf(out, "Certificate: NOT trusted: %s\n",
		    pr->o.tlsopts.fingerprint == NULL &&
		    ci->chain_error[0] != '\0' ? ci->chain_error :
		    pr->tls_why[0] != '\0' ? pr->tls_why : pr->connect_why);
	else if (pr->o.tlsopts.fingerprint != NULL)
		fprintf(out, "Certificate: pinned: matches --tls-fingerprint "
		    "(chain and name not checked%s%s)\n",
		    ci->chain_error[0] ? "; the chain alone fails: " : "",
		    ci->chain_error);
	else
		fprintf(out, "Certificate: verified (chain and host name, "
		    "against %s)\n", pr->o.tlsopts.ca_file != NULL ?
		    pr->o.tlsopts.ca_file : "the system's CAs");
	/* OpenSSL escaped the names already; they are server data. */
	fprintf(out, "  Subject: %s\n", log_escape(ci->subject,
	    strlen(ci->subject), esc, sizeof esc));
	fprintf(out, "  Issuer: %s\n", log_escape(ci->issuer,
	    strlen(ci->issuer), esc, sizeof esc));
	fprintf(out, "  Valid from: %s\n", ci->not_before);
	fprintf(out, "  Valid until: %s\n", ci->not_after);
	if (ci->sha256[0] != '\0') {
		fprintf(out, "  Certificate SHA-256: sha256:%s\n", ci->sha256);
		fprintf(out, "  Public key SHA-256: sha256:%s\n",
		    ci->spki_sha256);
		fprintf(out, "  (--tls-fingerprint takes either; the public "
		    "key's stays valid across\n"
		    "  renewals that keep the key)\n");
	}
}

/* The mechanisms of the "SASL" CAPA line, as the server wrote them. */
static void
print_sasl(const struct probe *pr, FILE *out)
{
	const struct probe_capa	*c = final_capa(pr);
	const char		*l = NULL;
	size_t			 i;
	int			 m;

	for (i = 0; i < c->n && l == NULL; i++)
		if (strncasecmp(c->line[i], "SASL", 4) == 0 &&
		    (c->line[i][4] == ' ' || c->line[i][4] == '\0'))
			l = c->line[i] + 4;
	while (l != NULL && *l == ' ')
		l++;
	fprintf(out, "SASL mechanisms: %s\n", l != NULL && *l != '\0' ? l :
	    "none announced");
	if ((m = sasl_pick(pr->caps.sasl, 0)) != -1)
		fprintf(out, "  --auth auto would use %s\n",
		    sasl_mech_name((enum sasl_mech)m));
	else
		fprintf(out, "  --auth auto would use USER/PASS (no password "
		    "mechanism popvault knows)\n");
}

static const char *
announced(const struct probe *pr, unsigned flag)
{
	return (pr->caps.flags & flag) ? "announced" : "not announced";
}

static void
print_expire(const struct probe *pr, FILE *out)
{
	const struct pop3_caps	*c = &pr->caps;

	if (!(c->flags & POP3_CAP_EXPIRE))
		fprintf(out, "EXPIRE: not announced\n");
	else if (c->expire_days < 0)
		fprintf(out, "EXPIRE: NEVER (messages are kept until "
		    "deleted)\n");
	else if (c->expire_days == 0)
		fprintf(out, "EXPIRE: 0 (the server deletes messages once "
		    "retrieved: mail cannot be kept on it)\n");
	else
		fprintf(out, "EXPIRE: %d days (the server deletes retrieved "
		    "messages after that)\n", c->expire_days);
	if (!(c->flags & POP3_CAP_LOGIN_DELAY))
		fprintf(out, "LOGIN-DELAY: not announced\n");
	else
		fprintf(out, "LOGIN-DELAY: %d seconds (one login that often "
		    "at most)\n"
		    "  fetch records when the next login is allowed and skips "
		    "the account until\n"
		    "  then; login_delay = ignore is for a server that "
		    "announces it but does not\n"
		    "  enforce it (Courier announces LOGIN-DELAY 10 and does "
		    "not enforce it)\n", c->login_delay);
}

/*
 * UTF8 (RFC 6856): pop3.c sends it whenever CAPA offers it, once the
 * session is under TLS.
 */
static void
print_utf8(const struct probe *pr, FILE *out)
{
	if (!(pr->caps.flags & POP3_CAP_UTF8))
		fprintf(out, "UTF8: not announced\n");
	else if (!pr->connected)
		fprintf(out, "UTF8: announced (not sent: the session ended "
		    "before)\n");
	else if (pr->utf8_on)
		fprintf(out, "UTF8: announced, and accepted (popvault sends "
		    "UTF8 when offered)\n");
	else
		fprintf(out, "UTF8: announced, but refused (-v shows the "
		    "server's answer): messages\n"
		    "  with 8-bit headers may be served altered\n");
	if (pr->caps.flags & POP3_CAP_UTF8)
		fprintf(out, "  (Courier serves a notice instead of a message "
		    "with 8-bit headers to a client that does not send "
		    "UTF8)\n");
}

/* The UIDL scheme and the duplicates of the listing (probe_infer.c). */
static void
print_uidl(const struct probe *pr, FILE *out)
{
	const struct uidl_info	*ui = &pr->uidl;
	char			 esc[4 * POP3_UIDL_MAX + 8];

	switch (ui->scheme) {
	case UIDL_S_NONE:
		fprintf(out, "UIDL format: unknown (no messages)\n");
		return;
	case UIDL_S_DOVECOT:
		fprintf(out, "UIDL format: Dovecot's default %%08Xu%%08Xv "
		    "(UIDVALIDITY %u)\n"
		    "  (the message's IMAP UID, then the mailbox's "
		    "UIDVALIDITY, 8 hex digits each)\n", ui->uidvalidity);
		break;
	case UIDL_S_COURIER:
		fprintf(out, "UIDL format: Courier's UIDn-UIDVALIDITY");
		if (ui->uidvalidity != 0)
			fprintf(out, " (UIDVALIDITY %u)", ui->uidvalidity);
		fprintf(out, "\n");
		break;
	case UIDL_S_QPOPPER:
		fprintf(out, "UIDL format: MD5.TIME.N (GNU Mailutils, "
		    "Qpopper)\n"
		    "  (written into each message as an X-UIDL header; a "
		    "message that brings its\n"
		    "  own X-UIDL keeps it)\n");
		break;
	case UIDL_S_DECIMAL:
		fprintf(out, "UIDL format: decimal numbers\n");
		break;
	case UIDL_S_HEX16:
		fprintf(out, "UIDL format: 16 hex digits (as popa3d's)\n"
		    "  (popa3d's is half an MD5 of a few header lines: two "
		    "messages whose such\n"
		    "  lines are alike share one)\n");
		break;
	case UIDL_S_MD5:
		fprintf(out, "UIDL format: 32 hex digits (an MD5 digest, as "
		    "solid-pop3d's)\n"
		    "  (solid-pop3d's is of a few header lines: two messages "
		    "whose such lines are\n"
		    "  alike share one)\n");
		break;
	case UIDL_S_SHA1:
		fprintf(out, "UIDL format: 40 hex digits (a SHA-1 digest)\n"
		    "  (if it is of the headers, two messages whose headers "
		    "are alike share one)\n");
		break;
	case UIDL_S_OPAQUE:
		fprintf(out, "UIDL format: opaque (no scheme popvault knows; "
		    "it only compares them)\n");
		break;
	}
	if (ui->dup_uidls == 0)
		fprintf(out, "UIDL duplicates: none (%zu distinct UIDL%s)\n",
		    ui->distinct, ui->distinct == 1 ? "" : "s");
	else
		fprintf(out, "UIDL duplicates: %zu UIDL%s listed more than "
		    "once, for %zu messages (%zu distinct UIDLs for %zu "
		    "messages; the first: %s)\n"
		    "  (popvault archives every one of those messages, and "
		    "never deletes them)\n", ui->dup_uidls,
		    ui->dup_uidls == 1 ? "" : "s", ui->dup_msgs, ui->distinct,
		    ui->n, log_escape(ui->dup_first, strlen(ui->dup_first),
		    esc, sizeof esc));
}

/*
 * Gmail's listing is a window: probe lists once and never downloads,
 * so it can only say what the server looks like.
 */
static void
print_window(const struct probe *pr, FILE *out)
{
	if (!pr->gmail)
		return;
	fprintf(out, "Listing window: likely (the server looks like Gmail, "
	    "\"Gpop\")\n"
	    "  Gmail lists at most about 250 messages not yet downloaded "
	    "per session;\n"
	    "  fetch logs in again, up to max_sessions (default 100, "
	    "--max-sessions)\n"
	    "  sessions a run. probe never downloads (no RETR, no DELE), "
	    "so it cannot\n"
	    "  tell whether %s.\n", pr->listed ?
	    "this listing is the whole mailbox" : "a listing is the whole "
	    "mailbox");
}

static void
print_tried(const struct probe *pr, FILE *out)
{
	const char	*why = !pr->login ? "no login" : "login failed";

	if (!(pr->caps.flags & POP3_CAP_PIPELINING))
		fprintf(out, "PIPELINING: not announced (popvault sends one "
		    "command at a time)\n");
	else if (!pr->logged_in || (!pr->listed && !pr->pipe_tried))
		fprintf(out, "PIPELINING: announced (not tried: %s)\n",
		    pr->logged_in ? "listing failed" : why);
	else if (pr->pipe_ok)
		fprintf(out, "PIPELINING: works (%s in one write, every reply "
		    "in order)\n", pr->nmsg > 0 ? "UIDL, LIST and NOOP" :
		    "two NOOPs");
	else
		fprintf(out, "PIPELINING: announced but broken: %s\n",
		    pr->pipe_why);
	if (!pr->logged_in)
		fprintf(out, "UIDL: %s (not tried: %s)\n",
		    announced(pr, POP3_CAP_UIDL), why);
	else if (!pr->listed)
		fprintf(out, "UIDL: failed: %s\n", pr->uidl_why);
	else {
		fprintf(out, "UIDL: works (%zu message%s)\n", pr->nmsg,
		    pr->nmsg == 1 ? "" : "s");
		fprintf(out, "LIST: works (%zu message%s, %llu bytes)\n",
		    pr->nmsg, pr->nmsg == 1 ? "" : "s",
		    (unsigned long long)pr->total);
		print_uidl(pr, out);
	}
	print_window(pr, out);
}

void
probe_report(const struct probe *pr, FILE *out)
{
	const char	*ts;
	size_t		 tslen;
	char		 esc[POP3_STATUS_MAX + 8];

	fprintf(out, "Server: %s port %s, %s\n", pr->u.host, pr->u.port,
	    pr->o.tls == POP3_TLS_IMPLICIT ? "pop3s (TLS from the first "
	    "byte)" : pr->o.tls == POP3_TLS_STARTTLS ? "pop3 with STLS" :
	    "pop3 without TLS (--insecure-plaintext)");
	if (pr->greeting[0] == '\0' && !pr->connected) {
		fprintf(out, "Greeting: none received\n");
	} else {
		/* Kept raw by pop3.c: escape it here. */
		fprintf(out, "Greeting: +OK%s%s\n", pr->greeting[0] ? " " : "",
		    log_escape(pr->greeting, strlen(pr->greeting), esc,
		    sizeof esc));
		fprintf(out, "APOP: %s\n", pop3_apop_stamp(pr->greeting,
		    strlen(pr->greeting), &ts, &tslen) == 0 ? "possible "
		    "(timestamp in the greeting)" : "not offered");
	}
	print_cert(pr, out);
	if (pr->o.tls != POP3_TLS_IMPLICIT && pr->capa[0].seen)
		print_capa(out, pr->o.tls == POP3_TLS_NONE &&
		    !pr->capa[1].seen ? "CAPA (no TLS)" : "CAPA before TLS",
		    &pr->capa[0]);
	if (pr->capa[1].seen)
		print_capa(out, "CAPA after TLS", &pr->capa[1]);
	if (!pr->connected && !pr->no_stls)
		return;
	if (pr->no_stls)
		fprintf(out, "STLS: not offered: the server has no TLS on "
		    "this port; popvault logs in without TLS only with "
		    "--insecure-plaintext (popvault.conf: tls = none and "
		    "insecure_plaintext = yes)\n");
	else if (pr->o.tls == POP3_TLS_NONE)
		fprintf(out, "STLS: %s\n", pr->capa[1].seen ? "announced, "
		    "and used (--insecure-plaintext allows clear text only "
		    "without it)" : "not announced: the session went on in "
		    "clear text (--insecure-plaintext)");
	print_sasl(pr, out);
	fprintf(out, "USER: %s\n", announced(pr, POP3_CAP_USER));
	fprintf(out, "TOP: %s\n", announced(pr, POP3_CAP_TOP));
	fprintf(out, "RESP-CODES: %s\n", announced(pr, POP3_CAP_RESP_CODES));
	fprintf(out, "AUTH-RESP-CODE: %s\n",
	    announced(pr, POP3_CAP_AUTH_RESP_CODE));
	print_utf8(pr, out);
	print_expire(pr, out);
	if (pr->logged_in)
		fprintf(out, "Login: ok (%s)\n", pr->auth_used);
	else if (pr->login_why[0] != '\0')
		fprintf(out, "Login: failed (%s): %s\n", pr->auth_used,
		    pr->login_why);
	print_tried(pr, out);
}

/*
 * A value as popvault.conf(5) reads it back: quoted when it starts
 * with a double quote or a blank or ends with a blank. Returns -1 for
 * a value the file cannot hold (a control character other than tab).
 */
static int
conf_line(FILE *out, const char *prefix, const char *key, const char *v)
{
	size_t	n = strlen(v), i;
	int	quote;

	for (i = 0; i < n; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') ||
		    v[i] == 0x7f)
			return -1;
	quote = n > 0 && (v[0] == '"' || v[0] == ' ' || v[0] == '\t' ||
	    v[n - 1] == ' ' || v[n - 1] == '\t');
	fprintf(out, "%s%s = ", prefix, key);
	if (!quote) {
		fprintf(out, "%s\n", v);
		return 0;
	}
	fputc('"', out);
	for (i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\')
			fputc('\\', out);
		fputc(v[i], out);
	}
	fprintf(out, "\"\n");
	return 0;
}

/* An account name from the host: [A-Za-z0-9._@+-], 64 at most. */
static void
conf_name(const char *host, char *buf, size_t len)
{
	size_t	i;
	char	c;

	for (i = 0; host[i] != '\0' && i + 1 < len &&
	    i < CONFIG_NAME_MAX; i++) {
		c = host[i];
		buf[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("._@+-", c) != NULL) ?
		    c : '-';
	}
	buf[i] = '\0';
	if (i == 0)
		snprintf(buf, len, "server");
}

static void
lower(const char *s, char *buf, size_t len)
{
	size_t	i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a' :
		    s[i];
	buf[i] = '\0';
}

/*
 * auth: what worked with --login; else SCRAM when offered (the
 * password never crosses the wire, even inside TLS); else the default.
 */
static void
suggest_auth(const struct probe *pr, FILE *out)
{
	unsigned	sasl = pr->caps.sasl;
	char		name[32];
	int		m = -1;

	if (pr->logged_in && strncmp(pr->auth_used, "AUTH ", 5) == 0) {
		lower(pr->auth_used + 5, name, sizeof name);
		fprintf(out, "auth = %s\n", name);
		return;
	}
	if (pr->logged_in && pr->auth == POP3_AUTH_APOP) {
		fprintf(out, "auth = apop\n");
		return;
	}
	if (sasl & POP3_SASL_SCRAM_SHA_256)
		m = SASL_SCRAM_SHA_256;
	else if (sasl & POP3_SASL_SCRAM_SHA_1)
		m = SASL_SCRAM_SHA_1;
	if (m != -1) {
		lower(sasl_mech_name((enum sasl_mech)m), name, sizeof name);
		if (pr->logged_in)
			fprintf(out, "# USER/PASS worked; the server also "
			    "offers %s, which never sends the password:\n"
			    "# auth = %s\n", sasl_mech_name((enum sasl_mech)m),
			    name);
		else
			fprintf(out, "# Offered by the server, not tried (try "
			    "popvault probe --login --auth %s):\n"
			    "auth = %s\n", name, name);
		return;
	}
	if (sasl & (POP3_SASL_OAUTHBEARER | POP3_SASL_XOAUTH2))
		fprintf(out, "# The server offers OAuth 2.0: with a command "
		    "that prints an access token,\n# auth = %s\n"
		    "# oauth_command = ...\n", (sasl & POP3_SASL_OAUTHBEARER) ?
		    "oauthbearer" : "xoauth2");
	fprintf(out, "# auth = auto (the default: SCRAM-SHA-256, "
	    "SCRAM-SHA-1, PLAIN, LOGIN,\n# else USER and PASS, inside "
	    "TLS)\n");
}

static void
suggest_tls(const struct probe *pr, FILE *out)
{
	char	*ca;
	char	 path[PATH_MAX];

	if (pr->o.tlsopts.ca_file != NULL) {
		ca = realpath(pr->o.tlsopts.ca_file, path);
		if (ca == NULL || conf_line(out, "", "tls_ca", ca) == -1)
			fprintf(out, "# tls_ca = (the absolute path of %s)\n",
			    pr->o.tlsopts.ca_file);
	}
	if (pr->o.tlsopts.fingerprint != NULL && pr->connected)
		fprintf(out, "tls_fingerprint = sha256:%s\n",
		    pr->cert.spki_sha256[0] ? pr->cert.spki_sha256 :
		    pr->o.tlsopts.fingerprint);
	else if (pr->have_cert && pr->cert.spki_sha256[0] != '\0')
		fprintf(out, "# To pin this server's key instead of checking "
		    "the chain (update it when\n# the key changes):\n"
		    "# tls_fingerprint = sha256:%s\n", pr->cert.spki_sha256);
}

void
probe_suggest(const struct probe *pr, FILE *out)
{
	char	name[CONFIG_NAME_MAX + 1];

	conf_name(pr->u.host, name, sizeof name);
	fprintf(out, "Suggested configuration:\n"
	    "# A popvault.conf(5) section. Add a password source\n"
	    "# (password_command, netrc, password_env), or popvault takes\n"
	    "# $POPVAULT_PASSWORD or asks.\n"
	    "[account %s]\n"
	    "host = %s\n"
	    "port = %s\n", name, pr->u.host, pr->u.port);
	if (pr->o.tls == POP3_TLS_IMPLICIT)
		fprintf(out, "tls = implicit\n");
	else if (pr->no_stls || (pr->o.tls == POP3_TLS_NONE &&
	    !pr->capa[1].seen)) {
		fprintf(out, "tls = starttls\n"
		    "# The server offers no STLS: with tls = starttls "
		    "popvault stops before\n"
		    "# logging in. Only on a network you trust, send the "
		    "password in clear\n"
		    "# (--insecure-plaintext on the command line):\n"
		    "# tls = none\n"
		    "# insecure_plaintext = yes\n");
	} else
		fprintf(out, "# pop3s (tls = implicit, port 995) is better "
		    "if the server has it (RFC 8314)\n"
		    "tls = starttls\n");
	if (!pr->have_user || conf_line(out, "", "user", pr->u.user) == -1)
		fprintf(out, "# The login name (not in the URL):\n"
		    "user = USER\n");
	suggest_auth(pr, out);
	fprintf(out, "# password_command = pass show mail/%s\n", name);
	suggest_tls(pr, out);
	if (pr->timeout_s > 0)
		fprintf(out, "timeout = %d\n", pr->timeout_s);
	if ((pr->caps.flags & POP3_CAP_EXPIRE) && pr->caps.expire_days == 0)
		fprintf(out, "# EXPIRE 0: the server deletes every message "
		    "once retrieved, whatever\n# popvault asks: mail cannot "
		    "be kept on it.\n");
	else if ((pr->caps.flags & POP3_CAP_EXPIRE) &&
	    pr->caps.expire_days > 0)
		fprintf(out, "# EXPIRE %d: the server deletes retrieved "
		    "messages after %d days.\n", pr->caps.expire_days,
		    pr->caps.expire_days);
	if ((pr->caps.flags & POP3_CAP_LOGIN_DELAY) &&
	    pr->caps.login_delay > 0)
		fprintf(out, "# LOGIN-DELAY %d: fetch skips this account for "
		    "%d seconds after a login.\n"
		    "# If the server announces it but does not enforce it "
		    "(Courier):\n"
		    "# login_delay = ignore\n", pr->caps.login_delay,
		    pr->caps.login_delay);
	if (pr->gmail)
		fprintf(out, "# Gmail lists about 250 messages a session; "
		    "fetch logs in again, at most:\n"
		    "# max_sessions = 100\n");
	fprintf(out, "# delete = never (the default: mail stays on the "
	    "server; or verified,\n# or older-than=30d)\n");
}
