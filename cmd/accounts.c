/*
 * accounts.c -- fetch and prune for the accounts of the config file.
 *
 * Each account's run options are built in three layers: the built-in
 * defaults (those of a URL run), then the config file ([defaults], then
 * the account's section), then the options given on the command line.
 * Passwords are all obtained first, in the parent, one account after the
 * other (a prompt cannot be shared by parallel runs); then up to N
 * accounts run at once, each in a child process with its own
 * connection, all writing one index (WAL, busy timeout) and each
 * holding its account's lock. A child never outlives its parent: killed
 * with it (PR_SET_PDEATHSIG), it leaves what any kill -9 leaves, which
 * the commit protocol and the next run's recovery handle.
 */
#include <sys/mman.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "cmd.h"
#include "config.h"
#include "format.h"
#include "log.h"
#include "progress.h"
#include "report.h"
#include "secret.h"
#include "util.h"

struct job {
	const struct config_account	*a;
	struct run_opts			 o;
	char				 port[8];
	char				*pass;
	pid_t				 pid;
	int				 code;
};

static const char *const auth_names[] = {
	[CONFIG_AUTH_AUTO] = "auto",
	[CONFIG_AUTH_PLAIN] = "PLAIN",
	[CONFIG_AUTH_LOGIN] = "LOGIN",
	[CONFIG_AUTH_CRAM_MD5] = "CRAM-MD5",
	[CONFIG_AUTH_SCRAM_SHA_1] = "SCRAM-SHA-1",
	[CONFIG_AUTH_SCRAM_SHA_256] = "SCRAM-SHA-256",
	[CONFIG_AUTH_XOAUTH2] = "XOAUTH2",
	[CONFIG_AUTH_OAUTHBEARER] = "OAUTHBEARER",
};

