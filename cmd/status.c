/*
 * status.c -- "popvault status": per account, what the index knows.
 */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "cmd.h"
#include "idx.h"
#include "log.h"
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
	    "Options:\n"
	    "  --vault DIR   the vault (default: $XDG_DATA_HOME/popvault)\n"
	    "  -h, --help    this text\n");
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

static const struct option status_opts[] = {
	{ "vault", required_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
status_main(int argc, char **argv)
{
	struct idx	*x;
	char		 vault[4096];
	const char	*v;
	int		 ch, r;

	cmd_default_vault(vault, sizeof vault);
	v = vault;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", status_opts, NULL)) != -1) {
		switch (ch) {
		case 'V':
			v = optarg;
			break;
		case 'h':
			status_usage();
			return EXIT_OK;
		default:
			status_usage();
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		status_usage();
		return EXIT_USAGE;
	}
	if ((x = cmd_open_index(v)) == NULL)
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
