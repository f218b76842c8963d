/*
 * rebuild.c -- "popvault index rebuild"; see rebuild.h.
 *
 *   1. every account folder's lock, held to the end (a run writing to
 *      an archive would race the scan); a stale temporary index of a
 *      rebuild that was killed removed
 *   2. the index: missing, or damaged (idx_check_file()); a sound one
 *      is left alone
 *   3. a new index under VAULT/index.sqlite.rebuild: per account folder
 *      (by name), its account file, then each format folder scanned
 *      (fmt_ops.scan): each message hashed as it is read (whole, body,
 *      header block; the header fields fetch records), recorded
 *      ("archived"), and every page of REBUILD_PAGE messages read back
 *      through the format's verify() ("verified", or noted); the
 *      volumes' committed state
 *   4. the new index closed and fsynced; the old one (and its -wal and
 *      -shm) renamed aside; the new one renamed into place, never over
 *      a file; the vault folder fsynced
 *
 * A kill at any point leaves either no index.sqlite (rerun: step 1
 * removes the partial one) or the complete new one. Archive files are
 * only read.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acctfile.h"
#include "format.h"
#include "hash.h"
#include "hdr.h"
#include "idx.h"
#include "log.h"
#include "rebuild.h"
#include "util.h"

#define REBUILD_PAGE	10000	/* messages verified at a time: a tar
				 * volume holds up to 10,000 */
#define REBUILD_TMP	"index.sqlite.rebuild"

struct racct {
	char	dir[128];
	int	lockfd;
};

/* One format folder of one account being scanned. */
struct rscan {
	struct idx		*x;
	struct fmt		*f;
	const char		*dir;
	int64_t			 acct;
	struct rebuild_report	*rep;
	int			 failed;	/* the index failed: stop */
	/* The message being read. */
	int			 open;
	struct hash		*whole, *body;
	struct hash_head	 head;
	struct hdr_scan		 hs;
	uint64_t		 size;
	/* The page awaiting its read-back. */
	struct fmt_vitem	*it;
	size_t			 n;
	char			*locs;
	size_t			 llen, lcap;
};

static int
rs_begin(void *arg)
{
	struct rscan	*r = arg;

	hash_reset(r->whole);
	hash_reset(r->body);
	hash_head_reset(&r->head);
	hdr_init(&r->hs);
	r->size = 0;
	r->open = 1;
	return 0;
}

/* As core/batch.c's sink_data(): the same hashes and header scan. */
static int
rs_data(void *arg, const void *p, size_t n)
{
	struct rscan	*r = arg;
	size_t		 h = 0;

	hash_update(r->whole, p, n);
	if (!r->hs.in_body) {
		h = hdr_feed(&r->hs, p, n);
		hash_head_update(&r->head, p, h);
	}
	if (h < n)
		hash_update(r->body, (const char *)p + h, n - h);
	r->size += n;
	return 0;
}

/* Read the page back through the format's own reader; record it. */
static int
rs_flush(struct rscan *r)
{
	struct rebuild_report	*rep = r->rep;
	int64_t			 now = wall_now();
	size_t			 i;
	char			 note[64];

	if (r->n == 0)
		return 0;
	for (i = 0; i < r->n; i++)
		r->it[i].loc = r->locs + (uintptr_t)r->it[i].loc;
	if (r->f->ops->verify(r->f, r->it, r->n) == -1) {
		log_warnx("accounts/%s: %s", r->dir, fmt_error(r->f));
		r->failed = 1;
		return -1;
	}
	if (idx_begin(r->x) == -1)
		goto fail;
	for (i = 0; i < r->n; i++) {
		if (r->it[i].result == FMT_V_OK) {
			if (idx_set_verified(r->x, r->it[i].id, now) == -1)
				goto fail;
			rep->messages++;
			continue;
		}
		/* Kept, as verify does: noted, and never deleted on. */
		rep->bad++;
		log_warnx("accounts/%s: %s reads back %s", r->dir,
		    r->it[i].loc, fmt_vresult_str(r->it[i].result));
		snprintf(note, sizeof note, "verify: %s",
		    fmt_vresult_str(r->it[i].result));
		if (idx_mark_damaged(r->x, r->it[i].id, note) == -1)
			goto fail;
	}
	if (idx_commit(r->x) == -1)
		goto fail;
	r->n = 0;
	r->llen = 0;
	return 0;
fail:
	log_warnx("%s", idx_error(r->x));
	idx_rollback(r->x);
	r->failed = 1;
	return -1;
}

