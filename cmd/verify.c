/*
 * verify.c -- "popvault verify": re-read whole archives, offline.
 */
#include <getopt.h>
#include <stdio.h>

#include "cmd.h"
#include "log.h"
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
	    "Options:\n"
	    "  --vault DIR   the vault (default: $XDG_DATA_HOME/popvault)\n"
	    "  -q, --quiet   only the problems, no summary\n"
	    "  -h, --help    this text\n", EXIT_VERIFY);
}

static const struct option verify_opts[] = {
	{ "vault", required_argument, NULL, 'V' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
verify_main(int argc, char **argv)
{
	struct verify_report	 rep;
	char			 vault[4096];
	const char		*v;
	int			 ch, quiet = 0, code;

	cmd_default_vault(vault, sizeof vault);
	v = vault;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "qh", verify_opts, NULL)) != -1) {
		switch (ch) {
		case 'V':
			v = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			verify_usage();
			return EXIT_OK;
		default:
			verify_usage();
			return EXIT_USAGE;
		}
	}
	code = verify_vault(v, argv + optind, argc - optind, &rep);
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
