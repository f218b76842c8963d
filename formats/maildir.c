/*
 * maildir.c -- Maildir archive (qmail maildir(5), cr.yp.to/proto/maildir).
 *
 * Layout: ACCOUNT/maildir/{tmp,new,cur}. A message is written to tmp/
 * (O_EXCL, 0600), and at the commit point (sync) every file of the batch
 * is fsynced, renamed into new/, and new/ and tmp/ are fsynced: one
 * folder fsync per batch, not per message. Names are
 * "SECONDS.M<usec>P<pid>Q<counter>R<random>.<host>": time, counters and
 * randomness, never server data; no '/' or ':', no leading dot.
 *
 * Recovery: tmp/ belongs to popvault alone, so whatever is in it after a
 * crash is removed; rows the index left "pending" are checked by hash
 * (check): a file that matches is fsynced, and its folder, before it is
 * adopted; a file that does not match is moved to ACCOUNT/quarantine/
 * (as NAME.SECONDS.RANDOM) rather than destroyed. Every folder created
 * is fsynced with its parent. No rename ever replaces a file: a clash is
 * an error (rename_noreplace).
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

#define MD_NAME_MAX	128
#define MD_QRANDOM	8	/* random bytes in a quarantine name */

struct md_pending {
	int	fd;
	char	name[MD_NAME_MAX];
};

#define MD_WBUF		(64 * 1024)

struct maildir {
	struct fmt		 base;
	char			 dir[4096];	/* account folder */
	int			 rootfd, tmpfd, newfd;
	char			 host[64];
	unsigned long		 counter;
	/* files ended since the last sync */
	struct md_pending	*pend;
	size_t			 npend, cappend;
	/* the message being written, through a buffer: most messages
	 * take one write(2) */
	int			 curfd;
	char			 curname[MD_NAME_MAX];
	char			 wbuf[MD_WBUF];
	size_t			 wlen;
};

static void
md_host(char *out, size_t len)
{
	char	h[256];
	size_t	i, o = 0;

	if (gethostname(h, sizeof h) == -1)
		snprintf(h, sizeof h, "localhost");
	h[sizeof h - 1] = '\0';
	for (i = 0; h[i] != '\0' && o + 1 < len; i++) {
		char	c = h[i];

		/* maildir(5): '/' and ':' are not allowed. */
		if (c == '/' || c == ':' || c < 0x21 || c > 0x7e)
			c = '_';
		out[o++] = c;
	}
	out[o] = '\0';
}

