/*
 * export.c -- "popvault export": write stored messages of the vault out
 * to another folder, in any format popvault writes.
 *
 * DEST becomes a popvault vault of its own (DEST/index.sqlite and
 * DEST/accounts/NAME/FORMAT/), filled by the same run that fetch uses
 * (run_source()), from the stored messages of the origin vault
 * (source_vault.c): one run per origin account, into a DEST account of
 * the same name. So an export gets the commit protocol, its crash
 * recovery, read-back verification and resumability unchanged: a rerun
 * after a kill stores nothing twice, and a rerun of a finished export
 * changes nothing. Each message is hashed as it is read from the origin
 * and compared with the origin's index; each is hashed again as it is
 * written, and read back from DEST. docs/decisions.md, "Export".
 *
 * A DEST account is tied to the origin vault and account it was
 * exported from (its identity: host "vault", user the origin's path and
 * account name), so an export of another vault into the same DEST
 * account is refused before anything is written.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "export_to.h"
#include "format.h"
#include "hash.h"
#include "idx.h"
#include "log.h"
#include "opt.h"
#include "report.h"
#include "run.h"
#include "source.h"
#include "stop.h"
#include "util.h"

#define EXPORT_HOST	"vault"
#define EXPORT_PORT	""
#define EXPORT_USER_MAX	255	/* the index's user field */

static void
export_usage(void)
{
	printf("usage: popvault export [--vault DIR] [--account NAME]... "
	    "[--from TEXT]\n"
	    "           [--subject TEXT] [--since YYYY-MM-DD] "
	    "[--until YYYY-MM-DD]\n"
	    "           [--message-id ID] [--format FORMAT] [--compress C] "
	    "DEST\n"
	    "\n"
	    "Write the stored messages of the vault (the accounts named,\n"
	    "else every one; only those matching the filters, as search\n"
	    "has them) into DEST, a new or empty folder or an earlier\n"
	    "export, as a popvault vault: DEST/accounts/NAME/FORMAT/, with\n"
	    "DEST/index.sqlite. Each message once per account, byte for\n"
	    "byte, checked against the vault's SHA-256 and read back from\n"
	    "DEST. Nothing existing is overwritten; a rerun finishes an\n"
	    "interrupted export and adds only what is missing. FORMAT is\n"
	    "%s.\n"
	    "\n"
	    "Options:\n", fmt_names());
	opt_help(stdout, OPT_CMD_EXPORT);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_request();
}

struct names {
	char	**v;
	size_t	  n, cap;
};

static void
names_add(struct names *nm, const char *s)
{
	if (nm->n == nm->cap) {
		nm->cap = nm->cap ? nm->cap * 2 : 16;
		nm->v = xreallocarray(nm->v, nm->cap, sizeof *nm->v);
	}
	nm->v[nm->n++] = xstrdup(s);
}

static int
all_cb(void *arg, int64_t id, const char *name, const char *dir)
{
	(void)id;
	(void)dir;
	names_add(arg, name);
	return 0;
}

/*
 * The origin's accounts to export: those of --account (one a line),
 * each checked, or every one. 0, or -1 after saying why.
 */
