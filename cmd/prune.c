/*
 * prune.c -- "popvault prune": apply a delete policy to the server
 * without downloading; only verified messages are deleted. --plan
 * connects and lists, prints what would be deleted and why, and deletes
 * nothing.
 */
#include "account.h"
#include "cmd.h"

static void
prune_usage(void)
{
	account_usage("prune");
}

static int
prune_main(int argc, char **argv)
{
	return account_main(argc, argv, RUN_PRUNE);
}

const struct cmd cmd_prune = {
	.name = "prune",
	.summary = "delete verified messages from the server by a policy",
	.usage = prune_usage,
	.run = prune_main,
};
