/*
 * export_to.c -- "popvault export --to URL|NAME": the upload of stored
 * messages to an IMAP mailbox (core/upload.c), its options, password
 * and report.
 *
 * The mailbox is a URL (imaps://USER@HOST[:PORT]/FOLDER) or the name of
 * a [destination NAME] section of the config file, whose keys the
 * command line overrides. The password comes as for fetch
 * (password_command, netrc, password, password_env, POPVAULT_PASSWORD,
 * a prompt), asked before anything goes on the wire.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "cmd.h"
#include "config.h"
#include "export_to.h"
#include "idx.h"
#include "log.h"
#include "opt.h"
#include "progress.h"
#include "report.h"
#include "sasl.h"
#include "secret.h"
#include "upload.h"
#include "url.h"
#include "util.h"

#define GMAIL_DAILY	(500ull * 1000 * 1000)	/* octets a day */
#define M365_RATE	2.0			/* messages a second */

/* The destination's values: its config section, the command line over. */
static int
dest_values(const struct opt_values *cli, struct opt_values *m)
{
	const struct config_account	*d;
	struct config			 cfg;
	struct config_errors		 errs;
	char				 path[PATH_MAX];
	size_t				 k;
	int				 r = 0;

	opt_init(m);
	if (strstr(cli->to, "://") != NULL) {
		opt_merge(m, cli);
		return 0;
	}
	if (cli->config != NULL)
		snprintf(path, sizeof path, "%s", cli->config);
	else if (config_default_path(path, sizeof path) == -1) {
		log_warnx("--to %s: no config file to find it in", cli->to);
		return -1;
	}
	if (config_load(path, &cfg, &errs) == -1) {
		for (k = 0; k < errs.n; k++)
			log_warnx("%s", errs.v[k].msg);
		config_errors_free(&errs);
		return -1;
	}
	config_errors_free(&errs);
	if ((d = config_find_dest(&cfg, cli->to)) == NULL) {
		log_warnx("--to %s: not a URL (imaps://USER@HOST/FOLDER), and "
		    "%s has no [destination %s]", cli->to, path, cli->to);
		r = -1;
	} else {
		opt_merge(m, &d->v);
		opt_merge(m, cli);
		/* The section's URL, not its name. */
		opt_clear(m, OPT_TO);
		m->to = xstrdup(d->v.to);
		m->set |= OPT_BIT(OPT_TO);
	}
	config_free(&cfg);
	return r;
}

static char *
get_secret(const struct opt_values *v, const struct url *u)
{
	struct secret_src	 src;
	char			 what[600], err[600], *pw;

	memset(&src, 0, sizeof src);
	src.timeout = OPT_ISSET(v, OPT_PASSWORD_COMMAND_TIMEOUT) ?
	    (unsigned)v->password_command_timeout : 0;
	opt_secret_src(v, u->host, u->user, &src);
	snprintf(what, sizeof what, "%s@%s (IMAP)", u->user, u->host);
	if ((pw = secret_resolve(&src, what, err, sizeof err)) == NULL)
		log_warnx("%s", err);
	if (src.env != NULL)
		secret_drop_env(src.env);
	return pw;
}

/* The --to options into uo; 0, or -1 after saying why. */
static int
limits(const struct opt_values *v, struct upload_opts *uo)
{
	char	*end;
	double	 r;

	if (OPT_ISSET(v, OPT_PROVIDER) && v->provider ==
	    UPLOAD_PROVIDER_GMAIL)
		uo->daily_bytes = GMAIL_DAILY;
	if (OPT_ISSET(v, OPT_PROVIDER) && v->provider ==
	    UPLOAD_PROVIDER_M365)
		uo->rate_msgs = M365_RATE;
	if (OPT_ISSET(v, OPT_RATE_MESSAGES)) {
		r = strtod(v->rate_messages, &end);
		if (*end != '\0' || !isfinite(r) || r <= 0 || r > 1e6) {
			log_warnx("--rate-messages %s: expected messages per "
			    "second, a positive number such as 2 or 0.5",
			    v->rate_messages);
			return -1;
		}
		uo->rate_msgs = r;
	}
	if (OPT_ISSET(v, OPT_RATE_BYTES))
		uo->rate_bytes = v->rate_bytes;
	if (OPT_ISSET(v, OPT_DAILY_BYTES))
		uo->daily_bytes = v->daily_bytes;
	uo->flags = "\\Seen";
	if (OPT_ISSET(v, OPT_IMAP_FLAGS))
		uo->flags = strcmp(v->imap_flags, "none") == 0 ? "" :
		    v->imap_flags;
	return 0;
}