static int
open_sub(struct maildir *m, const char *sub)
{
	int	fd;

	if (mkdirat_sync(m->rootfd, sub) == -1)
		return -1;
	fd = openat(m->rootfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	return fd;
}

static struct fmt *
md_open(const struct fmt_args *a, char *err, size_t errlen)
{
	struct maildir	*m = xcalloc(1, sizeof *m);
	char		 root[4200];
	int		 cur;

	m->base.ops = &fmt_maildir_ops;
	m->rootfd = m->tmpfd = m->newfd = m->curfd = -1;
	snprintf(m->dir, sizeof m->dir, "%s", a->dir);
	if (xsnprintf(root, sizeof root, "%s/maildir", a->dir) == -1 ||
	    mkdir_sync(root) == -1 ||
	    (m->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 ||
	    (m->tmpfd = open_sub(m, "tmp")) == -1 ||
	    (m->newfd = open_sub(m, "new")) == -1 ||
	    (cur = open_sub(m, "cur")) == -1) {
		snprintf(err, errlen, "maildir %s: %s", root,
		    strerror(errno));
		if (m->rootfd != -1)
			close(m->rootfd);
		if (m->tmpfd != -1)
			close(m->tmpfd);
		if (m->newfd != -1)
			close(m->newfd);
		free(m);
		return NULL;
	}
	close(cur);
	md_host(m->host, sizeof m->host);
	return &m->base;
}

static int
md_recover(struct fmt *f, const struct fmt_committed *c)
{
	struct maildir	*m = (struct maildir *)f;
	DIR		*d;
	struct dirent	*de;
	int		 fd, removed = 0;

	(void)c;	/* Maildir has no volumes */
	if ((fd = dup(m->tmpfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return fmt_fail(f, "maildir tmp/: %s", strerror(errno));
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(m->tmpfd, de->d_name, 0) == -1 &&
		    errno != ENOENT) {
			closedir(d);
			return fmt_fail(f, "removing tmp/%s: %s", de->d_name,
			    strerror(errno));
		}
		removed++;
	}
	closedir(d);
	if (removed > 0) {
		log_info("maildir: removed %d unfinished file%s from tmp/",
		    removed, removed == 1 ? "" : "s");
		if (fsync(m->tmpfd) == -1)
			return fmt_fail(f, "fsync tmp/: %s", strerror(errno));
	}
	return 0;
}

/* A location must be "new/NAME" or "cur/NAME" with a plain NAME. */
static int
md_loc_ok(const char *loc)
{
	const char	*name = loc + 4;

	if (strncmp(loc, "new/", 4) != 0 && strncmp(loc, "cur/", 4) != 0)
		return 0;
	return name[0] != '\0' && name[0] != '.' &&
	    strchr(name, '/') == NULL && strlen(name) < MD_NAME_MAX;
}

/*
 * Open the file of a location. A mail reader may have moved it from
 * new/ to cur/ and added ":2,FLAGS", so look there too. If where is not
 * NULL, it gets the path (under maildir/) of the file that was opened.
 */
#define MD_WHERE_MAX	300

static int
md_open_loc(struct maildir *m, const char *loc, char *where)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[MD_WHERE_MAX];
	size_t		 nlen;
	int		 fd, dfd;

	if (!md_loc_ok(loc)) {
		errno = EINVAL;
		return -1;
	}
	fd = openat(m->rootfd, loc, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd != -1 && where != NULL)
		snprintf(where, MD_WHERE_MAX, "%s", loc);
	if (fd != -1 || errno != ENOENT || strncmp(loc, "new/", 4) != 0)
		return fd;
	nlen = strlen(loc + 4);
	if ((dfd = openat(m->rootfd, "cur", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		errno = ENOENT;
		return -1;
	}
	fd = -1;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, loc + 4, nlen) == 0 &&
		    (de->d_name[nlen] == '\0' || de->d_name[nlen] == ':')) {
			snprintf(path, sizeof path, "cur/%s", de->d_name);
			fd = openat(m->rootfd, path, O_RDONLY | O_NOFOLLOW |
			    O_CLOEXEC);
			if (fd != -1 && where != NULL)
				snprintf(where, MD_WHERE_MAX, "%s", path);
			break;
		}
	}
	closedir(d);
	if (fd == -1)
		errno = ENOENT;
	return fd;
}

static int
md_read(struct fmt *f, const char *loc,
    int (*cb)(void *, const void *, size_t), void *arg)
{
	struct maildir	*m = (struct maildir *)f;
	char		 buf[65536];
	ssize_t		 n;
	int		 fd;

	if ((fd = md_open_loc(m, loc, NULL)) == -1)
		return fmt_fail(f, "maildir %s: %s", loc, strerror(errno));
	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fmt_fail(f, "reading %s: %s", loc, strerror(errno));
			close(fd);
			return -1;
		}
		if (cb(arg, buf, (size_t)n) == -1) {
			close(fd);
			return fmt_fail(f, "reading %s: stopped", loc);
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
 * A file recovery adopts becomes "archived" in the index, and may then be
 * deleted on the server: make its bytes and its entry durable first. The
 * run that wrote it may have stopped between its rename into new/ and
 * the fsync of new/, so fsync the file and the folder it is in now (a
 * mail reader may have moved it to cur/). An error is a failure.
 */
static enum fmt_check
md_adopt(struct maildir *m, const char *where)
{
	int	fd, dfd = -1, r = -1;

	if ((fd = openat(m->rootfd, where, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) != -1 && fsync(fd) == 0 &&
	    (dfd = openat(m->rootfd, strncmp(where, "cur/", 4) == 0 ? "cur" :
	    "new", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) != -1 &&
	    fsync(dfd) == 0)
		r = 0;
	else
		fmt_fail(&m->base, "adopting %s: fsync: %s", where,
		    strerror(errno));
	if (dfd != -1)
		close(dfd);
	if (fd != -1)
		close(fd);
	return r == 0 ? FMT_PRESENT : FMT_CHECK_ERROR;
}

static enum fmt_check
md_check(struct fmt *f, const char *loc, const unsigned char sha[HASH_LEN])
{
	struct maildir	*m = (struct maildir *)f;
	struct hash	*h;
	unsigned char	 got[HASH_LEN];
	char		 qdir[4200], qname[MD_NAME_MAX + 48];
	char		 where[MD_WHERE_MAX], rnd[2 * MD_QRANDOM + 1];
	int		 fd, qfd, srcfd;

	if ((fd = md_open_loc(m, loc, where)) == -1) {
		if (errno == ENOENT)
			return FMT_ABSENT;
		fmt_fail(f, "maildir %s: %s", loc, strerror(errno));
		return FMT_CHECK_ERROR;
	}
	close(fd);
	h = hash_new();
	if (md_read(f, loc, hash_cb, h) == -1) {
		hash_free(h);
		return FMT_CHECK_ERROR;
	}
	hash_final(h, got);
	hash_free(h);
	if (memcmp(got, sha, HASH_LEN) == 0)
		return md_adopt(m, where);
	/* Not what the intent row promised: move it aside, never delete. */
	if (xsnprintf(qdir, sizeof qdir, "%s/quarantine", m->dir) == -1 ||
	    mkdir_sync(qdir) == -1 ||
	    (qfd = open(qdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		fmt_fail(f, "quarantine folder: %s", strerror(errno));
		return FMT_CHECK_ERROR;
	}
	random_hex(rnd, MD_QRANDOM);
	snprintf(qname, sizeof qname, "%s.%lld.%s", loc + 4,
	    (long long)wall_now(), rnd);
	/* Move the file that was hashed: it may be in cur/ by now. */
	srcfd = strncmp(where, "cur/", 4) == 0 ? openat(m->rootfd, "cur",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC) : dup(m->newfd);
	if (srcfd == -1 ||
	    rename_noreplace(m->rootfd, where, qfd, qname) == -1 ||
	    fsync(qfd) == -1 || fsync(srcfd) == -1) {
		fmt_fail(f, "quarantining %s: %s", where, strerror(errno));
		if (srcfd != -1)
			close(srcfd);
		close(qfd);
		return FMT_CHECK_ERROR;
	}
	close(srcfd);
	close(qfd);
	log_warnx("maildir: %s does not match the index; moved to "
	    "quarantine/%s", loc, qname);
	return FMT_QUARANTINED;
}

static int
md_begin(struct fmt *f, const struct fmt_msginfo *mi)
{
	struct maildir	*m = (struct maildir *)f;
	struct timespec	 ts;
	uint32_t	 rnd = 0;
	int		 tries;

	(void)mi;
	for (tries = 0; tries < 5; tries++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) !=
		    (ssize_t)sizeof rnd)
			rnd ^= (uint32_t)ts.tv_nsec;
		if (xsnprintf(m->curname, sizeof m->curname,
		    "%lld.M%ldP%ldQ%luR%08x.%s", (long long)ts.tv_sec,
		    ts.tv_nsec / 1000, (long)getpid(), ++m->counter,
		    (unsigned)rnd, m->host) == -1)
			return fmt_fail(f, "maildir: name too long");
		m->curfd = openat(m->tmpfd, m->curname, O_WRONLY | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (m->curfd != -1) {
			m->wlen = 0;
			return 0;
		}
		if (errno != EEXIST)
			break;
	}
	return fmt_fail(f, "creating tmp/%s: %s", m->curname,
	    strerror(errno));
}

static int
md_wflush(struct maildir *m)
{
	if (m->wlen > 0 && write_all(m->curfd, m->wbuf, m->wlen) == -1) {
		m->wlen = 0;
		return fmt_fail(&m->base, "writing tmp/%s: %s", m->curname,
		    strerror(errno));
	}
	m->wlen = 0;
	return 0;
}

static int
md_write(struct fmt *f, const void *p, size_t n)
{
	struct maildir	*m = (struct maildir *)f;

	if (m->wlen + n > sizeof m->wbuf && md_wflush(m) == -1)
		return -1;
	if (n >= sizeof m->wbuf) {
		if (write_all(m->curfd, p, n) == -1)
			return fmt_fail(f, "writing tmp/%s: %s", m->curname,
			    strerror(errno));
		return 0;
	}
	memcpy(m->wbuf + m->wlen, p, n);
	m->wlen += n;
	return 0;
}

static int
md_end(struct fmt *f, char *loc, size_t loclen)
{
	struct maildir		*m = (struct maildir *)f;
	struct md_pending	*p;

	if (md_wflush(m) == -1)
		return -1;
	if (xsnprintf(loc, loclen, "new/%s", m->curname) == -1)
		return fmt_fail(f, "maildir: location too long");
	if (m->npend == m->cappend) {
		m->cappend = m->cappend ? m->cappend * 2 : 64;
		m->pend = xreallocarray(m->pend, m->cappend, sizeof *m->pend);
	}
	p = &m->pend[m->npend++];
	p->fd = m->curfd;
	memcpy(p->name, m->curname, sizeof p->name);
	m->curfd = -1;
	/*
	 * Start writing it out now, while the next messages arrive; only a
	 * hint (fsync at the batch's end is what counts and reports).
	 */
	(void)sync_file_range(p->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return 0;
}

static int
md_discard(struct fmt *f)
{
	struct maildir	*m = (struct maildir *)f;

	m->wlen = 0;
	if (m->curfd == -1)
		return 0;
	close(m->curfd);
	m->curfd = -1;
	if (unlinkat(m->tmpfd, m->curname, 0) == -1)
		return fmt_fail(f, "removing tmp/%s: %s", m->curname,
		    strerror(errno));
	return 0;
}

static int
md_sync(struct fmt *f)
{
	struct maildir	*m = (struct maildir *)f;
	size_t		 i;
	int		 r = 0;

	if (m->npend == 0)
		return 0;
	/*
	 * 1. Every file's data on disk ("NFS-write": check fsync, close).
	 * First wait for all their data to be written, so that their
	 * blocks are allocated in one journal transaction: the first fsync
	 * then commits it for all, and the others find little left to do.
	 * One fsync per file remains the rule; this only makes it cheap.
	 */
	for (i = 0; i < m->npend; i++)
		(void)sync_file_range(m->pend[i].fd, 0, 0,
		    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
		    SYNC_FILE_RANGE_WAIT_AFTER);
	for (i = 0; i < m->npend; i++) {
		if (fsync(m->pend[i].fd) == -1) {
			r = fmt_fail(f, "fsync tmp/%s: %s", m->pend[i].name,
			    strerror(errno));
			break;
		}
		if (close(m->pend[i].fd) == -1) {
			m->pend[i].fd = -1;
			r = fmt_fail(f, "close tmp/%s: %s", m->pend[i].name,
			    strerror(errno));
			break;
		}
		m->pend[i].fd = -1;
	}
	if (r == 0)
		crash_point("maildir-files-synced");
	/* 2. Into new/, then the folders on disk. */
	for (i = 0; r == 0 && i < m->npend; i++) {
		/* Never over a file in new/: a clash is an error. */
		if (rename_noreplace(m->tmpfd, m->pend[i].name, m->newfd,
		    m->pend[i].name) == -1)
			r = fmt_fail(f, "moving %s into new/: %s",
			    m->pend[i].name, errno == EEXIST ? "a file of that "
			    "name exists already; not replaced" :
			    strerror(errno));
		else if (i == 0)
			crash_point("maildir-first-rename");
	}
	if (r == 0 && fsync(m->newfd) == -1)
		r = fmt_fail(f, "fsync new/: %s", strerror(errno));
	if (r == 0 && fsync(m->tmpfd) == -1)
		r = fmt_fail(f, "fsync tmp/: %s", strerror(errno));
	for (i = 0; i < m->npend; i++)
		if (m->pend[i].fd != -1)
			close(m->pend[i].fd);
	m->npend = 0;
	return r;
}

static size_t
md_synced(struct fmt *f, const struct fmt_vol **v)
{
	(void)f;
	*v = NULL;
	return 0;
}

/*
 * One folder of scan(): every file is a message. A file a mail reader
 * moved to cur/ ("NAME:2,FLAGS") has the location "new/NAME", as
 * md_open_loc() finds it; tmp/ is never committed.
 */
static int
md_scan_sub(struct maildir *m, const char *sub, const struct fmt_scan *s)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	char		 loc[MD_NAME_MAX + 8], what[300];
	char		 buf[65536];
	size_t		 blen;
	uint64_t	 size;
	ssize_t		 n;
	int		 dfd, fd, r = 0;

	if ((dfd = openat(m->rootfd, sub, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1 || (d = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		return fmt_fail(&m->base, "maildir %s/: %s", sub,
		    strerror(errno));
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		blen = strcspn(de->d_name, ":");
		snprintf(what, sizeof what, "maildir/%s/%s", sub, de->d_name);
		if (blen >= MD_NAME_MAX || fstatat(dfd, de->d_name, &sb,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(sb.st_mode)) {
			if (s->skip != NULL)
				s->skip(s->arg, what);
			continue;
		}
		snprintf(loc, sizeof loc, "new/%.*s", (int)blen, de->d_name);
		/* Both new/NAME and a cur/NAME:2,..: the location is new/'s. */
		if (strcmp(sub, "cur") == 0 && fstatat(m->rootfd, loc, &sb,
		    AT_SYMLINK_NOFOLLOW) == 0) {
			if (s->skip != NULL)
				s->skip(s->arg, what);
			continue;
		}
		/* Unreadable (EIO): said, and left out; the rest goes on. */
		if ((fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1) {
			if (s->skip != NULL)
				s->skip(s->arg, what);
			continue;
		}
		if (s->begin(s->arg) == -1) {
			close(fd);
			r = -1;
			break;
		}
		size = 0;
		while ((n = read(fd, buf, sizeof buf)) != 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				break;
			if (s->data(s->arg, buf, (size_t)n) == -1) {
				r = -1;
				break;
			}
			size += (uint64_t)n;
		}
		close(fd);
		if (r == -1)
			break;
		if (n == -1) {
			if (s->skip != NULL)
				s->skip(s->arg, what);
			continue;
		}
		if (s->end(s->arg, loc, size) == -1)
			r = -1;
	}
	closedir(d);
	return r;
}

static int
md_scan(struct fmt *f, const struct fmt_scan *s)
{
	struct maildir	*m = (struct maildir *)f;

	if (md_scan_sub(m, "new", s) == -1 || md_scan_sub(m, "cur", s) == -1)
		return -1;
	return 0;
}

static void
md_close(struct fmt *f)
{
	struct maildir	*m = (struct maildir *)f;
	size_t		 i;

	if (m == NULL)
		return;
	md_discard(f);
	/* Unsynced files stay in tmp/ for the next recovery to remove. */
	for (i = 0; i < m->npend; i++)
		if (m->pend[i].fd != -1)
			close(m->pend[i].fd);
	free(m->pend);
	close(m->rootfd);
	close(m->tmpfd);
	close(m->newfd);
	free(m);
}

const struct fmt_ops fmt_maildir_ops = {
	.name = "maildir",
	.flags = 0,
	.comps = FMT_COMP_BIT(FMT_COMP_NONE),
	.open = md_open,
	.recover = md_recover,
	.check = md_check,
	.begin = md_begin,
	.write = md_write,
	.end = md_end,
	.discard = md_discard,
	.sync = md_sync,
	.synced = md_synced,
	.read = md_read,
	.verify = fmt_verify_each,
	.close = md_close,
	.scan = md_scan,
};
