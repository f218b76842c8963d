/*
 * opt_int.h -- what opt.c (the table, the setter, the merge) and
 * opt_cli.c (the command line and --help, from the table) share. Not
 * for other callers: use opt.h.
 */
#ifndef OPT_INT_H
#define OPT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "opt.h"

enum opt_type {
	OPT_T_STR,	/* any non-empty string: a command, a password */
	OPT_T_LIST,	/* a string that may be given again: each one
			 * more line (no newline in one) */
	OPT_T_PATH,	/* a file or folder */
	OPT_T_NETRC,	/* yes (~/.netrc) or a path */
	OPT_T_HOST,	/* a host name or address, no brackets */
	OPT_T_USER,	/* printable, no spaces */
	OPT_T_ENV,	/* an environment variable's name */
	OPT_T_PIN,	/* sha256: and 64 hex digits */
	OPT_T_UINT,	/* decimal digits only, in [min, max] */
	OPT_T_SIZE,	/* a number, optionally k, M or G */
	OPT_T_WORD,	/* one of words */
	OPT_T_FLAG,	/* config: yes or no; command line: no argument */
	OPT_T_COUNT,	/* command line: no argument, counted (-v) */
	OPT_T_FORMAT,	/* a format of the registry (fmt_find()) */
	OPT_T_COMPRESS,	/* a compression word of the registry
			 * (fmt_comp_find()) */
	OPT_T_AUTH,	/* auto, user, apop or a SASL mechanism */
	OPT_T_DELETE,	/* a delete policy (policy_parse_delete()) */
	OPT_T_DAY	/* YYYY-MM-DD: that day's 00:00 UTC */
};

struct opt_word {
	const char	*name;
	int		 value;
};

struct opt_def {
	const char		*key;	/* popvault.conf(5), or NULL */
	const char		*flag;	/* --flag, or NULL */
	int			 shortopt;	/* -j, or 0 */
	const char		*arg;	/* in --help; NULL: the words */
	enum opt_type		 type;
	size_t			 off;	/* of the field in opt_values */
	const struct opt_word	*words;
	uint64_t		 min, max;	/* OPT_T_UINT */
	const char		*unit;	/* "seconds": of a number */
	const char		*expect; /* NULL: from words or range */
	const char		*dflt;	/* built-in default, or NULL */
	unsigned		 cmds;	/* OPT_CMD_* that take the flag */
	unsigned		 hide;	/* ... and leave it out of --help */
	unsigned		 flags;	/* OPT_F_* */
	const char		*help;
};

/* Every option, indexed by enum opt_id (opt.c). */
extern const struct opt_def	opt_defs[OPT_COUNT];

/*
 * The words option id accepts, in order, into out (at most max); 0 for
 * an option that takes no words. A format's are the registry's names
 * (fmt_at()), a compression's its words (fmt_comp_name()); auth's end
 * with sasl.c's mechanisms.
 */
size_t	opt_words(enum opt_id, const char **out, size_t max);

/*
 * The words joined into buf: sep between them, last before the last
 * one ("a, b or c" with ", " and " or "; "a|b|c" with "|" twice).
 */
void	opt_join_words(enum opt_id, const char *sep, const char *last,
	    char *buf, size_t len);

#endif