static const char *
auth_name(const struct opt_values *v)
{
	if (!OPT_ISSET(v, OPT_AUTH) || v->auth == OPT_AUTH_AUTO)
		return "auto";
	if (v->auth == OPT_AUTH_USER)
		return "login";
	if (v->auth == OPT_AUTH_APOP)
		return NULL;
	return sasl_mech_name((enum sasl_mech)v->sasl_mech);
}

static void
up_report_text(const struct upload_stats *st, const char *url, int dry)
{
	printf("%-12s %s\n", "to", url);
	printf("%-12s %llu\n", "selected", (unsigned long long)st->selected);
	printf("%-12s %llu\n", "delivered", (unsigned long long)st->delivered);
	printf("%-12s %llu\n", dry ? "would send" : "sent",
	    (unsigned long long)st->sent);
	printf("%-12s %llu\n", "found", (unsigned long long)st->found);
	if (!dry) {
		printf("%-12s %llu\n", "proven",
		    (unsigned long long)st->proven);
		printf("%-12s %llu\n", "mismatch",
		    (unsigned long long)st->mismatch);
		if (st->inexact > 0)
			printf("%-12s %llu\n", "inexact",
			    (unsigned long long)st->inexact);
	}
	printf("%-12s %llu\n", "refused", (unsigned long long)st->refused);
	printf("%-12s %llu\n", "left", (unsigned long long)st->left);
	if (st->unsound > 0)
		printf("%-12s %llu\n", "unsound",
		    (unsigned long long)st->unsound);
	if (st->uidvalidity_changed)
		printf("%-12s %u (changed)\n", "uidvalidity",
		    st->uidvalidity);
	if (st->err[0] != '\0')
		printf("%-12s %s\n", "warning", st->err);
}

static void
up_report_json(const struct upload_stats *st, const char *url, int dry,
    int code)
{
	fputs("{\"command\":\"export\",\"to\":", stdout);
	report_json_str(stdout, url);
	printf(",\"dry_run\":%s,\"selected\":%llu,\"delivered\":%llu,"
	    "\"sent\":%llu,\"found\":%llu,\"proven\":%llu,\"mismatch\":%llu,"
	    "\"inexact\":%llu,\"refused\":%llu,\"left\":%llu,\"unsound\":%llu,\"bytes\":%llu,"
	    "\"uidvalidity\":%u,\"uidvalidity_changed\":%s,"
	    "\"created\":%s,\"exit\":%d,\"outcome\":", dry ? "true" : "false",
	    (unsigned long long)st->selected,
	    (unsigned long long)st->delivered, (unsigned long long)st->sent,
	    (unsigned long long)st->found, (unsigned long long)st->proven,
	    (unsigned long long)st->mismatch,
	    (unsigned long long)st->inexact, (unsigned long long)st->refused,
	    (unsigned long long)st->left,
	    (unsigned long long)st->unsound, (unsigned long long)st->bytes,
	    st->uidvalidity, st->uidvalidity_changed ? "true" : "false",
	    st->created ? "true" : "false", code);
	report_json_str(stdout, code == EXIT_OK ? "ok" :
	    code == EXIT_PARTIAL ? "partial" : "failed");
	fputs(",\"error\":", stdout);
	report_json_str(stdout, st->err);
	fputs("}\n", stdout);
}

