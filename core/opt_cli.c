/*
 * opt_cli.c -- the command line of fetch, prune and probe, and their
 * --help, both from the one table of options (opt.c): getopt_long()'s
 * list is built from it for the command at hand, every value goes
 * through opt_set() as a config file's would, and each help line is
 * the option's own.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "opt.h"
#include "opt_int.h"

#define HELP_COL	27	/* where a help line's text starts */
#define HELP_WIDTH	79

/* "--batch: 1 to 100000, not "0"" (never echoing a secret). */
static void
arg_error(enum opt_id id, const char *arg, const char *why, char *err,
    size_t errlen)
{
	char	ev[80];

	if (arg == NULL || arg[0] == '\0' ||
	    (opt_defs[id].flags & OPT_F_SECRET))
		snprintf(err, errlen, "--%s: %s", opt_defs[id].flag, why);
	else
		snprintf(err, errlen, "--%s: %s, not \"%s\"", opt_defs[id].flag,
		    why, log_escape(arg, strlen(arg), ev, sizeof ev));
}

int
opt_parse_args(int argc, char **argv, unsigned cmd, struct opt_values *v,
    int *first, char *err, size_t errlen)
{
	struct option	lo[OPT_COUNT + 1];
	char		so[2 * OPT_COUNT + 1], why[512];
	size_t		n = 0, ns = 0;
	int		id, ch;

	opt_init(v);
	err[0] = '\0';
	/* A long option comes back as 256 + its id, a short one as its
	 * letter. GNU order, as always: options may follow the URL. */
	for (id = 0; id < OPT_COUNT; id++) {
		if (opt_defs[id].flag == NULL || !(opt_defs[id].cmds & cmd))
			continue;
		lo[n].name = opt_defs[id].flag;
		lo[n].has_arg = opt_defs[id].type == OPT_T_FLAG ||
		    opt_defs[id].type == OPT_T_COUNT ? no_argument :
		    required_argument;
		lo[n].flag = NULL;
		lo[n].val = 256 + id;
		if (opt_defs[id].shortopt != 0) {
			so[ns++] = (char)opt_defs[id].shortopt;
			if (lo[n].has_arg == required_argument)
				so[ns++] = ':';
		}
		n++;
	}
	memset(&lo[n], 0, sizeof lo[n]);
	so[ns] = '\0';
	optind = 1;
	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (ch >= 256)
			id = ch - 256;
		else {
			for (id = 0; id < OPT_COUNT; id++)
				if (opt_defs[id].shortopt == ch &&
				    (opt_defs[id].cmds & cmd))
					break;
			if (id == OPT_COUNT)
				return -2;	/* '?': getopt said why */
		}
		if (opt_set(v, id, optarg, OPT_FROM_CLI, why,
		    sizeof why) == -1) {
			arg_error(id, optarg, why, err, errlen);
			return -1;
		}
	}
	*first = optind;
	return 0;
}

/* Print text from column col (the cursor is there), wrapped. */
static void
wrap(FILE *fp, const char *text, int col)
{
	const char	*p = text;
	int		 at = col, len;

	for (p += strspn(p, " "); *p != '\0'; p += strspn(p, " ")) {
		len = (int)strcspn(p, " ");
		if (at > col && at + 1 + len > HELP_WIDTH) {
			fprintf(fp, "\n%*s", col, "");
			at = col;
		} else if (at > col) {
			fputc(' ', fp);
			at++;
		}
		fprintf(fp, "%.*s", len, p);
		at += len;
		p += len;
	}
	fputc('\n', fp);
}

/* "compression (default none): maildir takes none; mbox none or gzip; ...",
 * from the registry. */
static void
comp_help(const struct opt_def *d, char *text, size_t len)
{
	const struct fmt_ops	*f;
	size_t			 i, o;

	o = (size_t)snprintf(text, len, "%s (default %s):", d->help,
	    d->dflt != NULL ? d->dflt : "none");
	for (i = 0; (f = fmt_at(i)) != NULL && o < len; i++)
		o += (size_t)snprintf(text + o, len - o, "%s %s%s %s",
		    i > 0 ? ";" : "", f->name, i == 0 ? " takes" : "",
		    fmt_comp_list(f->comps));
}

void
opt_help(FILE *fp, unsigned cmd)
{
	const struct opt_def	*d;
	char			 spec[256], arg[200], text[1024];
	int			 id, n;

	for (id = 0; id < OPT_COUNT; id++) {
		d = &opt_defs[id];
		if (d->flag == NULL || !(d->cmds & cmd) || (d->hide & cmd))
			continue;
		arg[0] = '\0';
		if (d->type != OPT_T_FLAG && d->type != OPT_T_COUNT) {
			if (d->arg != NULL)
				snprintf(arg, sizeof arg, " %s", d->arg);
			else {
				arg[0] = ' ';
				opt_join_words(id, "|", "|", arg + 1,
				    sizeof arg - 1);
			}
		}
		if (d->shortopt != 0)
			snprintf(spec, sizeof spec, "-%c, --%s%s", d->shortopt,
			    d->flag, arg);
		else
			snprintf(spec, sizeof spec, "--%s%s", d->flag, arg);
		/* The built-in default, unless the text says it already. */
		if (d->type == OPT_T_COMPRESS)
			comp_help(d, text, sizeof text);
		else if (d->dflt != NULL && d->type != OPT_T_FLAG &&
		    strstr(d->help, "default") == NULL)
			snprintf(text, sizeof text, "%s (default %s)", d->help,
			    d->dflt);
		else
			snprintf(text, sizeof text, "%s", d->help);
		n = fprintf(fp, "  %s", spec);
		if (n + 1 > HELP_COL - 1)
			fprintf(fp, "\n%*s", HELP_COL, "");
		else
			fprintf(fp, "%*s", HELP_COL - n, "");
		wrap(fp, text, HELP_COL);
	}
}

void
opt_keys(FILE *fp)
{
	const struct opt_def	*d;
	const char		*w[32];
	size_t			 i, n;
	int			 id;

	for (id = 0; id < OPT_COUNT; id++) {
		d = &opt_defs[id];
		if (d->key == NULL)
			continue;
		fprintf(fp, "%s\t%s\t", d->key, (d->flags &
		    OPT_F_DEFAULTS_ONLY) ? "defaults" : (d->flags &
		    OPT_F_DEST) ? "destination" : "account");
		n = d->type == OPT_T_WORD || d->type == OPT_T_FLAG ||
		    d->type == OPT_T_FORMAT || d->type == OPT_T_COMPRESS ||
		    d->type == OPT_T_AUTH ?
		    opt_words(id, w, 32) : 0;
		for (i = 0; i < n; i++)
			fprintf(fp, "%s%s", i > 0 ? " " : "", w[i]);
		fputc('\n', fp);
	}
}

