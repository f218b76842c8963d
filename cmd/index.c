/*
 * index.c -- "popvault index rebuild": a new index from the archives,
 * when index.sqlite is lost or damaged (core/rebuild.c).
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "opt.h"
#include "rebuild.h"
#include "util.h"

static void
index_usage(void)
{
	printf("usage: popvault index rebuild [--vault DIR]\n"
	    "\n"
	    "Rebuild the vault's index from its archives when index.sqlite\n"
	    "is lost or damaged: every stored message is read, hashed and\n"
	    "verified, with its header fields and location; each account's\n"
	    "name and server come from its account file. The damaged index\n"
	    "is moved aside, never deleted. The UIDLs each account has seen\n"
	    "are not in the archives: the next fetch downloads every message\n"
	    "once to relink them, and stores nothing twice. A sound index\n"
	    "is left alone. Exit status 0, or %d when a message read back\n"
	    "other bytes or a format cannot be rebuilt.\n"
	    "\n"
	    "Options:\n", EXIT_VERIFY);
	opt_help(stdout, OPT_CMD_INDEX);
}

static int
index_main(int argc, char **argv)
{
	struct rebuild_report	 rep;
	struct opt_values	 o;
	int			 first, code;

	if ((code = cmd_options(argc, argv, OPT_CMD_INDEX, index_usage, &o,
	    &first)) != 0) {
		opt_free(&o);
		return code == 1 ? EXIT_OK : EXIT_USAGE;
	}
	if (first != argc - 1 || strcmp(argv[first], "rebuild") != 0) {
		index_usage();
		opt_free(&o);
		return EXIT_USAGE;
	}
	code = rebuild_vault(o.vault, &rep);
	if (code == EXIT_OK || code == EXIT_VERIFY) {
		printf("rebuilt %s/index.sqlite: %llu account%s, %llu message%s "
		    "(%llu bytes) read and verified", o.vault,
		    (unsigned long long)rep.accounts, rep.accounts == 1 ? "" :
		    "s", (unsigned long long)rep.messages, rep.messages == 1 ?
		    "" : "s", (unsigned long long)rep.bytes);
		if (rep.bad > 0)
			printf(", %llu reading back other bytes",
			    (unsigned long long)rep.bad);
		if (rep.skipped > 0)
			printf(", %llu part%s of archives not taken",
			    (unsigned long long)rep.skipped, rep.skipped == 1 ?
			    "" : "s");
		if (rep.unscannable > 0)
			printf(", %llu folder%s of a format that cannot be "
			    "rebuilt", (unsigned long long)rep.unscannable,
			    rep.unscannable == 1 ? "" : "s");
		printf("\n");
		if (rep.aside[0] != '\0')
			printf("the old index was moved to %s\n", rep.aside);
		printf("the next fetch of each account downloads every message "
		    "once to relink its UIDLs; nothing is stored twice\n");
	}
	opt_free(&o);
	return code;
}

const struct cmd cmd_index = {
	.name = "index",
	.summary = "rebuild a lost or damaged index from the archives",
	.usage = index_usage,
	.run = index_main,
};
