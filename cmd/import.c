/*
 * import.c -- "popvault import": mail that is already on this machine
 * into an account of the vault (mbox, Maildir, .eml trees, compressed
 * files, archives: core/source_import.c), through the same run as fetch
 * (core/run.h): claimed, deduplicated losslessly, written in batches,
 * committed, read back. And the UIDLs that other fetchers recorded
 * (--uidls-from: uidls.c), so that fetch does not download that mail
 * again.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "cmd.h"
#include "config.h"
#include "idx.h"
#include "import.h"
#include "log.h"
#include "opt.h"
#include "progress.h"
#include "report.h"
#include "run.h"
#include "source.h"
#include "stop.h"
#include "util.h"

/* The identity of an import account in the index (check_identity). */
#define IMPORT_HOST	"import"

#define IMPORT_ERRORS_MAX	1000	/* kept for the JSON report */

static void
import_usage(void)
{
	printf("usage: popvault import [--vault DIR] --account NAME "
	    "[--format F] [--compress C] PATH...\n"
	    "       popvault import [--vault DIR] --account NAME "
	    "--uidls-from TOOL:FILE\n"
	    "\n"
	    "Store the mail in files and folders (mbox, mboxrd, Content-Length\n"
	    "mboxes, Maildir, .eml files, any of them compressed with gzip,\n"
	    "bzip2, xz or zstd, or inside a tar, cpio, zip or 7-Zip archive)\n"
	    "in an account of the vault, told apart by content. Each message\n"
	    "is stored once in the vault (lossless deduplication, as fetch),\n"
	    "read back, and its origin (file and position) recorded. Running\n"
	    "it again reads only what is new; an interrupted import is\n"
	    "finished by the next. What cannot be read is reported and\n"
	    "skipped (exit 1).\n"
	    "\n"
	    "With --uidls-from, record the UIDLs that mpop, getmail or\n"
	    "fetchmail retrieved for the account NAME of popvault's config\n"
	    "file, so that \"popvault fetch\" does not download them again.\n"
	    "They are never deleted on that record alone.\n"
	    "\n"
	    "Options:\n");
	opt_help(stdout, OPT_CMD_IMPORT);
}

struct ierr {
	char	*where;
	char	*why;
};

struct icollect {
	struct ierr	*v;
	size_t		 n, cap;
	uint64_t	 total;
	int		 quiet;
};

static void
on_item_error(void *arg, const char *where, const char *why)
{
	struct icollect	*c = arg;
	char		 w[1024];

	c->total++;
	log_escape(where, strlen(where), w, sizeof w);
	log_warnx("%s: %s", w, why);
	if (c->n == IMPORT_ERRORS_MAX)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = xreallocarray(c->v, c->cap, sizeof *c->v);
	}
	c->v[c->n].where = xstrdup(where);
	c->v[c->n].why = xstrdup(why);
	c->n++;
}

static void
on_notice(void *arg, const char *where, const char *why)
{
	char	w[1024];

	log_escape(where, strlen(where), w, sizeof w);
	log_info("%s: %s", w, why);
}

/*
 * An import account is one of its own: never a POP3 account's, whose
 * UIDLs the import's ids would mingle with. 0 to go on (the account
 * may not exist yet), -1 after saying why.
 */