static int
origin_accounts(const char *vault, const char *list, struct names *nm)
{
	struct idx	*x;
	const char	*p, *nl;
	char		 path[4200], err[600], dir[256], name[1024];
	int64_t		 id;
	int		 r = 0;

	if (xsnprintf(path, sizeof path, "%s/index.sqlite", vault) == -1 ||
	    access(path, F_OK) == -1) {
		log_warnx("no vault at %s", vault);
		return -1;
	}
	if ((x = idx_open_ro(path, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	if (list == NULL) {
		if (idx_accounts(x, all_cb, nm) == -1) {
			log_warnx("%s", idx_error(x));
			r = -1;
		}
		idx_close(x);
		return r;
	}
	for (p = list; r == 0 && *p != '\0'; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		snprintf(name, sizeof name, "%.*s", (int)(nl - p), p);
		switch (idx_account_find(x, name, &id, dir, sizeof dir)) {
		case 0:
			names_add(nm, name);
			break;
		case 1:
			log_warnx("the vault %s has no account %s", vault,
			    name);
			r = -1;
			break;
		default:
			log_warnx("%s", idx_error(x));
			r = -1;
		}
	}
	idx_close(x);
	return r;
}

/*
 * What names the origin of a DEST account: the origin vault's absolute
 * path and the account, "PATH#NAME", or its SHA-256 when that is longer
 * than the index keeps.
 */
static void
export_ident(const char *origin, const char *name, char *out, size_t len)
{
	unsigned char	sha[HASH_LEN];
	char		full[PATH_MAX + 1100], hex[HASH_HEXLEN + 1];
	size_t		n;

	snprintf(full, sizeof full, "%s#%s", origin, name);
	if ((n = strlen(full)) <= EXPORT_USER_MAX && n < len) {
		memcpy(out, full, n + 1);
		return;
	}
	hash_sha256(full, strlen(full), sha);
	hex_encode(sha, HASH_LEN, hex);
	snprintf(out, len, "sha256:%s", hex);
}

/*
 * DEST must be missing, an empty folder, or a popvault vault (an earlier
 * export); never the origin. A DEST account of one of these names must
 * come from the same origin account, in the same format (what it holds
 * would not be written again in another). 0, or -1 after saying why.
 */
static int
check_dest(const char *dest, const char *origin, const char *format,
    struct names *nm, char **ident)
{
	struct idx_ident	 id;
	struct stat		 sb;
	struct idx		*x;
	struct dirent		*de;
	DIR			*d;
	char			 path[4200], err[600], dir[256], real[PATH_MAX];
	char			 fmts[8][16];
	int64_t			 acct;
	size_t			 k;
	int			 r = 0, empty = 1, nf;

	if (stat(dest, &sb) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("%s", dest);
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		log_warnx("%s exists and is not a folder", dest);
		return -1;
	}
	if (realpath(dest, real) != NULL && strcmp(real, origin) == 0) {
		log_warnx("%s is the vault the messages come from; export "
		    "into another folder", dest);
		return -1;
	}
	if (xsnprintf(path, sizeof path, "%s/index.sqlite", dest) == -1)
		return -1;
	if (access(path, F_OK) == -1) {
		if ((d = opendir(dest)) == NULL) {
			log_warn("%s", dest);
			return -1;
		}
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				empty = 0;
		closedir(d);
		if (!empty) {
			log_warnx("%s is a folder with files and no popvault "
			    "index: export into a new or empty folder, or an "
			    "earlier export", dest);
			return -1;
		}
		return 0;
	}
	if ((x = idx_open_ro(path, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	for (k = 0; r == 0 && k < nm->n; k++) {
		switch (idx_account_find(x, nm->v[k], &acct, dir,
		    sizeof dir)) {
		case 1:
			continue;
		case 0:
			break;
		default:
			log_warnx("%s", idx_error(x));
			r = -1;
			continue;
		}
		if (idx_identity(x, acct, &id) == -1) {
			log_warnx("%s", idx_error(x));
			r = -1;
		} else if ((nf = idx_formats(x, acct, fmts, 8)) == -1) {
			log_warnx("%s", idx_error(x));
			r = -1;
		} else if (nf > 0 && (nf > 1 || strcmp(fmts[0], format) != 0)) {
			/* Known already, so not written again: refuse. */
			log_warnx("%s: account %s was exported as %s: export as "
			    "%s into another folder", dest, nm->v[k], fmts[0],
			    format);
			r = -1;
		} else if (strcmp(id.host, EXPORT_HOST) != 0 ||
		    strcmp(id.port, EXPORT_PORT) != 0 ||
		    strcmp(id.user, ident[k]) != 0) {
			log_warnx("%s: account %s holds mail from %s%s%s, "
			    "not from account %s of the vault %s: export into "
			    "another folder", dest, nm->v[k], id.user,
			    strcmp(id.host, EXPORT_HOST) == 0 ? "" : "@",
			    strcmp(id.host, EXPORT_HOST) == 0 ? "" : id.host,
			    nm->v[k], origin);
			r = -1;
		}
	}
	idx_close(x);
	return r;
}

/* The export of one account into DEST; fills *st and *unsound. */
static int
export_one(const struct opt_values *o, const char *origin, const char *dest,
    const char *name, const char *ident, const struct idx_query *q,
    struct run_stats *st, uint64_t *unsound)
{
	struct run_opts		 ro;
	struct source		*src;
	const char		*names[1];
	int			 code;

	memset(&ro, 0, sizeof ro);
	ro.mode = RUN_FETCH;
	ro.del = DEL_NEVER;
	ro.max_sessions = 1;		/* the listing is all there is */
	ro.vault = dest;
	ro.account = name;
	ro.format = o->format;
	ro.compress = (enum fmt_compress)o->compress;
	ro.pop3.host = EXPORT_HOST;
	ro.pop3.port = EXPORT_PORT;
	ro.pop3.max_msg_size = UINT64_MAX;	/* stored already */
	ro.user = ident;
	ro.auth = POP3_AUTH_USER;
	/* Each DEST account holds every message of its origin account. */
	ro.dedup = RUN_DEDUP_ACCOUNT;
	ro.identity = RUN_ID_SAME;
	ro.batch_msgs = (unsigned)o->batch;
	names[0] = name;
	src = source_vault_new(origin, names, 1, q);
	code = run_source(&ro, src, st);
	*unsound = source_vault_unsound(src);
	src->ops->close(src);
	if (*unsound > 0) {
		log_warnx("account %s: %llu selected message%s left out: its "
		    "only stored copy failed verification (popvault verify "
		    "--vault %s)", name, (unsigned long long)*unsound,
		    *unsound == 1 ? "" : "s", origin);
		code = cmd_exit_worse(code, EXIT_PARTIAL);
	}
	return code;
}

static int
export_main(int argc, char **argv)
{
	struct opt_values	 o;
	struct idx_query	 q;
	struct names		 nm;
	struct run_stats	*st = NULL;
	struct report_row	*rows = NULL;
	struct sigaction	 sa;
	uint64_t		*unsound = NULL;
	char			 origin[PATH_MAX], **ident = NULL, **files = NULL;
	const char		*dest;
	size_t			 k, len;
	int			 first, r, code = EXIT_OK, c;
	int64_t			 started = wall_now();

	memset(&nm, 0, sizeof nm);
	if ((r = cmd_options(argc, argv, OPT_CMD_EXPORT, export_usage, &o,
	    &first)) != 0) {
		opt_free(&o);
		return r == 1 ? EXIT_OK : EXIT_USAGE;
	}
	log_init(o.quiet ? LOG_QUIET : LOG_NORMAL);
	code = EXIT_USAGE;
	if (OPT_ISSET(&o, OPT_TO)) {
		if (argc - first != 0) {
			log_warnx("export --to takes no DEST folder");
			goto out;
		}
		if (realpath(o.vault, origin) == NULL) {
			log_warnx("no vault at %s", o.vault);
			goto out;
		}
		log_init(o.quiet ? LOG_QUIET : LOG_NORMAL + o.verbose);
		code = export_to(&o, origin);
		goto out;
	}
	if (argc - first != 1) {
		log_warnx("export needs one DEST folder; see popvault export "
		    "--help");
		goto out;
	}
	dest = argv[first];
	if (!fmt_accepts(o.format, (enum fmt_compress)o.compress)) {
		log_warnx("--compress %s: the %s format takes %s",
		    fmt_comp_name((enum fmt_compress)o.compress),
		    o.format->name, fmt_comp_list(o.format->comps));
		goto out;
	}
	if (realpath(o.vault, origin) == NULL) {
		log_warnx("no vault at %s", o.vault);
		goto out;
	}
	if (origin_accounts(origin, o.accounts, &nm) == -1)
		goto out;
	ident = xcalloc(nm.n + 1, sizeof *ident);
	for (k = 0; k < nm.n; k++) {
		ident[k] = xmalloc(EXPORT_USER_MAX + 1);
		export_ident(origin, nm.v[k], ident[k], EXPORT_USER_MAX + 1);
	}
	if (check_dest(dest, origin, o.format->name, &nm, ident) == -1)
		goto out;

	memset(&q, 0, sizeof q);
	q.from = o.from;
	q.subject = o.subject;
	q.since = OPT_ISSET(&o, OPT_SINCE) ? o.since : INT64_MIN;
	q.until = OPT_ISSET(&o, OPT_UNTIL) ? o.until : INT64_MIN;
	q.message_id = o.message_id;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	st = xcalloc(nm.n + 1, sizeof *st);
	rows = xcalloc(nm.n + 1, sizeof *rows);
	unsound = xcalloc(nm.n + 1, sizeof *unsound);
	files = xcalloc(nm.n + 1, sizeof *files);
	code = EXIT_OK;
	for (k = 0; k < nm.n; k++) {
		if (stop_requested()) {
			snprintf(st[k].err, sizeof st[k].err, "stopped");
			st[k].code = EXIT_TEMPFAIL;
			code = cmd_exit_worse(code, EXIT_TEMPFAIL);
			continue;
		}
		c = export_one(&o, origin, dest, nm.v[k], ident[k], &q, &st[k],
		    &unsound[k]);
		st[k].code = c;
		code = cmd_exit_worse(code, c);
		if (st[k].where[0] != '\0') {
			len = strlen(st[k].where) + strlen(o.format->name) + 3;
			files[k] = xmalloc(len);
			snprintf(files[k], len, "%s/%s/", st[k].where,
			    o.format->name);
		}
		rows[k].name = nm.v[k];
		rows[k].host = EXPORT_HOST;
		rows[k].user = ident[k];
		rows[k].st = &st[k];
		rows[k].files = files[k] != NULL ? files[k] : "";
		rows[k].unsound = unsound[k];
	}
	if (o.json) {
		report_json_cmd(stdout, "export", rows, nm.n, started, code);
		if (fflush(stdout) == EOF && code == EXIT_OK)
			code = EXIT_IOERR;
	} else if (log_level() >= LOG_NORMAL) {
		for (k = 0; k < nm.n; k++) {
			if (k > 0)
				putchar('\n');
			report_block(stdout, nm.v[k], &st[k], RUN_FETCH);
			if (unsound[k] > 0)
				printf("%-12s %llu\n", "unsound",
				    (unsigned long long)unsound[k]);
			if (files[k] != NULL)
				printf("%-12s %s\n", "files", files[k]);
		}
		if (nm.n == 0)
			printf("no accounts in the vault %s\n", origin);
	}
out:
	for (k = 0; k < nm.n; k++) {
		free(nm.v[k]);
		if (ident != NULL)
			free(ident[k]);
		if (files != NULL)
			free(files[k]);
	}
	free(nm.v);
	free(ident);
	free(files);
	free(st);
	free(rows);
	free(unsound);
	opt_free(&o);
	return code;
}

const struct cmd cmd_export = {
	.name = "export",
	.summary = "write stored messages to another folder, in any format",
	.usage = export_usage,
	.run = export_main,
};
