/*
 * eml.c -- one file per message, named by its hash: ACCOUNT/eml/
 * SHA256.eml, the stored bytes and nothing else (RFC 5322 text with LF
 * line ends, as every other format stores it; what mail programs and
 * Python's email package open as a ".eml" file).
 *
 * Layout: ACCOUNT/eml/ holds the messages, ACCOUNT/eml/tmp/ the files
 * being written. A message is written to tmp/ (O_EXCL, 0600, a name of
 * time, pid, counter and randomness) while the format hashes it; end()
 * names it SHA256.eml from that hash (64 lower-case hex digits, never
 * anything of the message's text), or SHA256-N.eml when that name is
 * taken (the same bytes stored twice: dedup = none or account, or a
 * damaged copy being replaced). At the commit point (sync) every file of
 * the batch is fsynced and renamed into eml/ without ever replacing a
 * file (rename_noreplace: a clash is an error), then eml/ and tmp/ are
 * fsynced: one folder fsync per batch.
 *
 * Recovery is Maildir's: tmp/ belongs to popvault alone, so whatever is
 * in it after a crash is removed; a row the index left "pending" is
 * checked by hash: a file that matches is fsynced, and eml/, before it is
 * adopted; one that does not is moved to ACCOUNT/quarantine/ (as
 * NAME.SECONDS.RANDOM), never destroyed.
 */
#define _GNU_SOURCE		/* sync_file_range(2) */

#include <sys/random.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "log.h"
#include "util.h"

#define EML_NAME_MAX	96	/* SHA256-N.eml, tmp names */
#define EML_QRANDOM	8	/* random bytes in a quarantine name */
#define EML_SAME_MAX	1000	/* copies of the same bytes in one folder */
#define EML_WBUF	(64 * 1024)

struct eml_pending {
	int	fd;
	char	tmp[EML_NAME_MAX];	/* its name in tmp/ */
	char	name[EML_NAME_MAX];	/* and in eml/ */
};

struct eml {
	struct fmt		 base;
	char			 dir[4096];	/* account folder */
	int			 rootfd, tmpfd;	/* eml/, eml/tmp/ */
	unsigned long		 counter;
	struct eml_pending	*pend;		/* ended since the last sync */
	size_t			 npend, cappend;
	/* the message being written, hashed as it goes */
	int			 curfd;
	char			 curname[EML_NAME_MAX];
	struct hash		*h;
	char			 wbuf[EML_WBUF];
	size_t			 wlen;
};

/* Defined at the end; open() needs it first. */
extern const struct fmt_ops fmt_eml_ops;