int
import_check_account(const char *vault, const char *name, int want_import)
{
	struct idx_ident	 id;
	struct stat		 sb;
	struct idx		*x;
	char			 path[PATH_MAX], err[600], dir[128];
	int64_t			 acct;
	int			 r, is_import;

	if (xsnprintf(path, sizeof path, "%s/index.sqlite", vault) == -1) {
		log_warnx("vault path too long");
		return -1;
	}
	if (stat(path, &sb) == -1)
		return 0;
	if ((x = idx_open(path, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	r = idx_account_find(x, name, &acct, dir, sizeof dir);
	if (r == 0 && idx_identity(x, acct, &id) == -1)
		r = -1;
	if (r == -1)
		log_warnx("%s", idx_error(x));
	idx_close(x);
	if (r != 0)
		return r == 1 ? 0 : -1;
	is_import = strcmp(id.host, IMPORT_HOST) == 0;
	if (want_import && !is_import) {
		log_warnx("account %s holds mail fetched from %s@%s:%s: import "
		    "into an account of its own (for example %s-old); the "
		    "vault stores each message once whatever the account",
		    name, id.user, id.host, id.port, name);
		return -1;
	}
	if (!want_import && is_import) {
		log_warnx("account %s holds imported files, not a POP3 "
		    "account's mail: name the account of the config file "
		    "whose server those UIDLs are from", name);
		return -1;
	}
	return 0;
}

int
import_config(const struct opt_values *v, struct config *cfg)
{
	struct config_errors	errs;
	char			path[4096];
	const char		*file = v->config;
	size_t			i;

	if (file == NULL) {
		if (config_default_path(path, sizeof path) == -1 ||
		    access(path, F_OK) == -1)
			return 0;
		file = path;
	}
	if (config_load(file, cfg, &errs) == -1) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i].msg);
		config_errors_free(&errs);
		return -1;
	}
	config_errors_free(&errs);
	return 1;
}

/*
 * Without --vault, the vault of the config file's [defaults], as fetch
 * uses it, if there is a config file. 0, or -1 after saying why.
 */
static int
config_vault(struct opt_values *v)
{
	struct config	cfg;
	int		r;

	if ((r = import_config(v, &cfg)) <= 0)
		return r;
	if (OPT_ISSET(&cfg.defaults.v, OPT_VAULT)) {
		free(v->vault);
		v->vault = xstrdup(cfg.defaults.v.vault);
	}
	config_free(&cfg);
	return 0;
}

