/*
 * account.h -- the shared body of "fetch" and "prune" (account.c), and
 * their runs over the accounts of the config file (accounts.c).
 */
#ifndef ACCOUNT_H
#define ACCOUNT_H

#include <stdio.h>

#include "opt.h"
#include "run.h"

/* One account's options: merged values, and the run's view of them. */
struct account_opts {
	struct opt_values	 v;	/* built-in, [defaults], account, CLI */
	struct run_opts		 o;	/* pointing into v and below */
	char			 port[8];
	char			 vault[4096];	/* the default vault */
};

void	account_usage(const char *cmd);
/*
 * SIGINT and SIGTERM ask the run to stop (stop.h) at the next safe
 * point; a second one also breaks blocked network I/O.
 */
void	account_signals(void);
int	account_main(int argc, char **argv, enum run_mode mode);

/*
 * Fill ao->o from ao->v (merged already) for an account called name of
 * a mode command, with the checks that need the whole: prune needs a
 * delete policy, tls = none needs insecure_plaintext, a compression
 * needs a format that compresses. Returns 0, or -1 having said why
 * (prefixed "account NAME: " when config is set).
 */
int	account_build(struct account_opts *ao, enum run_mode mode,
	    const char *name, int config);

/*
 * Run the named accounts of the config file (cli->config, else the
 * default; all when n is 0), up to jobs at once (-j, else the config's
 * jobs, else 1). Each account's options are merged once: the built-in
 * defaults, [defaults], its section, then cli (the command line).
 * Returns an exit code: the accounts' common one, or EXIT_PARTIAL when
 * they differ. The report: a table (one account: a block), or JSON with
 * --json.
 */
int	accounts_run(const struct opt_values *cli, enum run_mode mode,
	    char **names, int n);

#endif