int
export_to(const struct opt_values *cli, const char *vault)
{
	struct opt_values	 v;
	struct upload_opts	 uo;
	struct upload_stats	 st;
	struct idx_query	 q;
	struct url		 u;
	const char		**accts = NULL;
	const char		*nm[1] = { "upload" };
	char			 folder[1024], err[300], url[2400];
	char			*secret = NULL, *list = NULL, *p, *nl;
	size_t			 nacct = 0;
	int			 code = EXIT_USAGE;

	memset(&uo, 0, sizeof uo);
	memset(&st, 0, sizeof st);
	if (dest_values(cli, &v) == -1)
		goto out;
	if (url_parse_imap(v.to, &u, folder, sizeof folder, err,
	    sizeof err) == -1) {
		log_warnx("--to %s: %s", v.to, err);
		goto out;
	}
	if (limits(&v, &uo) == -1)
		goto out;
	if ((uo.mech = auth_name(&v)) == NULL) {
		log_warnx("--auth apop is for POP3; IMAP takes auto, user "
		    "(LOGIN) or a SASL mechanism");
		goto out;
	}
	if (upload_canon_url(u.implicit_tls, u.user, u.host, u.port, folder,
	    url, sizeof url) == -1) {
		log_warnx("--to %s: too long", v.to);
		goto out;
	}
	if (cli->accounts != NULL) {
		list = xstrdup(cli->accounts);
		accts = xcalloc(strlen(list) + 2, sizeof *accts);
		/* One name a line (OPT_T_LIST). */
		for (p = list; p != NULL && *p != '\0'; p = nl) {
			if ((nl = strchr(p, '\n')) != NULL)
				*nl++ = '\0';
			accts[nacct++] = p;
		}
	}
	memset(&q, 0, sizeof q);
	q.from = cli->from;
	q.subject = cli->subject;
	q.since = OPT_ISSET(cli, OPT_SINCE) ? cli->since : INT64_MIN;
	q.until = OPT_ISSET(cli, OPT_UNTIL) ? cli->until : INT64_MIN;
	q.message_id = cli->message_id;

	uo.vault = vault;
	uo.accounts = accts;
	uo.naccounts = nacct;
	uo.q = &q;
	uo.url = url;
	uo.folder = folder;
	uo.imap.host = u.host;
	uo.imap.port = u.port;
	uo.imap.tls = u.implicit_tls ? IMAP_TLS_IMPLICIT : IMAP_TLS_STARTTLS;
	uo.imap.tlsopts.ca_file = v.tls_ca;
	uo.imap.tlsopts.fingerprint = v.tls_fingerprint;
	uo.imap.insecure_plaintext = OPT_ISSET(&v, OPT_INSECURE_PLAINTEXT) &&
	    v.insecure_plaintext;
	uo.imap.timeout_ms = (int)(OPT_ISSET(&v, OPT_TIMEOUT) ? v.timeout :
	    60) * 1000;
	uo.imap.connect_timeout_ms = uo.imap.timeout_ms;
	uo.imap.max_msg_size = UINT64_MAX / 2;
	uo.user = u.user;
	uo.batch = OPT_ISSET(cli, OPT_BATCH) ? (unsigned)cli->batch : 0;
	uo.dry_run = cli->dry_run;
	if ((secret = get_secret(&v, &u)) == NULL) {
		code = EXIT_AUTH;
		goto out;
	}
	uo.secret = secret;

	account_signals();
	progress_init(cli->quiet || cli->json, cli->progress);
	progress_watch(&st.live, nm, 1, 1);
	code = upload_run(&uo, &st);
	progress_clear();
	if (st.unsound > 0) {
		log_warnx("%llu selected message%s left out: its only stored "
		    "copy failed verification (popvault verify --vault %s)",
		    (unsigned long long)st.unsound, st.unsound == 1 ? "" :
		    "s", vault);
		code = cmd_exit_worse(code, EXIT_PARTIAL);
	}
	if (cli->json)
		up_report_json(&st, url, uo.dry_run, code);
	else if (log_level() >= LOG_NORMAL)
		up_report_text(&st, url, uo.dry_run);
	if (fflush(stdout) == EOF && code == EXIT_OK)
		code = EXIT_IOERR;
out:
	secret_free(secret);
	free(accts);
	free(list);
	opt_free(&v);
	return code;
}