/* The kept value of a header field, or NULL. */
static const char *
field(const struct hdr_scan *hs, enum hdr_field f, size_t *len)
{
	*len = 0;
	return hdr_get(hs, f, len);
}

static int
rs_end(void *arg, const char *loc, uint64_t size)
{
	struct rscan	*r = arg;
	struct idx_msg	 m;
	struct idx_dedup d;
	unsigned char	 head[HASH_LEN];
	const char	*mid;
	size_t		 midlen = 0, len = strlen(loc) + 1;
	int64_t		 id;

	if (!r->open)
		return -1;
	r->open = 0;
	if (size != r->size)
		log_warnx("accounts/%s: %s: %llu bytes read, the scan says "
		    "%llu", r->dir, loc, (unsigned long long)r->size,
		    (unsigned long long)size);
	memset(&m, 0, sizeof m);
	m.account_id = r->acct;
	hash_final(r->whole, m.sha256);
	hash_final(r->body, m.body_sha256);
	hash_head_final(&r->head, head);
	m.size = r->size;
	mid = hdr_message_id(&r->hs, &midlen);
	m.message_id = mid;
	m.message_id_len = midlen;
	m.date = field(&r->hs, HDR_DATE, &m.date_len);
	m.from = field(&r->hs, HDR_FROM, &m.from_len);
	m.subject = field(&r->hs, HDR_SUBJECT, &m.subject_len);
	m.return_path = field(&r->hs, HDR_RETURN_PATH, &m.return_path_len);
	m.format = r->f->ops->name;
	m.location = loc;
	m.first_seen = wall_now();
	m.date_epoch = INT64_MIN;
	m.head_sha256 = head;
	if (m.date != NULL)
		hdr_parse_date(m.date, m.date_len, &m.date_epoch);
	if (r->n == 0 && idx_begin(r->x) == -1)
		goto fail;
	/*
	 * Each stored copy is its own row, as the archive holds it; a
	 * variant (same Message-ID and body, other headers) is linked to
	 * the first copy, as a fetch would have linked it; a second copy
	 * of the same bytes (stored with --dedup account or none) as the
	 * first copy of them is.
	 */
	if (idx_dedup(r->x, 0, mid, midlen, m.body_sha256, m.sha256,
	    &d) == -1)
		goto fail;
	m.variant_of = d.variant_of;
	if (d.dup != 0 && idx_variant_of(r->x, d.dup, &m.variant_of) == -1)
		goto fail;
	if (idx_add_message(r->x, &m, &id) == -1 ||
	    idx_set_archived(r->x, id, m.first_seen) == -1)
		goto fail;
	r->rep->bytes += r->size;
	/* Locations as offsets in the arena, which may move. */
	while (r->llen + len > r->lcap) {
		r->lcap = r->lcap ? r->lcap * 2 : 65536;
		r->locs = xreallocarray(r->locs, r->lcap, 1);
	}
	memcpy(r->locs + r->llen, loc, len);
	r->it[r->n].loc = (const char *)(uintptr_t)r->llen;
	memcpy(r->it[r->n].sha, m.sha256, HASH_LEN);
	r->it[r->n].id = id;
	r->it[r->n].result = FMT_V_UNREADABLE;
	r->llen += len;
	if (++r->n < REBUILD_PAGE)
		return 0;
	if (idx_commit(r->x) == -1)
		goto fail;
	return rs_flush(r);
fail:
	log_warnx("%s", idx_error(r->x));
	idx_rollback(r->x);
	r->failed = 1;
	return -1;
}

static int
rs_vol(void *arg, const struct fmt_vol *v)
{
	struct rscan	*r = arg;

	if (idx_volume_set(r->x, r->acct, v->name, v->length, v->priv) ==
	    -1) {
		log_warnx("%s", idx_error(r->x));
		r->failed = 1;
		return -1;
	}
	return 0;
}

static void
rs_skip(void *arg, const char *what)
{
	struct rscan	*r = arg;

	r->rep->skipped++;
	log_warnx("accounts/%s: %s: not taken", r->dir, what);
}