/* The config's values over the built-in defaults, then the CLI's. */
static int
build(struct job *j, const struct config *cfg, const struct run_opts *cli,
    unsigned given)
{
	const struct config_account	*a = j->a;
	struct run_opts			*o = &j->o;

	*o = *cli;
	o->account = a->name;
	o->pop3.host = a->host;
	o->user = a->user;
	o->pop3.tls = CONFIG_ISSET(a, CONFIG_K_TLS) ? a->tls :
	    POP3_TLS_IMPLICIT;
	snprintf(j->port, sizeof j->port, "%u", CONFIG_ISSET(a,
	    CONFIG_K_PORT) ? a->port : o->pop3.tls == POP3_TLS_IMPLICIT ?
	    995 : 110);
	o->pop3.port = j->port;
	if (CONFIG_ISSET(a, CONFIG_K_AUTH)) {
		o->sasl = NULL;
		if (a->auth == CONFIG_AUTH_USER)
			o->auth = POP3_AUTH_USER;
		else if (a->auth == CONFIG_AUTH_APOP)
			o->auth = POP3_AUTH_APOP;
		else
			o->sasl = auth_names[a->auth];
	}
	if (CONFIG_ISSET(a, CONFIG_K_TLS_CA))
		o->pop3.tlsopts.ca_file = a->tls_ca;
	if (CONFIG_ISSET(a, CONFIG_K_TLS_FINGERPRINT))
		o->pop3.tlsopts.fingerprint = a->tls_fingerprint;
	if (CONFIG_ISSET(a, CONFIG_K_INSECURE_PLAINTEXT))
		o->pop3.insecure_plaintext = a->insecure_plaintext;
	if (CONFIG_ISSET(a, CONFIG_K_FORMAT))
		o->format = a->format;
	if (CONFIG_ISSET(a, CONFIG_K_COMPRESS))
		o->compress = a->compress;
	if (CONFIG_ISSET(a, CONFIG_K_DELETE)) {
		o->del = a->del;
		o->older_than = a->older_than;
	}
	if (CONFIG_ISSET(a, CONFIG_K_AGE_BY))
		o->age_by_date = a->age_by_date;
	if (CONFIG_ISSET(a, CONFIG_K_MAX_DELETES))
		o->max_deletes = a->max_deletes;
	if (CONFIG_ISSET(a, CONFIG_K_MAX_MESSAGE_SIZE))
		o->pop3.max_msg_size = a->max_message_size;
	if (CONFIG_ISSET(a, CONFIG_K_TIMEOUT))
		o->pop3.timeout_ms = o->pop3.connect_timeout_ms =
		    (int)a->timeout * 1000;
	if (CONFIG_ISSET(a, CONFIG_K_VAULT))
		o->vault = a->vault;
	if (CONFIG_ISSET(a, CONFIG_K_BATCH))
		o->batch_msgs = a->batch;
	if (CONFIG_ISSET(&cfg->defaults, CONFIG_K_DEDUP))
		o->dedup = cfg->dedup == CONFIG_DEDUP_ACCOUNT ?
		    RUN_DEDUP_ACCOUNT : cfg->dedup == CONFIG_DEDUP_NONE ?
		    RUN_DEDUP_NONE : RUN_DEDUP_VAULT;
	/* The command line wins. */
	if (GIVEN(given, O_VAULT))
		o->vault = cli->vault;
	if (GIVEN(given, O_FORMAT))
		o->format = cli->format;
	if (GIVEN(given, O_COMPRESS))
		o->compress = cli->compress;
	if (GIVEN(given, O_DELETE)) {
		o->del = cli->del;
		o->older_than = cli->older_than;
	}
	if (GIVEN(given, O_AGEBY))
		o->age_by_date = cli->age_by_date;
	if (GIVEN(given, O_MAXDEL))
		o->max_deletes = cli->max_deletes;
	if (GIVEN(given, O_ACCTCHG))
		o->identity = cli->identity;
	if (GIVEN(given, O_AUTH)) {
		o->auth = cli->auth;
		o->sasl = cli->sasl;
	}
	if (GIVEN(given, O_TLSCA))
		o->pop3.tlsopts.ca_file = cli->pop3.tlsopts.ca_file;
	if (GIVEN(given, O_TLSFP))
		o->pop3.tlsopts.fingerprint = cli->pop3.tlsopts.fingerprint;
	if (GIVEN(given, O_INSECURE))
		o->pop3.insecure_plaintext = 1;
	if (GIVEN(given, O_TIMEOUT)) {
		o->pop3.timeout_ms = cli->pop3.timeout_ms;
		o->pop3.connect_timeout_ms = cli->pop3.connect_timeout_ms;
	}
	if (GIVEN(given, O_MAXSIZE))
		o->pop3.max_msg_size = cli->pop3.max_msg_size;
	if (GIVEN(given, O_BATCH))
		o->batch_msgs = cli->batch_msgs;
	if (o->pop3.tls == POP3_TLS_NONE && !o->pop3.insecure_plaintext) {
		log_warnx("account %s: tls = none needs insecure_plaintext",
		    a->name);
		return -1;
	}
	if (!fmt_accepts(o->format, o->compress)) {
		log_warnx("account %s: compress = %s: the %s format takes %s",
		    a->name, fmt_comp_name(o->compress), o->format->name,
		    fmt_comp_list(o->format->comps));
		return -1;
	}
	if (o->mode == RUN_PRUNE && o->del == DEL_NEVER) {
		log_warnx("account %s: prune needs a delete policy", a->name);
		return -1;
	}
	return 0;
}

/*
 * The account's password. Pass 0 takes those from the environment, a
 * literal or netrc; pass 1 (after the environment variables are gone)
 * runs commands and prompts.
 */
static int
get_password(struct job *j, const struct run_opts *cli, unsigned given,
    int pass)
{
	const struct config_account	*a = j->a;
	struct secret_src		 src;
	char				 what[600], err[600];

	memset(&src, 0, sizeof src);
	/* The command line's timeout, if given, is already the default. */
	if (!GIVEN(given, O_PWTIMEOUT) &&
	    CONFIG_ISSET(a, CONFIG_K_PASSWORD_COMMAND_TIMEOUT))
		src.timeout = a->password_command_timeout;
	if (GIVEN(given, O_PWCMD))
		src.command = cli->password_command;
	else if (CONFIG_ISSET(a, CONFIG_K_OAUTH_COMMAND) && j->o.sasl != NULL &&
	    (strcmp(j->o.sasl, "XOAUTH2") == 0 ||
	    strcmp(j->o.sasl, "OAUTHBEARER") == 0))
		/* An OAuth 2.0 token instead of a password. */
		src.command = a->oauth_command;
	else {
		if (CONFIG_ISSET(a, CONFIG_K_PASSWORD_COMMAND))
			src.command = a->password_command;
		if (CONFIG_ISSET(a, CONFIG_K_PASSWORD))
			src.literal = a->password;
		if (CONFIG_ISSET(a, CONFIG_K_PASSWORD_ENV))
			src.env = a->password_env;
		if (CONFIG_ISSET(a, CONFIG_K_NETRC)) {
			src.netrc = a->netrc;
			src.host = a->host;
			src.login = a->user;
		}
	}
	if ((pass == 0) != (src.command == NULL && (src.env != NULL ||
	    src.literal != NULL || src.netrc != NULL)))
		return 0;
	snprintf(what, sizeof what, "%s (%s@%s)", a->name, a->user, a->host);
	if ((j->pass = secret_resolve(&src, what, err, sizeof err)) == NULL) {
		log_warnx("account %s: %s", a->name, err);
		return -1;
	}
	j->o.password = j->pass;
	return 0;
}

