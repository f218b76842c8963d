/*
 * accounts.c -- fetch and prune for the accounts of the config file.
 *
 * Each account's options are merged once, in four layers (opt_merge()):
 * the built-in defaults (those of a URL run), the config file's
 * [defaults], the account's section, and the command line.
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
#include "opt.h"
#include "report.h"
#include "secret.h"
#include "util.h"

struct job {
	const struct config_account	*a;
	struct account_opts		 ao;
	char				*pass;
	pid_t				 pid;
	int				 code;
};

/*
 * The account's password. Pass 0 takes those from the environment, a
 * literal or netrc; pass 1 (after the environment variables are gone)
 * runs commands and prompts. --password-command on the command line
 * beats every source of the file, oauth_command included.
 */
static int
get_password(struct job *j, const struct opt_values *cli, int pass)
{
	const struct opt_values	*v = &j->ao.v;
	struct secret_src	 src;
	char			 what[600], err[600];

	memset(&src, 0, sizeof src);
	src.timeout = (unsigned)v->password_command_timeout;
	if (OPT_ISSET(cli, OPT_PASSWORD_COMMAND))
		src.command = v->password_command;
	else
		opt_secret_src(v, v->host, v->user, &src);
	if ((pass == 0) != (src.command == NULL && (src.env != NULL ||
	    src.literal != NULL || src.netrc != NULL)))
		return 0;
	snprintf(what, sizeof what, "%s (%s@%s)", j->a->name, v->user,
	    v->host);
	if ((j->pass = secret_resolve(&src, what, err, sizeof err)) == NULL) {
		log_warnx("account %s: %s", j->a->name, err);
		return -1;
	}
	j->ao.o.password = j->pass;
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
	code = run_account(&j->ao.o, st);
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
accounts_run(const struct opt_values *cli, enum run_mode mode, char **names,
    int n)
{
	struct config		 cfg;
	struct config_errors	 errs;
	struct opt_values	 g;
	struct job		*j;
	struct run_stats	*slots = MAP_FAILED;
	struct report_row	*rows = NULL;
	const char		**pnames = NULL;
	const char		*config = cli->config;
	char			 path[4096];
	size_t			 i, nj = 0, running = 0, next = 0, jobs;
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
	/* What is not an account's: jobs. */
	opt_defaults(&g);
	opt_merge(&g, &cfg.defaults.v);
	opt_merge(&g, cli);
	jobs = (size_t)g.jobs;
	opt_free(&g);
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
		/* The one merge: built-in, [defaults], account, CLI. */
		opt_defaults(&j[nj].ao.v);
		opt_merge(&j[nj].ao.v, &cfg.defaults.v);
		opt_merge(&j[nj].ao.v, &cfg.acct[i].v);
		opt_merge(&j[nj].ao.v, cli);
		if (account_build(&j[nj].ao, mode, cfg.acct[i].name, 1) == -1)
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
		if (get_password(&j[i], cli, 0) == -1)
			bad = 1;
	for (i = 0; i < nj; i++)
		if (j[i].a->v.password_env != NULL)
			secret_drop_env(j[i].a->v.password_env);
	for (i = 0; !bad && i < nj; i++)
		if (get_password(&j[i], cli, 1) == -1)
			bad = 1;
	if (bad) {
		code = EXIT_USAGE;
		goto out;
	}
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
		rows[i].host = j[i].ao.o.pop3.host;
		rows[i].user = j[i].ao.o.user;
		rows[i].st = &slots[i];
	}
	progress_watch(slots, pnames, nj, 0);
	while (next < nj || running > 0) {
		while (next < nj && running < jobs) {
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
	if (cli->json) {
		report_json(stdout, rows, nj, cli->dry_run ? RUN_DRY : mode,
		    started, code);
		if (fflush(stdout) == EOF && code == EXIT_OK)
			code = EXIT_IOERR;
	} else if (log_level() >= LOG_NORMAL) {
		if (nj == 1)
			report_block(stdout, rows[0].name, rows[0].st,
			    cli->dry_run ? RUN_DRY : mode);
		else
			report_table(stdout, rows, nj);
	}
out:
	if (slots != MAP_FAILED)
		munmap(slots, nj * sizeof *slots);
	free(rows);
	free(pnames);
	for (i = 0; i < nj; i++) {
		secret_free(j[i].pass);
		opt_free(&j[i].ao.v);
	}
	free(j);
	config_free(&cfg);
	return code;
}
