/*
 * fetch.c -- "popvault fetch": archive the new messages of an account,
 * verify them, and apply the delete policy (keep on server by default).
 */
#include "account.h"
#include "cmd.h"

static void
fetch_usage(void)
{
	account_usage("fetch");
}

static int
fetch_main(int argc, char **argv)
{
	return account_main(argc, argv, RUN_FETCH);
}

const struct cmd cmd_fetch = {
	.name = "fetch",
	.summary = "archive the new messages of an account",
	.usage = fetch_usage,
	.run = fetch_main,
};
