/*
 * account.h -- the shared body of "fetch" and "prune" (account.c).
 */
#ifndef ACCOUNT_H
#define ACCOUNT_H

#include <stdio.h>

#include "run.h"

/* Options given on the command line: 1 << (option - O_VAULT). */
enum {
	O_VAULT = 256, O_FORMAT, O_PWCMD, O_AUTH, O_TLSCA, O_TLSFP,
	O_INSECURE, O_TIMEOUT, O_MAXSIZE, O_BATCH, O_COMPRESS, O_DELETE,
	O_AGEBY, O_MAXDEL, O_DRYRUN, O_PLAN, O_CONFIG, O_JOBS, O_JSON,
	O_LOG, O_PROGRESS, O_ACCTCHG, O_PWTIMEOUT
};
#define GIVEN(g, opt)	(((g) >> ((opt) - O_VAULT)) & 1u)

void	account_usage(const char *cmd);
int	account_main(int argc, char **argv, enum run_mode mode);

/*
 * Run the named accounts of the config file (all when n is 0), up to
 * jobs at once (0: the config's jobs, else 1). cli holds the command
 * line's options; those in given override the config. Returns an exit
 * code: the accounts' common one, or EXIT_PARTIAL when they differ.
 * The report: a table (one account: a block), or JSON when json is set.
 */
int	accounts_run(const struct run_opts *cli, unsigned given,
	    const char *config, int jobs, char **names, int n, int json);

#endif
