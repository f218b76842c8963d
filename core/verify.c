/*
 * verify.c -- re-reading archives; see verify.h.
 *
 * Offline verification takes each account's lock (so it never races a
 * fetch), reads every stored message back through its format's reader a
 * page at a time (one pass per file, member or volume within a page),
 * compares the SHA-256 with the index, and records the outcome: rows that
 * match become "verified", rows that do not get a "verify: ..." note,
 * which stops any deletion from that account until fixed.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "verify.h"

#define VERIFY_PAGE	5000

static int
vlist_cb(void *arg, int64_t id, const char *loc, const unsigned char *sha)
{
	struct vlist	*v = arg;
	size_t		 n = strlen(loc) + 1;

	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 256;
		v->it = xreallocarray(v->it, v->cap, sizeof *v->it);
	}
	while (v->llen + n > v->lcap) {
		v->lcap = v->lcap ? v->lcap * 2 : 16384;
		v->locs = xreallocarray(v->locs, v->lcap, 1);
	}
	memcpy(v->locs + v->llen, loc, n);
	/* An offset for now: the arena may move while it grows. */
	v->it[v->n].loc = (const char *)(uintptr_t)v->llen;
	memcpy(v->it[v->n].sha, sha, HASH_LEN);
	v->it[v->n].id = id;
	v->it[v->n].result = FMT_V_UNREADABLE;
	v->n++;
	v->llen += n;
	return 0;
}

int
vlist_load(struct vlist *v, struct idx *x, int64_t acct, const char *format,
    int unverified, int64_t after, int64_t limit)
{
	size_t	i;

	memset(v, 0, sizeof *v);
	if (idx_stored(x, acct, format, unverified, after, limit, vlist_cb,
	    v) == -1) {
		vlist_free(v);
		return -1;
	}
	for (i = 0; i < v->n; i++)
		v->it[i].loc = v->locs + (uintptr_t)v->it[i].loc;
	return (int)v->n;
}

void
vlist_free(struct vlist *v)
{
	free(v->it);
	free(v->locs);
	memset(v, 0, sizeof *v);
}

struct acct {
	int64_t	id;
	char	name[512];
	char	dir[128];
};

struct accts {
	struct acct	*a;
	size_t		 n, cap;
};

static int
acct_cb(void *arg, int64_t id, const char *name, const char *dir)
{
	struct accts	*v = arg;

	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 16;
		v->a = xreallocarray(v->a, v->cap, sizeof *v->a);
	}
	v->a[v->n].id = id;
	snprintf(v->a[v->n].name, sizeof v->a[v->n].name, "%s", name);
	snprintf(v->a[v->n].dir, sizeof v->a[v->n].dir, "%s", dir);
	v->n++;
	return 0;
}