/*
 * Run one account in a child. Its figures go to st, in memory shared
 * with the parent, which draws the progress and writes the report.
 *
 * The child dies with its parent: SIGKILL when the parent goes, however
 * it goes (kill -9 included), so that no orphan keeps the account's lock
 * and makes the next run fail with "being archived by another popvault
 * process". SIGKILL, not SIGTERM: an orphan that finished its batch
 * first could still wait up to a deadline for a silent server, and
 * dying anywhere is what the commit protocol is built for (batch.c);
 * the next run's recovery resolves what it left. The parent is checked
 * after the request too, in case it died before the request was made.
 *
 * Its plan lines (--dry-run, --plan) go to the stdout it shares with
 * the parent and its siblings: line buffered (accounts_run()), so the
 * lines of parallel children do not cut into each other on a pipe, and
 * flushed before _exit(), which flushes nothing.
 */
static pid_t
start(struct job *j, struct run_stats *st)
{
	pid_t	pid, parent = getpid();
	int	code;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) != 0)
		return pid;
#ifdef __linux__
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		log_warn("prctl(PR_SET_PDEATHSIG)");
#endif
	if (getppid() != parent)
		_exit(EXIT_SOFTWARE);
	progress_watch(NULL, NULL, 0, 0);
	code = run_account(&j->o, st);
	if (fflush(stdout) == EOF && code == EXIT_OK)
		code = EXIT_IOERR;
	_exit(code);
}

/* Wait for a child; with a live display, redraw while waiting. */
static pid_t
wait_child(int *status)
{
	struct timespec	ts = { 0, 100 * 1000 * 1000 };
	pid_t		pid;

	if (progress_mode() != PROGRESS_TTY)
		return waitpid(-1, status, 0);
	for (;;) {
		if ((pid = waitpid(-1, status, WNOHANG)) != 0)
			return pid;
		progress_draw(0);
		if (nanosleep(&ts, NULL) == -1 && errno == EINTR) {
			errno = EINTR;
			return -1;
		}
	}
}