/* Record where each listed message came from, once the run is over. */
static int
record_origins(const char *vault, const char *name, struct source *src)
{
	struct idx	*x;
	const char	*path, *flags;
	char		 ipath[PATH_MAX], err[600], dir[128], pos[600], uid[45];
	int64_t		 acct;
	size_t		 i, n = source_import_count(src);
	int		 r;

	if (n == 0)
		return 0;
	snprintf(err, sizeof err, "vault path too long");
	if (xsnprintf(ipath, sizeof ipath, "%s/index.sqlite", vault) == -1 ||
	    (x = idx_open(ipath, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	r = idx_account_find(x, name, &acct, dir, sizeof dir);
	if (r == 0)
		r = idx_begin(x);
	for (i = 0; r == 0 && i < n; i++)
		if (source_import_origin(src, i, uid, &path, pos, sizeof pos,
		    &flags) == 0 && idx_set_origin(x, acct, uid, strlen(uid),
		    path, pos, flags) == -1)
			r = -1;
	if (r == 0)
		r = idx_commit(x);
	else if (r == -1) {
		log_warnx("%s", idx_error(x));
		idx_rollback(x);
	}
	idx_close(x);
	return r == -1 ? -1 : 0;
}

static void
print_report(const struct run_stats *st, const struct icollect *c,
    const char *name, size_t found, int json, int code)
{
	size_t	i;

	if (!json) {
		printf("%s: %zu messages found, %llu imported, %llu already in "
		    "the vault (%llu from this import before), %llu variants,"
		    " %llu unreadable items, %llu messages refused\n", name,
		    found, (unsigned long long)st->archived,
		    (unsigned long long)(st->dups + st->known),
		    (unsigned long long)st->known,
		    (unsigned long long)st->variants,
		    (unsigned long long)c->total,
		    (unsigned long long)(st->failed + st->skipped));
		if (st->where[0] != '\0')
			printf("%s: stored in %s\n", name, st->where);
		return;
	}
	printf("{\"command\":\"import\",\"account\":");
	report_json_str(stdout, name);
	printf(",\"found\":%zu,\"imported\":%llu,\"duplicates\":%llu,"
	    "\"known\":%llu,\"variants\":%llu,\"verified\":%llu,"
	    "\"verify_failed\":%llu,\"unreadable\":%llu,\"refused\":%llu,"
	    "\"too_big\":%llu,\"bytes\":%llu,\"exit\":%d,\"where\":", found,
	    (unsigned long long)st->archived, (unsigned long long)st->dups,
	    (unsigned long long)st->known, (unsigned long long)st->variants,
	    (unsigned long long)st->verified,
	    (unsigned long long)st->verify_failed,
	    (unsigned long long)c->total, (unsigned long long)st->failed,
	    (unsigned long long)st->skipped, (unsigned long long)st->bytes,
	    code);
	report_json_str(stdout, st->where[0] != '\0' ? st->where : NULL);
	printf(",\"error\":");
	report_json_str(stdout, st->err[0] != '\0' ? st->err : NULL);
	printf(",\"items\":[");
	for (i = 0; i < c->n; i++) {
		printf("%s{\"where\":", i ? "," : "");
		report_json_str(stdout, c->v[i].where);
		printf(",\"why\":");
		report_json_str(stdout, c->v[i].why);
		putchar('}');
	}
	printf("]}\n");
}

/* Is path a popvault vault (its index and its accounts/ folder)? */
static int
is_vault(const char *path)
{
	struct stat	sb;
	char		p[PATH_MAX];

	return xsnprintf(p, sizeof p, "%s/index.sqlite", path) != -1 &&
	    stat(p, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    xsnprintf(p, sizeof p, "%s/accounts", path) != -1 &&
	    stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* One run's figures added to the whole import's. */
static void
add_stats(struct run_stats *sum, const struct run_stats *st)
{
	sum->archived += st->archived;
	sum->dups += st->dups;
	sum->known += st->known;
	sum->variants += st->variants;
	sum->verified += st->verified;
	sum->verify_failed += st->verify_failed;
	sum->failed += st->failed;
	sum->skipped += st->skipped;
	sum->bytes += st->bytes;
	if (st->where[0] != '\0')
		memcpy(sum->where, st->where, sizeof sum->where);
	if (st->err[0] != '\0')
		memcpy(sum->err, st->err, sizeof sum->err);
}

/* One run of the import into the vault: the files, or one vault. */
static int
import_run(const struct opt_values *v, struct source *src,
    struct run_stats *st)
{
	struct run_opts	 o;
	const char	*name = v->account;
	int		 code;

	memset(&o, 0, sizeof o);
	o.mode = RUN_FETCH;
	o.del = DEL_NEVER;
	o.max_sessions = 1;
	o.vault = v->vault;
	o.account = v->account;
	o.format = v->format;
	o.compress = (enum fmt_compress)v->compress;
	o.pop3.host = IMPORT_HOST;
	o.pop3.port = "";
	o.pop3.max_msg_size = v->max_message_size;
	o.user = "";
	o.dedup = RUN_DEDUP_VAULT;
	o.identity = RUN_ID_SAME;
	o.batch_msgs = (unsigned)v->batch;
	progress_watch(st, &name, 1, 1);
	code = run_source(&o, src, st);
	progress_finish(0);
	return code;
}

/*
 * Another popvault vault, read through its own index and formats (the
 * vault source: exact bytes, each checked against the hash its index
 * holds), every account of it into the one account.
 */
static int
import_vault(const struct opt_values *v, const char *path,
    struct icollect *c, struct run_stats *sum, size_t *found)
{
	struct run_stats	 st;
	struct source		*src;
	char			 a[PATH_MAX], b[PATH_MAX], why[200];
	size_t			 unsound;
	int			 code;

	if (realpath(path, a) != NULL && realpath(v->vault, b) != NULL &&
	    strcmp(a, b) == 0) {
		on_item_error(c, path, "the vault being imported into: "
		    "skipped");
		return EXIT_OK;
	}
	src = source_vault_new(path, NULL, 0, NULL);
	code = import_run(v, src, &st);
	unsound = source_vault_unsound(src);
	src->ops->close(src);
	add_stats(sum, &st);
	*found += st.listed;
	if (unsound > 0) {
		snprintf(why, sizeof why, "%zu messages left out: their only "
		    "stored copy failed verification there", unsound);
		on_item_error(c, path, why);
	}
	return code;
}

static int
import_paths(const struct opt_values *v, char **paths, int npaths)
{
	struct source_import_args	 a;
	struct icollect			 c;
	struct run_stats		 st, sum;
	struct source			*src;
	char				**files;
	size_t				 i, found = 0, nfiles = 0;
	int				 code = EXIT_OK, ran = 0;

	if (!fmt_accepts(v->format, (enum fmt_compress)v->compress)) {
		log_warnx("--compress %s: the %s format takes %s",
		    fmt_comp_name((enum fmt_compress)v->compress),
		    v->format->name, fmt_comp_list(v->format->comps));
		return EXIT_USAGE;
	}
	if (import_check_account(v->vault, v->account, 1) == -1)
		return EXIT_USAGE;
	if (v->log != NULL && log_event_open(v->log) == -1) {
		log_warn("--log %s", v->log);
		return EXIT_IOERR;
	}
	memset(&c, 0, sizeof c);
	memset(&sum, 0, sizeof sum);
	progress_init(v->quiet, v->progress);
	files = xreallocarray(NULL, (size_t)npaths, sizeof *files);
	for (i = 0; i < (size_t)npaths; i++)
		if (!is_vault(paths[i]))
			files[nfiles++] = paths[i];
	if (nfiles > 0) {
		memset(&a, 0, sizeof a);
		a.paths = (const char *const *)files;
		a.npaths = nfiles;
		a.max_msg_size = v->max_message_size;
		a.item_error = on_item_error;
		a.notice = on_notice;
		a.arg = &c;
		src = source_import_new(&a);
		code = import_run(v, src, &st);
		ran = 1;
		add_stats(&sum, &st);
		found += source_import_count(src);
		if (code != EXIT_USAGE && record_origins(v->vault, v->account,
		    src) == -1)
			code = cmd_exit_worse(code, EXIT_IOERR);
		src->ops->close(src);
	}
	for (i = 0; i < (size_t)npaths && code != EXIT_USAGE &&
	    !stop_requested(); i++)
		if (is_vault(paths[i])) {
			code = cmd_exit_worse(code, import_vault(v, paths[i],
			    &c, &sum, &found));
			ran = 1;
		}
	free(files);
	if (c.total > 0)
		code = cmd_exit_worse(code, EXIT_PARTIAL);
	if (ran && (!v->quiet || v->json))
		print_report(&sum, &c, v->account, found, v->json, code);
	for (i = 0; i < c.n; i++) {
		free(c.v[i].where);
		free(c.v[i].why);
	}
	free(c.v);
	return code;
}

static int
import_main(int argc, char **argv)
{
	struct opt_values	 cli, o;
	int			 first, code;

	if ((code = cmd_options(argc, argv, OPT_CMD_IMPORT, import_usage,
	    &cli, &first)) != 0) {
		opt_free(&cli);
		return code == 1 ? EXIT_OK : EXIT_USAGE;
	}
	/* The built-in defaults under what was typed. */
	opt_defaults(&o);
	opt_merge(&o, &cli);
	if (o.vault == NULL)
		o.vault = xstrdup(cli.vault);
	if (o.account == NULL && cli.account != NULL)
		o.account = xstrdup(cli.account);
	if (o.uidls_from == NULL && cli.uidls_from != NULL)
		o.uidls_from = xstrdup(cli.uidls_from);
	opt_free(&cli);
	if (!OPT_ISSET(&o, OPT_VAULT) && o.uidls_from == NULL &&
	    config_vault(&o) == -1) {
		opt_free(&o);
		return EXIT_USAGE;
	}
	log_init(o.quiet ? LOG_QUIET : LOG_NORMAL + o.verbose);
	if (o.account == NULL || o.account[0] == '\0') {
		log_warnx("import needs --account NAME: the vault's account "
		    "that receives the mail");
		code = EXIT_USAGE;
	} else if (o.uidls_from != NULL && first != argc) {
		log_warnx("--uidls-from takes no PATH: import the files and "
		    "the UIDLs in two runs");
		code = EXIT_USAGE;
	} else if (o.uidls_from != NULL)
		code = import_uidls(&o);
	else if (first == argc) {
		log_warnx("import needs a PATH: a file or folder of mail");
		code = EXIT_USAGE;
	} else {
		account_signals();
		code = import_paths(&o, argv + first, argc - first);
	}
	opt_free(&o);
	return code;
}

const struct cmd cmd_import = {
	.name = "import",
	.summary = "store mail from mbox, Maildir, .eml or archive files",
	.usage = import_usage,
	.run = import_main,
};