static struct fmt *
eml_open(const struct fmt_args *a, char *err, size_t errlen)
{
	struct eml	*m = xcalloc(1, sizeof *m);
	char		 root[4200];

	m->base.ops = &fmt_eml_ops;
	m->rootfd = m->tmpfd = m->curfd = -1;
	snprintf(m->dir, sizeof m->dir, "%s", a->dir);
	if (xsnprintf(root, sizeof root, "%s/eml", a->dir) == -1 ||
	    mkdir_sync(root) == -1 ||
	    (m->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 ||
	    mkdirat_sync(m->rootfd, "tmp") == -1 ||
	    (m->tmpfd = openat(m->rootfd, "tmp", O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "eml %s: %s", root, strerror(errno));
		if (m->rootfd != -1)
			close(m->rootfd);
		free(m);
		return NULL;
	}
	m->h = hash_new();
	return &m->base;
}

static int
eml_recover(struct fmt *f, const struct fmt_committed *c)
{
	struct eml	*m = (struct eml *)f;
	DIR		*d;
	struct dirent	*de;
	int		 fd, removed = 0;

	(void)c;	/* no volumes */
	if ((fd = dup(m->tmpfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return fmt_fail(f, "eml tmp/: %s", strerror(errno));
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(m->tmpfd, de->d_name, 0) == -1 &&
		    errno != ENOENT) {
			closedir(d);
			return fmt_fail(f, "removing eml/tmp/%s: %s",
			    de->d_name, strerror(errno));
		}
		removed++;
	}
	closedir(d);
	if (removed > 0) {
		log_info("eml: removed %d unfinished file%s from tmp/",
		    removed, removed == 1 ? "" : "s");
		if (fsync(m->tmpfd) == -1)
			return fmt_fail(f, "fsync eml/tmp/: %s",
			    strerror(errno));
	}
	return 0;
}

/*
 * A location is a name this format gives: 64 lower-case hex digits,
 * optionally "-" and a number, then ".eml". Nothing else is opened.
 */
static int
eml_loc_ok(const char *loc)
{
	size_t	i, n = strlen(loc);

	if (n < HASH_HEXLEN + 4 || n >= EML_NAME_MAX ||
	    strcmp(loc + n - 4, ".eml") != 0)
		return 0;
	for (i = 0; i < HASH_HEXLEN; i++)
		if (!((loc[i] >= '0' && loc[i] <= '9') ||
		    (loc[i] >= 'a' && loc[i] <= 'f')))
			return 0;
	if (i == n - 4)
		return 1;
	if (loc[i++] != '-' || i == n - 4)
		return 0;
	for (; i < n - 4; i++)
		if (loc[i] < '0' || loc[i] > '9')
			return 0;
	return 1;
}

static int
eml_read(struct fmt *f, const char *loc,
    int (*cb)(void *, const void *, size_t), void *arg)
{
	struct eml	*m = (struct eml *)f;
	char		 buf[65536];
	ssize_t		 n;
	int		 fd;

	if (!eml_loc_ok(loc))
		return fmt_fail(f, "bad eml location %s", loc);
	if ((fd = openat(m->rootfd, loc, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return fmt_fail(f, "eml/%s: %s", loc, strerror(errno));
	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fmt_fail(f, "reading eml/%s: %s", loc,
			    strerror(errno));
			close(fd);
			return -1;
		}
		if (cb(arg, buf, (size_t)n) == -1) {
			close(fd);
			return fmt_fail(f, "reading eml/%s: stopped", loc);
		}
	}
	close(fd);
	return 0;
}

static int
hash_cb(void *arg, const void *p, size_t n)
{
	hash_update(arg, p, n);
	return 0;
}

/*
 * A file recovery adopts becomes "archived" in the index: make its bytes
 * and its entry in eml/ durable first (the run that wrote it may have
 * stopped between the rename and the fsync of eml/).
 */
static enum fmt_check
eml_adopt(struct eml *m, const char *loc)
{
	int	fd, r = -1;

	if ((fd = openat(m->rootfd, loc, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) != -1 && fsync(fd) == 0 && fsync(m->rootfd) == 0)
		r = 0;
	else
		fmt_fail(&m->base, "adopting eml/%s: fsync: %s", loc,
		    strerror(errno));
	if (fd != -1)
		close(fd);
	return r == 0 ? FMT_PRESENT : FMT_CHECK_ERROR;
}

static enum fmt_check
eml_check(struct fmt *f, const char *loc, const unsigned char sha[HASH_LEN])
{
	struct eml	*m = (struct eml *)f;
	struct hash	*h;
	struct stat	 sb;
	unsigned char	 got[HASH_LEN];
	char		 qdir[4200], qname[EML_NAME_MAX + 48];
	char		 rnd[2 * EML_QRANDOM + 1];
	int		 qfd;

	if (!eml_loc_ok(loc)) {
		fmt_fail(f, "bad eml location %s", loc);
		return FMT_CHECK_ERROR;
	}
	if (fstatat(m->rootfd, loc, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return FMT_ABSENT;
		fmt_fail(f, "eml/%s: %s", loc, strerror(errno));
		return FMT_CHECK_ERROR;
	}
	h = hash_new();
	if (eml_read(f, loc, hash_cb, h) == -1) {
		hash_free(h);
		return FMT_CHECK_ERROR;
	}
	hash_final(h, got);
	hash_free(h);
	if (memcmp(got, sha, HASH_LEN) == 0)
		return eml_adopt(m, loc);
	/* Not what the intent row promised: move it aside, never delete. */
	if (xsnprintf(qdir, sizeof qdir, "%s/quarantine", m->dir) == -1 ||
	    mkdir_sync(qdir) == -1 ||
	    (qfd = open(qdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		fmt_fail(f, "quarantine folder: %s", strerror(errno));
		return FMT_CHECK_ERROR;
	}
	random_hex(rnd, EML_QRANDOM);
	snprintf(qname, sizeof qname, "%s.%lld.%s", loc,
	    (long long)wall_now(), rnd);
	if (rename_noreplace(m->rootfd, loc, qfd, qname) == -1 ||
	    fsync(qfd) == -1 || fsync(m->rootfd) == -1) {
		fmt_fail(f, "quarantining eml/%s: %s", loc, strerror(errno));
		close(qfd);
		return FMT_CHECK_ERROR;
	}
	close(qfd);
	log_warnx("eml: %s does not match the index; moved to "
	    "quarantine/%s", loc, qname);
	return FMT_QUARANTINED;
}

static int
eml_begin(struct fmt *f, const struct fmt_msginfo *mi)
{
	struct eml	*m = (struct eml *)f;
	struct timespec	 ts;
	char		 rnd[9];
	int		 tries;

	(void)mi;
	for (tries = 0; tries < 5; tries++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		random_hex(rnd, 4);
		if (xsnprintf(m->curname, sizeof m->curname,
		    "%lld.M%ldP%ldQ%luR%s.part", (long long)ts.tv_sec,
		    ts.tv_nsec / 1000, (long)getpid(), ++m->counter,
		    rnd) == -1)
			return fmt_fail(f, "eml: name too long");
		m->curfd = openat(m->tmpfd, m->curname, O_WRONLY | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (m->curfd != -1) {
			m->wlen = 0;
			hash_reset(m->h);
			return 0;
		}
		if (errno != EEXIST)
			break;
	}
	return fmt_fail(f, "creating eml/tmp/%s: %s", m->curname,
	    strerror(errno));
}

static int
eml_wflush(struct eml *m)
{
	if (m->wlen > 0 && write_all(m->curfd, m->wbuf, m->wlen) == -1) {
		m->wlen = 0;
		return fmt_fail(&m->base, "writing eml/tmp/%s: %s",
		    m->curname, strerror(errno));
	}
	m->wlen = 0;
	return 0;
}

static int
eml_write(struct fmt *f, const void *p, size_t n)
{
	struct eml	*m = (struct eml *)f;

	hash_update(m->h, p, n);
	if (m->wlen + n > sizeof m->wbuf && eml_wflush(m) == -1)
		return -1;
	if (n >= sizeof m->wbuf) {
		if (write_all(m->curfd, p, n) == -1)
			return fmt_fail(f, "writing eml/tmp/%s: %s",
			    m->curname, strerror(errno));
		return 0;
	}
	memcpy(m->wbuf + m->wlen, p, n);
	m->wlen += n;
	return 0;
}

/* Is name free: no file in eml/, and not promised to another message? */
static int
eml_name_free(struct eml *m, const char *name)
{
	struct stat	sb;
	size_t		i;

	for (i = 0; i < m->npend; i++)
		if (strcmp(m->pend[i].name, name) == 0)
			return 0;
	if (fstatat(m->rootfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	return errno == ENOENT ? 1 : -1;
}

static int
eml_end(struct fmt *f, char *loc, size_t loclen)
{
	struct eml		*m = (struct eml *)f;
	struct eml_pending	*p;
	unsigned char		 sha[HASH_LEN];
	char			 hex[HASH_HEXLEN + 1], name[EML_NAME_MAX];
	int			 k, fr = 0;

	if (eml_wflush(m) == -1)
		return -1;
	hash_final(m->h, sha);
	hex_encode(sha, HASH_LEN, hex);
	for (k = 1; k <= EML_SAME_MAX; k++) {
		if (k == 1)
			snprintf(name, sizeof name, "%s.eml", hex);
		else
			snprintf(name, sizeof name, "%s-%d.eml", hex, k);
		if ((fr = eml_name_free(m, name)) != 0)
			break;
	}
	if (fr != 1)
		return fmt_fail(f, "eml: naming %s.eml: %s", hex, fr == -1 ?
		    strerror(errno) : "too many copies of these bytes");
	if (xsnprintf(loc, loclen, "%s", name) == -1)
		return fmt_fail(f, "eml: location too long");
	if (m->npend == m->cappend) {
		m->cappend = m->cappend ? m->cappend * 2 : 64;
		m->pend = xreallocarray(m->pend, m->cappend, sizeof *m->pend);
	}
	p = &m->pend[m->npend++];
	p->fd = m->curfd;
	memcpy(p->tmp, m->curname, sizeof p->tmp);
	memcpy(p->name, name, sizeof p->name);
	m->curfd = -1;
	/* Start writing it out now; the fsync at sync is what counts. */
	(void)sync_file_range(p->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return 0;
}

static int
eml_discard(struct fmt *f)
{
	struct eml	*m = (struct eml *)f;

	m->wlen = 0;
	if (m->curfd == -1)
		return 0;
	close(m->curfd);
	m->curfd = -1;
	if (unlinkat(m->tmpfd, m->curname, 0) == -1)
		return fmt_fail(f, "removing eml/tmp/%s: %s", m->curname,
		    strerror(errno));
	return 0;
}

static int
eml_sync(struct fmt *f)
{
	struct eml	*m = (struct eml *)f;
	size_t		 i;
	int		 r = 0;

	if (m->npend == 0)
		return 0;
	/* 1. Every file's data on disk (one journal commit for most). */
	for (i = 0; i < m->npend; i++)
		(void)sync_file_range(m->pend[i].fd, 0, 0,
		    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
		    SYNC_FILE_RANGE_WAIT_AFTER);
	for (i = 0; i < m->npend; i++) {
		if (fsync(m->pend[i].fd) == -1) {
			r = fmt_fail(f, "fsync eml/tmp/%s: %s",
			    m->pend[i].tmp, strerror(errno));
			break;
		}
		if (close(m->pend[i].fd) == -1) {
			m->pend[i].fd = -1;
			r = fmt_fail(f, "close eml/tmp/%s: %s",
			    m->pend[i].tmp, strerror(errno));
			break;
		}
		m->pend[i].fd = -1;
	}
	if (r == 0)
		crash_point("eml-files-synced");
	/* 2. Into eml/ under their names, then the folders on disk. */
	for (i = 0; r == 0 && i < m->npend; i++) {
		if (rename_noreplace(m->tmpfd, m->pend[i].tmp, m->rootfd,
		    m->pend[i].name) == -1)
			r = fmt_fail(f, "moving %s into eml/%s: %s",
			    m->pend[i].tmp, m->pend[i].name, errno == EEXIST ?
			    "a file of that name exists already; not "
			    "replaced" : strerror(errno));
		else if (i == 0)
			crash_point("eml-first-rename");
	}
	if (r == 0 && fsync(m->rootfd) == -1)
		r = fmt_fail(f, "fsync eml/: %s", strerror(errno));
	if (r == 0 && fsync(m->tmpfd) == -1)
		r = fmt_fail(f, "fsync eml/tmp/: %s", strerror(errno));
	for (i = 0; i < m->npend; i++)
		if (m->pend[i].fd != -1)
			close(m->pend[i].fd);
	m->npend = 0;
	return r;
}

static size_t
eml_synced(struct fmt *f, const struct fmt_vol **v)
{
	(void)f;
	*v = NULL;
	return 0;
}

static void
eml_close(struct fmt *f)
{
	struct eml	*m = (struct eml *)f;
	size_t		 i;

	if (m == NULL)
		return;
	eml_discard(f);
	/* Unsynced files stay in tmp/ for the next recovery to remove. */
	for (i = 0; i < m->npend; i++)
		if (m->pend[i].fd != -1)
			close(m->pend[i].fd);
	free(m->pend);
	hash_free(m->h);
	close(m->rootfd);
	close(m->tmpfd);
	free(m);
}

/* Size and bytes of one stored file, for scan(). */
struct eml_scanread {
	const struct fmt_scan	*s;
	uint64_t		 size;
	int			 stopped;	/* by the caller's data() */
};

static int
scan_data(void *arg, const void *p, size_t n)
{
	struct eml_scanread	*r = arg;

	r->size += n;
	if (r->s->data(r->s->arg, p, n) == -1) {
		r->stopped = 1;
		return -1;
	}
	return 0;
}

/*
 * scan(): every file of eml/ whose name a location can be (eml_loc_ok:
 * the hash, maybe "-N", ".eml"); tmp/ is never committed, anything else
 * is said and left out.
 */
static int
eml_scan(struct fmt *f, const struct fmt_scan *s)
{
	struct eml		*m = (struct eml *)f;
	struct eml_scanread	 r;
	struct dirent		*de;
	struct stat		 sb;
	DIR			*d;
	char			 what[300];
	int			 dfd, x = 0;

	if ((dfd = dup(m->rootfd)) == -1 || (d = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		return fmt_fail(f, "eml/: %s", strerror(errno));
	}
	rewinddir(d);
	while (x == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "tmp") == 0)
			continue;
		snprintf(what, sizeof what, "eml/%s", de->d_name);
		if (!eml_loc_ok(de->d_name) || fstatat(m->rootfd, de->d_name,
		    &sb, AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(sb.st_mode)) {
			if (s->skip != NULL)
				s->skip(s->arg, what);
			continue;
		}
		if (s->begin(s->arg) == -1) {
			x = -1;
			break;
		}
		r.s = s;
		r.size = 0;
		r.stopped = 0;
		if (eml_read(f, de->d_name, scan_data, &r) == -1) {
			/* Unreadable (said, left out), or stopped. */
			if (r.stopped)
				x = -1;
			else if (s->skip != NULL)
				s->skip(s->arg, what);
			continue;
		}
		if (s->end(s->arg, de->d_name, r.size) == -1)
			x = -1;
	}
	closedir(d);
	return x;
}

const struct fmt_ops fmt_eml_ops = {
	.name = "eml",
	.flags = 0,
	.comps = FMT_COMP_BIT(FMT_COMP_NONE),
	.open = eml_open,
	.recover = eml_recover,
	.check = eml_check,
	.begin = eml_begin,
	.write = eml_write,
	.end = eml_end,
	.discard = eml_discard,
	.sync = eml_sync,
	.synced = eml_synced,
	.read = eml_read,
	.verify = fmt_verify_each,
	.close = eml_close,
	.scan = eml_scan,
};