int
accounts_run(const struct run_opts *cli, unsigned given, const char *config,
    int jobs, char **names, int n, int json)
{
	struct config		 cfg;
	struct config_errors	 errs;
	struct job		*j;
	struct run_stats	*slots = MAP_FAILED;
	struct report_row	*rows = NULL;
	const char		**pnames = NULL;
	char			 path[4096];
	size_t			 i, nj = 0, running = 0, next = 0;
	int			 k, code = EXIT_OK, status, bad = 0, first = -1;
	int			 mixed = 0;
	pid_t			 pid;
	int64_t			 started = wall_now();

	if (config == NULL) {
		if (config_default_path(path, sizeof path) == -1) {
			log_warnx("no config file: give a URL or --config");
			return EXIT_USAGE;
		}
		config = path;
	}
	if (config_load(config, &cfg, &errs) == -1) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i].msg);
		config_errors_free(&errs);
		return EXIT_USAGE;
	}
	config_errors_free(&errs);
	/*
	 * Before anything is written to stdout (setvbuf's rule): one
	 * write(2) per line, so that the plan lines of parallel children
	 * reach a pipe or a file whole (start()).
	 */
	setvbuf(stdout, NULL, _IOLBF, 0);
	j = xcalloc(cfg.nacct ? cfg.nacct : 1, sizeof *j);
	for (k = 0; k < n; k++) {
		if (config_find(&cfg, names[k]) == NULL) {
			log_warnx("%s: no account %s", config, names[k]);
			bad = 1;
		}
	}
	for (i = 0; !bad && i < cfg.nacct; i++) {
		for (k = 0; k < n; k++)
			if (strcmp(cfg.acct[i].name, names[k]) == 0)
				break;
		if (n > 0 && k == n)
			continue;
		j[nj].a = &cfg.acct[i];
		if (build(&j[nj], &cfg, cli, given) == -1)
			bad = 1;
		nj++;
	}
	if (!bad && nj == 0) {
		log_warnx("%s: no accounts", config);
		bad = 1;
	}
	/*
	 * Every password first, in order: prompts are not shared. Those in
	 * the environment are taken and removed before any password command
	 * runs, so no child sees them.
	 */
	for (i = 0; !bad && i < nj; i++)
		if (get_password(&j[i], cli, given, 0) == -1)
			bad = 1;
	for (i = 0; i < nj; i++)
		if (CONFIG_ISSET(j[i].a, CONFIG_K_PASSWORD_ENV))
			secret_drop_env(j[i].a->password_env);
	for (i = 0; !bad && i < nj; i++)
		if (get_password(&j[i], cli, given, 1) == -1)
			bad = 1;
	if (bad) {
		code = EXIT_USAGE;
		goto out;
	}
	if (jobs == 0)
		jobs = CONFIG_ISSET(&cfg.defaults, CONFIG_K_JOBS) ?
		    (int)cfg.jobs : 1;
	/* The children's figures: shared, so the parent can show them. */
	if ((slots = mmap(NULL, nj * sizeof *slots, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED) {
		log_warn("mmap");
		code = EXIT_SOFTWARE;
		goto out;
	}
	rows = xcalloc(nj, sizeof *rows);
	pnames = xcalloc(nj, sizeof *pnames);
	for (i = 0; i < nj; i++) {
		pnames[i] = j[i].a->name;
		rows[i].name = j[i].a->name;
		rows[i].host = j[i].o.pop3.host;
		rows[i].user = j[i].o.user;
		rows[i].st = &slots[i];
	}
	progress_watch(slots, pnames, nj, 0);
	while (next < nj || running > 0) {
		while (next < nj && running < (size_t)jobs) {
			if ((j[next].pid = start(&j[next],
			    &slots[next])) == -1) {
				log_warn("fork");
				j[next].code = slots[next].code = EXIT_SOFTWARE;
				slots[next].phase = RUN_PH_DONE;
				progress_finish(next);
			} else
				running++;
			next++;
		}
		if (running == 0)
			continue;
		if ((pid = wait_child(&status)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("waitpid");
			break;
		}
		for (i = 0; i < next; i++)
			if (j[i].pid == pid) {
				j[i].code = WIFEXITED(status) ?
				    WEXITSTATUS(status) : EXIT_SOFTWARE;
				j[i].pid = 0;
				/* A child that died left no code. */
				slots[i].code = j[i].code;
				if (WIFSIGNALED(status)) {
					snprintf(slots[i].err,
					    sizeof slots[i].err, "killed by "
					    "signal %d (%s)", WTERMSIG(status),
					    strsignal(WTERMSIG(status)));
					log_warnx("account %s: %s",
					    j[i].a->name, slots[i].err);
				}
				slots[i].phase = RUN_PH_DONE;
				running--;
				progress_finish(i);
			}
	}
	progress_clear();
	for (i = 0; i < nj; i++) {
		if (first == -1)
			first = j[i].code;
		else if (j[i].code != first)
			mixed = 1;
	}
	code = mixed ? EXIT_PARTIAL : first;
	if (json) {
		report_json(stdout, rows, nj, cli->mode, started, code);
		if (fflush(stdout) == EOF && code == EXIT_OK)
			code = EXIT_IOERR;
	} else if (log_level() >= LOG_NORMAL) {
		if (nj == 1)
			report_block(stdout, rows[0].name, rows[0].st,
			    cli->mode);
		else
			report_table(stdout, rows, nj);
	}
out:
	if (slots != MAP_FAILED)
		munmap(slots, nj * sizeof *slots);
	free(rows);
	free(pnames);
	for (i = 0; i < nj; i++)
		secret_free(j[i].pass);
	free(j);
	config_free(&cfg);
	return code;
}
