/*
 * fmt_testdir.c -- "testdir", a throwaway archive format of the test tree:
 * one file per message. It is never shipped: test_formats.c registers
 * it with fmt_register_for_tests() (one line) to show that a format
 * added by registering it gets the all-formats cases without any other
 * change (docs/HACKING.md, "Adding a format").
 *
 * Layout: ACCOUNT/testdir/{tmp,msg,bad}. A message is written to
 * tmp/NAME (O_EXCL, 0600); at the commit point (sync) each file of the
 * batch is fsynced and renamed into msg/ (never over a file), then msg/
 * and tmp/ are fsynced. Its location is "msg/NAME". Recovery removes
 * whatever is in tmp/. check() adopts a file whose hash matches (after
 * fsyncing it and msg/) and moves one that does not into bad/.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "hash.h"
#include "util.h"

#define TD_NAME_MAX	64

struct td_pending {
	int	fd;
	char	name[TD_NAME_MAX];
};

struct testdir {
	struct fmt		 base;
	int			 rootfd, tmpfd, msgfd;
	unsigned long		 counter;
	int			 curfd;
	char			 curname[TD_NAME_MAX];
	struct td_pending	*pend;
	size_t			 npend, cappend;
};

/* Defined at the end; open() needs it first. */
extern const struct fmt_ops fmt_testdir_ops;

static int
td_sub(int rootfd, const char *name)
{
	if (mkdirat_sync(rootfd, name) == -1)
		return -1;
	return openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
}

