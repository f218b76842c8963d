/*
 * main.c -- popvault: archive POP3 mailboxes. Dispatches to one
 * subcommand per file (cmd/NAME.c); nothing else happens here.
 */
#include <sys/stat.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "idx.h"
#include "log.h"
#include "opt.h"
#include "secret.h"
#include "util.h"

static const struct cmd *const cmds[] = {
	&cmd_fetch,
	&cmd_prune,
	&cmd_verify,
	&cmd_status,
	&cmd_search,
	&cmd_cat,
	&cmd_export,
	&cmd_probe,
	&cmd_import,
	&cmd_index,
};
#define NCMDS	(sizeof cmds / sizeof cmds[0])

void
cmd_default_vault(char *buf, size_t len)
{
	const char	*x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");

	if (x != NULL && x[0] == '/')
		snprintf(buf, len, "%s/popvault", x);
	else
		snprintf(buf, len, "%s/.local/share/popvault",
		    home ? home : ".");
}

int
cmd_exit_worse(int a, int b)
{
	if (a == EXIT_OK || (a == EXIT_PARTIAL && b != EXIT_OK))
		return b;
	return a;
}

struct idx *
cmd_open_index(const char *vault)
{
	struct stat	 sb;
	struct idx	*x;
	char		 path[4200], err[600];

	if (xsnprintf(path, sizeof path, "%s/index.sqlite", vault) == -1 ||
	    stat(path, &sb) == -1) {
		/* A vault whose index is lost: idx_open() says so. */
		if (xsnprintf(path, sizeof path, "%s/accounts", vault) == -1 ||
		    stat(path, &sb) == -1) {
			log_warnx("no vault at %s", vault);
			return NULL;
		}
		snprintf(path, sizeof path, "%s/index.sqlite", vault);
	}
	if ((x = idx_open(path, err, sizeof err)) == NULL)
		log_warnx("%s", err);
	return x;
}

int
cmd_options(int argc, char **argv, unsigned optcmd, void (*usage_fn)(void),
    struct opt_values *o, int *first)
{
	char	err[600], vault[4096];
	int	r;

	r = opt_parse_args(argc, argv, optcmd, o, first, err, sizeof err);
	if (r == -1)
		log_warnx("%s", err);
	else if (r == -2 || o->help)
		usage_fn();
	if (r != 0)
		return -1;
	if (o->help)
		return 1;
	if (o->vault == NULL) {
		cmd_default_vault(vault, sizeof vault);
		o->vault = xstrdup(vault);
	}
	return 0;
}

static void
usage(FILE *fp)
{
	size_t	i;

	fprintf(fp, "usage: popvault COMMAND [OPTIONS] [ARGS]\n"
	    "       popvault --help | --version | help COMMAND\n\n"
	    "Archive POP3 mailboxes, keeping mail on the server.\n\n"
	    "Commands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(fp, "  %-8s %s\n", cmds[i]->name, cmds[i]->summary);
	fprintf(fp, "\nRun 'popvault COMMAND --help' for a command's "
	    "options.\n");
}

static const struct cmd *
find(const char *name)
{
	size_t	i;

	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i]->name, name) == 0)
			return cmds[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	const struct cmd	*c;

	secret_init();
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit gives EFBIG from write(), not a kill. */
	signal(SIGXFSZ, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("popvault %s\n", POPVAULT_VERSION);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3) {
			usage(stdout);
			return EXIT_OK;
		}
		/* Hidden: every popvault.conf(5) key (test_manpage.sh). */
		if (strcmp(argv[2], "--keys") == 0) {
			opt_keys(stdout);
			return EXIT_OK;
		}
		if ((c = find(argv[2])) == NULL) {
			fprintf(stderr, "popvault: no command %s\n", argv[2]);
			return EXIT_USAGE;
		}
		c->usage();
		return EXIT_OK;
	}
	if ((c = find(argv[1])) == NULL) {
		fprintf(stderr, "popvault: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return c->run(argc - 1, argv + 1);
}
