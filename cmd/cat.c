/*
 * cat.c -- "popvault cat": print a message back from the archive.
 *
 * The message is found through the index (account and UIDL), read by its
 * format's own reader, and checked against the SHA-256 recorded when it
 * was downloaded; a mismatch is reported after the bytes went out.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "format.h"
#include "hash.h"
#include "idx.h"
#include "log.h"
#include "opt.h"
#include "util.h"

static void
cat_usage(void)
{
	printf("usage: popvault cat [--vault DIR] ACCOUNT UIDL\n"
	    "\n"
	    "Print the stored bytes of the message the account ACCOUNT\n"
	    "listed under UIDL, as archived, and check them against the\n"
	    "SHA-256 in the index.\n"
	    "\n"
	    "Options:\n");
	opt_help(stdout, OPT_CMD_CAT);
}

struct cat_out {
	struct hash	*h;
	int		 werr;
};

static int
cat_cb(void *arg, const void *p, size_t n)
{
	struct cat_out	*o = arg;

	hash_update(o->h, p, n);
	if (write_all(STDOUT_FILENO, p, n) == -1) {
		o->werr = 1;
		return -1;
	}
	return 0;
}

static int
cat_main(int argc, char **argv)
{
	const struct fmt_ops	*ops;
	struct fmt_args		 fa;
	struct idx_loc		 l;
	struct cat_out		 o;
	struct idx		*x;
	struct fmt		*f;
	unsigned char		 got[HASH_LEN];
	char			 vault[4096], dir[4400];
	char			 err[600];
	const char		*v = vault;
	struct opt_values	 opts;
	int			 first, r, code = EXIT_OK;

	if ((r = cmd_options(argc, argv, OPT_CMD_CAT, cat_usage, &opts,
	    &first)) == 0 && xsnprintf(vault, sizeof vault, "%s",
	    opts.vault) == -1) {
		log_warnx("--vault: too long");
		r = -1;
	}
	opt_free(&opts);
	if (r != 0)
		return r == 1 ? EXIT_OK : EXIT_USAGE;
	if (argc - first != 2) {
		log_warnx("cat needs an account and a UIDL");
		return EXIT_USAGE;
	}
	if ((x = cmd_open_index(v)) == NULL)
		return EXIT_USAGE;
	r = idx_locate(x, argv[first], argv[first + 1], &l);
	idx_close(x);
	if (r == -1)
		return EXIT_IOERR;
	if (r == 0) {
		log_warnx("no message %s in account %s", argv[first + 1],
		    argv[first]);
		return EXIT_USAGE;
	}
	if ((ops = fmt_find(l.format)) == NULL) {
		log_warnx("unknown format %s in the index", l.format);
		return EXIT_IOERR;
	}
	if (xsnprintf(dir, sizeof dir, "%s/accounts/%s", v, l.dir) == -1)
		return EXIT_USAGE;
	fa.dir = dir;
	fa.compress = FMT_COMP_NONE;
	if ((f = ops->open(&fa, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return EXIT_IOERR;
	}
	memset(&o, 0, sizeof o);
	o.h = hash_new();
	if (ops->read(f, l.location, cat_cb, &o) == -1) {
		log_warnx("%s", o.werr ? "writing to standard output failed" :
		    fmt_error(f));
		code = EXIT_IOERR;
	} else {
		hash_final(o.h, got);
		if (memcmp(got, l.sha256, HASH_LEN) != 0) {
			log_warnx("message %s of %s: archived bytes do not "
			    "match the index's SHA-256", argv[first + 1],
			    argv[first]);
			code = EXIT_VERIFY;
		}
	}
	hash_free(o.h);
	ops->close(f);
	return code;
}

const struct cmd cmd_cat = {
	.name = "cat",
	.summary = "print a message back from the archive",
	.usage = cat_usage,
	.run = cat_main,
};
