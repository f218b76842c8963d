/*
 * verify.c -- "popvault verify": re-read whole archives, offline.
 */
#include <stdio.h>

#include "cmd.h"
#include "log.h"
#include "opt.h"
#include "util.h"
#include "verify.h"

static void
verify_usage(void)
{
	printf("usage: popvault verify [--vault DIR] [ACCOUNT...]\n"
	    "\n"
	    "Read every archived message back (no server needed), compare\n"
	    "it with the SHA-256 taken when it was downloaded, and report\n"
	    "each message that is missing, altered or unreadable. Exit\n"
	    "status 0 when all match, %d when any does not.\n"
	    "\n"
	    "Options:\n", EXIT_VERIFY);
	opt_help(stdout, OPT_CMD_VERIFY);
}

static int
verify_main(int argc, char **argv)
{
	struct verify_report	 rep;
	struct opt_values	 o;
	int			 first, code, quiet;

	if ((code = cmd_options(argc, argv, OPT_CMD_VERIFY, verify_usage, &o,
	    &first)) != 0) {
		opt_free(&o);
		return code == 1 ? EXIT_OK : EXIT_USAGE;
	}
	quiet = o.quiet;
	code = verify_vault(o.vault, argv + first, argc - first, &rep);
	opt_free(&o);
	if (!quiet && (code == EXIT_OK || code == EXIT_VERIFY))
		printf("%llu checked, %llu ok, %llu missing, %llu altered, "
		    "%llu unreadable\n", (unsigned long long)rep.checked,
		    (unsigned long long)rep.ok,
		    (unsigned long long)rep.missing,
		    (unsigned long long)rep.altered,
		    (unsigned long long)rep.unreadable);
	return code;
}

const struct cmd cmd_verify = {
	.name = "verify",
	.summary = "re-read archives and check every message's hash",
	.usage = verify_usage,
	.run = verify_main,
};