/* Scan one format folder of an account: 0, or -1 (said). */
static int
rebuild_format(struct idx *x, const char *vault, const char *dir,
    int64_t acct, const struct fmt_ops *ops, struct rebuild_report *rep)
{
	struct fmt_scan	 s = { rs_begin, rs_data, rs_end, rs_vol, rs_skip,
			    NULL };
	struct fmt_args	 fa;
	struct rscan	 r;
	char		 path[4400], err[600];
	int		 rc;

	if (xsnprintf(path, sizeof path, "%s/accounts/%s", vault, dir) ==
	    -1) {
		log_warnx("accounts/%s: path too long", dir);
		return -1;
	}
	fa.dir = path;
	fa.compress = FMT_COMP_NONE;	/* the readers take every one */
	memset(&r, 0, sizeof r);
	if ((r.f = ops->open(&fa, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	r.x = x;
	r.dir = dir;
	r.acct = acct;
	r.rep = rep;
	r.whole = hash_new();
	r.body = hash_new();
	r.it = xreallocarray(NULL, REBUILD_PAGE, sizeof *r.it);
	s.arg = &r;
	rc = ops->scan(r.f, &s);
	if (rc == -1 && !r.failed)
		log_warnx("accounts/%s: %s", dir, fmt_error(r.f));
	/* The last page: committed, then read back. */
	if (rc == 0 && r.n > 0 && (idx_commit(x) == -1 || rs_flush(&r) ==
	    -1)) {
		if (!r.failed)
			log_warnx("%s", idx_error(x));
		rc = -1;
	}
	if (rc == -1)
		idx_rollback(x);
	ops->close(r.f);
	hash_free(r.whole);
	hash_free(r.body);
	hash_head_free(&r.head);
	free(r.it);
	free(r.locs);
	return rc;
}

/* Is path a folder (not a link)? */
static int
is_dir(const char *path)
{
	struct stat	sb;

	return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int
rebuild_account(struct idx *x, const char *vault, const char *dir,
    struct rebuild_report *rep)
{
	const struct fmt_ops	*ops;
	struct idx_ident	 id;
	char			 path[4400], name[512], alt[700], odir[128];
	int64_t			 acct, other;
	size_t			 i;
	int			 r, code = EXIT_OK;

	if (xsnprintf(path, sizeof path, "%s/accounts/%s", vault, dir) == -1)
		return EXIT_USAGE;
	if ((r = acctfile_read(path, name, sizeof name, &id)) == -1) {
		log_warn("accounts/%s/%s", dir, ACCTFILE_NAME);
		r = 0;
	}
	if (r == 0 || name[0] == '\0') {
		/* An older vault: the folder's name, the server unknown. */
		snprintf(name, sizeof name, "%s", dir);
		if (r == 0)
			memset(&id, 0, sizeof id);
	}
	/* Two folders claiming one name (a copied folder): both kept. */
	if ((r = idx_account_find(x, name, &other, odir, sizeof odir)) == 0) {
		snprintf(alt, sizeof alt, "%s (folder %s)", name, dir);
		log_warnx("accounts/%s: the account name %s is accounts/%s's "
		    "already; this one is named \"%s\"", dir, name, odir, alt);
		memcpy(name, alt, sizeof name - 1);
		name[sizeof name - 1] = '\0';
	} else if (r == -1) {
		log_warnx("%s", idx_error(x));
		return EXIT_IOERR;
	}
	if (idx_account_restore(x, name, dir, &id, &acct) == -1) {
		log_warnx("%s", idx_error(x));
		return EXIT_IOERR;
	}
	rep->accounts++;
	for (i = 0; (ops = fmt_at(i)) != NULL; i++) {
		if (xsnprintf(path, sizeof path, "%s/accounts/%s/%s", vault,
		    dir, ops->name) == -1 || !is_dir(path))
			continue;
		if (ops->scan == NULL) {
			log_warnx("accounts/%s/%s: the %s format cannot be "
			    "rebuilt from its files (it has no scan); its "
			    "messages are not in the new index, and a fetch "
			    "stores them again", dir, ops->name, ops->name);
			rep->unscannable++;
			code = EXIT_VERIFY;
			continue;
		}
		if (rebuild_format(x, vault, dir, acct, ops, rep) == -1)
			return EXIT_IOERR;
	}
	crash_point("rebuild-account");
	return code;
}

static int
dir_cmp(const void *a, const void *b)
{
	return strcmp(((const struct racct *)a)->dir,
	    ((const struct racct *)b)->dir);
}

/*
 * Every account folder, each lock taken (EXIT_TEMPFAIL if one is
 * held): *out, *n. The lock files are the runs' own (core/run.c).
 */
static int
lock_accounts(const char *vault, struct racct **out, size_t *n)
{
	struct dirent	*de;
	struct racct	*a = NULL;
	DIR		*d;
	char		 path[4400];
	size_t		 cap = 0, i;
	int		 code = EXIT_OK;

	*out = NULL;
	*n = 0;
	if (xsnprintf(path, sizeof path, "%s/accounts", vault) == -1 ||
	    (d = opendir(path)) == NULL) {
		log_warnx("no vault at %s (no accounts folder)", vault);
		return EXIT_USAGE;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >=
		    sizeof a->dir)
			continue;
		if (xsnprintf(path, sizeof path, "%s/accounts/%s", vault,
		    de->d_name) == -1 || !is_dir(path))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			a = xreallocarray(a, cap, sizeof *a);
		}
		memcpy(a[*n].dir, de->d_name, strlen(de->d_name) + 1);
		a[*n].lockfd = -1;
		(*n)++;
	}
	closedir(d);
	if (*n > 0)
		qsort(a, *n, sizeof *a, dir_cmp);
	*out = a;
	for (i = 0; i < *n && code == EXIT_OK; i++) {
		if (xsnprintf(path, sizeof path, "%s/accounts/%s/lock", vault,
		    a[i].dir) == -1 || (a[i].lockfd = open(path, O_RDWR |
		    O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
			log_warn("lock file %s", path);
			code = EXIT_IOERR;
		} else if (flock(a[i].lockfd, LOCK_EX | LOCK_NB) == -1) {
			if (errno == EWOULDBLOCK) {
				log_warnx("accounts/%s is being archived by "
				    "another popvault process: nothing "
				    "rebuilt; run again when it is done",
				    a[i].dir);
				code = EXIT_TEMPFAIL;
			} else {
				log_warn("lock %s", path);
				code = EXIT_IOERR;
			}
		}
	}
	return code;
}

static void
unlock_accounts(struct racct *a, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (a[i].lockfd != -1)
			close(a[i].lockfd);
	free(a);
}

/* Remove what a killed rebuild left: its own unfinished files only. */
static int
remove_stale(const char *vault)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char	path[4400];
	size_t	i;
	int	any = 0;

	for (i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		if (xsnprintf(path, sizeof path, "%s/" REBUILD_TMP "%s", vault,
		    sfx[i]) == -1)
			return -1;
		if (unlink(path) == 0)
			any = 1;
		else if (errno != ENOENT) {
			log_warn("removing %s", path);
			return -1;
		}
	}
	if (any)
		log_info("removed the unfinished index of an interrupted "
		    "rebuild");
	return 0;
}

/*
 * Move the old index and its side files aside as
 * index.sqlite.damaged-TIME[-N]{,-wal,-shm}; rep->aside gets the name.
 * 0, or -1 (said).
 */
static int
move_aside(const char *vault, struct rebuild_report *rep)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	struct stat	 sb;
	struct tm	 tm;
	time_t		 now = (time_t)wall_now();
	char		 base[128], from[4400], to[4500], stamp[32];
	size_t		 i;
	int		 n, any = 0, dfd, clash;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	if ((dfd = open(vault, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("%s", vault);
		return -1;
	}
	for (n = 1; n < 100; n++) {
		if (n == 1)
			snprintf(base, sizeof base, "index.sqlite.damaged-%s",
			    stamp);
		else
			snprintf(base, sizeof base, "index.sqlite.damaged-%s-%d",
			    stamp, n);
		for (i = 0, clash = 0; i < 3; i++) {
			snprintf(to, sizeof to, "%s%s", base, sfx[i]);
			clash |= fstatat(dfd, to, &sb, AT_SYMLINK_NOFOLLOW) ==
			    0;
		}
		if (!clash)
			break;
	}
	for (i = 0; i < 3; i++) {
		snprintf(from, sizeof from, "index.sqlite%s", sfx[i]);
		snprintf(to, sizeof to, "%s%s", base, sfx[i]);
		if (rename_noreplace(dfd, from, dfd, to) == 0) {
			any = 1;
			continue;
		}
		if (errno == ENOENT)
			continue;
		log_warn("moving %s/%s aside to %s", vault, from, to);
		close(dfd);
		return -1;
	}
	if (any && fsync(dfd) == -1) {
		log_warn("fsync %s", vault);
		close(dfd);
		return -1;
	}
	close(dfd);
	if (any)
		snprintf(rep->aside, sizeof rep->aside, "%s/%s", vault, base);
	return 0;
}

/* Close, fsync and move the new index into place. 0 or -1 (said). */
static int
put_in_place(struct idx *x, const char *vault, const char *tmp,
    struct rebuild_report *rep)
{
	char	side[4400];
	int	fd, dfd, r;

	if (idx_durable(x, 1) == -1) {
		log_warnx("%s", idx_error(x));
		idx_close(x);
		return -1;
	}
	idx_close(x);
	/* The last connection closed: the log is in the file, and gone. */
	if (xsnprintf(side, sizeof side, "%s-wal", tmp) == -1 ||
	    access(side, F_OK) == 0) {
		log_warnx("%s: the new index still has a write-ahead log; "
		    "not put in place", tmp);
		return -1;
	}
	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) == -1 || fsync(fd) == -1) {
		log_warn("fsync %s", tmp);
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	crash_point("rebuild-built");
	if (move_aside(vault, rep) == -1)
		return -1;
	crash_point("rebuild-aside");
	if ((dfd = open(vault, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("%s", vault);
		return -1;
	}
	/* Never over an index another process made meanwhile. */
	r = rename_noreplace(dfd, REBUILD_TMP, dfd, "index.sqlite");
	if (r == -1)
		log_warn("putting the new index in place (it stays as %s)",
		    tmp);
	else if (fsync(dfd) == -1) {
		log_warn("fsync %s", vault);
		r = -1;
	}
	close(dfd);
	return r;
}

int
rebuild_vault(const char *vault, struct rebuild_report *rep)
{
	struct racct	*a;
	struct idx	*x;
	size_t		 n, i;
	char		 path[4400], tmp[4400], err[700];
	int		 code, r;

	memset(rep, 0, sizeof *rep);
	if ((code = lock_accounts(vault, &a, &n)) != EXIT_OK) {
		unlock_accounts(a, n);
		return code;
	}
	if (xsnprintf(path, sizeof path, "%s/index.sqlite", vault) == -1 ||
	    xsnprintf(tmp, sizeof tmp, "%s/" REBUILD_TMP, vault) == -1 ||
	    remove_stale(vault) == -1) {
		unlock_accounts(a, n);
		return EXIT_IOERR;
	}
	r = access(path, F_OK) == 0 ? idx_check_file(path, err,
	    sizeof err) : 1;
	if (r == 0) {
		log_warnx("%s is sound: nothing to rebuild (to rebuild it all "
		    "the same, move it away first: a rebuilt index forgets "
		    "which UIDLs each account has seen)", path);
		unlock_accounts(a, n);
		return EXIT_USAGE;
	}
	if (r == -1) {
		log_warnx("%s", err);
		unlock_accounts(a, n);
		return EXIT_IOERR;
	}
	if (access(path, F_OK) == 0)
		log_info("%s", err);
	else
		log_info("no index at %s: rebuilding it from the archives",
		    path);
	if ((x = idx_open_new(tmp, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		unlock_accounts(a, n);
		return EXIT_IOERR;
	}
	/* A partial index is thrown away: no need to wait for the disk. */
	if (idx_durable(x, 0) == -1) {
		log_warnx("%s", idx_error(x));
		idx_close(x);
		unlock_accounts(a, n);
		return EXIT_IOERR;
	}
	for (i = 0; i < n; i++) {
		r = rebuild_account(x, vault, a[i].dir, rep);
		if (r == EXIT_IOERR || r == EXIT_USAGE) {
			idx_close(x);
			unlock_accounts(a, n);
			log_warnx("nothing rebuilt: %s is left for the next "
			    "try to remove", tmp);
			return r;
		}
		if (r != EXIT_OK)
			code = r;
	}
	if (rep->bad > 0)
		code = EXIT_VERIFY;
	if (put_in_place(x, vault, tmp, rep) == -1)
		code = EXIT_IOERR;
	unlock_accounts(a, n);
	return code;
}