/* Verify one format's messages of one account, page by page. */
static int
verify_format(struct idx *x, const struct acct *a, const char *path,
    const char *format, struct verify_report *rep)
{
	const struct fmt_ops	*ops = fmt_find(format);
	struct fmt_args		 fa;
	struct fmt		*f;
	struct vlist		 v;
	int64_t			 after = 0, now = wall_now();
	size_t			 i;
	char			 err[600], note[64];
	int			 n, werr, code = EXIT_OK;

	if (ops == NULL) {
		log_warnx("%s: unknown format %s in the index", a->name,
		    format);
		return EXIT_IOERR;
	}
	fa.dir = path;
	fa.compress = FMT_COMP_NONE;
	if ((f = ops->open(&fa, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return EXIT_IOERR;
	}
	for (;;) {
		if ((n = vlist_load(&v, x, a->id, format, 0, after,
		    VERIFY_PAGE)) <= 0) {
			if (n == -1) {
				log_warnx("%s", idx_error(x));
				code = EXIT_IOERR;
			}
			break;
		}
		after = v.it[v.n - 1].id;
		if (ops->verify(f, v.it, v.n) == -1 || idx_begin(x) == -1) {
			log_warnx("%s: %s", a->name, fmt_error(f));
			vlist_free(&v);
			code = EXIT_IOERR;
			break;
		}
		for (i = 0; i < v.n; i++) {
			rep->checked++;
			if (v.it[i].result == FMT_V_OK) {
				rep->ok++;
				if (idx_set_verified(x, v.it[i].id, now) == -1)
					break;
				continue;
			}
			switch (v.it[i].result) {
			case FMT_V_MISSING:
				rep->missing++;
				break;
			case FMT_V_ALTERED:
				rep->altered++;
				break;
			default:
				rep->unreadable++;
				break;
			}
			printf("%s: %s: %s\n", a->name, v.it[i].loc,
			    fmt_vresult_str(v.it[i].result));
			snprintf(note, sizeof note, "verify: %s",
			    fmt_vresult_str(v.it[i].result));
			/* Deletes stop; its UIDLs are fetched again. */
			if (idx_mark_damaged(x, v.it[i].id, note) == -1)
				break;
			code = EXIT_VERIFY;
		}
		werr = i < v.n;
		vlist_free(&v);
		if (werr || idx_commit(x) == -1) {
			log_warnx("%s: %s", a->name, idx_error(x));
			idx_rollback(x);
			code = EXIT_IOERR;
			break;
		}
	}
	ops->close(f);
	return code;
}

static int
verify_account(struct idx *x, const char *vault, const struct acct *a,
    struct verify_report *rep)
{
	char	path[4400], lock[4500], formats[8][16];
	int	fd, nf, i, code = EXIT_OK, r;

	if (xsnprintf(path, sizeof path, "%s/accounts/%s", vault,
	    a->dir) == -1 || xsnprintf(lock, sizeof lock, "%s/lock",
	    path) == -1)
		return EXIT_USAGE;
	if ((fd = open(lock, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) != -1 &&
	    flock(fd, LOCK_EX | LOCK_NB) == -1) {
		log_warnx("account %s is being archived by another popvault "
		    "process", a->name);
		close(fd);
		return EXIT_TEMPFAIL;
	}
	if ((nf = idx_formats(x, a->id, formats, 8)) == -1) {
		log_warnx("%s", idx_error(x));
		code = EXIT_IOERR;
	}
	for (i = 0; i < nf; i++) {
		r = verify_format(x, a, path, formats[i], rep);
		if (r != EXIT_OK && code != EXIT_IOERR)
			code = r;
	}
	if (fd != -1)
		close(fd);
	return code;
}

/*
 * The worse of two outcomes: a check that could not be made (a usage
 * or I/O error) over a failed check, over a busy account, over success.
 */
static int
worse(int a, int b)
{
	static const int	order[] = { EXIT_OK, EXIT_TEMPFAIL,
				    EXIT_VERIFY, EXIT_IOERR, EXIT_USAGE };
	size_t			i, n = sizeof order / sizeof order[0];
	size_t			ra = n, rb = n;	/* unknown: the worst */

	for (i = 0; i < n; i++) {
		if (order[i] == a)
			ra = i;
		if (order[i] == b)
			rb = i;
	}
	return rb > ra ? b : a;
}

int
verify_vault(const char *vault, char *const *names, int n,
    struct verify_report *rep)
{
	struct accts	 v;
	struct stat	 sb;
	struct idx	*x;
	char		 path[4200], err[600];
	size_t		 i;
	int		 k, found, code = EXIT_OK, r;

	memset(rep, 0, sizeof *rep);
	if (xsnprintf(path, sizeof path, "%s/index.sqlite", vault) == -1 ||
	    (stat(path, &sb) == -1 && (xsnprintf(path, sizeof path,
	    "%s/accounts", vault) == -1 || stat(path, &sb) == -1))) {
		log_warnx("no vault at %s", vault);
		return EXIT_USAGE;
	}
	/* Without index.sqlite but with accounts/: idx_open() says why. */
	snprintf(path, sizeof path, "%s/index.sqlite", vault);
	if ((x = idx_open(path, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return EXIT_IOERR;
	}
	/* Every page of the index too, as every archive is read whole. */
	if (idx_quick_check(x) == -1) {
		log_warnx("%s", idx_error(x));
		idx_close(x);
		return EXIT_IOERR;
	}
	memset(&v, 0, sizeof v);
	if (idx_accounts(x, acct_cb, &v) == -1) {
		log_warnx("%s", idx_error(x));
		idx_close(x);
		return EXIT_IOERR;
	}
	for (k = 0; k < n; k++) {
		for (i = 0, found = 0; i < v.n; i++)
			found |= strcmp(v.a[i].name, names[k]) == 0;
		if (!found) {
			log_warnx("no account %s in the vault", names[k]);
			code = worse(code, EXIT_USAGE);
		}
	}
	/* Every account, even after one fails: each is reported. */
	for (i = 0; i < v.n; i++) {
		struct verify_report	before = *rep;

		for (k = 0, found = n == 0; k < n; k++)
			found |= strcmp(v.a[i].name, names[k]) == 0;
		if (!found)
			continue;
		r = verify_account(x, vault, &v.a[i], rep);
		log_info("%s: %llu checked, %llu ok, %llu missing, %llu "
		    "altered, %llu unreadable%s", v.a[i].name,
		    (unsigned long long)(rep->checked - before.checked),
		    (unsigned long long)(rep->ok - before.ok),
		    (unsigned long long)(rep->missing - before.missing),
		    (unsigned long long)(rep->altered - before.altered),
		    (unsigned long long)(rep->unreadable - before.unreadable),
		    r == EXIT_OK || r == EXIT_VERIFY ? "" : " (not finished)");
		code = worse(code, r);
	}
	free(v.a);
	idx_close(x);
	return code;
}
