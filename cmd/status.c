/*
 * status.c -- "popvault status": per account, what the index knows.
 */
#include <stdio.h>
#include <time.h>

#include "cmd.h"
#include "idx.h"
#include "log.h"
#include "opt.h"
#include "util.h"

static void
status_usage(void)
{
	printf("usage: popvault status [--vault DIR]\n"
	    "\n"
	    "For each account: messages on the server at the last run, stored\n"
	    "in its archive, verified, seen but stored once elsewhere\n"
	    "(duplicates), deleted from the server, failing verification,\n"
	    "variants stored (same Message-ID and body as an earlier copy,\n"
	    "other headers), UIDLs to fetch again before any delete\n"
	    "(unproven), and the time and outcome of the last run.\n"
	    "\n"
	    "Options:\n");
	opt_help(stdout, OPT_CMD_STATUS);
}

static int
status_row(void *arg, const struct idx_status *s)
{
	char		when[32] = "never";
	struct tm	tm;
	time_t		t = (time_t)s->last_run;

	(void)arg;
	if (s->last_run >= 0) {
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%SZ", &tm);
	}
	printf("%-30s %8lld %8lld %8lld %8lld %8lld %6lld %8lld %8lld  %s "
	    "%s\n", s->name, (long long)s->listed, (long long)s->archived,
	    (long long)s->verified, (long long)(s->sightings - s->archived),
	    (long long)s->deleted, (long long)s->bad, (long long)s->variants,
	    (long long)s->unproven, when, s->outcome ? s->outcome : "-");
	return 0;
}

static int
status_main(int argc, char **argv)
{
	struct opt_values	 o;
	struct idx		*x;
	int			 first, r;

	if ((r = cmd_options(argc, argv, OPT_CMD_STATUS, status_usage, &o,
	    &first)) == 0 && first != argc) {
		status_usage();
		r = -1;
	}
	x = r == 0 ? cmd_open_index(o.vault) : NULL;
	opt_free(&o);
	if (r != 0)
		return r == 1 ? EXIT_OK : EXIT_USAGE;
	if (x == NULL)
		return EXIT_USAGE;
	printf("%-30s %8s %8s %8s %8s %8s %6s %8s %8s  %s\n", "account",
	    "listed", "archived", "verified", "dups", "deleted", "bad",
	    "variants", "unproven", "last run");
	r = idx_status(x, status_row, NULL);
	if (r == -1)
		log_warnx("%s", idx_error(x));
	idx_close(x);
	return r == -1 ? EXIT_IOERR : EXIT_OK;
}

const struct cmd cmd_status = {
	.name = "status",
	.summary = "show what the index knows of each account",
	.usage = status_usage,
	.run = status_main,
};
