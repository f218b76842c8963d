/*
 * account.c -- what "fetch" and "prune" share: their command line (the
 * options of opt.h), the run options built from the merged values, the
 * run of a URL, and its summary.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "cmd.h"
#include "config.h"
#include "conn.h"
#include "format.h"
#include "log.h"
#include "opt.h"
#include "progress.h"
#include "report.h"
#include "run.h"
#include "secret.h"
#include "stop.h"
#include "url.h"
#include "util.h"

void
account_usage(const char *cmd)
{
	int	fetch = strcmp(cmd, "fetch") == 0;

	if (fetch)
		printf("usage: popvault fetch [OPTIONS] URL\n"
		    "       popvault fetch [OPTIONS] [ACCOUNT...]\n"
		    "\n"
		    "Archive every message of the account not archived before,\n"
		    "verify what was written by reading it back, and (only if\n"
		    "asked) delete verified messages from the server. URL is\n"
		    "pop3s://USER@HOST[:PORT] (TLS from the start, port 995) or\n"
		    "pop3://USER@HOST[:PORT] (STLS required, port 110).\n"
		    "Without a URL, the named accounts of the config file (all\n"
		    "when none is named) are run.\n");
	else
		printf("usage: popvault prune --delete=POLICY [OPTIONS] URL\n"
		    "       popvault prune [OPTIONS] [ACCOUNT...]\n"
		    "\n"
		    "Apply a delete policy to the server without downloading:\n"
		    "only messages already archived and verified are deleted.\n");
	printf("\nOptions:\n");
	opt_help(stdout, fetch ? OPT_CMD_FETCH : OPT_CMD_PRUNE);
}

static void
on_signal(int sig);

void
account_signals(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void
on_signal(int sig)
{
	static volatile sig_atomic_t count;

	(void)sig;
	stop_request();
	/* A second signal stops blocked I/O too. */
	if (++count > 1)
		conn_interrupt();
}

int
account_build(struct account_opts *ao, enum run_mode mode, const char *name,
    int config)
{
	const struct opt_values	*v = &ao->v;
	struct run_opts		*o = &ao->o;
	char			 pre[CONFIG_NAME_MAX + 16];

	pre[0] = '\0';
	if (config)
		snprintf(pre, sizeof pre, "account %s: ", name);
	memset(o, 0, sizeof *o);
	o->mode = v->dry_run ? RUN_DRY : mode;
	o->del = v->del;
	o->older_than = v->older_than;
	o->age_by_date = v->age_by_date;
	o->max_deletes = v->max_deletes;
	o->max_sessions = (unsigned)v->max_sessions;
	o->ignore_login_delay = v->ignore_login_delay;
	o->remap = v->remap;
	if (v->vault == NULL)
		cmd_default_vault(ao->vault, sizeof ao->vault);
	o->vault = v->vault != NULL ? v->vault : ao->vault;
	o->account = name;
	o->format = v->format;
	o->compress = (enum fmt_compress)v->compress;
	opt_pop3(v, &o->pop3, ao->port);
	o->pop3.window = 32;
	o->user = v->user;
	opt_login(v, &o->auth, &o->sasl);
	o->password_command = v->password_command;
	o->dedup = v->dedup == OPT_DEDUP_ACCOUNT ? RUN_DEDUP_ACCOUNT :
	    v->dedup == OPT_DEDUP_NONE ? RUN_DEDUP_NONE : RUN_DEDUP_VAULT;
	o->identity = v->changed == OPT_CHANGED_MOVED ? RUN_ID_MOVED :
	    v->changed == OPT_CHANGED_NEW ? RUN_ID_NEW : RUN_ID_SAME;
	o->batch_msgs = (unsigned)v->batch;
	if (mode == RUN_PRUNE && o->del == DEL_NEVER) {
		if (config)
			log_warnx("%sprune needs a delete policy (--delete or "
			    "delete =)", pre);
		else
			log_warnx("prune needs --delete=verified or "
			    "--delete=older-than=DURATION");
		return -1;
	}
	if (o->pop3.tls == POP3_TLS_NONE && !o->pop3.insecure_plaintext) {
		log_warnx("%stls = none needs insecure_plaintext", pre);
		return -1;
	}
	if (!fmt_accepts(o->format, o->compress)) {
		log_warnx("%s%s %s: the %s format takes %s", pre,
		    config ? "compress =" : "--compress",
		    fmt_comp_name(o->compress), o->format->name,
		    fmt_comp_list(o->format->comps));
		return -1;
	}
	return 0;
}

int
account_main(int argc, char **argv, enum run_mode mode)
{
	struct opt_values	 cli;
	struct account_opts	*ao = NULL;
	struct run_stats	 st;
	struct url		 u;
	char			 err[600], account[600];
	const char		*name;
	int			 first, code, r;
	int64_t			 started = wall_now();
	struct report_row	 row;

	r = opt_parse_args(argc, argv, mode == RUN_PRUNE ? OPT_CMD_PRUNE :
	    OPT_CMD_FETCH, &cli, &first, err, sizeof err);
	if (r == -1)
		log_warnx("%s", err);
	if (r == -2)
		fprintf(stderr, "usage: popvault %s [OPTIONS] URL | "
		    "[ACCOUNT...]; see popvault %s --help\n", argv[0],
		    argv[0]);
	if (r != 0) {
		code = EXIT_USAGE;
		goto out;
	}
	if (cli.help) {
		account_usage(argv[0]);
		code = EXIT_OK;
		goto out;
	}
	log_init(cli.quiet ? LOG_QUIET : LOG_NORMAL + cli.verbose);
	progress_init(cli.quiet, cli.progress);
	if (cli.log != NULL && log_event_open(cli.log) == -1) {
		log_warn("--log %s", cli.log);
		code = EXIT_IOERR;
		goto out;
	}
	if (argc - first != 1 || strstr(argv[first], "://") == NULL) {
		/* Accounts by name from the config file (all if none). */
		account_signals();
		code = accounts_run(&cli, mode, argv + first, argc - first);
		goto out;
	}
	if (url_parse(argv[first], &u, err, sizeof err) == -1) {
		log_warnx("%s: %s", argv[first], err);
		code = EXIT_USAGE;
		goto out;
	}
	snprintf(account, sizeof account, "%s@%s:%s", u.user, u.host, u.port);
	/* The one merge, without a config file: built-in, command line. */
	ao = xcalloc(1, sizeof *ao);
	opt_defaults(&ao->v);
	opt_merge(&ao->v, &cli);
	opt_set_url(&ao->v, &u);
	if (account_build(ao, mode, account, 0) == -1) {
		code = EXIT_USAGE;
		goto out;
	}
	/* For the password command of this run. */
	secret_set_timeout((unsigned)ao->v.password_command_timeout);

	account_signals();

	name = account;
	progress_watch(&st, &name, 1, 1);
	code = run_account(&ao->o, &st);
	progress_finish(0);
	if (cli.json) {
		memset(&row, 0, sizeof row);
		row.name = account;
		row.host = u.host;
		row.user = u.user;
		row.st = &st;
		report_json(stdout, &row, 1, ao->o.mode, started, code);
		if (fflush(stdout) == EOF && code == EXIT_OK)
			code = EXIT_IOERR;
	} else if (log_level() >= LOG_NORMAL && (code == EXIT_OK ||
	    code == EXIT_PARTIAL || st.listed > 0))
		report_block(stdout, NULL, &st, ao->o.mode);
out:
	if (ao != NULL) {
		opt_free(&ao->v);
		free(ao);
	}
	opt_free(&cli);
	return code;
}