static struct fmt *
td_open(const struct fmt_args *a, char *err, size_t errlen)
{
	struct testdir	*t = xcalloc(1, sizeof *t);
	char		 root[4200];
	int		 bad = -1;

	t->base.ops = &fmt_testdir_ops;
	t->rootfd = t->tmpfd = t->msgfd = t->curfd = -1;
	if (xsnprintf(root, sizeof root, "%s/testdir", a->dir) == -1 ||
	    mkdir_sync(root) == -1 ||
	    (t->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 ||
	    (t->tmpfd = td_sub(t->rootfd, "tmp")) == -1 ||
	    (t->msgfd = td_sub(t->rootfd, "msg")) == -1 ||
	    (bad = td_sub(t->rootfd, "bad")) == -1) {
		snprintf(err, errlen, "testdir %s: %s", root, strerror(errno));
		if (t->rootfd != -1)
			close(t->rootfd);
		if (t->tmpfd != -1)
			close(t->tmpfd);
		if (t->msgfd != -1)
			close(t->msgfd);
		free(t);
		return NULL;
	}
	close(bad);
	return &t->base;
}

static int
td_recover(struct fmt *f, const struct fmt_committed *c)
{
	struct testdir	*t = (struct testdir *)f;
	struct dirent	*de;
	DIR		*d;
	int		 fd, removed = 0;

	(void)c;	/* no volumes */
	if ((fd = dup(t->tmpfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return fmt_fail(f, "testdir tmp/: %s", strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(t->tmpfd, de->d_name, 0) == -1) {
			closedir(d);
			return fmt_fail(f, "testdir tmp/%s: %s", de->d_name,
			    strerror(errno));
		}
		removed++;
	}
	closedir(d);
	if (removed > 0 && fsync(t->tmpfd) == -1)
		return fmt_fail(f, "fsync testdir tmp/: %s", strerror(errno));
	return 0;
}

/* The name in msg/ of a location "msg/NAME", or NULL. */
static const char *
td_name(const char *loc)
{
	if (strncmp(loc, "msg/", 4) != 0 || loc[4] == '\0' ||
	    loc[4] == '.' || strchr(loc + 4, '/') != NULL)
		return NULL;
	return loc + 4;
}

static int
td_read(struct fmt *f, const char *loc,
    int (*cb)(void *, const void *, size_t), void *arg)
{
	struct testdir	*t = (struct testdir *)f;
	const char	*name = td_name(loc);
	char		 buf[8192];
	ssize_t		 n;
	int		 fd;

	if (name == NULL) {
		errno = EINVAL;
		return fmt_fail(f, "testdir: bad location %s", loc);
	}
	if ((fd = openat(t->msgfd, name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return fmt_fail(f, "testdir %s: %s", loc, strerror(errno));
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || cb(arg, buf, (size_t)n) == -1) {
			fmt_fail(f, "testdir %s: read failed", loc);
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

static int
td_hash_cb(void *arg, const void *p, size_t n)
{
	hash_update(arg, p, n);
	return 0;
}

static enum fmt_check
td_check(struct fmt *f, const char *loc, const unsigned char sha[HASH_LEN])
{
	struct testdir	*t = (struct testdir *)f;
	const char	*name = td_name(loc);
	struct hash	*h;
	unsigned char	 got[HASH_LEN];
	int		 fd, r;

	if (name == NULL)
		return FMT_ABSENT;
	h = hash_new();
	errno = 0;
	r = td_read(f, loc, td_hash_cb, h);
	hash_final(h, got);
	hash_free(h);
	if (r == -1)
		return errno == ENOENT ? FMT_ABSENT : FMT_CHECK_ERROR;
	if (memcmp(got, sha, HASH_LEN) == 0) {
		/* Adopted: its bytes and its entry on disk first. */
		if ((fd = openat(t->msgfd, name, O_RDONLY | O_CLOEXEC)) == -1 ||
		    fsync(fd) == -1 || fsync(t->msgfd) == -1) {
			fmt_fail(f, "testdir adopting %s: %s", loc,
			    strerror(errno));
			if (fd != -1)
				close(fd);
			return FMT_CHECK_ERROR;
		}
		close(fd);
		return FMT_PRESENT;
	}
	/* Not what the index promised: aside, never destroyed. */
	if ((fd = openat(t->rootfd, "bad", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || rename_noreplace(t->msgfd, name, fd,
	    name) == -1 || fsync(fd) == -1 || fsync(t->msgfd) == -1) {
		fmt_fail(f, "testdir quarantining %s: %s", loc,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return FMT_CHECK_ERROR;
	}
	close(fd);
	return FMT_QUARANTINED;
}

static int
td_begin(struct fmt *f, const struct fmt_msginfo *mi)
{
	struct testdir	*t = (struct testdir *)f;
	char		 rnd[17];

	(void)mi;
	random_hex(rnd, 8);
	snprintf(t->curname, sizeof t->curname, "%ld-%lu-%s",
	    (long)getpid(), ++t->counter, rnd);
	if ((t->curfd = openat(t->tmpfd, t->curname, O_WRONLY | O_CREAT |
	    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return fmt_fail(f, "testdir tmp/%s: %s", t->curname,
		    strerror(errno));
	return 0;
}

static int
td_write(struct fmt *f, const void *p, size_t n)
{
	struct testdir	*t = (struct testdir *)f;

	if (write_all(t->curfd, p, n) == -1)
		return fmt_fail(f, "testdir tmp/%s: %s", t->curname,
		    strerror(errno));
	return 0;
}

static int
td_end(struct fmt *f, char *loc, size_t loclen)
{
	struct testdir	*t = (struct testdir *)f;

	if (xsnprintf(loc, loclen, "msg/%s", t->curname) == -1)
		return fmt_fail(f, "testdir: location too long");
	if (t->npend == t->cappend) {
		t->cappend = t->cappend ? t->cappend * 2 : 16;
		t->pend = xreallocarray(t->pend, t->cappend, sizeof *t->pend);
	}
	t->pend[t->npend].fd = t->curfd;
	memcpy(t->pend[t->npend++].name, t->curname, TD_NAME_MAX);
	t->curfd = -1;
	return 0;
}

static int
td_discard(struct fmt *f)
{
	struct testdir	*t = (struct testdir *)f;

	if (t->curfd == -1)
		return 0;
	close(t->curfd);
	t->curfd = -1;
	if (unlinkat(t->tmpfd, t->curname, 0) == -1)
		return fmt_fail(f, "testdir tmp/%s: %s", t->curname,
		    strerror(errno));
	return 0;
}

static int
td_sync(struct fmt *f)
{
	struct testdir	*t = (struct testdir *)f;
	size_t		 i;
	int		 r = 0;

	for (i = 0; r == 0 && i < t->npend; i++) {
		if (fsync(t->pend[i].fd) == -1)
			r = fmt_fail(f, "fsync testdir tmp/%s: %s",
			    t->pend[i].name, strerror(errno));
		close(t->pend[i].fd);
		t->pend[i].fd = -1;
	}
	for (i = 0; r == 0 && i < t->npend; i++)
		if (rename_noreplace(t->tmpfd, t->pend[i].name, t->msgfd,
		    t->pend[i].name) == -1)
			r = fmt_fail(f, "testdir msg/%s: %s", t->pend[i].name,
			    strerror(errno));
	if (r == 0 && t->npend > 0 && (fsync(t->msgfd) == -1 ||
	    fsync(t->tmpfd) == -1))
		r = fmt_fail(f, "fsync testdir: %s", strerror(errno));
	for (i = 0; i < t->npend; i++)
		if (t->pend[i].fd != -1)
			close(t->pend[i].fd);
	t->npend = 0;
	return r;
}

static size_t
td_synced(struct fmt *f, const struct fmt_vol **v)
{
	(void)f;
	*v = NULL;
	return 0;
}

/* Every file of msg/ is a message, "msg/NAME". */
static int
td_scan(struct fmt *f, const struct fmt_scan *s)
{
	struct testdir	*t = (struct testdir *)f;
	struct dirent	*de;
	DIR		*d;
	char		 loc[300], buf[8192];
	uint64_t	 size;
	ssize_t		 n;
	int		 fd, r = 0;

	if ((fd = dup(t->msgfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return fmt_fail(f, "testdir msg/: %s", strerror(errno));
	}
	rewinddir(d);
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    strlen(de->d_name) >= TD_NAME_MAX)
			continue;
		snprintf(loc, sizeof loc, "msg/%s", de->d_name);
		if ((fd = openat(t->msgfd, de->d_name, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1) {
			r = fmt_fail(f, "testdir %s: %s", loc, strerror(errno));
			break;
		}
		size = 0;
		r = s->begin(s->arg);
		while (r == 0 && (n = read(fd, buf, sizeof buf)) != 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				r = fmt_fail(f, "testdir %s: %s", loc,
				    strerror(errno));
			else {
				r = s->data(s->arg, buf, (size_t)n);
				size += (uint64_t)n;
			}
		}
		close(fd);
		if (r == 0)
			r = s->end(s->arg, loc, size);
	}
	closedir(d);
	return r;
}

static void
td_close(struct fmt *f)
{
	struct testdir	*t = (struct testdir *)f;
	size_t		 i;

	if (t == NULL)
		return;
	td_discard(f);
	/* Unsynced files stay in tmp/ for the next recovery. */
	for (i = 0; i < t->npend; i++)
		if (t->pend[i].fd != -1)
			close(t->pend[i].fd);
	free(t->pend);
	close(t->rootfd);
	close(t->tmpfd);
	close(t->msgfd);
	free(t);
}

const struct fmt_ops fmt_testdir_ops = {
	.name = "testdir",
	.flags = 0,
	.comps = FMT_COMP_BIT(FMT_COMP_NONE),
	.open = td_open,
	.recover = td_recover,
	.check = td_check,
	.begin = td_begin,
	.write = td_write,
	.end = td_end,
	.discard = td_discard,
	.sync = td_sync,
	.synced = td_synced,
	.read = td_read,
	.verify = fmt_verify_each,
	.close = td_close,
	.scan = td_scan,
};
